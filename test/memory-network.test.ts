import { afterEach, describe, expect, it, vi } from 'vitest';
import { SealcallError } from '../src/errors.js';
import type { ChatTransport, PeerId } from '../src/transport/chat-transport.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../src/testing/memory-network.js';

// ---------------------------------------------------------------------------------------------
// helpers

/** Every network made by a test; all are closed after each test, even a failing one. */
const networks: MemoryNetwork[] = [];

function makeNetwork(options?: MemoryNetworkOptions): MemoryNetwork {
  const network = new MemoryNetwork(options);
  networks.push(network);
  return network;
}

afterEach(() => {
  for (const network of networks.splice(0)) network.close();
  vi.useRealTimers();
});

/** A 4-byte payload carrying a message number. */
function msg(n: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

function num(bytes: Uint8Array): number {
  expect(bytes.byteLength).toBe(4);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
}

interface Received {
  from: PeerId;
  n: number;
}

/** Subscribes to `transport` and records what arrives. */
function listen(transport: ChatTransport): { got: Received[]; numbers: () => number[]; unsubscribe: () => void } {
  const got: Received[] = [];
  const unsubscribe = transport.onMessage((from, payload) => got.push({ from, n: num(payload) }));
  return { got, numbers: () => got.map((r) => r.n), unsubscribe };
}

function range(count: number, start = 0): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

async function sendAll(from: ChatTransport, to: PeerId, numbers: number[]): Promise<void> {
  for (const n of numbers) await from.send(to, msg(n));
}

function isSorted(values: number[]): boolean {
  return values.every((v, i) => i === 0 || values[i - 1]! <= v);
}

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(SealcallError);
  expect((thrown as SealcallError).code).toBe(code);
}

/**
 * Runs `fn` under fake timers (setTimeout and Date) so that timer order depends only on the seed,
 * not on how long the test machine takes between two sends.
 */
async function withFakeTimers<T>(fn: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  try {
    return await fn();
  } finally {
    vi.useRealTimers();
  }
}

/** Under fake timers: runs every timer and waits until the network is idle. */
async function settleFake(network: MemoryNetwork): Promise<void> {
  const idle = network.settled();
  await vi.runAllTimersAsync();
  await idle;
}

// ---------------------------------------------------------------------------------------------

describe('MemoryNetwork: perfect network (defaults)', () => {
  it('delivers every message exactly once, in order, with the sender id', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    const atBob = listen(bob);
    const atAlice = listen(alice);

    await sendAll(alice, 'bob', range(200));
    await sendAll(bob, 'alice', range(50, 1000));
    await network.settled();

    expect(atBob.numbers()).toEqual(range(200));
    expect(atBob.got.every((r) => r.from === 'alice')).toBe(true);
    expect(atAlice.numbers()).toEqual(range(50, 1000));
    expect(atAlice.got.every((r) => r.from === 'bob')).toBe(true);
    expect(network.stats).toEqual({ sent: 250, delivered: 250, lost: 0, duplicated: 0 });
  });

  it('does not deliver synchronously inside send()', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const atBob = listen(network.endpoint('bob'));
    await alice.send('bob', msg(1));
    expect(atBob.got).toEqual([]);
    await network.settled();
    expect(atBob.numbers()).toEqual([1]);
  });

  it('records every payload in observed as { from, to, payload }, in send order', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    listen(bob);
    listen(alice);
    await alice.send('bob', msg(1));
    await bob.send('alice', msg(2));
    await alice.send('carol', msg(3)); // no endpoint: held, but still observed
    await network.settled();

    expect(network.observed.map((o) => ({ from: o.from, to: o.to, n: num(o.payload) }))).toEqual([
      { from: 'alice', to: 'bob', n: 1 },
      { from: 'bob', to: 'alice', n: 2 },
      { from: 'alice', to: 'carol', n: 3 },
    ]);
    for (const o of network.observed) expect(o.payload).toBeInstanceOf(Uint8Array);
  });

  it('has a numeric seed even when none is given, and exposes the given one', () => {
    expect(Number.isFinite(makeNetwork().seed)).toBe(true);
    expect(makeNetwork({ seed: 1234 }).seed).toBe(1234);
  });
});

describe('MemoryNetwork: latency and ordering', () => {
  it('keeps every link first-in first-out when reorder is false, even with a latency range', async () => {
    const network = makeNetwork({ latencyMs: [0, 25], seed: 11 });
    const alice = network.endpoint('alice');
    const carol = network.endpoint('carol');
    const atBob = listen(network.endpoint('bob'));

    // Interleave two links into bob.
    for (let i = 0; i < 100; i++) {
      await alice.send('bob', msg(i));
      await carol.send('bob', msg(1000 + i));
    }
    await network.settled();

    const fromAlice = atBob.got.filter((r) => r.from === 'alice').map((r) => r.n);
    const fromCarol = atBob.got.filter((r) => r.from === 'carol').map((r) => r.n);
    expect(fromAlice).toEqual(range(100));
    expect(fromCarol).toEqual(range(100, 1000));
  });

  it('reorders messages when reorder is true and the latency is a range', async () => {
    // Fake timers make the outcome a function of the seed only; try a few seeds and require that
    // reordering actually happened while nothing was lost or duplicated.
    await withFakeTimers(async () => {
      let reordered = 0;
      for (const seed of [1, 2, 3, 4, 5]) {
        const network = makeNetwork({ latencyMs: [0, 40], reorder: true, seed });
        const alice = network.endpoint('alice');
        const atBob = listen(network.endpoint('bob'));
        await sendAll(alice, 'bob', range(40));
        await settleFake(network);

        expect([...atBob.numbers()].sort((a, b) => a - b)).toEqual(range(40));
        if (!isSorted(atBob.numbers())) reordered++;
        network.close();
      }
      expect(reordered).toBeGreaterThan(0);
    });
  });

  it('reorders with real timers too', async () => {
    const network = makeNetwork({ latencyMs: [0, 30], reorder: true, seed: 99 });
    const alice = network.endpoint('alice');
    const atBob = listen(network.endpoint('bob'));
    await sendAll(alice, 'bob', range(60));
    await network.settled();
    expect([...atBob.numbers()].sort((a, b) => a - b)).toEqual(range(60));
    expect(isSorted(atBob.numbers())).toBe(false);
  });

  it('does not deliver before the fixed latency has passed', async () => {
    await withFakeTimers(async () => {
      const network = makeNetwork({ latencyMs: 100 });
      const alice = network.endpoint('alice');
      const atBob = listen(network.endpoint('bob'));
      await alice.send('bob', msg(7));
      await vi.advanceTimersByTimeAsync(99);
      expect(atBob.got).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(atBob.numbers()).toEqual([7]);
      await network.settled();
    });
  });
});

describe('MemoryNetwork: loss and duplication', () => {
  it('loses and duplicates at roughly the configured rates, and the stats agree with the handlers', async () => {
    const total = 2000;
    const lossRate = 0.2;
    const duplicateRate = 0.1;
    const network = makeNetwork({ lossRate, duplicateRate, seed: 2024 });
    const alice = network.endpoint('alice');
    const atBob = listen(network.endpoint('bob'));

    await sendAll(alice, 'bob', range(total));
    await network.settled();

    const copies = new Map<number, number>();
    for (const n of atBob.numbers()) copies.set(n, (copies.get(n) ?? 0) + 1);
    const lost = range(total).filter((n) => !copies.has(n)).length;
    const duplicated = [...copies.values()].filter((c) => c === 2).length;

    // Nothing arrives more than twice, and nothing arrives that was not sent.
    expect(Math.max(...copies.values())).toBeLessThanOrEqual(2);
    expect([...copies.keys()].every((n) => n >= 0 && n < total)).toBe(true);

    // The counters describe exactly what the handler saw.
    expect(network.stats.sent).toBe(total);
    expect(network.observed).toHaveLength(total);
    expect(network.stats.lost).toBe(lost);
    expect(network.stats.duplicated).toBe(duplicated);
    expect(network.stats.delivered).toBe(atBob.got.length);
    expect(network.stats.delivered).toBe(total - lost + duplicated);

    // Rates are binomial: expected 400 ± 18 (σ) lost, 160 ± 12 (σ) duplicated; allow > 5σ.
    expect(lost).toBeGreaterThan(total * lossRate - 100);
    expect(lost).toBeLessThan(total * lossRate + 100);
    const kept = total - lost;
    expect(duplicated).toBeGreaterThan(kept * duplicateRate - 65);
    expect(duplicated).toBeLessThan(kept * duplicateRate + 65);

    // FIFO link: a duplicate arrives right after its original, never after a later message.
    expect(isSorted(atBob.numbers())).toBe(true);
  });

  it('loses everything at lossRate 1 and duplicates everything at duplicateRate 1', async () => {
    const lossy = makeNetwork({ lossRate: 1, seed: 1 });
    const atBob = listen(lossy.endpoint('bob'));
    await sendAll(lossy.endpoint('alice'), 'bob', range(20));
    await lossy.settled();
    expect(atBob.got).toEqual([]);
    expect(lossy.stats).toEqual({ sent: 20, delivered: 0, lost: 20, duplicated: 0 });
    expect(lossy.observed).toHaveLength(20);

    const doubling = makeNetwork({ duplicateRate: 1, seed: 1 });
    const atCarol = listen(doubling.endpoint('carol'));
    await sendAll(doubling.endpoint('alice'), 'carol', range(20));
    await doubling.settled();
    expect(atCarol.numbers()).toEqual(range(20).flatMap((n) => [n, n]));
    expect(doubling.stats).toEqual({ sent: 20, delivered: 40, lost: 0, duplicated: 20 });
  });
});

describe('MemoryNetwork: seeds', () => {
  async function fifoRun(seed: number): Promise<number[]> {
    const network = makeNetwork({ latencyMs: [0, 5], lossRate: 0.3, duplicateRate: 0.3, seed });
    const alice = network.endpoint('alice');
    const atBob = listen(network.endpoint('bob'));
    await sendAll(alice, 'bob', range(300));
    await network.settled();
    network.close();
    return atBob.numbers();
  }

  it('replays the identical delivery sequence from the same seed (FIFO, real timers)', async () => {
    const first = await fifoRun(42);
    const second = await fifoRun(42);
    const other = await fifoRun(43);
    expect(first.length).toBeGreaterThan(0);
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('replays the identical delivery sequence from the same seed (reordering, loss, duplication)', async () => {
    await withFakeTimers(async () => {
      async function run(seed: number): Promise<Received[]> {
        const network = makeNetwork({ latencyMs: [1, 50], lossRate: 0.2, duplicateRate: 0.2, reorder: true, seed });
        const alice = network.endpoint('alice');
        const carol = network.endpoint('carol');
        const atBob = listen(network.endpoint('bob'));
        for (let i = 0; i < 100; i++) {
          await alice.send('bob', msg(i));
          await carol.send('bob', msg(1000 + i));
        }
        await settleFake(network);
        network.close();
        return atBob.got;
      }
      const first = await run(7);
      const second = await run(7);
      const other = await run(8);
      expect(isSorted(first.map((r) => r.n))).toBe(false); // the runs really reorder
      expect(second).toEqual(first);
      expect(other).not.toEqual(first);
    });
  });

  it('replays a run from the seed a network picked itself', async () => {
    const network = makeNetwork({ lossRate: 0.5, duplicateRate: 0.5 });
    const atBob = listen(network.endpoint('bob'));
    await sendAll(network.endpoint('alice'), 'bob', range(200));
    await network.settled();

    const replay = makeNetwork({ lossRate: 0.5, duplicateRate: 0.5, seed: network.seed });
    const atBob2 = listen(replay.endpoint('bob'));
    await sendAll(replay.endpoint('alice'), 'bob', range(200));
    await replay.settled();

    expect(atBob2.numbers()).toEqual(atBob.numbers());
    expect(replay.stats).toEqual(network.stats);
  });
});

describe('MemoryNetwork: copies', () => {
  it('observed and delivered payloads are copies of the sent buffer', async () => {
    const network = makeNetwork({ latencyMs: 5 });
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    const delivered: Uint8Array[] = [];
    bob.onMessage((_, payload) => delivered.push(payload));

    const buffer = new Uint8Array([1, 2, 3, 4]);
    await alice.send('bob', buffer);
    buffer.fill(99); // after send, before delivery
    await network.settled();

    expect(network.observed[0]!.payload).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(delivered).toEqual([new Uint8Array([1, 2, 3, 4])]);

    // A receiver scribbling on its bytes changes neither the relay's record nor another device.
    delivered[0]!.fill(0);
    expect(network.observed[0]!.payload).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it('gives each device and each duplicate its own copy', async () => {
    const network = makeNetwork({ duplicateRate: 1, seed: 3 });
    const alice = network.endpoint('alice');
    const payloads: Uint8Array[] = [];
    network.endpoint('bob').onMessage((_, p) => payloads.push(p));
    network.endpoint('bob').onMessage((_, p) => payloads.push(p));
    await alice.send('bob', new Uint8Array([5, 6]));
    await network.settled();

    expect(payloads).toHaveLength(4);
    payloads[0]!.fill(0);
    for (const p of payloads.slice(1)) expect(p).toEqual(new Uint8Array([5, 6]));
    expect(network.observed[0]!.payload).toEqual(new Uint8Array([5, 6]));
  });
});

describe('MemoryNetwork: held messages and inbox', () => {
  it('holds messages to a peer with no endpoint and delivers them, in order, when it appears', async () => {
    const network = makeNetwork({ latencyMs: [0, 10], seed: 5 });
    const alice = network.endpoint('alice');
    await sendAll(alice, 'bob', range(5));
    await network.settled(); // held messages are not in flight

    const bob = network.endpoint('bob');
    const atBob = listen(bob);
    expect(atBob.numbers()).toEqual(range(5));
    expect(atBob.got.every((r) => r.from === 'alice')).toBe(true);

    // Later traffic still flows normally, after the held messages.
    await alice.send('bob', msg(5));
    await network.settled();
    expect(atBob.numbers()).toEqual(range(6));
    expect(network.stats).toEqual({ sent: 6, delivered: 6, lost: 0, duplicated: 0 });
  });

  it('delivers held messages as copies', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    await alice.send('bob', new Uint8Array([1, 2, 3]));
    await network.settled();

    const delivered: Uint8Array[] = [];
    network.endpoint('bob').onMessage((_, p) => delivered.push(p));
    expect(delivered).toEqual([new Uint8Array([1, 2, 3])]);
    delivered[0]!.fill(0);
    expect(network.observed[0]!.payload).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('delivers messages that arrived before onMessage to the first handler only', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    await sendAll(alice, 'bob', range(3));
    await network.settled();

    const first = listen(bob);
    expect(first.numbers()).toEqual(range(3)); // synchronously, on subscribe
    const second = listen(bob);
    expect(second.got).toEqual([]);

    await alice.send('bob', msg(3));
    await network.settled();
    expect(first.numbers()).toEqual(range(4));
    expect(second.numbers()).toEqual([3]);
  });
});

describe('MemoryNetwork: several devices', () => {
  it('delivers each message to every endpoint of the peer id', async () => {
    const network = makeNetwork({ latencyMs: [0, 5], seed: 8 });
    const alice = network.endpoint('alice');
    const phone = listen(network.endpoint('bob'));
    const laptop = listen(network.endpoint('bob'));
    await sendAll(alice, 'bob', range(20));
    await network.settled();

    expect(phone.numbers()).toEqual(range(20));
    expect(laptop.numbers()).toEqual(range(20));
    expect(network.stats).toEqual({ sent: 20, delivered: 40, lost: 0, duplicated: 0 });
  });

  it('never delivers a message back to the endpoint that sent it', async () => {
    const network = makeNetwork({ latencyMs: [0, 5], seed: 9 });
    const phone = network.endpoint('bob');
    const laptop = network.endpoint('bob');
    const atPhone = listen(phone);
    const atLaptop = listen(laptop);

    // Both devices of bob message bob (their other devices) in the same tick, on the same link.
    await phone.send('bob', msg(1));
    await laptop.send('bob', msg(2));
    await phone.send('bob', msg(3));
    await network.settled();

    expect(atPhone.numbers()).toEqual([2]);
    expect(atLaptop.numbers()).toEqual([1, 3]);
    expect(atPhone.got.every((r) => r.from === 'bob')).toBe(true);
  });

  it('a single endpoint sending to its own id does not receive it', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const atAlice = listen(alice);
    await alice.send('alice', msg(1));
    await network.settled();
    expect(atAlice.got).toEqual([]);
  });
});

describe('MemoryNetwork: unsubscribe and close', () => {
  it('unsubscribe stops delivery to that handler only', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    const a = listen(bob);
    const b = listen(bob);

    await alice.send('bob', msg(1));
    await network.settled();
    a.unsubscribe();
    await alice.send('bob', msg(2));
    await network.settled();

    expect(a.numbers()).toEqual([1]);
    expect(b.numbers()).toEqual([1, 2]);

    b.unsubscribe();
    await alice.send('bob', msg(3));
    await network.settled();
    expect(a.numbers()).toEqual([1]);
    expect(b.numbers()).toEqual([1, 2]);
  });

  it('a closed endpoint rejects send with TRANSPORT_CLOSED and stops receiving', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    const atBob = listen(bob);
    bob.close();

    const error = await bob.send('alice', msg(1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SealcallError);
    expect((error as SealcallError).code).toBe('TRANSPORT_CLOSED');
    expect(network.stats.sent).toBe(0);

    await alice.send('bob', msg(2));
    await network.settled();
    expect(atBob.got).toEqual([]);
  });

  it('network.close() rejects later sends and endpoint()', async () => {
    const network = makeNetwork();
    const alice = network.endpoint('alice');
    network.close();
    await expect(alice.send('bob', msg(1))).rejects.toSatisfy(
      (e: unknown) => e instanceof SealcallError && e.code === 'TRANSPORT_CLOSED',
    );
    expectCode(() => network.endpoint('carol'), 'TRANSPORT_CLOSED');
  });

  for (const reorder of [false, true]) {
    it(`network.close() drops in-flight messages and clears its timers (reorder=${reorder})`, async () => {
      await withFakeTimers(async () => {
        const network = makeNetwork({ latencyMs: [10, 50], reorder, seed: 4 });
        const alice = network.endpoint('alice');
        const atBob = listen(network.endpoint('bob'));
        const atCarol = listen(network.endpoint('carol'));
        await sendAll(alice, 'bob', range(10));
        await sendAll(alice, 'carol', range(10));
        expect(vi.getTimerCount()).toBeGreaterThan(0);

        network.close();
        expect(vi.getTimerCount()).toBe(0);
        await network.settled(); // nothing is in flight any more

        await vi.advanceTimersByTimeAsync(1000);
        expect(atBob.got).toEqual([]);
        expect(atCarol.got).toEqual([]);
        expect(network.stats.delivered).toBe(0);
      });
    });
  }

  it('network.close() with real timers: nothing arrives afterwards', async () => {
    const network = makeNetwork({ latencyMs: 20 });
    const alice = network.endpoint('alice');
    const atBob = listen(network.endpoint('bob'));
    await sendAll(alice, 'bob', range(5));
    network.close();
    await network.settled();
    await new Promise((resolve) => setTimeout(resolve, 60)); // bounded wait: prove absence
    expect(atBob.got).toEqual([]);
  });

  for (const reorder of [false, true]) {
    it(`network.close() from inside a handler stops delivery and settles (reorder=${reorder})`, async () => {
      await withFakeTimers(async () => {
        const network = makeNetwork({ latencyMs: 10, reorder, seed: 6 });
        const alice = network.endpoint('alice');
        const bob = network.endpoint('bob');
        const got: number[] = [];
        bob.onMessage((_, p) => {
          got.push(num(p));
          network.close();
        });
        await sendAll(alice, 'bob', range(5)); // all due at the same instant
        await vi.advanceTimersByTimeAsync(10);

        expect(got).toEqual([0]);
        expect(vi.getTimerCount()).toBe(0);
        await vi.advanceTimersByTimeAsync(1000);
        expect(got).toEqual([0]);
        await network.settled();
      });
    });
  }
});

describe('MemoryNetwork: options', () => {
  const invalid: [string, MemoryNetworkOptions][] = [
    ['negative latency', { latencyMs: -1 }],
    ['negative latency minimum', { latencyMs: [-5, 10] }],
    ['latency min > max', { latencyMs: [20, 10] }],
    ['NaN latency', { latencyMs: Number.NaN }],
    ['lossRate 1.5', { lossRate: 1.5 }],
    ['negative lossRate', { lossRate: -0.1 }],
    ['NaN lossRate', { lossRate: Number.NaN }],
    ['duplicateRate 1.5', { duplicateRate: 1.5 }],
    ['negative duplicateRate', { duplicateRate: -0.5 }],
  ];
  for (const [name, options] of invalid) {
    it(`rejects ${name} with INVALID_ARGUMENT`, () => {
      expectCode(() => new MemoryNetwork(options), 'INVALID_ARGUMENT');
    });
  }

  it('accepts the edges of every range', () => {
    for (const options of [
      {},
      { latencyMs: 0 },
      { latencyMs: [0, 0] as const },
      { latencyMs: [5, 5] as const },
      { lossRate: 0, duplicateRate: 0 },
      { lossRate: 1, duplicateRate: 1 },
      { reorder: true, seed: 0 },
    ]) {
      expect(() => makeNetwork(options)).not.toThrow();
    }
  });
});

describe('MemoryNetwork: settled()', () => {
  it('resolves at once when nothing is in flight', async () => {
    const network = makeNetwork({ latencyMs: 1000 });
    await network.settled();
  });

  it('resolves only once every message in flight has been delivered', async () => {
    await withFakeTimers(async () => {
      const network = makeNetwork({ latencyMs: [10, 30], duplicateRate: 0.5, seed: 12 });
      const alice = network.endpoint('alice');
      const atBob = listen(network.endpoint('bob'));
      await sendAll(alice, 'bob', range(20));

      let settled = false;
      const idle = network.settled().then(() => (settled = true));
      const idle2 = network.settled(); // several waiters
      await vi.advanceTimersByTimeAsync(9);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(15);
      expect(settled).toBe(false); // some messages are due up to 30 ms
      await vi.advanceTimersByTimeAsync(10);
      await idle;
      await idle2;
      expect(atBob.got.length).toBe(network.stats.delivered);
      expect(network.stats.delivered).toBe(20 + network.stats.duplicated);
    });
  });

  it('waits for replies that handlers send while delivering (ping-pong)', async () => {
    const network = makeNetwork({ latencyMs: [1, 4], seed: 21 });
    const alice = network.endpoint('alice');
    const bob = network.endpoint('bob');
    const seen: number[] = [];
    const bounce = (self: ChatTransport) => (from: PeerId, payload: Uint8Array) => {
      const n = num(payload);
      seen.push(n);
      if (n < 20) void self.send(from, msg(n + 1));
    };
    alice.onMessage(bounce(alice));
    bob.onMessage(bounce(bob));

    await alice.send('bob', msg(0));
    await network.settled();
    expect(seen).toEqual(range(21));
  });

  it('ignores held messages (they are not in flight)', async () => {
    const network = makeNetwork({ latencyMs: 2 });
    await network.endpoint('alice').send('nobody', msg(1));
    await network.settled();
    expect(network.stats.delivered).toBe(0);
  });
});
