import { afterEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat, HEARTBEAT_STEPS, type Pingable } from '../src/relay/heartbeat.js';

// The relay's heartbeat, with stand-in connections and fake timers: a round's pings are spread
// over the first half of its interval, in HEARTBEAT_STEPS steps of an equal share each.
class StandIn implements Pingable {
  alive = true;
  pingedAt = 0;
  open = true;
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.open = false;
  }
}

const INTERVAL = 1000;
const STEP = INTERVAL / 2 / HEARTBEAT_STEPS;

/** A heartbeat over `connections` (the relay's live set of them) on fake timers, whose clock is vitest's. */
function start(connections: Pingable[] | Set<Pingable>): Heartbeat {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
  const set = connections instanceof Set ? connections : new Set(connections);
  return new Heartbeat(() => set, INTERVAL, () => Date.now());
}

afterEach(() => {
  vi.useRealTimers();
});

describe('relay heartbeat', () => {
  it(`spreads a round's pings over half its interval: each of ${HEARTBEAT_STEPS} steps pings its share, every connection once`, () => {
    const connections = Array.from({ length: 3 * HEARTBEAT_STEPS + 7 }, () => new StandIn());
    const heartbeat = start(connections);
    vi.advanceTimersByTime(INTERVAL);
    const share = Math.ceil(connections.length / HEARTBEAT_STEPS);
    expect(connections.filter((c) => c.pings === 1)).toHaveLength(share);
    vi.advanceTimersByTime(STEP);
    expect(connections.filter((c) => c.pings === 1)).toHaveLength(Math.ceil((2 * connections.length) / HEARTBEAT_STEPS));
    vi.advanceTimersByTime(INTERVAL / 2 - 2 * STEP);
    expect(connections.every((c) => c.pings === 1 && !c.alive)).toBe(true);
    heartbeat.stop();
  });

  it('drops a connection that did not answer its previous ping, and skips one closed meanwhile', () => {
    const [answers, silent, closed] = [new StandIn(), new StandIn(), new StandIn()];
    const heartbeat = start([answers, silent, closed]);
    vi.advanceTimersByTime(2 * INTERVAL - STEP); // the whole first round, spread over its interval
    answers.alive = true; // its pong
    closed.open = false;
    vi.advanceTimersByTime(INTERVAL);
    expect([answers.pings, answers.terminated]).toEqual([2, false]);
    expect([silent.pings, silent.terminated]).toEqual([1, true]);
    expect([closed.pings, closed.terminated]).toEqual([1, false]);
    heartbeat.stop();
  });

  it('walks the live set: a connection that left it before its turn is not visited, one that joined comes at the end', () => {
    const connections = Array.from({ length: 2 * HEARTBEAT_STEPS }, () => new StandIn());
    const set = new Set<Pingable>(connections);
    const heartbeat = start(set);
    vi.advanceTimersByTime(INTERVAL); // the round's first step: two connections
    const [left, joined] = [connections.at(-1)!, new StandIn()];
    set.delete(left); // closed: the relay forgets it (its `open` is left true here, to tell skipping from forgetting)
    set.add(joined);
    vi.advanceTimersByTime(INTERVAL / 2);
    expect(left.pings).toBe(0);
    expect(joined.pings).toBe(1);
    expect(connections.slice(0, -1).every((c) => c.pings === 1)).toBe(true);
    heartbeat.stop();
  });

  it('does not drop a silent connection whose ping is under a quarter of an interval old when its turn comes', () => {
    const [recent, old] = [new StandIn(), new StandIn()];
    const heartbeat = start([recent, old]);
    vi.advanceTimersByTime(INTERVAL + INTERVAL / 2); // the first round, whole
    // Neither answered. As if `recent` had just been pinged (its place in the round moved back).
    recent.pingedAt = Date.now() + INTERVAL / 2 - INTERVAL / 8;
    vi.advanceTimersByTime(INTERVAL / 2 + INTERVAL / 2);
    expect([recent.pings, recent.terminated]).toEqual([1, false]);
    expect([old.pings, old.terminated]).toEqual([1, true]);
    heartbeat.stop();
  });

  it('keeps pace with the clock when its steps fire late: every connection is pinged within half the interval', () => {
    const connections = Array.from({ length: 50 }, () => new StandIn());
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    let lag = 0;
    const set = new Set<Pingable>(connections);
    const heartbeat = new Heartbeat(() => set, INTERVAL, () => Date.now() + lag);
    vi.advanceTimersByTime(INTERVAL);
    // Each step comes ten steps' time after the one before (a busy event loop, timers clamped to 1 ms).
    for (let i = 0; i < HEARTBEAT_STEPS / 10; i++) {
      lag += 9 * STEP;
      vi.advanceTimersByTime(STEP);
    }
    expect(connections.every((c) => c.pings === 1)).toBe(true);
    heartbeat.stop();
  });

  it('stops mid-round: no further step after stop()', () => {
    const connections = Array.from({ length: 2 * HEARTBEAT_STEPS }, () => new StandIn());
    const heartbeat = start(connections);
    vi.advanceTimersByTime(INTERVAL);
    heartbeat.stop();
    vi.advanceTimersByTime(5 * INTERVAL);
    expect(connections.filter((c) => c.pings > 0)).toHaveLength(2);
  });
});
