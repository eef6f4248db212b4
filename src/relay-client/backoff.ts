/**
 * Options of `backoffDelay` (exponential backoff with full jitter), as
 * `WebSocketTransportOptions.backoff` takes them.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 250. */
  initialMs?: number;
  /** Largest delay, in ms. Default 10,000. */
  maxMs?: number;
}

/** Defaults of {@link BackoffOptions}. */
const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 10_000 } as const;

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential with full jitter, a uniform
 * draw in `[0, min(maxMs, initialMs · 2^attempt)]`. Jitter spreads the clients of a restarted
 * relay over the window instead of having them all reconnect at the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
