import type { CallOptions } from '../call/call-client.js';
import type { Call } from '../call/call.js';
import { SealcallError } from '../errors.js';
import type { PeerId } from '../transport/chat-transport.js';
import {
  CALLKEEP_NATIVE_EVENTS,
  type CallKeep,
  type CallKeepEvent,
  type CallKeepEventPayloads,
  type CallKeepHandler,
  type CallKeepHandleType,
  type CallKeepSubscription,
} from './callkeep-types.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from './coordinator.js';
import { CALLKEEP_END_REASONS } from './end-reasons.js';
import { NoopCallKitReporter } from './noop-reporter.js';
import type { PendingInvitation } from './push-inbox.js';
import { PUSH_PLACEHOLDER } from './push-inbox.js';
import type { CallKitCallInfo, CallKitCallUpdate, CallKitEndReason, CallKitReceiver, CallKitReporter } from './types.js';
import { isUuid, normalizeUuid } from './uuid.js';

/** Options of {@link CallKeepBridge}: the coordinator's, with react-native-callkeep as the reporter. */
export interface CallKeepBridgeOptions extends Omit<CallKitCoordinatorOptions, 'reporter'> {
  /** The `RNCallKeep` default export (or anything with its methods). */
  callKeep: CallKeep;
  /** The promise `RNCallKeep.setup(...)` returned; reports wait for it (3 s at most). Default: set up already. */
  ready?: PromiseLike<unknown>;
  /**
   * False for the CallKit-free mode (`shouldUseCallKit(...)` said no): callkeep is not touched,
   * no listener is added, and calls work through the app's own UI. Default true.
   */
  enabled?: boolean;
  /** How CallKit shows handles. Default `'generic'` (handles are peer ids). */
  handleType?: CallKeepHandleType;
}

const nothing = (): void => {};

/**
 * The CallKit bridge for React Native apps using react-native-callkeep: a {@link CallKitReporter}
 * made of callkeep's methods, whose events are fed to a {@link CallKitCoordinator}.
 *
 * react-native-callkeep fulfils every CallKit action natively as soon as it emits the event, so
 * here "fulfil" is a no-op and "fail" for a start or answer ends the call as failed. Its
 * `endCall`/`setMutedCall`/`startCall`/`answerIncomingCall` come back as events; the coordinator
 * recognises those echoes (no loops, no double end). UUIDs come back lowercased on iOS; the
 * coordinator accepts any case.
 */
export class CallKeepBridge implements CallKitReporter {
  /** The coordinator: `startCall`, `pendingInvitations`, `uuidOf`, events. */
  readonly coordinator: CallKitCoordinator;
  private readonly callKeep: CallKeep;
  private readonly handleType: CallKeepHandleType;
  private readonly setup: PromiseLike<unknown> | undefined;
  private setupDone = false;
  /** The handlers added, by event, for replaying initial events. */
  private readonly handlers = new Map<CallKeepEvent, (data: unknown) => void>();
  /** What each call shows, because `updateDisplay` wants every field. */
  private readonly shown = new Map<string, CallKitCallInfo>();
  /** `displayIncomingCall` calls waiting for their `didDisplayIncomingCall`. */
  private readonly displaying = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(options: CallKeepBridgeOptions) {
    const { callKeep, ready, enabled = true, handleType = 'generic', ...coordinatorOptions } = options;
    this.callKeep = callKeep;
    this.handleType = handleType;
    this.setup = ready;
    ready?.then(() => (this.setupDone = true), nothing);
    const reporter = enabled ? this : new NoopCallKitReporter();
    this.coordinator = new CallKitCoordinator({ ...coordinatorOptions, reporter });
  }

  /** See `CallKitCoordinator.startCall`. */
  startCall(peer: PeerId, options?: CallOptions): Promise<Call> {
    return this.coordinator.startCall(peer, options);
  }

  /** See `CallKitCoordinator.handlePush`: a VoIP push that JavaScript received itself. */
  handlePush(payload: unknown, options?: { reported?: boolean }): PendingInvitation | undefined {
    return this.coordinator.handlePush(payload, options);
  }

  /**
   * Cold start: replays the events native code queued before JavaScript listened (a push shown
   * by PushKit, a lock-screen answer, …) through the same handlers, then clears them. Resolves
   * with how many there were.
   */
  async processInitialEvents(): Promise<number> {
    const events = (await this.callKeep.getInitialEvents?.()) ?? [];
    for (const { name, data } of events) {
      this.handlers.get(CALLKEEP_NATIVE_EVENTS[name] ?? (name as CallKeepEvent))?.(data);
    }
    this.callKeep.clearInitialEvents?.();
    return events.length;
  }

  /** Removes every listener this bridge added and disposes the coordinator; calls carry on. */
  dispose(): void {
    this.coordinator.dispose(); // detaches: see attach()
    for (const waiter of this.displaying.values()) waiter.resolve();
    this.displaying.clear();
    this.shown.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // CallKitReporter

  /** @internal */
  ready(): PromiseLike<unknown> | undefined {
    return this.setupDone ? undefined : this.setup;
  }

  /** @internal */
  attach(receiver: CallKitReceiver): () => void {
    const failAsEnded = (uuid: string) => () => this.callKeep.reportEndCallWithUUID(uuid, CALLKEEP_END_REASONS.failed);
    const removers = [
      this.listen('answerCall', ({ callUUID }) =>
        receiver.performAnswerCall({ uuid: callUUID, fulfill: nothing, fail: failAsEnded(callUUID) }),
      ),
      this.listen('endCall', ({ callUUID }) => receiver.performEndCall({ uuid: callUUID, fulfill: nothing, fail: nothing })),
      this.listen('didPerformSetMutedCallAction', ({ callUUID, muted }) =>
        receiver.performSetMuted({ uuid: callUUID, muted, fulfill: nothing, fail: nothing }),
      ),
      this.listen('didToggleHoldCallAction', ({ callUUID, hold }) =>
        receiver.performSetHeld({ uuid: callUUID, onHold: hold, fulfill: nothing, fail: nothing }),
      ),
      this.listen('didReceiveStartCallAction', (data) => this.onStart(receiver, data)),
      this.listen('didDisplayIncomingCall', (data) => this.onDisplayed(data)),
      this.listen('didResetProvider', () => receiver.providerDidReset()),
      this.listen('didActivateAudioSession', () => receiver.didActivateAudioSession()),
      this.listen('didDeactivateAudioSession', () => receiver.didDeactivateAudioSession()),
    ];
    return () => {
      for (const remove of removers) remove();
      this.handlers.clear();
    };
  }

  /** @internal */
  reportIncomingCall(uuid: string, info: CallKitCallInfo): Promise<void> {
    this.shown.set(uuid, info);
    const displayed = new Promise<void>((resolve, reject) => this.displaying.set(uuid, { resolve, reject }));
    this.callKeep.displayIncomingCall(uuid, info.handle, info.displayName, this.handleType, info.hasVideo);
    return displayed;
  }

  /** @internal */
  reportOutgoingConnecting(uuid: string): void {
    this.callKeep.reportConnectingOutgoingCallWithUUID(uuid);
  }

  /** @internal */
  reportOutgoingConnected(uuid: string): void {
    this.callKeep.reportConnectedOutgoingCallWithUUID(uuid);
  }

  /** @internal */
  reportCallEnded(uuid: string, reason: CallKitEndReason): void {
    this.forget(uuid);
    this.callKeep.reportEndCallWithUUID(uuid, CALLKEEP_END_REASONS[reason]);
  }

  /** @internal callkeep cannot change `hasVideo` after the fact; name and handle it can. */
  reportCallUpdated(uuid: string, update: CallKitCallUpdate): void {
    if (update.displayName === undefined && update.handle === undefined) return;
    // A call native code reported from PushKit is not in `shown`: native code could read nothing
    // of the sealed push and showed a placeholder, which the authenticated contact replaces.
    const before = this.shown.get(uuid) ?? PUSH_PLACEHOLDER;
    const after = { ...before, ...update };
    this.shown.set(uuid, after);
    this.callKeep.updateDisplay(uuid, after.displayName, after.handle);
  }

  /** @internal */
  requestStartCall(uuid: string, info: CallKitCallInfo): void {
    this.shown.set(uuid, info);
    this.callKeep.startCall(uuid, info.handle, info.displayName, this.handleType, info.hasVideo);
  }

  /** @internal */
  requestAnswerCall(uuid: string): void {
    this.callKeep.answerIncomingCall(uuid);
  }

  /** @internal */
  requestEndCall(uuid: string): void {
    this.forget(uuid);
    this.callKeep.endCall(uuid);
  }

  /** @internal */
  requestSetMuted(uuid: string, muted: boolean): void {
    this.callKeep.setMutedCall(uuid, muted);
  }

  // ---------------------------------------------------------------------------------------------

  /** Adds one callkeep listener; returns what removes exactly that listener. */
  private listen<E extends CallKeepEvent>(event: E, handler: CallKeepHandler<E>): () => void {
    this.handlers.set(event, handler as (data: unknown) => void);
    // One call site for every event: the per-event overloads cannot see that `handler` fits `event`.
    const add = this.callKeep.addEventListener as (type: CallKeepEvent, handler: CallKeepHandler<E>) => CallKeepSubscription | void;
    const subscription = add.call(this.callKeep, event, handler);
    // Newer callkeep returns a subscription; older 4.3 releases remove by event type.
    return subscription && typeof subscription.remove === 'function'
      ? () => subscription.remove()
      : () => this.callKeep.removeEventListener(event);
  }

  private onStart(receiver: CallKitReceiver, data: CallKeepEventPayloads['didReceiveStartCallAction']): void {
    if (data.callUUID !== undefined) {
      const uuid = data.callUUID;
      receiver.performStartCall({
        uuid,
        handle: data.handle,
        ...(data.video !== undefined ? { video: data.video } : {}),
        fulfill: nothing,
        fail: () => this.callKeep.reportEndCallWithUUID(uuid, CALLKEEP_END_REASONS.failed),
      });
      return;
    }
    // Recents or Siri without a UUID yet: place the call, which asks callkeep for a start action.
    const peer = this.coordinator.peerFromHandle(data.handle);
    if (peer === undefined) return this.coordinator.fail(new SealcallError('UNKNOWN_CONTACT', 'no contact for this handle'));
    this.coordinator.startCall(peer, { media: data.video ? 'video' : 'audio' }).catch((error: unknown) => this.coordinator.fail(error));
  }

  private onDisplayed(data: CallKeepEventPayloads['didDisplayIncomingCall']): void {
    if (!isUuid(data.callUUID)) return;
    const uuid = normalizeUuid(data.callUUID);
    const waiter = this.displaying.get(uuid);
    this.displaying.delete(uuid);
    if (data.error) {
      const error = new Error(data.errorCode || data.error);
      if (waiter) waiter.reject(error);
      else this.coordinator.fail(error);
      return;
    }
    if (waiter) return waiter.resolve();
    // Shown by native code from a PushKit handler: track it without showing it again.
    if (data.fromPushKit === '1' && data.payload !== undefined) {
      this.coordinator.handlePush(typeof data.payload === 'string' ? parseJson(data.payload) : data.payload, { reported: true });
    }
  }

  private forget(uuid: string): void {
    this.shown.delete(uuid);
    this.displaying.get(uuid)?.resolve();
    this.displaying.delete(uuid);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // parseCallPush reports it as BAD_MESSAGE
  }
}
