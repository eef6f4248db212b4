import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventEmitter } from 'node:events';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import { readClientFrames, takeOverReceiver, type FrameReceiver } from '../src/relay/websocket-reader.js';
import { seededRandom } from '../src/testing/seeded-random.js';

// The relay's own reader of client frames (src/relay/websocket-reader.ts) against `ws`'s Receiver:
// the same streams of client frames — mostly the binary frames, pings and pongs it reads itself,
// some of everything it hands to `ws` (closes, text, fragments, reserved bits and opcodes, no mask,
// bad lengths, over maxPayload) — cut into random chunks, must make both emit the same events with
// the same bytes, in the same order. Same knobs as test/fuzz.test.ts: `SEALCALL_FUZZ_RUNS` raises
// the count, a failure names the seed (replay with SEALCALL_FUZZ_SEED).
const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 3_000);
const SEED = Number(process.env.SEALCALL_FUZZ_SEED ?? 0x3ead);
const MAX_PAYLOAD = 5_000;

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
function randomBytes(random: Random, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = int(random, 256);
  return out;
}

/** A client frame: `first` is FIN, RSV and opcode; the length is written as `lengthForm` asks. */
function frame(first: number, payload: Buffer, random: Random, options: { masked?: boolean; lengthForm?: 7 | 16 | 64; highBits?: boolean } = {}): Buffer {
  const masked = options.masked ?? true;
  const form = options.lengthForm ?? (payload.length < 126 ? 7 : payload.length < 0x10000 ? 16 : 64);
  const header: number[] = [first];
  const maskBit = masked ? 0x80 : 0;
  if (form === 7) header.push(maskBit | Math.min(payload.length, 127));
  else if (form === 16) header.push(maskBit | 126, payload.length >>> 8, payload.length & 0xff);
  else header.push(maskBit | 127, options.highBits ? 1 : 0, 0, 0, 0, payload.length >>> 24, (payload.length >>> 16) & 0xff, (payload.length >>> 8) & 0xff, payload.length & 0xff);
  const key = masked ? randomBytes(random, 4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(header), key, body]);
}

function closePayload(random: Random): Buffer {
  const codes = [1000, 1001, 1002, 1008, 1011, 3000, 4999, 999, 1004, 1005, 2000, 5000];
  const out = Buffer.alloc(2);
  out.writeUInt16BE(codes[int(random, codes.length)]!);
  return Buffer.concat([out, int(random, 4) === 0 ? Buffer.from([0xff, 0xfe]) : Buffer.from('bye')]);
}

/** A stream of client frames, mostly well formed; `unusual` of them (at most) anything else. */
function stream(random: Random): Buffer {
  const frames: Buffer[] = [];
  const count = 1 + int(random, 12);
  for (let i = 0; i < count; i++) {
    const pick = int(random, 40);
    const length = [0, 1, 5, 125, 126, 127, 200, 3_152, MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 65_536][int(random, 12)]!;
    if (pick < 22) frames.push(frame(0x82, int(random, 3) === 0 ? Buffer.alloc(length, int(random, 256)) : randomBytes(random, int(random, 1_000)), random));
    else if (pick < 26) frames.push(frame(int(random, 2) ? 0x89 : 0x8a, randomBytes(random, int(random, 126)), random));
    else if (pick < 27) frames.push(frame(0x82, randomBytes(random, int(random, 300)), random, { lengthForm: 64 }));
    else if (pick < 28) frames.push(frame(0x82, randomBytes(random, 10), random, { lengthForm: 64, highBits: true }));
    else if (pick < 29) frames.push(frame(0x89, randomBytes(random, 126), random));
    else if (pick < 30) frames.push(frame(0x89, randomBytes(random, 10), random, { lengthForm: 16 }));
    else if (pick < 31) frames.push(frame(0x88, int(random, 3) === 0 ? Buffer.alloc(0) : closePayload(random), random));
    else if (pick < 32) frames.push(frame(0x81, Buffer.from(int(random, 2) ? 'text' : [0xc3, 0x28]), random));
    else if (pick < 33) frames.push(frame(0x02, randomBytes(random, 50), random), frame(0x80, randomBytes(random, 50), random));
    else if (pick < 34) frames.push(frame(0x82 | (0x10 << int(random, 3)), randomBytes(random, 20), random));
    else if (pick < 35) frames.push(frame(0x80 | [3, 7, 0xb, 0xf, 0][int(random, 5)]!, randomBytes(random, 20), random));
    else if (pick < 36) frames.push(frame(0x82, randomBytes(random, 40), random, { masked: false }));
    else if (pick < 37) frames.push(frame(0x09, randomBytes(random, 4), random));
    else if (pick < 38) frames.push(randomBytes(random, 1 + int(random, 30)));
    else frames.push(frame(0x82, randomBytes(random, int(random, 126)), random, { lengthForm: 16 }));
  }
  return Buffer.concat(frames);
}

/** `bytes` cut at random points: one chunk, many, or a trickle of single bytes. */
function chunks(bytes: Buffer, random: Random): Buffer[] {
  const style = int(random, 4);
  if (style === 0 || bytes.length === 0 || (style === 1 && bytes.length > 4_000)) return [bytes];
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = style === 1 ? 1 + int(random, 3) : style === 2 ? 1 + int(random, 200) : 1 + int(random, 9_000);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

type Event = [string, ...unknown[]];

/** `ws`'s Receiver (exported by `ws`, not by its types). */
type Receiver = EventEmitter & { write(chunk: Buffer): boolean };
const Receiver = (wsModule as unknown as { Receiver: new (options: object) => Receiver }).Receiver;

/** A server-side Receiver as `ws` makes one, recording what it emits; with the relay's reader if `fast`. */
function recordingReceiver(fast: boolean): { receiver: Receiver; events: Event[] } {
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_PAYLOAD, binaryType: 'nodebuffer' });
  const events: Event[] = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => events.push(['message', isBinary, Buffer.from(data).toString('hex')]));
  receiver.on('ping', (data: Buffer) => events.push(['ping', data.toString('hex')]));
  receiver.on('pong', (data: Buffer) => events.push(['pong', data.toString('hex')]));
  receiver.on('conclude', (code: number, reason: Buffer) => events.push(['conclude', code, reason.toString('hex')]));
  receiver.on('error', (error: Error & { code?: string }) => {
    const status = Object.getOwnPropertySymbols(error).map((symbol) => (error as unknown as Record<symbol, unknown>)[symbol]);
    events.push(['error', error.code, ...status]);
  });
  if (fast) {
    takeOverReceiver(receiver as unknown as FrameReceiver, { binaryMessage: (data) => events.push(['message', true, Buffer.from(data).toString('hex')]) }, MAX_PAYLOAD);
  }
  return { receiver, events };
}

/** Every event either receiver emits for `parts`, after ws's deferred ones ('error' comes on a later tick). */
async function run(parts: Buffer[], fast: boolean): Promise<Event[]> {
  const { receiver, events } = recordingReceiver(fast);
  // Both unmask in place: each gets its own copy of every chunk.
  for (const part of parts) receiver.write(Buffer.from(part));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return events;
}

describe('the relay reader of client frames', () => {
  it(`emits what ws's Receiver emits, for ${RUNS} random streams cut at random points (seed ${SEED})`, async () => {
    const random = seededRandom(SEED);
    let fastFrames = 0;
    for (let run_ = 0; run_ < RUNS; run_++) {
      const parts = chunks(stream(random), random);
      const expected = await run(parts, false);
      const actual = await run(parts, true);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(`run ${run_} (seed ${SEED}): chunks ${parts.map((p) => p.toString('hex')).join(' | ')}\nexpected ${JSON.stringify(expected).slice(0, 2_000)}\nactual ${JSON.stringify(actual).slice(0, 2_000)}`);
      }
      fastFrames += expected.filter(([name]) => name !== 'error' && name !== 'conclude').length;
    }
    // The streams exercised the reader itself, not only the hand-over.
    expect(fastFrames).toBeGreaterThan(RUNS * 2);
  });

  it('hands over each binary message as an unmasked view of the chunk it came in, with no copy', () => {
    const random = seededRandom(7);
    const payloads = [randomBytes(random, 3_152), randomBytes(random, 0), randomBytes(random, 125), randomBytes(random, 126), randomBytes(random, 70)];
    const chunk = Buffer.concat(payloads.map((payload) => frame(0x82, payload, random)));
    const received: Buffer[] = [];
    const { receiver } = recordingReceiver(false);
    takeOverReceiver(receiver as unknown as FrameReceiver, { binaryMessage: (data) => received.push(data) }, MAX_PAYLOAD);
    expect(receiver.write(chunk)).toBe(true);
    expect(received.map((data) => data.toString('hex'))).toEqual(payloads.map((payload) => payload.toString('hex')));
    for (const data of received) expect(data.buffer).toBe(chunk.buffer);
  });

  it('joins a frame that comes a byte at a time, and keeps no more than a bounded list of pieces', () => {
    const random = seededRandom(8);
    const payload = randomBytes(random, 2_000);
    const bytes = frame(0x82, payload, random);
    const received: Buffer[] = [];
    const { receiver } = recordingReceiver(false);
    takeOverReceiver(receiver as unknown as FrameReceiver, { binaryMessage: (data) => received.push(Buffer.from(data)) }, MAX_PAYLOAD);
    let mostHeld = 0;
    for (let i = 0; i < bytes.length; i++) {
      receiver.write(bytes.subarray(i, i + 1));
      const reader = Object.getOwnPropertySymbols(receiver)
        .map((symbol) => (receiver as unknown as Record<symbol, unknown>)[symbol])
        .find((value) => value !== null && typeof value === 'object' && 'heldBytes' in value) as { held?: Buffer[] } | undefined;
      const held = reader?.held;
      mostHeld = Math.max(mostHeld, held?.length ?? 0);
    }
    expect(received.map((data) => data.toString('hex'))).toEqual([payload.toString('hex')]);
    expect(mostHeld).toBeGreaterThan(1);
    expect(mostHeld).toBeLessThanOrEqual(256);
  });
});

describe('readClientFrames on a real ws server connection', () => {
  const opened: { close(): void }[] = [];
  afterEach(() => {
    for (const item of opened.splice(0)) item.close();
  });

  it("finds ws's Receiver (this ws version keeps it where the reader expects) and reads the client's binary messages itself", async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    opened.push(server);
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    opened.push({ close: () => client.terminate() });
    const [[serverSide]] = (await Promise.all([once(server, 'connection'), once(client, 'open')])) as [[WebSocket], unknown];
    const viaReader: string[] = [];
    const viaWs: string[] = [];
    expect(readClientFrames(serverSide, { binaryMessage: (data) => viaReader.push(data.toString()) }, 1_000)).toBe(true);
    serverSide.on('message', (data) => viaWs.push(String(data)));
    const pong = once(client, 'pong');
    client.send(Buffer.from('first'));
    client.ping('are you there');
    await pong;
    expect(viaReader).toEqual(['first']);
    // Text is ws's to read: the reader handed it the stream.
    const text = once(serverSide, 'message');
    client.send('some text');
    await text;
    expect(viaWs).toEqual(['some text']);
    const closed = once(client, 'close');
    client.close(4000, 'done');
    expect((await closed)[0]).toBe(4000);
  });
});
