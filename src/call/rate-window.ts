/**
 * Counts events in a sliding window: at most `max` per `windowMs`. What a peer may make this side
 * spend (renegotiations, each an SDP parse and a new description) stays bounded.
 */
export class RateWindow {
  private readonly times: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Records one event and returns true, or returns false when the window is full. */
  take(): boolean {
    const now = this.now();
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}
