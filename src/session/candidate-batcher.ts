import type { IceCandidate } from '../protocol/messages.js';
import type { CandidateTiming, SessionSignal } from './types.js';

/**
 * Turns the local descriptions and trickled candidates of one peer connection into few
 * signaling messages (every message costs a relay round trip and an envelope):
 *
 * - the first offer/answer is held for up to `gatherWindowMs` (or until gathering completes) so
 *   that it carries the candidates gathered meanwhile, as SimpleX and Matrix do;
 * - later candidates are collected for `batchMs` from the first one and sent as one batch;
 * - when gathering completes, what is pending goes out with `end: true` (an empty batch if
 *   nothing is pending), once per gathering cycle; an ICE restart starts a new cycle;
 * - renegotiation descriptions go out at once, with whatever candidates are pending.
 */
export class CandidateBatcher {
  private phase: 'waiting' | 'holding' | 'sent' = 'waiting';
  private held: { type: 'offer' | 'answer'; sdp: string } | undefined;
  private pending: IceCandidate[] = [];
  private gatheringComplete = false;
  private windowTimer: ReturnType<typeof setTimeout> | undefined;
  private batchTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly timing: CandidateTiming,
    private readonly emit: (signal: SessionSignal) => void,
  ) {}

  /** A local offer or answer was set. */
  description(type: 'offer' | 'answer', sdp: string): void {
    if (this.disposed) return;
    if (this.phase === 'waiting') {
      this.held = { type, sdp };
      this.phase = 'holding';
      if (this.gatheringComplete) this.releaseInitial();
      else this.windowTimer = setTimeout(() => this.releaseInitial(), this.timing.gatherWindowMs);
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
    // Before the initial description goes out, the gathering window collects candidates.
    if (this.phase === 'sent' && this.batchTimer === undefined) {
      this.batchTimer = setTimeout(() => this.flush(false), this.timing.batchMs);
    }
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
    clearTimeout(this.windowTimer);
    this.clearBatchTimer();
    this.pending = [];
    this.held = undefined;
  }

  private releaseInitial(): void {
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
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

  private clearBatchTimer(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
  }
}
