/** How long a count of queue creations per address lasts. */
const WINDOW_MS = 60 * 60 * 1000;
/** Addresses tracked at once; past it, windows that ended are dropped first. */
const MAX_ADDRESSES = 10_000;

/**
 * Counts queue creations per client address in fixed one-hour windows, so reconnecting does not
 * reset a client's allowance (the per-connection limit alone did).
 */
export class CreationLimiter {
  private readonly windows = new Map<string, { count: number; since: number }>();

  constructor(private readonly perHour: number) {}

  /** Whether `address` may create one more queue now; counts it if so. */
  allow(address: string, now: number): boolean {
    let window = this.windows.get(address);
    if (!window || now - window.since >= WINDOW_MS) {
      if (!window && this.windows.size >= MAX_ADDRESSES) this.prune(now);
      window = { count: 0, since: now };
      this.windows.set(address, window);
    }
    if (window.count >= this.perHour) return false;
    window.count++;
    return true;
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) if (now - window.since >= WINDOW_MS) this.windows.delete(address);
    // Still full: the oldest window goes (Map order is insertion order).
    if (this.windows.size >= MAX_ADDRESSES) this.windows.delete(this.windows.keys().next().value!);
  }
}
