import { randomFillSync } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { isSealcallError } from '../src/errors.js';
import { pack } from '../src/protocol/msgpack.js';
import { QueueStore, type Queue } from '../src/relay/queue-store.js';
import { hex } from '../src/relay/relay-store.js';
import { generateRelayIdentity, type RelayIdentity } from '../src/crypto/relay-keys.js';
import { openStoreLog, readStoreLog } from '../src/relay/store-log.js';
import { crc32, createdRecord, headerRecord, pushedRecord, removedRecord } from '../src/relay/store-records.js';

// The relay's append-only store log against real temp files: what it keeps, what a send costs,
// torn tails, damage, compaction and failed writes.

const HOUR = 60 * 60 * 1000;
const dirs: string[] = [];
beforeAll(() => ready());
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealcall-store-log-'));
  dirs.push(dir);
  return join(dir, 'relay.store');
}

const random = (n: number) => randomFillSync(new Uint8Array(n));

type Event = [string, Record<string, number | string> | undefined];

/** A QueueStore journaling to the log at `path`, as the relay wires them; `onEvent` sees each logger event as it happens. */
async function openStore(path: string, { debounceMs = 60_000, onEvent = (_event: string) => {} } = {}) {
  const store = new QueueStore(random);
  const identity = generateRelayIdentity();
  const events: Event[] = [];
  const opened = await openStoreLog(path, {
    debounceMs,
    logger: (event, details) => {
      events.push([event, details]);
      onEvent(event);
    },
    newIdentity: () => identity,
    snapshot: () => store.toRecords(),
  });
  store.restore(opened.records, opened.log);
  return { store, log: opened.log, identity: opened.identity, events };
}

const push = (store: QueueStore, queue: Queue, body: Uint8Array, ts = 1000) => {
  const msgId = random(16);
  const message = { msgId, key: hex(msgId), body, ts };
  store.push(queue, message);
  return message;
};
const create = (store: QueueStore, now = 1000) => store.create(random(32), random(32), now);
const storeFailed = (e: unknown) => isSealcallError(e, 'RELAY_STORE_FAILED');

/** The prototype of Node's FileHandle, to spy on what the log does to its files. */
async function fileHandle(path: string) {
  const probe = await open(path, 'r');
  await probe.close();
  return Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }>; sync: () => Promise<void> };
}

/** Counts the bytes every FileHandle writes from now on. */
async function countWrites(path: string): Promise<{ bytes: number }> {
  const proto = await fileHandle(path);
  const counter = { bytes: 0 };
  const write = proto.write;
  vi.spyOn(proto, 'write').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    const result = await write.apply(this, args);
    counter.bytes += result.bytesWritten;
    return result;
  });
  return counter;
}

describe('store log: contents', () => {
  it('reopens with the same queues, messages, lastActive and identity', async () => {
    const path = tempStore();
    const { store, log, identity } = await openStore(path);
    const [a, b, c] = [create(store), create(store), create(store)];
    const idle = create(store, 10);
    const first = push(store, a!, new Uint8Array([1, 2, 3]));
    push(store, a!, new Uint8Array([4]), 1001);
    push(store, b!, new Uint8Array(300).fill(9), 1002);
    push(store, b!, new Uint8Array([6]), 20);
    push(store, c!, new Uint8Array([5]));
    store.remove(a!, first.key);
    store.delete(c!);
    expect(store.expire(500)).toBe(1);
    store.delete(idle); // what the sweep does to a queue idle that long
    expect(store.byRecipientId(idle.recipientId)).toBeUndefined();
    store.touch(b!, 1000 + 2 * HOUR);
    store.touch(a!, 1000 + HOUR / 2); // under an hour: not journaled, not worth a record
    const expected = store.toRecords();
    await log.close();

    const again = await openStore(path);
    expect(again.identity).toEqual(identity);
    const records = again.store.toRecords();
    expect(records).toHaveLength(2);
    expect(records.map((q) => q.messages.map((m) => m.body.length))).toEqual([[1], [300]]);
    expect(records.find((q) => q.senderId.join() === b!.senderId.join())!.lastActive).toBe(1000 + 2 * HOUR);
    expect(records.find((q) => q.senderId.join() === a!.senderId.join())!.lastActive).toBe(1000);
    expect(records.map((q) => ({ ...q, lastActive: 0 }))).toEqual(expected.map((q) => ({ ...q, lastActive: 0 })));
    expect((await readStoreLog(path))!.records).toEqual(records);
    await again.log.close();
  });

  it('keeps the identity a new store was given', async () => {
    const path = tempStore();
    const identity: RelayIdentity = generateRelayIdentity();
    const newIdentity = vi.fn(() => identity);
    const options = { debounceMs: 10, logger: () => {}, newIdentity, snapshot: () => [] };
    await (await openStoreLog(path, options)).log.close();
    const reopened = await openStoreLog(path, options);
    await reopened.log.close();
    expect(newIdentity).toHaveBeenCalledTimes(1);
    expect(reopened.identity).toEqual(identity);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes changes within the debounce, all in one append', async () => {
    const path = tempStore();
    const { store, log, events } = await openStore(path, { debounceMs: 20 });
    const queue = create(store);
    for (let i = 0; i < 5; i++) push(store, queue, new Uint8Array([i]));
    await vi.waitFor(() => expect(events.map(([e]) => e)).toContain('store-appended'));
    expect(events).toEqual([['store-appended', { records: 6, bytes: expect.any(Number) }]]);
    expect((await readStoreLog(path))!.records[0]!.messages).toHaveLength(5);
    await log.close();
  });

  it('writes at close what is journaled while its last write runs', async () => {
    const path = tempStore();
    let onEvent = (_event: string) => {};
    const { store, log } = await openStore(path, { onEvent: (event) => onEvent(event) });
    const queue = create(store);
    onEvent = () => {
      onEvent = () => {};
      push(store, queue, new Uint8Array([9]));
    };
    await log.close();
    expect((await readStoreLog(path))!.records[0]!.messages).toHaveLength(1);
  });
});

describe('store log: framing', () => {
  it('checksums records with the standard CRC-32 (its check value, and what zlib computes where Node has it)', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    expect(crc32(new Uint8Array(0))).toBe(0);
    // zlib.crc32 came in Node 20.15 (package.json allows any 20): compared where it exists.
    const zlibCrc32 = (zlib as { crc32?: (bytes: Uint8Array) => number }).crc32;
    for (const bytes of zlibCrc32 ? [new Uint8Array([1, 2, 3]), random(70_000)] : []) expect(crc32(bytes)).toBe(zlibCrc32!(bytes));
  });
});

describe('store log: cost of a send', () => {
  it('appends a 256-byte send to a 20 MiB store in under 1 KiB, without rewriting the file', async () => {
    const path = tempStore();
    const { store, log } = await openStore(path);
    const queue = create(store);
    for (let i = 0; i < 320; i++) push(store, queue, random(64 * 1024));
    await log.flush();
    const before = statSync(path);
    expect(before.size).toBeGreaterThan(20 * 1024 * 1024);

    const written = await countWrites(path);
    push(store, queue, random(256));
    await log.flush();
    const after = statSync(path);
    expect(written.bytes).toBeGreaterThan(256);
    expect(written.bytes).toBeLessThan(1024);
    expect(after.size - before.size).toBe(written.bytes);
    expect(after.ino).toBe(before.ino);
    await log.close();
  });
});

describe('store log: crashes and damage', () => {
  /** A store file with one queue and two messages; returns its size. */
  async function twoMessages(path: string): Promise<number> {
    const { store, log } = await openStore(path);
    const queue = create(store);
    push(store, queue, new Uint8Array(100).fill(0xaa));
    push(store, queue, new Uint8Array(100).fill(0xbb));
    await log.close();
    return statSync(path).size;
  }

  const tails: [string, () => Uint8Array][] = [
    ['half a record', () => pushedRecord(random(16), { msgId: random(16), body: random(200), ts: 1 }).subarray(0, 120)],
    ['a record whose checksum fails', () => pushedRecord(random(16), { msgId: random(16), body: random(200), ts: 1 }).map((b, i) => (i === 100 ? b ^ 1 : b))],
    ['zeros where the data never landed', () => new Uint8Array(4096)],
    ['a few bytes of a length', () => new Uint8Array([0, 0])],
  ];
  for (const [name, tail] of tails) {
    it(`cuts off a torn last write: ${name}`, async () => {
      const path = tempStore();
      const size = await twoMessages(path);
      appendFileSync(path, tail());
      const { store, log } = await openStore(path);
      expect(statSync(path).size).toBe(size);
      const queue = [...store.queues()][0]!;
      expect(queue.messages.map((m) => m.body[0])).toEqual([0xaa, 0xbb]);
      push(store, queue, new Uint8Array([0xcc]));
      await log.close();
      expect((await readStoreLog(path))!.records[0]!.messages.map((m) => m.body[0])).toEqual([0xaa, 0xbb, 0xcc]);
    });
  }

  it('refuses a store damaged in the middle', async () => {
    const path = tempStore();
    await twoMessages(path);
    const bytes = readFileSync(path);
    const at = bytes.indexOf(Buffer.alloc(100, 0xaa)); // the first message's body, a record before the last
    bytes[at + 50] = bytes[at + 50]! ^ 1;
    writeFileSync(path, bytes);
    await expect(openStore(path)).rejects.toSatisfy(storeFailed);
    expect(readFileSync(path)).toEqual(bytes); // left as it was, for the operator
  });

  it('refuses a store whose record is well framed but invalid', async () => {
    const path = tempStore();
    await twoMessages(path);
    const payload = pack({ t: 'pushed', recipientId: random(15), msgId: random(16), body: random(1), ts: 1 });
    const frame = new Uint8Array(8 + payload.length);
    new DataView(frame.buffer).setUint32(0, payload.length);
    new DataView(frame.buffer).setUint32(4, crc32(payload));
    frame.set(payload, 8);
    appendFileSync(path, frame);
    await expect(openStore(path)).rejects.toSatisfy(storeFailed);
  });

  it('refuses a file that is not a store, and a version-1 snapshot with a message saying why', async () => {
    const path = tempStore();
    writeFileSync(path, Buffer.from('definitely not a store'));
    await expect(openStore(path)).rejects.toSatisfy(storeFailed);
    writeFileSync(path, new Uint8Array(0));
    await expect(openStore(path)).rejects.toSatisfy(storeFailed);
    writeFileSync(path, pack({ v: 1, queues: [{ recipientId: random(16), senderId: random(16), recipientKey: random(32), messages: [] }] }));
    await expect(openStore(path)).rejects.toSatisfy((e: unknown) => storeFailed(e) && /older relay version.*must be removed/.test((e as Error).message));
  });
});

describe('store log: compaction', () => {
  it('compacts a log mostly garbage to about its live size, keeping what was appended meanwhile', async () => {
    const path = tempStore();
    const order: string[] = [];
    let onEvent = (_event: string) => {};
    const { store, log, events } = await openStore(path, { onEvent: (event) => onEvent(event) });
    const queue = create(store);
    const other = create(store);
    const keep = push(store, other, random(1000));
    const bodies = Array.from({ length: 40 }, () => push(store, queue, random(64 * 1024)));
    await log.flush();
    const grown = statSync(path);
    for (const m of bodies.slice(1)) store.remove(queue, m.key);

    // Changes made while the compaction runs: one before it snapshots the store, one during its writes.
    let during: Queue | undefined;
    onEvent = (event) => {
      order.push(event);
      if (event !== 'store-appended' || during) return;
      during = create(store);
      setImmediate(() => {
        push(store, during!, new Uint8Array([7]));
        order.push('pushed during compaction');
      });
    };
    await log.flush();
    expect(order).toEqual(['store-appended', 'pushed during compaction', 'store-compacted']);
    const compacted = statSync(path);
    expect(compacted.ino).not.toBe(grown.ino);
    expect(compacted.size).toBeLessThan(64 * 1024 + 3000);
    expect(events.at(-1)).toEqual(['store-compacted', { queues: 3, messages: 2, bytes: compacted.size }]);

    push(store, queue, new Uint8Array([8]));
    const expected = store.toRecords();
    await log.close();
    expect(readdirSync(join(path, '..'))).toEqual(['relay.store']);
    const reopened = (await readStoreLog(path))!;
    expect(reopened.records).toEqual(expected);
    expect(reopened.records.find((q) => q.senderId.join() === other.senderId.join())!.messages[0]!.body).toEqual(keep.body);
    expect(reopened.records.find((q) => q.senderId.join() === during!.senderId.join())!.messages[0]!.body).toEqual(new Uint8Array([7]));
  });

  it('compacts at open a log that is mostly garbage', async () => {
    const path = tempStore();
    const identity = generateRelayIdentity();
    const queue = { recipientId: random(16), senderId: random(16), recipientKey: random(32), deliveryKey: random(32), lastActive: 5 };
    const messages = Array.from({ length: 40 }, (_, i) => ({ msgId: random(16), body: random(64 * 1024), ts: i }));
    const parts = [headerRecord(identity), createdRecord(queue), ...messages.map((m) => pushedRecord(queue.recipientId, m))];
    parts.push(...messages.slice(1).map((m) => removedRecord(queue.recipientId, m.msgId)));
    writeFileSync(path, Buffer.concat(parts));
    const { store, log, events } = await openStore(path);
    expect(events.map(([e]) => e)).toEqual(['store-loaded', 'store-compacted']);
    expect(statSync(path).size).toBeLessThan(64 * 1024 + 1000);
    expect(store.toRecords()).toEqual([{ ...queue, messages: [messages[0]] }]);
    await log.close();
    expect((await readStoreLog(path))!.records).toEqual([{ ...queue, messages: [messages[0]] }]);
  });
});

describe('store log: failures', () => {
  it('keeps the records of a failed write and writes them with the next one', async () => {
    const path = tempStore();
    const { store, log, events } = await openStore(path);
    const queue = create(store);
    await log.flush();
    // The next write lands halfway, then the disk is full.
    const proto = await fileHandle(path);
    const write = proto.write;
    vi.spyOn(proto, 'write').mockImplementationOnce(async function (this: unknown, bytes: unknown, offset: unknown, length: unknown, position: unknown) {
      await write.call(this, bytes, offset, Math.floor((length as number) / 2), position);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    push(store, queue, new Uint8Array(500).fill(1));
    await expect(log.flush()).rejects.toSatisfy(storeFailed);
    expect(events.at(-1)).toEqual(['store-failed', { stage: 'append' }]);
    // What a crash now would leave: the half-written record is a torn tail.
    expect((await readStoreLog(path))!.records[0]!.messages).toHaveLength(0);

    push(store, queue, new Uint8Array(500).fill(2));
    await log.close();
    expect((await readStoreLog(path))!.records[0]!.messages.map((m) => m.body[0])).toEqual([1, 2]);
  });

  it('keeps appending to the old log when a compaction fails', async () => {
    const path = tempStore();
    let onEvent = (_event: string) => {};
    const { store, log, events } = await openStore(path, { onEvent: (event) => onEvent(event) });
    const queue = create(store);
    const bodies = Array.from({ length: 40 }, () => push(store, queue, random(64 * 1024)));
    await log.flush();
    for (const m of bodies.slice(1)) store.remove(queue, m.key);
    // Buffered as the compaction starts: it would have been in the compacted log, so it must stay buffered.
    onEvent = (event) => {
      if (event === 'store-appended') push(store, queue, new Uint8Array([2]));
      onEvent = () => {};
    };
    // Appends use datasync; only the compacted file is synced with sync.
    vi.spyOn(await fileHandle(path), 'sync').mockRejectedValueOnce(Object.assign(new Error('I/O error'), { code: 'EIO' }));
    const ino = statSync(path).ino;
    await log.flush();
    expect(events.at(-1)).toEqual(['store-failed', { stage: 'compaction' }]);
    expect(statSync(path).ino).toBe(ino);
    expect(readdirSync(join(path, '..'))).toEqual(['relay.store']);
    push(store, queue, new Uint8Array([3]));
    const expected = store.toRecords();
    await log.close();
    expect((await readStoreLog(path))!.records).toEqual(expected);
  });

  it('fails to open a store path that is a directory', async () => {
    const path = tempStore();
    mkdirSync(path);
    await expect(openStore(path)).rejects.toSatisfy(storeFailed);
  });
});
