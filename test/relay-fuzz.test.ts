import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import {
  decodeClientFrame,
  decodeRelayFrame,
  encodeClientFrame,
  encodeRelayFrame,
  validateClientFrame,
  type ClientFrame,
  type RelayFrame,
} from '../src/protocol/relay-frames.js';
import { seededRandom } from '../src/testing/seeded-random.js';

// Same knobs as test/fuzz.test.ts: `SEALCALL_FUZZ_RUNS` raises the count, a failure prints the
// input and the seed (replay with SEALCALL_FUZZ_SEED).
const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.SEALCALL_FUZZ_SEED ?? 0x4e1a7);

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const bytes = (random: Random, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(random, 256));

// An encoder that emits everything msgpackr can: records, Dates, Sets, Maps, typed arrays, …
const exotic = new Packr({ structuredClone: true, useRecords: true, moreTypes: true });

const id = () => new Uint8Array(16).fill(1);
const CLIENT_SEEDS: ClientFrame[] = [
  { t: 'new', corr: 1, recipientKey: new Uint8Array(32).fill(2), sig: new Uint8Array(64).fill(5) },
  { t: 'sub', corr: 2, recipientId: id(), sig: new Uint8Array(64).fill(3) },
  { t: 'ack', corr: 300, recipientId: id(), msgId: id(), sig: new Uint8Array(64) },
  { t: 'del', corr: 70_000, recipientId: id(), sig: new Uint8Array(64) },
  { t: 'send', corr: 2 ** 32 - 1, senderId: id(), body: new Uint8Array(100).fill(9) },
  { t: 'ping', corr: 0 },
];
const RELAY_SEEDS: RelayFrame[] = [
  { t: 'hello', v: 1, sessionId: id() },
  { t: 'ids', corr: 1, recipientId: id(), senderId: id() },
  { t: 'msg', recipientId: id(), msgId: id(), body: new Uint8Array(50), ts: 1_700_000_000_000 },
  { t: 'ok', corr: 5 },
  { t: 'pong', corr: 6 },
  { t: 'err', code: 'AUTH', message: 'no' },
  { t: 'err', corr: 7, code: 'QUOTA', message: 'full' },
];

/** A random JS value, nested a little, of every type msgpack (and msgpackr's extensions) can carry. */
function value(random: Random, depth = 0): unknown {
  const pick = int(random, depth > 2 ? 9 : 13);
  switch (pick) {
    case 0: return int(random, 2 ** 32);
    case 1: return -int(random, 1000);
    case 2: return random() * 1e6;
    case 3: return ['new', 'sub', 'ack', 'del', 'send', 'ping', 'hello', 'ids', 'msg', 'ok', 'pong', 'err', '__proto__'][int(random, 13)];
    case 4: return bytes(random, [0, 15, 16, 17, 32, 64, int(random, 200)][int(random, 7)]!);
    case 5: return null;
    case 6: return random() < 0.5;
    case 7: return new Date(int(random, 2 ** 40));
    case 8: return 2 ** 53 + int(random, 100);
    case 9: return Array.from({ length: int(random, 4) }, () => value(random, depth + 1));
    case 10: return new Set([value(random, depth + 1)]);
    case 11: return new Map([[value(random, depth + 1), value(random, depth + 1)]]);
    default: {
      const keys = ['t', 'corr', 'recipientKey', 'recipientId', 'senderId', 'msgId', 'sig', 'body', 'v', 'sessionId', 'ts', 'code', 'message', '__proto__', 'constructor'];
      const obj: Record<string, unknown> = {};
      for (let i = int(random, 6); i > 0; i--) {
        // defineProperty: a plain assignment to '__proto__' would change the prototype instead.
        Object.defineProperty(obj, keys[int(random, keys.length)]!, { value: value(random, depth + 1), enumerable: true, configurable: true, writable: true });
      }
      return obj;
    }
  }
}

/** A hostile variant of a genuine frame: bit flips, truncation, extension, field swaps, or noise. */
function mutate(random: Random, genuine: Uint8Array): Uint8Array {
  const out = genuine.slice();
  switch (int(random, 6)) {
    case 0:
      for (let i = int(random, 4) + 1; i > 0; i--) out[int(random, out.length)]! ^= 1 << int(random, 8);
      return out;
    case 1:
      return out.subarray(0, int(random, out.length));
    case 2:
      return Uint8Array.from([...out, ...bytes(random, int(random, 32) + 1)]);
    case 3:
      return exotic.pack(value(random));
    case 4:
      return Uint8Array.from(new Packr({ useRecords: false }).pack(value(random)));
    default:
      return bytes(random, int(random, 300));
  }
}

function survives(fn: () => unknown, input: Uint8Array): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (!isSealcallError(error)) {
      throw new Error(`non-SealcallError for ${Buffer.from(input).toString('hex')} (seed ${SEED}): ${String(error)}`, { cause: error });
    }
    return false;
  }
}

describe(`relay frame parser fuzzing (${RUNS} inputs per direction, seed ${SEED})`, () => {
  it('round-trips every genuine frame', () => {
    for (const frame of CLIENT_SEEDS) expect(decodeClientFrame(encodeClientFrame(frame))).toEqual(frame);
    for (const frame of RELAY_SEEDS) expect(decodeRelayFrame(encodeRelayFrame(frame))).toEqual(frame);
  });

  it('decodeClientFrame and decodeRelayFrame throw only SealcallError on random and mutated input', () => {
    const random = seededRandom(SEED);
    const client = CLIENT_SEEDS.map(encodeClientFrame);
    const relay = RELAY_SEEDS.map(encodeRelayFrame);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const a = mutate(random, client[int(random, client.length)]!);
      if (survives(() => decodeClientFrame(a), a)) accepted++;
      const b = mutate(random, relay[int(random, relay.length)]!);
      if (survives(() => decodeRelayFrame(b), b)) accepted++;
    }
    // Some mutations stay valid (a flipped bit in a body); most must not.
    expect(accepted).toBeLessThan(RUNS);
  });

  it('accepted frames are fresh plain objects holding only known fields', () => {
    const random = seededRandom(SEED + 1);
    const client = CLIENT_SEEDS.map(encodeClientFrame);
    for (let i = 0; i < RUNS; i++) {
      const input = mutate(random, client[int(random, client.length)]!);
      let frame: ClientFrame;
      try {
        frame = decodeClientFrame(input);
      } catch (error) {
        expect(isSealcallError(error)).toBe(true);
        continue;
      }
      expect(Object.getPrototypeOf(frame)).toBe(Object.prototype);
      const allowed = ['t', 'corr', 'recipientKey', 'recipientId', 'senderId', 'msgId', 'sig', 'body'];
      for (const key of Object.keys(frame)) expect(allowed).toContain(key);
      for (const field of Object.values(frame)) {
        if (field instanceof Uint8Array) expect(field.constructor).toBe(Uint8Array); // copied, not a Buffer view
      }
    }
  });

  it('validateClientFrame survives arbitrary JS values', () => {
    const random = seededRandom(SEED + 2);
    for (let i = 0; i < RUNS; i++) {
      const input = value(random);
      try {
        validateClientFrame(input);
      } catch (error) {
        if (!isSealcallError(error)) throw new Error(`non-SealcallError (seed ${SEED + 2}, run ${i}): ${String(error)}`);
      }
    }
  });
});
