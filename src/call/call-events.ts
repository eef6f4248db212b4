import type { SealcallError } from '../errors.js';
import type { CallMedia, EndReason } from '../protocol/messages.js';
import type { CallQuality } from './call-quality.js';
import type { CallState } from './call-state.js';
import type { LocalMediaState, MediaState } from './local-media.js';

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
  /**
   * Set when this device declined with `reject({ silent: true })`: the caller was told nothing.
   * With the client's `ownDevices` option this user's other devices were told, and stopped ringing
   * (`declined-elsewhere`). Without it, to stop them at once the app tells them through its own
   * sync and each calls `reject({ silent: true })` on the call with the same `id`; otherwise they
   * ring until the caller gives up (its ring timeout) or their own ring timeout passes.
   */
  silent?: true;
  /** How long it was connected, from `connectedAt` to `endedAt` (reconnecting included); 0 if it never connected. */
  durationMs: number;
}

/** The peer's camera, microphone, hold and screen sharing as it last reported them. */
export interface RemoteMediaState extends MediaState {
  /** The peer put the call on hold (`setOnHold(true)`): media is paused both ways until it resumes. */
  held: boolean;
  /**
   * The peer shares its screen (`startScreenShare`): the video it sends (its `track`, while
   * `videoEnabled`) shows a screen, window or tab rather than its camera, until it stops sharing
   * (`stopScreenShare`, or the browser's own "Stop sharing"). False from a peer that predates
   * screen sharing, which never says.
   */
  screenSharing: boolean;
}

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
  /**
   * The peer muted, unmuted, switched its camera, put the call on hold or took it off, or started
   * or stopped sharing its screen. Carries the peer's whole state.
   */
  'remote-media': (media: RemoteMediaState) => void;
  /**
   * This side's confirmed microphone/camera state changed (after `setAudioMuted`/`setVideoEnabled`),
   * or screen sharing started or stopped (`startScreenShare`/`stopScreenShare`, or the browser's
   * own "stop sharing").
   */
  'local-media': (media: LocalMediaState) => void;
  /**
   * The network quality of the last interval: every `qualityIntervalMs` (2,000 by default) from
   * one interval after the call connected until it ends. See {@link CallQuality} for the
   * figures and the thresholds of its `level`.
   */
  quality: (quality: CallQuality) => void;
  /**
   * The call's media changed: `'video'` once either side's camera is on (`addVideo`, or the peer's
   * media state), `'audio'` once both are off again. See {@link Call.media}.
   */
  media: (media: CallMedia) => void;
  /** The call is over; emitted once, last. */
  ended: (ended: CallEnded) => void;
}
