import { SealcallError } from '../../errors.js';
import { ReplayWindow } from '../replay-window.js';
import { clearByteCount } from './clear-bytes.js';
import { createFrameCounters } from './counters.js';
import { checkKeyArguments, deriveFrameKey, type FrameKey, wipeFrameKey } from './frame-key.js';
import { type HeaderFields, MAX_HEADER_BYTES, readHeader } from './header.js';
import { KeyRing, type ReceiverKey } from './key-ring.js';
import { TAG_BYTES, unprotectFrame } from './protect.js';
import type { FrameCounters, FrameDropReason, FrameKind, FrameSuiteName } from './types.js';
import { FRAME_SUITES } from './types.js';

/** Options of a {@link FrameReceiver}. */
export interface FrameReceiverOptions {
  /** How long a key stays usable after a newer key first decrypted a frame. Default 2000 ms. */
  keyGraceMs?: number;
  /** Replay window per KID, in frames (a multiple of 32). Default 1024. */
  replayWindow?: number;
  /** Clock in ms for key retirement; default `performance.now()`. */
  now?: () => number;
}

type Outcome = Uint8Array | FrameDropReason;

/**
 * Decrypts the frames of one remote sender (RFC 9605 SFrame, layout in `protect.ts`).
 *
 * - Replay: one window per KID; a counter enters it only after its frame authenticated, so
 *   forgeries cannot move it, and is re-checked then, so two copies of one frame decrypting
 *   concurrently cannot both pass.
 * - Rotation: a new KID comes with `setKey`; older keys keep working for `keyGraceMs` after the
 *   new one first decrypts a frame (frames in flight, jitter buffer), then are wiped.
 * - Frames overtaking the key update: the signaling message carrying a new key may arrive after
 *   the first frames under it. A frame whose KID is 1–4 above the newest installed one is tried
 *   with that key's successor(s) by `nextBaseKey`, derived once per KID; the key is installed only
 *   if the frame authenticates. This relies on the sender rotating with `nextBaseKey` (as sealcall
 *   does); a key from elsewhere simply waits for its `setKey` (its frames drop as 'unknown-kid').
 * - Frames shorter than their codec's clear-byte count were sent with fewer clear bytes
 *   ({@link clearByteCount} clamps); a receiver cannot know the plaintext length, so for tiny
 *   frames that fail at the usual offset it tries the offsets whose header would end exactly 16
 *   bytes before the frame does (such a frame has no encrypted body).
 */
export class FrameReceiver {
  readonly counters: FrameCounters = createFrameCounters();
  private readonly ring: KeyRing;
  private readonly now: () => number;
  /** Header scratch: read into locals before any await. */
  private readonly fields: HeaderFields = { kid: 0, ctr: 0, length: 0 };
  private disposed = false;
  /** The newest `setKey` until it settles, for frames that come before any key is installed. */
  private installing: Promise<void> | undefined;

  constructor(
    readonly suite: FrameSuiteName,
    options: FrameReceiverOptions = {},
  ) {
    if (!Object.hasOwn(FRAME_SUITES, suite)) throw new SealcallError('INVALID_ARGUMENT', `unknown frame suite ${String(suite)}`);
    const graceMs = options.keyGraceMs ?? 2000;
    if (!(graceMs >= 0)) throw new SealcallError('INVALID_ARGUMENT', 'keyGraceMs must be ≥ 0');
    const windowSize = options.replayWindow ?? 1024;
    new ReplayWindow(windowSize); // validates the size now (a positive multiple of 32), not at the first key
    this.ring = new KeyRing(suite, graceMs, windowSize);
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Adds the key for `kid`; keys with a lower kid are retired `keyGraceMs` after a newer one
   * first decrypts a frame. Repeating a KID with the same base key is a no-op (its replay window
   * is kept); with another base key it replaces the key. Copies baseKey.
   * @throws SealcallError `INVALID_ARGUMENT` / `BAD_KEY` for bad arguments, `DISPOSED` after {@link dispose}.
   */
  setKey(kid: number, baseKey: Uint8Array): Promise<void> {
    const done = this.install(kid, baseKey);
    // Frames that come before the first key lands wait for it (see decrypt).
    this.installing = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  private async install(kid: number, baseKey: Uint8Array): Promise<void> {
    if (this.disposed) throw new SealcallError('DISPOSED', 'frame receiver was disposed');
    checkKeyArguments(kid, baseKey);
    const key = await deriveFrameKey(this.suite, kid, baseKey);
    if (this.disposed) return wipeFrameKey(key);
    this.ring.install(key, this.now());
  }

  /**
   * Decrypts one protected frame; resolves null when dropped (counted by reason in `counters`).
   * A frame that comes while the first key is being derived waits for it. Never rejects, never
   * throws. The result owns its whole ArrayBuffer (offset 0), so a transform can set
   * `encodedFrame.data = result.buffer`.
   */
  async decrypt(frame: Uint8Array, kind: FrameKind): Promise<Uint8Array | null> {
    try {
      // The first key is on its way (deriving it is asynchronous): wait for it rather than drop.
      if (this.ring.empty && this.installing) await this.installing;
      if (this.disposed) return this.drop('no-key');
      const now = this.now();
      this.ring.sweep(now);
      const nominal = clearByteCount(kind, frame.length);
      let outcome = await this.open(frame, nominal, now);
      if (typeof outcome === 'string' && outcome !== 'no-key' && frame.length < nominal + MAX_HEADER_BYTES + TAG_BYTES) {
        outcome = await this.openShort(frame, nominal, now, outcome);
      }
      if (typeof outcome === 'string') return this.drop(outcome);
      this.counters.decrypted++;
      return outcome;
    } catch {
      return this.drop('malformed');
    }
  }

  /** Wipes keys. Later frames drop as 'no-key'; later `setKey` calls reject with `DISPOSED`. */
  dispose(): void {
    this.disposed = true;
    this.ring.clear();
  }

  /**
   * Retries a tiny frame at each shorter clear-byte count whose layout fits exactly; see the class
   * notes. If none authenticates, the drop keeps the reason of the usual offset.
   */
  private async openShort(frame: Uint8Array, nominal: number, now: number, first: FrameDropReason): Promise<Outcome> {
    for (let clear = 0; clear < nominal; clear++) {
      if (!readHeader(frame, clear, this.fields) || clear + this.fields.length + TAG_BYTES !== frame.length) continue;
      const retry = await this.open(frame, clear, now);
      if (typeof retry !== 'string') return retry;
    }
    return first;
  }

  /** One attempt with the header at offset `clear`. */
  private async open(frame: Uint8Array, clear: number, now: number): Promise<Outcome> {
    if (!readHeader(frame, clear, this.fields)) return 'malformed';
    const { kid, ctr, length: header } = this.fields;
    if (clear + header + TAG_BYTES > frame.length || !Number.isSafeInteger(ctr)) return 'malformed';
    if (!Number.isSafeInteger(kid)) return 'unknown-kid';

    let entry = this.ring.lookup(kid, now);
    let candidate: FrameKey | undefined;
    if (!entry) {
      if (this.ring.empty) return 'no-key';
      const pending = this.ring.candidate(kid);
      if (!pending) return 'unknown-kid';
      candidate = await pending;
      if (!candidate) return 'unknown-kid';
      entry = this.ring.lookup(kid, now); // committed or installed while we waited?
      if (entry) candidate = undefined;
    }
    if (entry && isReplay(entry, ctr)) return 'replay';

    let plain: Uint8Array;
    try {
      const opened = unprotectFrame((entry?.key ?? candidate)!.cipher, ctr, frame, clear, header);
      plain = opened instanceof Uint8Array ? opened : await opened;
    } catch {
      return 'auth';
    }
    if (this.disposed) return 'no-key';
    if (!entry) {
      entry = this.ring.commit(candidate!, now);
      if (!entry) return 'unknown-kid';
    }
    if (isReplay(entry, ctr)) return 'replay'; // a copy of this frame was accepted while we awaited
    entry.window.accept(ctr);
    this.ring.markUsed(entry, now);
    return plain;
  }

  private drop(reason: FrameDropReason): null {
    this.counters.dropped[reason]++;
    return null;
  }
}

/** ReplayWindow reports replays by throwing; here it is an answer. */
function isReplay(entry: ReceiverKey, ctr: number): boolean {
  try {
    entry.window.check(ctr);
    return false;
  } catch {
    return true;
  }
}
