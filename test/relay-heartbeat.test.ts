import { afterEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat, HEARTBEAT_BATCH, type Pingable } from '../src/relay/heartbeat.js';

// The relay's heartbeat, with stand-in connections: each round pings in batches, one macrotask each.
class StandIn implements Pingable {
  alive = true;
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

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('relay heartbeat', () => {
  it(`pings at most ${HEARTBEAT_BATCH} connections before the event loop gets a turn, and all of them within the round`, async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const connections = Array.from({ length: 2 * HEARTBEAT_BATCH + 10 }, () => new StandIn());
    const heartbeat = new Heartbeat(() => connections, 1000);
    vi.advanceTimersByTime(1000);
    expect(connections.filter((c) => c.pings === 1)).toHaveLength(HEARTBEAT_BATCH);
    await turn();
    expect(connections.filter((c) => c.pings === 1)).toHaveLength(2 * HEARTBEAT_BATCH);
    await turn();
    expect(connections.every((c) => c.pings === 1 && !c.alive)).toBe(true);
    heartbeat.stop();
  });

  it('drops a connection that did not answer the previous ping, and skips one closed meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const [answers, silent, closed] = [new StandIn(), new StandIn(), new StandIn()];
    const heartbeat = new Heartbeat(() => [answers, silent, closed], 1000);
    vi.advanceTimersByTime(1000);
    answers.alive = true; // its pong
    closed.open = false;
    vi.advanceTimersByTime(1000);
    expect([answers.pings, answers.terminated]).toEqual([2, false]);
    expect([silent.pings, silent.terminated]).toEqual([1, true]);
    expect([closed.pings, closed.terminated]).toEqual([1, false]);
    heartbeat.stop();
  });

  it('stops mid-round: no further batch after stop()', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const connections = Array.from({ length: HEARTBEAT_BATCH + 1 }, () => new StandIn());
    const heartbeat = new Heartbeat(() => connections, 1000);
    vi.advanceTimersByTime(1000);
    heartbeat.stop();
    await turn();
    expect(connections.filter((c) => c.pings === 1)).toHaveLength(HEARTBEAT_BATCH);
    vi.advanceTimersByTime(5000);
    expect(connections.filter((c) => c.pings > 0)).toHaveLength(HEARTBEAT_BATCH);
  });
});
