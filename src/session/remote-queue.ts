import type { IceCandidate } from '../protocol/messages.js';
import type { PatchedPeer } from './patched-peer.js';

/**
 * The peer's descriptions and candidates, applied to the connection strictly in the order they
 * came. Candidates that arrive before the first description wait for it.
 */
export class RemoteQueue {
  private queue: Promise<void> = Promise.resolve();
  private described = false;
  private early: IceCandidate[] = [];
  private earlyEnd = false;
  private closed = false;

  /** @param rejected - the connection refused a remote description. */
  constructor(
    private readonly peer: PatchedPeer,
    private readonly rejected: (error: unknown) => void,
  ) {}

  /** Queues a description, then the candidates that came with it (and those that came before). */
  description(type: 'offer' | 'answer', sdp: string, candidates: IceCandidate[]): void {
    this.enqueue(async () => {
      try {
        await this.peer.applyRemoteDescription({ type, sdp });
      } catch (error) {
        this.rejected(error);
      }
    });
    const early = this.early;
    this.early = [];
    this.described = true;
    this.enqueueCandidates([...early, ...candidates], this.earlyEnd);
    this.earlyEnd = false;
  }

  /** Queues a batch of candidates; `end` marks the peer's end-of-candidates. */
  candidates(candidates: IceCandidate[], end: boolean): void {
    if (!this.described) {
      this.early.push(...candidates);
      this.earlyEnd ||= end;
      return;
    }
    this.enqueueCandidates(candidates, end);
  }

  /** Nothing queued runs any more. */
  close(): void {
    this.closed = true;
  }

  private enqueueCandidates(candidates: IceCandidate[], end: boolean): void {
    if (candidates.length === 0 && !end) return;
    this.enqueue(async () => {
      const pc = this.peer._pc;
      if (!pc) return;
      const { RTCIceCandidate } = this.peer._wrtc;
      // A single bad or stale (pre-restart) candidate must not end the call: ignore failures.
      const added = candidates.map((c) => pc.addIceCandidate(new RTCIceCandidate(c)).catch(() => undefined));
      // No argument means end-of-candidates (it lets ICE conclude `failed` sooner).
      if (end) added.push(pc.addIceCandidate().catch(() => undefined));
      await Promise.all(added);
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(() => (this.closed ? undefined : task())).catch(() => undefined);
  }
}
