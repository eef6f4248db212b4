import type { FrameSuiteName } from '../crypto/frame/types.js';
import type { CancelReason } from '../protocol/messages.js';
import type { FrameProtector } from '../session/types.js';
import type { PeerId } from '../transport/chat-transport.js';
import type { Call } from './call.js';
import type { IceServerSource } from './ice-servers.js';
import type { ResolvedOptions } from './options.js';

/** What a {@link Call} needs from its client, and nothing more. */
export interface CallContext {
  readonly options: ResolvedOptions;
  /** The client's STUN/TURN servers, kept fresh. */
  readonly iceServers: IceServerSource;
  /** Frame-encryption suites this client offers (empty: none), most preferred first. */
  readonly frameSuites: readonly FrameSuiteName[];
  /** A frame protector for one peer connection, or undefined if none can be made. */
  createFrameProtector(suite: FrameSuiteName): FrameProtector | undefined;
  /** Sends a one-shot cancel to every device of `peer`; failures are reported, not thrown. */
  cancel(peer: PeerId, callId: string, cancel: { reason: CancelReason; keepSession?: string }): void;
  /**
   * This device declined `call` silently: tells this user's other devices (the `ownDevices`
   * option), never the caller. Nothing without `ownDevices`.
   */
  declinedSilently(call: Call): void;
  /** Reports a problem that does not end the call (a dropped input, a send being retried). */
  warn(error: unknown, callId?: string): void;
  /** The call ended: forget it. */
  ended(call: Call): void;
  /** Glare resolution gave the call a new id. */
  renamed(call: Call, previousId: string): void;
}
