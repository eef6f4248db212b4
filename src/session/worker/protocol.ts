/**
 * The messages between a {@link FrameProtector} (main thread) and its frame worker. Both ends
 * import these types; nothing here runs.
 */
import type { FrameCounters, FrameSuiteName } from '../../crypto/frame/types.js';
import type { ErrorCode } from '../../errors.js';

/** Which way the frames of a transform go. */
export type FrameSide = 'send' | 'receive';

/** The media of one sender or receiver. */
export type MediaKind = 'audio' | 'video';

/**
 * What one transform is for. With `RTCRtpScriptTransform` it travels as the transform's
 * `options` (the worker reads it from `transformer.options`); with encoded streams it rides in
 * the `attach` message together with the transferred streams.
 */
export interface TransformTarget {
  side: FrameSide;
  kind: MediaKind;
}

/** Main thread → worker. */
export type ToWorker =
  /** First message: which suite this connection uses, how often drops may be reported. */
  | { type: 'init'; suite: FrameSuiteName; dropReportMs: number }
  /**
   * Installs a base key for one direction. `key` is a copy whose buffer was transferred: the
   * main thread keeps nothing. Answered by a `done` with the same `id`.
   */
  | { type: 'set-key'; id: number; side: FrameSide; kid: number; key: Uint8Array }
  /** Answered by `counters` with the same `id`. */
  | { type: 'get-counters'; id: number }
  /** Legacy API: a sender's or receiver's encoded streams, transferred to the worker. */
  | ({ type: 'attach'; readable: ReadableStream<unknown>; writable: WritableStream<unknown> } & TransformTarget)
  /** Wipe the keys and stop. */
  | { type: 'close' };

/** Worker → main thread. */
export type FromWorker =
  /** A request finished; `error` is the failure's code (never anything derived from a key). */
  | { type: 'done'; id: number; error?: ErrorCode }
  | { type: 'counters'; id: number; send: FrameCounters; receive: FrameCounters }
  /** Once: the first received frame was decrypted and passed on. */
  | { type: 'decrypt-ok' }
  /** Frames of one side were dropped; at most one per side per `dropReportMs`. Cumulative counters. */
  | { type: 'drops'; side: FrameSide; counters: FrameCounters };
