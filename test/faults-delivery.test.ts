import { describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallClientOptions } from '../src/call/options.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../src/testing/memory-network.js';
import { noPeerConnections } from './helpers/call-watch.js';
import { Harness, nodeWrtc, reach } from './helpers/call-harness.js';

/**
 * The figures of reliable delivery (RELIABILITY.md): with loss, duplication and reordering, calls
 * whose callee accepts at once connect; a caller who hangs up and calls the same contact again
 * at once is never answered `busy` by the old call. `SEALCALL_FAULT_RUNS` seeds each (default
 * 10 in `npm test`; `npm run test:faults` runs 100).
 */
const RUNS = Number(process.env.SEALCALL_FAULT_RUNS ?? 10);
const FIRST_SEED = Number(process.env.SEALCALL_FAULT_SEED ?? 1);
const PARALLEL = 5;

/** Timeouts long enough that only a wedged or abandoned call misses them. */
const OPTIONS: Partial<CallClientOptions> = { wrtc: nodeWrtc, ringTimeoutMs: 15_000, connectTimeoutMs: 15_000, retransmitMs: 250, retransmitMaxMs: 1000 };

/** Runs `run` for every seed, `PARALLEL` at a time. */
async function seeds<T>(run: (seed: number) => Promise<T>): Promise<T[]> {
  const all = Array.from({ length: RUNS }, (_, i) => FIRST_SEED + i);
  const results: T[] = [];
  for (let i = 0; i < all.length; i += PARALLEL) results.push(...(await Promise.all(all.slice(i, i + PARALLEL).map(run))));
  return results;
}

/** Whether `call` reaches `connected` before it ends. */
function connects(call: Call): Promise<boolean> {
  return new Promise((resolve) => {
    if (call.state === 'connected') return resolve(true);
    call.on('state', (s) => s === 'connected' && resolve(true));
    call.once('ended', () => resolve(false));
  });
}

/** One call on a faulty network: alice calls, bob accepts as soon as it rings. */
async function oneCall(network: MemoryNetworkOptions, seed: number): Promise<{ connected: boolean; lost: number }> {
  const h = new Harness(new MemoryNetwork({ ...network, seed }), OPTIONS);
  try {
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const bobConnects = new Promise<boolean>((resolve) => bob.client.once('incoming', (call) => {
      void call.accept({ audio: false }).catch(() => {});
      void connects(call).then(resolve);
    }));
    const call = await alice.client.call('bob', { audio: false });
    const connected = (await connects(call)) && (await bobConnects);
    await call.hangup();
    return { connected, lost: h.network.stats.lost };
  } finally {
    await h.close();
  }
}

describe(`reliable delivery figures (${RUNS} seeds each from ${FIRST_SEED})`, () => {
  for (const [lossRate, share] of [
    [0.1, 0.99],
    [0.3, 0.95],
  ] as const) {
    it(`${lossRate * 100} % loss with duplication and reordering: at least ${share * 100} % of calls connect`, { timeout: 60_000 + RUNS * 6_000 }, async () => {
      const results = await seeds((seed) => oneCall({ lossRate, duplicateRate: 0.2, reorder: true, latencyMs: [0, 40] }, seed));
      const connected = results.filter((r) => r.connected).length;
      if (RUNS >= 50) console.log(`${lossRate * 100} % loss: ${connected} of ${RUNS} connected, ${results.reduce((n, r) => n + r.lost, 0)} messages lost`);
      expect(connected / RUNS).toBeGreaterThanOrEqual(share);
      expect(results.some((r) => r.lost > 0)).toBe(true); // the faults were real
      await noPeerConnections();
    });
  }

  it('a redial right after hanging up connects, however the old call’s end and the new invitation are reordered', { timeout: 60_000 + RUNS * 6_000 }, async () => {
    const outcomes = await seeds(async (seed) => {
      const h = new Harness(new MemoryNetwork({ duplicateRate: 0.3, reorder: true, latencyMs: [0, 300], seed }), OPTIONS);
      try {
        const alice = await h.user('alice');
        const bob = await h.user('bob');
        bob.client.on('incoming', (call) => void call.accept({ audio: false }).catch(() => {}));
        const first = await alice.client.call('bob', { audio: false });
        await reach(first, 'connected');
        await first.hangup();
        const second = await alice.client.call('bob', { audio: false });
        const ended = new Promise<string>((resolve) => second.once('ended', (e) => resolve(e.reason)));
        const outcome = await Promise.race([connects(second).then((ok) => (ok ? 'connected' : 'ended')), ended]);
        const reason = outcome === 'connected' ? 'connected' : await ended;
        await second.hangup();
        return reason;
      } finally {
        await h.close();
      }
    });
    expect(outcomes).toEqual(outcomes.map(() => 'connected'));
    await noPeerConnections();
  });
});
