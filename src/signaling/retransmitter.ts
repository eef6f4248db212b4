/** Options of a {@link Retransmitter}. */
export interface RetransmitOptions {
  /** Wait before the first resend; doubled after each, up to `maxMs`. */
  initialMs: number;
  maxMs: number;
}

interface Outstanding {
  attempts: number;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The sending half's memory of one direction: which sequenced messages are not acknowledged yet,
 * and when to send each again (exponential backoff). It never gives up on its own: the call's
 * timeouts decide when a call is over, and closing the channel stops every timer.
 */
export class Retransmitter {
  private readonly outstanding = new Map<number, Outstanding>();

  constructor(
    private readonly options: RetransmitOptions,
    private readonly resend: (seq: number) => void,
  ) {}

  /** Messages sent and not acknowledged yet. */
  get size(): number {
    return this.outstanding.size;
  }

  has(seq: number): boolean {
    return this.outstanding.has(seq);
  }

  /** Starts watching `seq`, just sent. */
  track(seq: number): void {
    this.clear(seq);
    this.schedule(seq, 0);
  }

  /** Forgets every message the peer reports as received. */
  acknowledge(ack: number, sacks: readonly number[] = []): void {
    for (const seq of [...this.outstanding.keys()]) if (seq <= ack) this.clear(seq);
    for (const seq of sacks) this.clear(seq);
  }

  /** Stops every timer. */
  close(): void {
    for (const seq of [...this.outstanding.keys()]) this.clear(seq);
  }

  private schedule(seq: number, attempts: number): void {
    const delay = Math.min(this.options.maxMs, this.options.initialMs * 2 ** attempts);
    const timer = setTimeout(() => {
      if (!this.outstanding.has(seq)) return;
      this.schedule(seq, attempts + 1);
      this.resend(seq);
    }, delay);
    this.outstanding.set(seq, { attempts, timer });
  }

  private clear(seq: number): void {
    const entry = this.outstanding.get(seq);
    if (entry) clearTimeout(entry.timer);
    this.outstanding.delete(seq);
  }
}
