/** Options of {@link ExpiringMap}. */
export interface ExpiringMapOptions {
  /** How long an entry lives, in ms. */
  ttlMs: number;
  /** Most entries kept; the oldest are dropped first. */
  maxEntries: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * A map whose entries expire after a fixed time and whose size is capped, so state kept about
 * untrusted or past input (seen handshakes, ended calls) stays bounded.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiry: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ExpiringMapOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
    this.now = options.now ?? Date.now;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiry > this.now() ? entry.value : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores `value` under `key` for the map's lifetime, counted from now. */
  set(key: string, value: V): void {
    this.prune();
    this.entries.delete(key);
    this.entries.set(key, { value, expiry: this.now() + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Number of live entries. */
  get size(): number {
    this.prune();
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    // Insertion order is expiry order (fixed TTL, re-set entries move to the end).
    for (const [key, entry] of this.entries) {
      if (entry.expiry > now) break;
      this.entries.delete(key);
    }
  }
}
