import { randomFillSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { MemoryRelayStore } from '../src/relay/memory-store.js';
import type { QueueRef } from '../src/relay/relay-store.js';

// The embedded store's sweep on its own: many queues, no sockets.
beforeAll(() => ready());

const random = (n: number) => randomFillSync(new Uint8Array(n));
const limits = { maxMessagesPerQueue: 1000, maxBytesPerQueue: 1 << 20, maxStoredBytes: 1 << 30, expiredBefore: 0 };

async function storeWith(queues: number, messagesEach: number, ts: number): Promise<{ store: MemoryRelayStore; refs: QueueRef[] }> {
  const store = await MemoryRelayStore.open({ path: undefined, debounceMs: 0, logger: () => {}, random });
  const refs: QueueRef[] = [];
  for (let i = 0; i < queues; i++) {
    const ref = store.create(random(32), random(32), ts, Infinity)!;
    refs.push(ref);
    for (let m = 0; m < messagesEach; m++) {
      const msgId = random(16);
      expect(store.push(ref, { msgId, key: Buffer.from(msgId).toString('hex'), body: new Uint8Array(8), ts }, limits)).toBe('ok');
    }
  }
  return { store, refs };
}

describe('memory store: sweep', () => {
  it('sweeps a large store a slice per event-loop turn, and still removes every expired message and idle queue', async () => {
    // 3,000 queues of 10 messages: 60,000 units of work, three slices or more.
    const { store, refs } = await storeWith(3000, 10, 1000);
    const subscribed = new Set(refs.slice(0, 100).map((r) => r.key));
    let turns = 0;
    let done = false;
    const sweep = store.sweep(1000, 1000, (key) => subscribed.has(key)).finally(() => (done = true));
    // Count the event-loop turns other work gets while the sweep runs.
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!done) turns++;
    }
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(await sweep).toEqual({ expired: 30_000, queues: 2900 });
    expect(store.size).toBe(100);
    expect(store.bytesQueued).toBe(0);
  });

  it('stops sweeping once the store is closed', async () => {
    const { store } = await storeWith(3000, 10, 1000);
    const sweep = store.sweep(1000, 0, () => false);
    await store.close();
    const { expired } = await sweep;
    expect(expired).toBeGreaterThan(0);
    expect(expired).toBeLessThan(30_000);
  });
});
