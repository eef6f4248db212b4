/**
 * A token bucket: holds up to `burst` tokens, refills `perSecond` per second, and each
 * {@link take} spends one. Lets a client send a burst, then throttles it to the average rate.
 *
 * It counts in thousandths of a token and whole milliseconds: every connection has one, and
 * small integers live in the object itself where fractions would each take a number of their own.
 */
export class TokenBucket {
  /** Thousandths of a token. */
  private tokens: number;
  /** Whole milliseconds, `now()` floored. */
  private last: number;
  private readonly burst: number;

  constructor(
    private readonly perSecond: number,
    burst: number,
    private readonly now: () => number,
  ) {
    this.burst = burst * 1000;
    this.tokens = this.burst;
    this.last = Math.floor(now());
  }

  /** Spends a token; false when none is left. */
  take(): boolean {
    const now = Math.floor(this.now());
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    // One token per second per `perSecond` is one thousandth per millisecond.
    this.tokens = Math.min(this.burst, this.tokens + Math.floor(elapsed * this.perSecond));
    if (this.tokens < 1000) return false;
    this.tokens -= 1000;
    return true;
  }
}
