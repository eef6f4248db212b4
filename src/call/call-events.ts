import type { SealcallError } from '../errors.js';
import type { CallMedia, EndReason } from '../protocol/messages.js';
import type { CallQuality } from './call-quality.js';
import type { CallState } from './call-state.js';
import type { MediaState } from './local-media.js';

export type { CallQuality, DirectionalFigure, QualityLevel } from './call-quality.js';

/** How a call ended, with what a call history entry needs. Times are epoch ms (`now`, `Date.now` by default). */
export interface CallEnded {
  reason: EndReason;
  /** Set when the end was caused by a failure. */
  error?: SealcallError;
  /** Whether this user placed the call. */
  direction: 'outgoing' | 'incoming';
  /** Audio or video, as the caller asked. */
  media: CallMedia;
  /** When the call began on this device: `call()` was called, or the invitation arrived. */
  startedAt: number;
  /** When media first connected; absent when it never did (unanswered, rejected, failed). */
  connectedAt?: number;
  /** When the call ended. */
  endedAt: number;
  /** How long it was connected, from `connectedAt` to `endedAt` (reconnecting included); 0 if it never connected. */
  durationMs: number;
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
  /**
   * The network quality of the last interval: every `qualityIntervalMs` (2,000 by default) from
   * one interval after the call connected until it ends. See {@link CallQuality} for the
   * figures and the thresholds of its `level`.
   */
  quality: (quality: CallQuality) => void;
  /** The call is over; emitted once, last. */
  ended: (ended: CallEnded) => void;
}
