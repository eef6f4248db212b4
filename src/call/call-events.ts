import type { SealcallError } from '../errors.js';
import type { EndReason } from '../protocol/messages.js';
import type { CallState } from './call-state.js';
import type { MediaState } from './local-media.js';

/** How a call ended. */
export interface CallEnded {
  reason: EndReason;
  /** Set when the end was caused by a failure. */
  error?: SealcallError;
}

/** The peer's camera and microphone as it last reported them. */
export type RemoteMediaState = MediaState;

/** Events of a {@link Call}. */
export interface CallEvents {
  /** The call moved from `previous` to `state`. */
  state: (state: CallState, previous: CallState) => void;
  /** Caller side: one of the callee's devices is ringing. */
  ringing: () => void;
  /** A remote media track arrived. */
  track: (track: MediaStreamTrack, stream: MediaStream) => void;
  /** A data channel message from the peer. */
  data: (data: Uint8Array) => void;
  /** The peer muted, unmuted, or switched its camera. */
  'remote-media': (media: RemoteMediaState) => void;
  /** This side's confirmed microphone/camera state changed (after `setAudioMuted`/`setVideoEnabled`). */
  'local-media': (media: MediaState) => void;
  /** The call is over; emitted once, last. */
  ended: (ended: CallEnded) => void;
}
