import type { IceCandidate } from '../protocol/messages.js';
import type { CandidateTiming, SessionSignal } from './types.js';

/** Default {@link CandidateTiming.hostQuietMs}. */
export const DEFAULT_HOST_QUIET_MS = 1;

/** How a {@link CandidateBatcher} is set up: its timing, and what the peer connection gathers. */
export interface CandidateBatcherOptions extends CandidateTiming {
  /**
   * The peer connection has STUN or TURN servers: the initial description waits for the first
   * server (srflx/relay) candidate instead of going out once the host candidates are in, since
   * across the internet host candidates alone rarely connect.
   */
  serverCandidates?: boolean;
}

/**
 * Turns the local descriptions and trickled candidates of one peer connection into few
 * signaling messages (every message costs a relay round trip and an envelope).
 *
 * The first offer/answer goes out, with every candidate gathered so far, at the first of:
 * - gathering completes;
 * - without STUN/TURN servers: `hostQuietMs` (default 1 ms) pass with no new candidate after a
 *   host candidate. libwebrtc gathers in phases 50 ms apart (UDP host candidates, with STUN
 *   replies as they come; TURN allocations from 50 ms; TCP host candidates from 100 ms) and hands
 *   over the UDP host candidates of all interfaces in one burst: in @roamhq/wrtc on a 2-core
 *   machine, the whole burst came before a `setImmediate` queued at its first candidate in 98 of
 *   100 gatherings, and before a 2 ms timer in 100 of 100; under heavy load the longest pause
 *   within it was under 0.2 ms in 9 of 10 gatherings, 2.4 ms at most in 150. So the quiet period
 *   ends the first phase without waiting for the next (a Node timer of 1 ms fires after 1–2 ms);
 *   a straggler it misses travels in the next batch, and is almost always one of the second
 *   m-line's, which BUNDLE drops anyway;
 * - a server (srflx, relay) or peer-reflexive candidate arrives: it carries the host candidates
 *   before it; with STUN/TURN servers, this is what the description waits for (if none comes:
 *   a server that does not answer, or a public address whose srflx libwebrtc drops as equal to
 *   the host one, it waits for gathering to complete or the window);
 * - `gatherWindowMs` pass since the description was set: the upper bound (0: at once).
 *
 * Candidates that are not recognisably `typ host` or a server type never start the quiet period.
 * Later candidates are collected for `batchMs` from the first one and sent as one batch; when
 * gathering completes, what is pending goes out with `end: true` (an empty batch if nothing is
 * pending), once per gathering cycle; an ICE restart starts a new cycle. Renegotiation
 * descriptions go out at once, with whatever candidates are pending.
 */
export class CandidateBatcher {
  private phase: 'waiting' | 'holding' | 'sent' = 'waiting';
  private held: { type: 'offer' | 'answer'; sdp: string } | undefined;
  private pending: IceCandidate[] = [];
  private gatheringComplete = false;
  /** A host candidate is pending: the quiet period runs (restarted by each new candidate). */
  private hostSeen = false;
  private windowTimer: ReturnType<typeof setTimeout> | undefined;
  private quietTimer: ReturnType<typeof setTimeout> | undefined;
  private batchTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  private readonly hostQuietMs: number;

  constructor(
    private readonly options: CandidateBatcherOptions,
    private readonly emit: (signal: SessionSignal) => void,
  ) {
    this.hostQuietMs = options.hostQuietMs ?? DEFAULT_HOST_QUIET_MS;
  }

  /** A local offer or answer was set. */
  description(type: 'offer' | 'answer', sdp: string): void {
    if (this.disposed) return;
    if (this.phase === 'waiting') {
      this.held = { type, sdp };
      this.phase = 'holding';
      if (this.gatheringComplete || this.pending.some(isServerCandidate)) return this.releaseInitial();
      this.windowTimer = setTimeout(() => this.releaseInitial(), this.options.gatherWindowMs);
      if (this.hostSeen) this.startQuiet();
      return;
    }
    // Cannot happen with one offerer, but never reorder descriptions if it does.
    if (this.phase === 'holding') this.releaseInitial();
    this.clearBatchTimer();
    this.emit({ kind: 'description', initial: false, type, sdp, candidates: this.take() });
  }

  /** A local candidate was gathered. */
  candidate(candidate: IceCandidate): void {
    if (this.disposed) return;
    this.pending.push(candidate);
    if (this.phase === 'sent') {
      this.batchTimer ??= setTimeout(() => this.flush(false), this.options.batchMs);
      return;
    }
    // Before the initial description goes out, candidates ride in it.
    const type = candidateType(candidate.candidate);
    if (type === 'host' && !this.options.serverCandidates) this.hostSeen = true;
    if (this.phase !== 'holding') return;
    if (type !== undefined && type !== 'host') return this.releaseInitial();
    if (this.hostSeen) this.startQuiet(); // (re)starts: the quiet period follows the last candidate
  }

  /** A new gathering cycle (new ICE credentials: the first description or an ICE restart). */
  gatheringStarted(): void {
    this.gatheringComplete = false;
  }

  /** Gathering finished: no more candidates in this cycle. */
  gatheringFinished(): void {
    if (this.disposed || this.gatheringComplete) return;
    this.gatheringComplete = true;
    if (this.phase === 'holding') this.releaseInitial();
    else if (this.phase === 'sent') this.flush(true);
  }

  /** Stops all timers; nothing is emitted afterwards. */
  dispose(): void {
    this.disposed = true;
    this.clearInitialTimers();
    this.clearBatchTimer();
    this.pending = [];
    this.held = undefined;
  }

  private startQuiet(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.releaseInitial(), this.hostQuietMs);
  }

  private releaseInitial(): void {
    this.clearInitialTimers();
    const held = this.held;
    if (this.disposed || !held) return;
    this.held = undefined;
    this.phase = 'sent';
    this.emit({ kind: 'description', initial: true, type: held.type, sdp: held.sdp, candidates: this.take() });
    if (this.gatheringComplete) this.flush(true);
  }

  private flush(end: boolean): void {
    this.clearBatchTimer();
    if (this.disposed) return;
    const candidates = this.take();
    if (candidates.length === 0 && !end) return;
    this.emit({ kind: 'candidates', candidates, end });
  }

  private take(): IceCandidate[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  private clearInitialTimers(): void {
    clearTimeout(this.windowTimer);
    clearTimeout(this.quietTimer);
    this.windowTimer = undefined;
    this.quietTimer = undefined;
  }

  private clearBatchTimer(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
  }
}

/** A candidate line's `typ` (host, srflx, prflx, relay), or undefined if it has none. */
export function candidateType(candidate: string): string | undefined {
  return /\styp\s+(\S+)/i.exec(candidate)?.[1]?.toLowerCase();
}

function isServerCandidate(candidate: IceCandidate): boolean {
  const type = candidateType(candidate.candidate);
  return type !== undefined && type !== 'host';
}
