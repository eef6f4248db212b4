/** What the heartbeat needs of a connection. */
export interface Pingable {
  /** Cleared by each ping, set again by the pong. */
  alive: boolean;
  /** When the heartbeat last pinged it (the heartbeat's clock); 0 before the first ping. */
  pingedAt: number;
  readonly open: boolean;
  ping(): void;
  terminate(): void;
}

/** Steps a round is spread over: each pings the connections whose time in the round has come. */
export const HEARTBEAT_STEPS = 100;

/**
 * Pings every connection once every `intervalMs` and drops those that did not answer their
 * previous ping (a dead peer or path: half-open TCP). A round is spread over the first half of
 * the interval, in {@link HEARTBEAT_STEPS} steps each pinging the connections whose time has come:
 * pinging thousands at once is thousands of socket writes, and as many pongs for the clients to
 * answer, in one stretch that holds up every message in flight meanwhile (the load bench saw it
 * in its latency). Progress follows the clock, not the count of steps, so timers that fire late
 * (or are clamped to a millisecond) never leave connections unpinged.
 *
 * A round walks the live set, not a copy of it: a connection that closes (and leaves the set)
 * before its turn is neither visited nor kept, where a copy would hold every closed connection,
 * socket and all, until the round reached it (up to half an interval, however fast they churn).
 * Connections that join during a round come at its end.
 *
 * A connection's place in the round moves as others come and go, so two of its pings may come
 * closer than an interval apart: one that has not answered is dropped only once its ping is a
 * quarter of an interval old, and otherwise left for the next round.
 */
export class Heartbeat {
  private readonly timer: ReturnType<typeof setInterval>;
  private step: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly connections: () => ReadonlySet<Pingable>,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.timer = setInterval(() => this.round(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.step);
  }

  private round(): void {
    clearTimeout(this.step); // a round still unfinished (a stalled event loop) gives way to the new one
    const connections = this.connections();
    this.pingStep(connections.values(), connections.size, 0, this.now());
  }

  /**
   * Pings the next connections of the round started at `startedAt` with `total` of them, up to
   * those whose time has come (`visited` so far); the last step takes all that are left.
   */
  private pingStep(connections: Iterator<Pingable>, total: number, visited: number, startedAt: number): void {
    if (this.stopped) return;
    const spreadMs = this.intervalMs / 2;
    const stepMs = spreadMs / HEARTBEAT_STEPS;
    const now = this.now();
    const due = (now - startedAt + stepMs) / spreadMs;
    // Less a hair: a share that should come out whole (k/100 of n) may round up past it.
    const end = due >= 1 ? Infinity : Math.ceil(total * due - 1e-9);
    for (; visited < end; visited++) {
      const next = connections.next();
      if (next.done) return;
      this.visit(next.value, now);
    }
    this.step = setTimeout(() => this.pingStep(connections, total, visited, startedAt), stepMs);
    this.step.unref();
  }

  private visit(connection: Pingable, now: number): void {
    if (!connection.open) return; // closed since the round began
    if (connection.alive) {
      connection.alive = false;
      connection.pingedAt = now;
      connection.ping();
    } else if (now - connection.pingedAt >= this.intervalMs / 4) {
      connection.terminate();
    }
  }
}
