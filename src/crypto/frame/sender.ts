import { SealcallError } from '../../errors.js';
import { clearByteCount } from './clear-bytes.js';
import { createFrameCounters } from './counters.js';
import { checkKeyArguments, deriveFrameKey, type FrameKey, sameBaseKey, wipeFrameKey } from './frame-key.js';
import { protectFrame } from './protect.js';
import type { FrameCounters, FrameDropReason, FrameKind, FrameSuiteName } from './types.js';
import { FRAME_SUITES } from './types.js';

/**
 * Default highest counter per key: 2^32 − 1 frames, over a year at 100 frames/s, and well inside
 * the AEAD usage limits of both suites. Rotate (a new KID) long before.
 */
export const DEFAULT_MAX_COUNTER = 0xffff_ffff;

/** Options beyond the suite. */
export interface FrameSenderOptions {
  /** Highest CTR a key may use; frames after it drop as 'counter-exhausted'. At most 2^53 − 1. */
  maxCounter?: number;
}

/**
 * Encrypts one direction's encoded frames with RFC 9605 SFrame. One instance per sending
 * endpoint: every track of that endpoint must share it (or use distinct base keys), because two
 * senders on one key would reuse counters, and so nonces.
 *
 * Counters: each KID starts at CTR 0 and counts up by one per frame, taken synchronously when
 * `encrypt` is called (or, for frames that waited for the first key, when it lands, in call
 * order), so concurrent calls never share one. A KID is never installed twice with different
 * keys, nor re-installed after a later one, so a (key, CTR) pair is never reused.
 */
export class FrameSender {
  readonly counters: FrameCounters = createFrameCounters();
  private readonly maxCounter: number;
  private current: { key: FrameKey; ctr: number } | undefined;
  /** The newest `setKey` request, to refuse reuse of a KID and to dedupe repeats. */
  private requested: { kid: number; baseKey: Uint8Array; done: Promise<void> } | undefined;
  private disposed = false;

  constructor(
    readonly suite: FrameSuiteName,
    options: FrameSenderOptions = {},
  ) {
    if (!Object.hasOwn(FRAME_SUITES, suite)) throw new SealcallError('INVALID_ARGUMENT', `unknown frame suite ${String(suite)}`);
    const maxCounter = options.maxCounter ?? DEFAULT_MAX_COUNTER;
    if (!Number.isSafeInteger(maxCounter) || maxCounter < 0) throw new SealcallError('INVALID_ARGUMENT', 'maxCounter must be a non-negative safe integer');
    this.maxCounter = maxCounter;
  }

  /** The KID frames are encrypted under now, if any. */
  get kid(): number | undefined {
    return this.current?.key.kid;
  }

  /**
   * Installs the key for `kid` derived from `baseKey` (the RFC's base_key); frames use it once
   * the promise resolves. CTR restarts at 0 for each new kid. Copies baseKey.
   *
   * KIDs must grow: repeating the current KID with the same base key is a no-op, anything else
   * at or below it rejects with `INVALID_ARGUMENT` (it would restart counters under a used key).
   * If a newer `setKey` finishes first, this one resolves without installing its key.
   * A KID whose derivation failed stays used up: retry with a higher one.
   * @throws SealcallError `INVALID_ARGUMENT` / `BAD_KEY` for bad arguments, `DISPOSED` after {@link dispose}.
   */
  setKey(kid: number, baseKey: Uint8Array): Promise<void> {
    try {
      if (this.disposed) throw new SealcallError('DISPOSED', 'frame sender was disposed');
      checkKeyArguments(kid, baseKey);
      const last = this.requested;
      if (last && kid === last.kid && sameBaseKeyOrFalse(last.baseKey, baseKey)) return last.done;
      if (last && kid <= last.kid) {
        throw new SealcallError('INVALID_ARGUMENT', `kid ${kid} was already used; a new key needs a higher kid`);
      }
      if (last) last.baseKey.fill(0);
      const done = this.install(kid, baseKey);
      this.requested = { kid, baseKey: baseKey.slice(), done };
      return done;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async install(kid: number, baseKey: Uint8Array): Promise<void> {
    const key = await deriveFrameKey(this.suite, kid, baseKey);
    // A later setKey may have won the race, or dispose() run meanwhile: never go backwards.
    if (this.disposed || (this.current && this.current.key.kid >= kid)) {
      wipeFrameKey(key);
      return;
    }
    if (this.current) wipeFrameKey(this.current.key);
    this.current = { key, ctr: 0 };
  }

  /**
   * Encrypts one encoded frame; resolves null when it must be dropped (no key set: fail closed;
   * counter exhausted). A frame that comes while the first key is being derived waits for it.
   * Never rejects. The result owns its whole ArrayBuffer (offset 0), so a transform can set
   * `encodedFrame.data = result.buffer`.
   *
   * An unexpected failure inside the cipher (none is known) also drops, counted as 'no-key':
   * the key could not be used.
   */
  async encrypt(frame: Uint8Array, kind: FrameKind): Promise<Uint8Array | null> {
    try {
      // The first key is on its way (deriving it is asynchronous): wait for it rather than drop.
      // Frames waiting take their counters when it lands, in the order they came.
      if (!this.current && this.requested) await this.requested.done.catch(() => undefined);
      const current = this.current;
      if (!current) return this.drop('no-key');
      if (current.ctr > this.maxCounter) return this.drop('counter-exhausted');
      const ctr = current.ctr++;
      const out = protectFrame(current.key.kid, current.key.cipher, ctr, frame, clearByteCount(kind, frame.length));
      const protectedFrame = out instanceof Uint8Array ? out : await out;
      this.counters.encrypted++;
      return protectedFrame;
    } catch {
      return this.drop('no-key');
    }
  }

  /** Wipes keys. Later frames drop as 'no-key'; later `setKey` calls reject with `DISPOSED`. */
  dispose(): void {
    this.disposed = true;
    if (this.current) wipeFrameKey(this.current.key);
    this.current = undefined;
    this.requested?.baseKey.fill(0);
  }

  private drop(reason: FrameDropReason): null {
    this.counters.dropped[reason]++;
    return null;
  }
}

/** `sameBaseKey` needs libsodium; before it is loaded no key can have been installed anyway. */
function sameBaseKeyOrFalse(a: Uint8Array, b: Uint8Array): boolean {
  try {
    return sameBaseKey(a, b);
  } catch {
    return false;
  }
}
