/**
 * sealcall/callkit: shows sealcall calls in iOS CallKit (or any OS call UI with the same shape),
 * with a react-native-callkeep adapter, sealed VoIP push payloads reported before libsodium loads, and
 * the CallKit-free mode that China's App Store requires.
 *
 * @packageDocumentation
 */
export type {
  AudioRoute,
  AudioRouteKind,
  AudioRouteOption,
  CallKitAction,
  CallKitCallInfo,
  CallKitCallUpdate,
  CallKitEndReason,
  CallKitReceiver,
  CallKitReporter,
  SetHeldAction,
  SetMutedAction,
  StartCallAction,
} from './types.js';
export {
  CallKitCoordinator,
  DEFAULT_START_TIMEOUT_MS,
  type CallKitCoordinatorEvents,
  type CallKitCoordinatorOptions,
} from './coordinator.js';
export { DEFAULT_AUDIO_SESSION_TIMEOUT_MS } from './audio-session-gate.js';
export { DEFAULT_AUDIO_ROUTE_TIMEOUT_MS } from './audio-routes.js';
export type { PendingInvitation } from './push-inbox.js';
export { NoopCallKitReporter } from './noop-reporter.js';
export { CallKeepBridge, type CallKeepBridgeOptions } from './callkeep-bridge.js';
export type {
  CallKeep,
  CallKeepEvent,
  CallKeepEventPayloads,
  CallKeepHandler,
  CallKeepHandleType,
  CallKeepInitialEvent,
  CallKeepSetupOptions,
  CallKeepSubscription,
} from './callkeep-types.js';
export { CALLKIT_END_REASONS, CALLKEEP_END_REASONS, CALLKEEP_ANDROID_END_REASONS, callKitEnd, type CallKitEnd } from './end-reasons.js';
export {
  buildCallPush,
  parseCallPush,
  openCallPush,
  unwrapCallPush,
  generatePushKey,
  CALL_PUSH_VERSION,
  CALL_PUSH_KEY,
  MAX_PUSH_ENVELOPE_BYTES,
  MAX_CALLER_HINT_BYTES,
  type BuildCallPushOptions,
  type CallPush,
  type CallPushPayload,
  type OpenedCallPush,
  type PushKeyPair,
} from './push-payload.js';
export {
  decideCallKit,
  shouldUseCallKit,
  CHINA_MCC,
  type CallKitPolicyDecision,
  type CallKitPolicyInput,
  type CallKitPolicyReason,
} from './policy.js';
export { DEFAULT_READY_TIMEOUT_MS } from './provider-readiness.js';
export { normalizeUuid, randomUuid } from './uuid.js';
