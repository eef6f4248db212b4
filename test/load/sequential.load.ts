// 200 sequential calls in one process (real @roamhq/wrtc audio), over MemoryNetwork and over
// WebSocketTransports to a relay in another process: heap after forced GC and open handles are
// sampled every 50 calls (the child runs with --expose-gc) and must stay bounded.
import { describe, expect, it } from 'vitest';
import { runSequentialCalls, type SequentialCallsResult } from '../../bench/load/sequential.mjs';

const CALLS = 200;
const MiB = 2 ** 20;

function report(r: SequentialCallsResult): string {
  const rows = r.checkpoints.map((c) => `${c.calls}: heap ${(c.heapUsed / MiB).toFixed(2)} MiB, rss ${(c.rss / MiB).toFixed(0)} MiB, handles ${c.handles}`);
  return `${r.network}: ${rows.join(' | ')} | closed: heap ${(r.closed.heapUsed / MiB).toFixed(2)} MiB, handles ${r.closed.handles}`;
}

function expectBounded(r: SequentialCallsResult, heapBoundMiB: number) {
  expect(r.exit).toEqual({ code: 0, signal: null });
  expect(r.failures).toEqual([]);
  expect(r.warnings).toEqual([]);
  const hungUp = (CALLS + r.warmup) / 2;
  expect(r.reasons).toEqual({
    'alice:hangup': Math.ceil(hungUp),
    'bob:remote-hangup': Math.ceil(hungUp),
    'bob:hangup': Math.floor(hungUp),
    'alice:remote-hangup': Math.floor(hungUp),
  });
  const [first] = r.checkpoints;
  expect(r.checkpoints.map((c) => c.calls)).toEqual([0, 50, 100, 150, 200]);
  for (const c of r.checkpoints) {
    // Nothing per call survives the call: no live call, peer connection, track or extra handle.
    expect(c).toMatchObject({ activeCalls: 0, peerConnections: 0, tracks: 0 });
    expect(c.handles).toBeLessThanOrEqual(first!.handles + 1);
  }
  expect(r.heapGrowth).toBeLessThan(heapBoundMiB * MiB);
  // The later half of the run grows no more than the first half (it levels off, no steady leak).
  const half = r.checkpoints[2]!.heapUsed - first!.heapUsed;
  expect(r.checkpoints[4]!.heapUsed - r.checkpoints[2]!.heapUsed).toBeLessThanOrEqual(Math.max(half, 0) + 1 * MiB);
  expect(r.closed).toMatchObject({ peerConnections: 0, tracks: 0 });
  expect(r.closed.handleTypes).not.toHaveProperty('TCPSocketWrap');
  expect(r.closed.handleTypes).not.toHaveProperty('Timeout');
}

describe(`${CALLS} sequential calls in one process`, () => {
  it('over MemoryNetwork: heap growth under 8 MiB after GC, handles flat', async () => {
    const r = await runSequentialCalls({ calls: CALLS, every: 50, network: 'memory' });
    console.log(report(r));
    expectBounded(r, 8);
    expect(r.closed.handles).toBeLessThanOrEqual(r.checkpoints[0]!.handles);
  });

  it('over a relay: heap growth under 16 MiB after GC, handles flat, and the transports release it when closed', async () => {
    const r = await runSequentialCalls({ calls: CALLS, every: 50, network: 'relay' });
    console.log(report(r));
    expectBounded(r, 16);
    // The growth over the relay is the transports' (bounded) duplicate filter: gone once closed.
    expect(r.closed.heapUsed - r.checkpoints[0]!.heapUsed).toBeLessThan(4 * MiB);
    expect(r.closed.handles).toBeLessThan(r.checkpoints[0]!.handles);
    expect(r.relayStats).toMatchObject({ connections: 0, bytesQueued: 0 });
    expect(r.relayStats!.messagesDelivered).toBe(r.relayStats!.messagesReceived);
  });
});
