import { afterEach, describe, expect, it, vi } from 'vitest';
import { IceServerSource, type IceServerSet } from '../src/call/ice-servers.js';

afterEach(() => vi.useRealTimers());

const turn = (n: number): RTCIceServer[] => [{ urls: 'turn:127.0.0.1:3478', username: `u${n}`, credential: `c${n}` }];

/** A provider whose credentials live `lifetimeMs`, counting its calls. */
function provider(lifetimeMs: number) {
  let calls = 0;
  const fetch = vi.fn(async (): Promise<IceServerSet> => ({ servers: turn(++calls), expiresAt: Date.now() + lifetimeMs }));
  return { fetch, calls: () => calls };
}

describe('IceServerSource', () => {
  it('serves a fixed list as is, forever', async () => {
    vi.useFakeTimers();
    const source = new IceServerSource(turn(0), 1000, Date.now);
    expect(await source.get()).toEqual(turn(0));
    source.hold();
    expect(vi.getTimerCount()).toBe(0);
    source.close();
  });

  it('fetches once for concurrent calls and again only when the credentials near expiry', async () => {
    vi.useFakeTimers({ now: 0 });
    const p = provider(10_000);
    const source = new IceServerSource(p.fetch, 3_000, Date.now);
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).toEqual(turn(1));
    expect(b).toBe(a);
    vi.setSystemTime(6_999);
    expect(await source.get()).toEqual(turn(1));
    vi.setSystemTime(7_000); // within the 3 s buffer
    expect(await source.get()).toEqual(turn(2));
    expect(p.calls()).toBe(2);
    source.close();
  });

  it('refreshes on a timer while calls are live, and stops when none is', async () => {
    vi.useFakeTimers({ now: 0 });
    const p = provider(10_000);
    const source = new IceServerSource(p.fetch, 3_000, Date.now);
    const updates: RTCIceServer[][] = [];
    source.on('updated', (servers) => updates.push(servers));
    await source.get();
    source.hold();
    await vi.advanceTimersByTimeAsync(7_000);
    expect(updates).toEqual([turn(2)]);
    await vi.advanceTimersByTimeAsync(7_000); // the new credentials are refreshed in turn
    expect(updates).toEqual([turn(2), turn(3)]);
    source.release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(updates).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
    source.close();
  });

  it('reports a failing provider and tries again, keeping the old servers meanwhile', async () => {
    vi.useFakeTimers({ now: 0 });
    let fail = false;
    let n = 0;
    const source = new IceServerSource(
      async () => {
        if (fail) throw new Error('token service down');
        return { servers: turn(++n), expiresAt: Date.now() + 10_000 };
      },
      3_000,
      Date.now,
    );
    const errors: string[] = [];
    const updates: RTCIceServer[][] = [];
    source.on('error', (e) => errors.push(e.code));
    source.on('updated', (s) => updates.push(s));
    await source.get();
    source.hold();
    fail = true;
    await vi.advanceTimersByTimeAsync(7_000);
    expect(errors).toEqual(['ICE_SERVERS_UNAVAILABLE']);
    fail = false;
    await vi.advanceTimersByTimeAsync(1_000); // retried after the minimum interval
    expect(updates).toEqual([turn(2)]);
    await expect(new IceServerSource(async () => ({}) as IceServerSet, 0, Date.now).get()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    source.close();
  });
});
