/**
 * sealcall: end-to-end encrypted peer-to-peer calls whose signaling travels over any chat
 * transport. Start with `generateIdentity()` and `CallClient.create()`.
 *
 * @packageDocumentation
 */
export { SealcallError, isSealcallError, type ErrorCode } from './errors.js';

export { CallClient, type CallClientEvents, type CallOptions, type DeliveryOutcome } from './call/call-client.js';
export {
  Call,
  type CallEvents,
  type CallEnded,
  type CameraChoice,
  type LocalMediaState,
  type MediaOptions,
  type MediaState,
  type RejectOptions,
  type RemoteMediaState,
} from './call/call.js';
export type { CallState } from './call/call-state.js';
export { QUALITY_THRESHOLDS, type CallQuality, type DirectionalFigure, type QualityLevel } from './call/call-quality.js';
export type { CallClientOptions, Contacts } from './call/options.js';
export type { IceServerProvider, IceServerSet } from './call/ice-servers.js';
export type { WebRtcImplementation } from './call/options.js';

export { ready } from './crypto/sodium.js';
export { exitNodeProcess } from './node-exit.js';
export { generateIdentity, identityFromSecretKey, type Identity } from './crypto/identity.js';
export type { ReplayStore } from './signaling/replay-guard.js';

export { LIMITS } from './protocol/limits.js';
export { END_REASONS, CANCEL_REASONS, PROTOCOL_VERSION, type EndReason, type CancelReason, type CallMedia } from './protocol/messages.js';

export type { ChatTransport, PeerId, SendHints } from './transport/chat-transport.js';
export { fromTextTransport, TEXT_PREFIX, type TextChatTransport } from './transport/text-transport.js';
export {
  WebSocketTransport,
  UNKNOWN_SENDER_PREFIX,
  type WebSocketTransportOptions,
  type WebSocketTransportEvents,
} from './relay-client/websocket-transport.js';
export type { TransportStatus } from './relay-client/relay-link.js';
export { encodeAddress, decodeAddress, ADDRESS_PREFIX, type ContactAddress } from './relay-client/address.js';
export type { QueueState } from './relay-client/queue-state.js';
export type { BackoffOptions } from './relay-client/backoff.js';
export type { WebSocketConstructor, WebSocketLike } from './relay-client/websocket-like.js';

export type { FrameEncryptionPolicy } from './call/frame-policy.js';
export { FRAME_SUITES, type FrameSuiteName, type FrameCounters, type FrameDropReason } from './crypto/frame/types.js';
export type { FrameProtector, FrameTransformApi, MediaPath, StatsReport } from './session/types.js';
