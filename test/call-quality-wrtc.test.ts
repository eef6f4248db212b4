import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallQuality } from '../src/call/call-quality.js';
import type { Call } from '../src/call/call.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { tone, type Tone } from './helpers/audio.js';
import { connectedPair, ended, Harness, once } from './helpers/call-harness.js';

let harness: Harness;
const tones: Tone[] = [];
afterEach(async () => {
  for (const t of tones.splice(0)) t.stop();
  await harness?.close();
});

/** Where a call takes its stats snapshots (an internal: spied on to see that sampling stopped). */
function planeOf(call: Call): { getStats(): unknown } {
  return (call as unknown as { protocol: { plane: { getStats(): unknown } } }).protocol.plane;
}

/** The figures every sample of a healthy loopback call must have. */
function expectSane(q: CallQuality): void {
  expect(q.rttMs).toBeGreaterThanOrEqual(0);
  for (const loss of [q.lossPercent.send ?? 0, q.lossPercent.receive]) {
    expect(loss).toBeGreaterThanOrEqual(0);
    expect(loss).toBeLessThanOrEqual(100);
  }
  expect(q.jitterMs.receive).toBeGreaterThanOrEqual(0);
  // The tone's 10 ms chunks, Opus-encoded: tens of kbit/s each way.
  expect(q.bitrateKbps.send).toBeGreaterThan(5);
  expect(q.bitrateKbps.receive).toBeGreaterThan(5);
  expect(q.level).toBe('good');
}

describe('quality of a real @roamhq/wrtc call', () => {
  it('a connected call reports quality on both sides every qualityIntervalMs (call.quality: the last), ended stays last', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 21 }), { qualityIntervalMs: 300 });
    const [aliceTone, bobTone] = [tone(440), tone(880)];
    tones.push(aliceTone, bobTone);
    const { aliceCall, bobCall } = await connectedPair(harness, { call: { stream: aliceTone.stream }, accept: { stream: bobTone.stream } });
    const order: string[] = [];
    let lastReported: CallQuality | undefined;
    aliceCall.on('quality', (quality) => {
      order.push('quality');
      lastReported = quality;
    });
    aliceCall.on('ended', () => order.push('ended'));
    const [[atAlice], [atBob]] = await Promise.all([once(aliceCall, 'quality'), once(bobCall, 'quality')]);
    expectSane(atAlice);
    expectSane(atBob);
    expect(bobCall.quality).toBe(atBob);
    const [next] = await once(aliceCall, 'quality');
    expectSane(next);
    expect(aliceCall.quality).toBe(next);

    // Stopped with the call: no snapshot is taken after the end. Its absence can only be shown by
    // waiting, here for three intervals.
    const plane = planeOf(aliceCall);
    await aliceCall.hangup();
    await ended(bobCall);
    const stats = vi.spyOn(plane, 'getStats');
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(stats).not.toHaveBeenCalled();
    expect(order.at(-1)).toBe('ended');
    expect(aliceCall.quality).toBeDefined();
    expect(aliceCall.quality).toBe(lastReported); // the last figures stay
  });

  it('with qualityIntervalMs 0, a connected call reports none and takes no snapshots', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 22 }), { qualityIntervalMs: 0 });
    const { aliceCall, bobCall } = await connectedPair(harness);
    const calls = [aliceCall, bobCall];
    const spies = calls.map((call) => vi.spyOn(planeOf(call), 'getStats'));
    const reports: CallQuality[] = [];
    for (const call of calls) call.on('quality', (q) => reports.push(q));
    // A data channel round trip: long enough for a sampler taking 0 ms as "every tick" to sample often.
    const echoed = once(bobCall, 'data');
    aliceCall.send('ping');
    await echoed;
    expect(reports).toEqual([]);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    for (const call of calls) expect(call.quality).toBeUndefined();
  });
});
