import { ReplayWindow } from '../replay-window.js';
import { deriveFrameKey, type FrameKey, isWiped, sameBaseKey, wipeFrameKey } from './frame-key.js';
import { nextBaseKey } from './ratchet.js';
import type { FrameSuiteName } from './types.js';

/** How far past the newest installed KID a frame may be and still be tried with a ratcheted key. */
export const MAX_RATCHET_AHEAD = 4;

/**
 * Most keys a receiver holds at once. A peer that announces key after key without sending a
 * frame under any would otherwise make us keep them all (they retire only once a newer one
 * decrypts a frame); past this, the lowest KIDs are wiped at once.
 */
export const MAX_LIVE_KEYS = 4;

/** How long a superseded ratchet candidate lives on for frames still being decrypted with it. */
const STALE_CANDIDATE_MS = 1000;

/** A key the receiver holds, with its own replay window (one receiver = one sender, so per KID). */
export interface ReceiverKey {
  readonly key: FrameKey;
  readonly window: ReplayWindow;
  /** Whether a frame has authenticated under it. */
  used: boolean;
  /** When it stops being accepted (set once a newer key is in use). */
  retireAt: number | undefined;
}

/** A ratcheted key being derived or derived; `key` is set once `pending` resolves. */
interface Candidate {
  readonly pending: Promise<FrameKey | undefined>;
  key: FrameKey | undefined;
}

/**
 * The receiver's keys by KID, their retirement, and ratchet candidates.
 *
 * Retirement: when a key first authenticates a frame, every key with a lower KID gets
 * `retireAt = now + graceMs`, so frames still in flight under the old key play out; then the old
 * key is wiped.
 *
 * Ratchet candidates: the keys for KIDs newest+1 … newest+{@link MAX_RATCHET_AHEAD}, derived
 * from the newest base key with `nextBaseKey`, each at most once (a flood of frames with such
 * KIDs costs one key derivation per KID, not one per frame). A candidate has no replay window
 * and is installed ({@link commit}) only after it authenticated a frame.
 */
export class KeyRing {
  private readonly keys = new Map<number, ReceiverKey>();
  private newest: ReceiverKey | undefined;
  private candidates = new Map<number, Candidate>();
  /** Candidates made obsolete by a newer key, wiped once frames in flight with them are done. */
  private stale: { candidate: Candidate; at: number }[] = [];
  /** Highest KID that authenticated a frame, and since when: keys installed later below it retire too. */
  private activeKid = -1;
  private activeSince = 0;
  private nextDue = Infinity;

  constructor(
    private readonly suite: FrameSuiteName,
    private readonly graceMs: number,
    private readonly windowSize: number,
  ) {}

  get empty(): boolean {
    return this.keys.size === 0;
  }

  /**
   * Installs `key` from `setKey` and takes ownership of it. A KID already held with the same base
   * key keeps the old entry (and its replay window) and wipes `key`; with another base key the
   * old entry is replaced.
   */
  install(key: FrameKey, now: number): void {
    const existing = this.keys.get(key.kid);
    if (existing && sameBaseKey(existing.key.baseKey, key.baseKey)) {
      wipeFrameKey(key);
      return;
    }
    if (existing) this.remove(existing);
    this.add(key, now);
  }

  /** The live key for `kid`, retiring it first if its grace has passed. */
  lookup(kid: number, now: number): ReceiverKey | undefined {
    const entry = this.keys.get(kid);
    if (entry?.retireAt !== undefined && entry.retireAt <= now) {
      this.remove(entry);
      return undefined;
    }
    return entry;
  }

  /** Records that `entry` authenticated a frame; the first time for a newer KID, older keys start their grace. */
  markUsed(entry: ReceiverKey, now: number): void {
    if (entry.used) return;
    entry.used = true;
    const kid = entry.key.kid;
    if (kid <= this.activeKid) return;
    this.activeKid = kid;
    this.activeSince = now;
    for (const other of this.keys.values()) {
      if (other.key.kid < kid && other.retireAt === undefined) this.retireAt(other, now + this.graceMs);
    }
  }

  /** Wipes keys and stale candidates that are due. Cheap when none is: one comparison. */
  sweep(now: number): void {
    if (now < this.nextDue) return;
    this.nextDue = Infinity;
    for (const entry of [...this.keys.values()]) {
      if (entry.retireAt === undefined) continue;
      if (entry.retireAt <= now) this.remove(entry);
      else this.nextDue = Math.min(this.nextDue, entry.retireAt);
    }
    const keep: typeof this.stale = [];
    for (const item of this.stale) {
      if (item.at <= now) this.wipeCandidate(item.candidate);
      else {
        keep.push(item);
        this.nextDue = Math.min(this.nextDue, item.at);
      }
    }
    this.stale = keep;
  }

  /**
   * The ratcheted key for `kid` if it is newest+1 … newest+{@link MAX_RATCHET_AHEAD}, derived
   * once and shared; resolves undefined if derivation fails. Not installed: see {@link commit}.
   */
  candidate(kid: number): Promise<FrameKey | undefined> | undefined {
    const newest = this.newest;
    if (!newest) return undefined;
    const ahead = kid - newest.key.kid;
    if (!(ahead >= 1 && ahead <= MAX_RATCHET_AHEAD)) return undefined;
    let candidate = this.candidates.get(kid);
    if (!candidate) {
      const record: Candidate = { pending: this.deriveCandidate(newest.key.baseKey, ahead, kid), key: undefined };
      void record.pending.then((key) => (record.key = key));
      this.candidates.set(kid, record);
      candidate = record;
    }
    return candidate.pending;
  }

  /**
   * Installs a candidate that just authenticated a frame and returns the entry to record the
   * frame in. If the KID is already held (another frame committed it, or `setKey` installed the
   * same base key) that entry is returned; undefined if the KID holds a different key, or the
   * candidate was wiped meanwhile: then the frame must be dropped.
   */
  commit(key: FrameKey, now: number): ReceiverKey | undefined {
    if (isWiped(key)) return undefined;
    const existing = this.keys.get(key.kid);
    if (existing) return existing.key === key || sameBaseKey(existing.key.baseKey, key.baseKey) ? existing : undefined;
    // The ring owns it now: it must leave the candidates, which are wiped when they go stale.
    if (this.candidates.get(key.kid)?.key === key) this.candidates.delete(key.kid);
    return this.add(key, now);
  }

  /** Wipes every key and candidate. */
  clear(): void {
    for (const entry of [...this.keys.values()]) this.remove(entry);
    this.newest = undefined;
    for (const candidate of this.candidates.values()) this.wipeCandidate(candidate);
    for (const { candidate } of this.stale) this.wipeCandidate(candidate);
    this.candidates = new Map();
    this.stale = [];
  }

  private add(key: FrameKey, now: number): ReceiverKey {
    const entry: ReceiverKey = { key, window: new ReplayWindow(this.windowSize), used: false, retireAt: undefined };
    // Installed late, below a key already in use: it gets what is left of that key's grace.
    if (key.kid < this.activeKid) this.retireAt(entry, this.activeSince + this.graceMs);
    this.keys.set(key.kid, entry);
    while (this.keys.size > MAX_LIVE_KEYS) this.remove(this.lowest()!);
    if (!this.newest || key.kid >= this.newest.key.kid) {
      this.newest = entry;
      // Candidates hang off the newest base key: a new one makes them obsolete. Frames may still
      // be decrypting with them, so they are wiped a little later, not now.
      for (const candidate of this.candidates.values()) this.stale.push({ candidate, at: now + STALE_CANDIDATE_MS });
      this.nextDue = Math.min(this.nextDue, now + STALE_CANDIDATE_MS);
      this.candidates = new Map();
    }
    return entry;
  }

  private async deriveCandidate(baseKey: Uint8Array, ahead: number, kid: number): Promise<FrameKey | undefined> {
    let base = baseKey;
    try {
      for (let i = 0; i < ahead; i++) {
        const next = nextBaseKey(base);
        if (base !== baseKey) base.fill(0);
        base = next;
      }
      return await deriveFrameKey(this.suite, kid, base);
    } catch {
      return undefined;
    } finally {
      if (base !== baseKey) base.fill(0);
    }
  }

  private lowest(): ReceiverKey | undefined {
    let lowest: ReceiverKey | undefined;
    for (const entry of this.keys.values()) if (!lowest || entry.key.kid < lowest.key.kid) lowest = entry;
    return lowest;
  }

  private retireAt(entry: ReceiverKey, at: number): void {
    entry.retireAt = at;
    this.nextDue = Math.min(this.nextDue, at);
  }

  private remove(entry: ReceiverKey): void {
    if (this.keys.get(entry.key.kid) === entry) this.keys.delete(entry.key.kid);
    if (this.newest === entry) this.newest = undefined;
    wipeFrameKey(entry.key);
  }

  /** Wipes a candidate unless it was committed (then the ring owns it). */
  private wipeCandidate(candidate: Candidate): void {
    void candidate.pending.then((key) => {
      if (key && this.keys.get(key.kid)?.key !== key && !isWiped(key)) wipeFrameKey(key);
    });
  }
}
