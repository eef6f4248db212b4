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

/** Steps a round is spread over: each pings its share of the connections, in turn. */
export const HEARTBEAT_STEPS = 100;

/**
 * Pings every connection once every `intervalMs` and drops those that did not answer their
 * previous ping (a dead peer or path: half-open TCP). A round is spread over the interval, in
 * {@link HEARTBEAT_STEPS} steps each pinging its share of the connections: pinging thousands at
 * once is thousands of socket writes, and as many pongs for the clients to answer, in one stretch
 * that holds up every message in flight meanwhile (the load bench saw it in its latency).
 *
 * A connection's place in the round moves as others come and go, so two of its pings may come
 * closer than an interval apart: one that has not answered is dropped only when its ping is at
 * least half an interval old, and otherwise left for the next round.
 */
export class Heartbeat {
  private readonly timer: ReturnType<typeof setInterval>;
  private step: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly connections: () => Iterable<Pingable>,
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
    clearTimeout(this.step); // a round that overran its interval gives way to the new one
    this.pingStep([...this.connections()], 0, 0);
  }

  /** Step `step` of a round: pings the connections from `from` up to that step's share. */
  private pingStep(connections: Pingable[], from: number, step: number): void {
    if (this.stopped) return;
    const end = Math.ceil((connections.length * (step + 1)) / HEARTBEAT_STEPS);
    const now = this.now();
    for (let i = from; i < end; i++) this.visit(connections[i]!, now);
    if (end < connections.length) {
      this.step = setTimeout(() => this.pingStep(connections, end, step + 1), this.intervalMs / HEARTBEAT_STEPS);
      this.step.unref();
    }
  }

  private visit(connection: Pingable, now: number): void {
    if (!connection.open) return; // closed since the round began
    if (connection.alive) {
      connection.alive = false;
      connection.pingedAt = now;
      connection.ping();
    } else if (now - connection.pingedAt >= this.intervalMs / 2) {
      connection.terminate();
    }
  }
}
