/**
 * A token bucket: holds up to `burst` tokens, refills `perSecond` per second, and each
 * {@link takeToken} spends one. Lets a client send a burst, then throttles it to the average rate.
 *
 * Its two numbers live in their owner (every connection has a bucket, and an object of its own
 * would cost each about 64 bytes). It counts in thousandths of a token and whole milliseconds:
 * small integers live in the object itself where fractions would each take a number of their own.
 */
export interface TokenBucketState {
  /** Thousandths of a token. */
  tokens: number;
  /** When it was last filled: whole milliseconds of its clock. */
  tokensAt: number;
}

/** A full bucket of `burst` tokens at `now` (ms). */
export function fullBucket(burst: number, now: number): TokenBucketState {
  return { tokens: burst * 1000, tokensAt: Math.floor(now) };
}

/** Refills the bucket for the time since it was last filled, then spends a token; false when none is left. */
export function takeToken(bucket: TokenBucketState, perSecond: number, burst: number, now: number): boolean {
  const ms = Math.floor(now);
  // A clock that steps backwards refills nothing rather than draining the bucket.
  const elapsed = Math.max(0, ms - bucket.tokensAt);
  bucket.tokensAt = ms;
  // One token per second per `perSecond` is one thousandth per millisecond.
  bucket.tokens = Math.min(burst * 1000, bucket.tokens + Math.floor(elapsed * perSecond));
  if (bucket.tokens < 1000) return false;
  bucket.tokens -= 1000;
  return true;
}
