import { ExpiringMap } from '../expiring-map.js';
import { LIMITS } from '../protocol/limits.js';

/** Options of {@link ReplayCache}. */
export interface ReplayCacheOptions {
  /**
   * How long an entry is remembered. Default: the longest invitation lifetime plus twice the
   * allowed clock skew, which covers the whole time an invitation can pass the freshness check.
   */
  ttlMs?: number;
  /** Most entries kept; the oldest are dropped first. Default 10,000. */
  maxEntries?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Remembers handshake messages already accepted (by their unique ephemeral key) so a replayed
 * invitation never rings twice. Only authenticated messages are recorded, so only a real contact's
 * traffic can fill it.
 */
export class ReplayCache {
  private readonly seen: ExpiringMap<true>;

  constructor(options: ReplayCacheOptions = {}) {
    this.seen = new ExpiringMap({
      ttlMs: options.ttlMs ?? LIMITS.inviteLifetimeMs + 2 * LIMITS.clockSkewMs,
      maxEntries: options.maxEntries ?? 10_000,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** True if `key` was recorded and has not expired. */
  has(key: string): boolean {
    return this.seen.has(key);
  }

  /** Records `key` for the cache's lifetime. */
  add(key: string): void {
    this.seen.set(key, true);
  }

  /** Number of live entries. */
  get size(): number {
    return this.seen.size;
  }
}
