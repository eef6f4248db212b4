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
  private readonly entries = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ReplayCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? LIMITS.inviteLifetimeMs + 2 * LIMITS.clockSkewMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** True if `key` was recorded and has not expired. */
  has(key: string): boolean {
    const expiry = this.entries.get(key);
    return expiry !== undefined && expiry > this.now();
  }

  /** Records `key` for the cache's lifetime. */
  add(key: string): void {
    this.prune();
    this.entries.delete(key);
    this.entries.set(key, this.now() + this.ttlMs);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** Number of live entries. */
  get size(): number {
    this.prune();
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    // Insertion order is expiry order (fixed TTL), so stop at the first live entry.
    for (const [key, expiry] of this.entries) {
      if (expiry > now) break;
      this.entries.delete(key);
    }
  }
}
