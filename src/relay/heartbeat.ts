/** What the heartbeat needs of a connection. */
export interface Pingable {
  /** Cleared by each ping, set again by the pong. */
  alive: boolean;
  readonly open: boolean;
  ping(): void;
  terminate(): void;
}

/** Connections pinged in one go before the event loop gets a turn. */
export const HEARTBEAT_BATCH = 64;

/**
 * Pings every connection every `intervalMs` and drops those that did not answer the previous
 * ping (a dead peer or path: half-open TCP). A round goes through the connections in batches,
 * each in its own macrotask: pinging thousands at once is thousands of socket writes in one
 * stretch, which would hold up every message arriving meanwhile.
 */
export class Heartbeat {
  private readonly timer: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(
    private readonly connections: () => Iterable<Pingable>,
    intervalMs: number,
  ) {
    this.timer = setInterval(() => this.round([...this.connections()], 0), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private round(connections: Pingable[], from: number): void {
    if (this.stopped) return;
    const end = Math.min(connections.length, from + HEARTBEAT_BATCH);
    for (let i = from; i < end; i++) {
      const connection = connections[i]!;
      if (!connection.open) continue; // closed since the round began
      if (!connection.alive) connection.terminate();
      else {
        connection.alive = false;
        connection.ping();
      }
    }
    if (end < connections.length) setImmediate(() => this.round(connections, end));
  }
}
