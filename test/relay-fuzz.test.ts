import { Packr } from 'msgpackr';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRelayKeyPair, openDelivery, sealDelivery, deliveryKey } from '../src/crypto/relay-keys.js';
import { ready } from '../src/crypto/sodium.js';
import { isSealcallError, SealcallError } from '../src/errors.js';
import { pack as packPlain, unpackUntrusted } from '../src/protocol/msgpack.js';
import {
  decodeRelayBlock,
  encodeClientBlock,
  encodeRelayBlock,
  RELAY_LIMITS,
  unpackBlock,
  validateClientFrame,
  validateRelayFrame,
  type ClientFrame,
  type RelayFrame,
} from '../src/protocol/relay-frames.js';
import { seededRandom } from '../src/testing/seeded-random.js';

// The v2 relay decoders under hostile bytes: `unpackBlock` + `validateClientFrame` (what the
// relay runs on a client's WebSocket message, frame by frame) and `decodeRelayBlock` (what a
// client runs on the relay's). Same knobs as test/fuzz.test.ts: `SEALCALL_FUZZ_RUNS` raises the
// count, a failure prints the input and the seed (replay with SEALCALL_FUZZ_SEED).
const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.SEALCALL_FUZZ_SEED ?? 0x4e1a7);

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const bytes = (random: Random, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(random, 256));

// An encoder that emits everything msgpackr can: records, Dates, Sets, Maps, typed arrays, …
const exotic = new Packr({ structuredClone: true, useRecords: true, moreTypes: true });

const id = (fill = 1) => new Uint8Array(16).fill(fill);
const key = (fill: number) => new Uint8Array(32).fill(fill);
const CLIENT_SEEDS: ClientFrame[] = [
  { t: 'new', corr: 1, recipientKey: key(2), auth: key(5) },
  { t: 'sub', corr: 2, recipientId: id(), auth: key(3) },
  { t: 'ack', corr: 300, recipientId: id(), msgId: id(4), auth: key(0) },
  { t: 'del', corr: 70_000, recipientId: id(), auth: key(6) },
  { t: 'send', corr: 2 ** 32 - 1, senderId: id(), body: new Uint8Array(100).fill(9) },
  { t: 'send', corr: 8, senderId: id(7), body: new Uint8Array(0) },
  { t: 'ping', corr: 0 },
];
const RELAY_SEEDS: RelayFrame[] = [
  { t: 'hello', v: 2, relayKey: key(1), sessionKey: key(2), sig: new Uint8Array(64).fill(3) },
  { t: 'ids', corr: 1, recipientId: id(), senderId: id(2), serverKey: key(4) },
  { t: 'msg', recipientId: id(), msgId: id(3), body: new Uint8Array(50).fill(8), ts: 1_700_000_000_000 },
  { t: 'ok', corr: 5 },
  { t: 'pong', corr: 6 },
  { t: 'err', code: 'AUTH', message: 'no' },
  { t: 'err', corr: 7, code: 'QUOTA', message: 'full' },
  { t: 'end', recipientId: id(5) },
];

/** Fields each frame type may carry once validated. */
const CLIENT_FIELDS: Record<ClientFrame['t'], string[]> = {
  new: ['t', 'corr', 'recipientKey', 'auth'],
  sub: ['t', 'corr', 'recipientId', 'auth'],
  ack: ['t', 'corr', 'recipientId', 'msgId', 'auth'],
  del: ['t', 'corr', 'recipientId', 'auth'],
  send: ['t', 'corr', 'senderId', 'body'],
  ping: ['t', 'corr'],
};
const RELAY_FIELDS: Record<RelayFrame['t'], string[]> = {
  hello: ['t', 'v', 'relayKey', 'sessionKey', 'sig'],
  ids: ['t', 'corr', 'recipientId', 'senderId', 'serverKey'],
  msg: ['t', 'recipientId', 'msgId', 'body', 'ts'],
  ok: ['t', 'corr'],
  pong: ['t', 'corr'],
  err: ['t', 'corr', 'code', 'message'],
  end: ['t', 'recipientId'],
};

/** Genuine blocks: each seed alone, all of a side's seeds together, and a full block of mixed frames. */
function genuineBlocks<T>(seeds: T[], encode: (frames: T[]) => Uint8Array): Uint8Array[] {
  const full = Array.from({ length: RELAY_LIMITS.maxFramesPerBlock }, (_, i) => seeds[i % seeds.length]!);
  return [...seeds.map((s) => encode([s])), encode(seeds), encode([seeds[1]!, seeds[0]!, seeds[1]!]), encode(full)];
}
const CLIENT_BLOCKS = genuineBlocks(CLIENT_SEEDS, encodeClientBlock);
const RELAY_BLOCKS = genuineBlocks(RELAY_SEEDS, encodeRelayBlock);

const FIELD_NAMES = ['t', 'corr', 'recipientKey', 'recipientId', 'senderId', 'msgId', 'auth', 'sig', 'body', 'v', 'relayKey', 'sessionKey', 'serverKey', 'sessionId', 'ts', 'code', 'message', '__proto__', 'constructor'];

/** A random JS value, nested a little, of every type msgpack (and msgpackr's extensions) can carry. */
function value(random: Random, depth = 0): unknown {
  const pick = int(random, depth > 2 ? 9 : 13);
  switch (pick) {
    case 0: return int(random, 2 ** 32);
    case 1: return -int(random, 1000);
    case 2: return random() * 1e6;
    case 3: return ['new', 'sub', 'ack', 'del', 'send', 'ping', 'hello', 'ids', 'msg', 'ok', 'pong', 'err', '__proto__'][int(random, 13)];
    case 4: return bytes(random, [0, 15, 16, 17, 31, 32, 33, 64, int(random, 200)][int(random, 9)]!);
    case 5: return null;
    case 6: return random() < 0.5;
    case 7: return new Date(int(random, 2 ** 40));
    case 8: return 2 ** 53 + int(random, 100);
    case 9: return Array.from({ length: int(random, 4) }, () => value(random, depth + 1));
    case 10: return new Set([value(random, depth + 1)]);
    case 11: return new Map([[value(random, depth + 1), value(random, depth + 1)]]);
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = int(random, 6); i > 0; i--) setOwn(obj, FIELD_NAMES[int(random, FIELD_NAMES.length)]!, value(random, depth + 1));
      return obj;
    }
  }
}

/** defineProperty: a plain assignment to '__proto__' would change the prototype instead. */
function setOwn(obj: Record<string, unknown>, name: string, v: unknown): void {
  Object.defineProperty(obj, name, { value: v, enumerable: true, configurable: true, writable: true });
}

/** A frame-shaped random map: usually a known `t`, then known (and hostile) field names with random values. */
function randomFrame(random: Random): Record<string, unknown> {
  const frame: Record<string, unknown> = {};
  if (random() < 0.8) setOwn(frame, 't', value(random, 3));
  for (let i = int(random, 6); i > 0; i--) setOwn(frame, FIELD_NAMES[int(random, FIELD_NAMES.length)]!, value(random, 2));
  return frame;
}

/** A block-shaped random value: an array of 0..65 frame-like maps and stray values. */
function randomBlock(random: Random): unknown[] {
  const length = [0, 1, 2, 3, RELAY_LIMITS.maxFramesPerBlock, RELAY_LIMITS.maxFramesPerBlock + 1][int(random, 6)]!;
  return Array.from({ length }, () => (random() < 0.8 ? randomFrame(random) : value(random, 2)));
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * A genuine block with its structure changed: frames dropped, repeated, swapped or replaced, and
 * fields of one frame deleted, retyped or added. Re-encoded plainly, so it reaches the validators.
 */
function restructure(random: Random, genuine: Uint8Array): Uint8Array {
  const frames = unpackUntrusted(genuine, RELAY_LIMITS.maxFrameBytes, 'block') as unknown[];
  for (let n = int(random, 3) + 1; n > 0; n--) {
    const i = int(random, frames.length);
    const frame = frames[i];
    switch (int(random, 7)) {
      case 0: frames.splice(i, 1); break;
      case 1: frames.splice(i, 0, frames[int(random, frames.length)]); break;
      case 2: frames.splice(i, 1, random() < 0.5 ? randomFrame(random) : value(random)); break;
      case 3: if (isMap(frame)) delete frame[Object.keys(frame)[int(random, Object.keys(frame).length)]!]; break;
      case 4: frames.push(...Array.from({ length: int(random, 70) }, () => frames[int(random, frames.length)])); break;
      default: {
        if (isMap(frame)) {
          const names = [...Object.keys(frame), ...FIELD_NAMES];
          setOwn(frame, names[int(random, names.length)]!, value(random, 2));
        }
      }
    }
  }
  return random() < 0.5 ? packPlain(frames) : Uint8Array.from(exotic.pack(frames));
}

/** A hostile variant of a genuine block: bit flips, truncation, extension, restructuring, random values, or noise. */
function mutate(random: Random, genuine: Uint8Array): Uint8Array {
  const out = genuine.slice();
  switch (int(random, 8)) {
    case 0:
      for (let i = int(random, 4) + 1; i > 0; i--) out[int(random, out.length)]! ^= 1 << int(random, 8);
      return out;
    case 1:
      return out.subarray(0, int(random, out.length));
    case 2:
      return Uint8Array.from([...out, ...bytes(random, int(random, 32) + 1)]);
    case 3:
    case 4:
      return restructure(random, genuine);
    case 5:
      return exotic.pack(random() < 0.5 ? randomBlock(random) : value(random));
    case 6:
      return Uint8Array.from(new Packr({ useRecords: false }).pack(random() < 0.5 ? randomBlock(random) : value(random)));
    default:
      return bytes(random, int(random, 300));
  }
}

function fail(input: Uint8Array, seed: number, error: unknown): never {
  throw new Error(`non-SealcallError for ${Buffer.from(input).toString('hex')} (seed ${seed}): ${String(error)}`, { cause: error });
}

/** What the relay does with a client's message: unpack the block, then validate each frame on its own. */
function relayReads(input: Uint8Array, seed: number): { frames: { raw: unknown; frame: ClientFrame }[]; refused: number } {
  let block: unknown[];
  try {
    block = unpackBlock(input);
  } catch (error) {
    if (!isSealcallError(error)) fail(input, seed, error);
    return { frames: [], refused: 1 };
  }
  const frames: { raw: unknown; frame: ClientFrame }[] = [];
  let refused = 0;
  for (const raw of block) {
    try {
      frames.push({ raw, frame: validateClientFrame(raw) });
    } catch (error) {
      if (!isSealcallError(error)) fail(input, seed, error);
      refused++;
    }
  }
  return { frames, refused };
}

/**
 * What a client does with the relay's message (`decodeRelayBlock`), checked to throw only
 * SealcallError and to return only frames and SealcallErrors. Since decodeRelayBlock turns any
 * other exception of a frame into a SealcallError, each frame also goes through
 * validateRelayFrame directly, which must not throw anything else either.
 */
function clientReads(input: Uint8Array, seed: number): { frames: RelayFrame[]; refused: number } {
  let decoded: (RelayFrame | SealcallError)[];
  try {
    decoded = decodeRelayBlock(input);
  } catch (error) {
    if (!isSealcallError(error)) fail(input, seed, error);
    return { frames: [], refused: 1 };
  }
  const raws = unpackBlock(input);
  if (decoded.length !== raws.length) throw new Error(`decodeRelayBlock lost frames: ${Buffer.from(input).toString('hex')}`);
  for (const raw of raws) {
    try {
      validateRelayFrame(raw);
    } catch (error) {
      if (!isSealcallError(error)) fail(input, seed, error);
    }
  }
  const frames = decoded.filter((d): d is RelayFrame => !(d instanceof Error));
  for (const d of decoded) if (d instanceof Error && !(d instanceof SealcallError)) fail(input, seed, d);
  return { frames, refused: decoded.length - frames.length };
}

/**
 * Why a validated frame is not a fresh plain object with only its type's fields and byte fields
 * copied, or undefined if it is. Plain checks, not `expect`: this runs for every accepted frame.
 */
/** Byte fields a decoder leaves as views into the block (MsgFrame's `body`). */
const VIEWS = ['msg.body'];

function uncleanness(frame: object, allowed: Record<string, string[]>, input: Uint8Array, raw?: unknown): string | undefined {
  if (Object.getPrototypeOf(frame) !== Object.prototype) return 'not a plain object';
  if (frame === raw) return 'the decoded value itself, not a fresh object';
  const fields = allowed[(frame as { t: string }).t];
  if (!fields) return 'unknown t';
  for (const [name, field] of Object.entries(frame)) {
    if (!fields.includes(name)) return `unknown field ${name}`;
    if (field instanceof Uint8Array && VIEWS.includes(`${(frame as { t: string }).t}.${name}`)) {
      // Documented as a view into the block (a `msg` body, opened at once): it lies inside it, or
      // (decoded from an msgpack extension) is an array of its own, never part of other memory.
      const own = field.byteOffset === 0 && field.byteLength === field.buffer.byteLength;
      if (field.buffer !== input.buffer && !own) return `${name} is a view into other memory`;
    } else if (field instanceof Uint8Array) {
      // Copied, not a Buffer or a view into the input.
      if (field.constructor !== Uint8Array) return `${name} is a ${field.constructor.name}`;
      if (field.buffer === input.buffer || field.byteOffset !== 0 || field.byteLength !== field.buffer.byteLength) return `${name} is a view`;
    } else if (typeof field !== 'string' && typeof field !== 'number') {
      return `${name} is a ${typeof field}`;
    }
  }
  return undefined;
}

function expectClean(frame: object, allowed: Record<string, string[]>, input: Uint8Array, raw?: unknown): void {
  const problem = uncleanness(frame, allowed, input, raw);
  if (problem) throw new Error(`${problem}: ${Buffer.from(input).toString('hex')}`);
}

describe(`relay block decoder fuzzing (${RUNS} inputs per direction, seed ${SEED})`, () => {
  it('round-trips every genuine frame, alone and in blocks of several', () => {
    expect(unpackBlock(CLIENT_BLOCKS.at(-1)!)).toHaveLength(RELAY_LIMITS.maxFramesPerBlock);
    for (const frame of CLIENT_SEEDS) expect(unpackBlock(encodeClientBlock([frame])).map(validateClientFrame)).toEqual([frame]);
    expect(unpackBlock(encodeClientBlock(CLIENT_SEEDS)).map(validateClientFrame)).toEqual(CLIENT_SEEDS);
    for (const frame of RELAY_SEEDS) expect(decodeRelayBlock(encodeRelayBlock([frame]))).toEqual([frame]);
    expect(decodeRelayBlock(encodeRelayBlock(RELAY_SEEDS))).toEqual(RELAY_SEEDS);
    for (const block of CLIENT_BLOCKS) expect(relayReads(block, SEED).refused).toBe(0);
    for (const block of RELAY_BLOCKS) expect(clientReads(block, SEED).refused).toBe(0);
  });

  it('unpackBlock + validateClientFrame and decodeRelayBlock throw only SealcallError on random and mutated blocks', () => {
    const random = seededRandom(SEED);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < RUNS; i++) {
      const a = mutate(random, CLIENT_BLOCKS[int(random, CLIENT_BLOCKS.length)]!);
      const fromClient = relayReads(a, SEED);
      accepted += fromClient.frames.length;
      refused += fromClient.refused;
      const b = mutate(random, RELAY_BLOCKS[int(random, RELAY_BLOCKS.length)]!);
      const fromRelay = clientReads(b, SEED);
      accepted += fromRelay.frames.length;
      refused += fromRelay.refused;
    }
    // Some mutations stay valid (a flipped bit in a body, a repeated frame); many must not.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(RUNS / 2);
  });

  it('accepted frames are fresh plain objects holding only their type’s known fields', () => {
    const random = seededRandom(SEED + 1);
    const clientTypes = new Set<string>();
    const relayTypes = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      const a = mutate(random, CLIENT_BLOCKS[int(random, CLIENT_BLOCKS.length)]!);
      for (const { raw, frame } of relayReads(a, SEED + 1).frames) {
        expectClean(frame, CLIENT_FIELDS, a, raw);
        clientTypes.add(frame.t);
      }
      const b = mutate(random, RELAY_BLOCKS[int(random, RELAY_BLOCKS.length)]!);
      for (const frame of clientReads(b, SEED + 1).frames) {
        expectClean(frame, RELAY_FIELDS, b);
        relayTypes.add(frame.t);
      }
    }
    // Mutated blocks still reach every frame type's validator (given enough runs to be sure of it).
    if (RUNS >= 1000) {
      expect([...clientTypes].sort()).toEqual(Object.keys(CLIENT_FIELDS).sort());
      expect([...relayTypes].sort()).toEqual(Object.keys(RELAY_FIELDS).sort());
    }
  });

  it('the block reader agrees with msgpackr on every frame of every block both can read', () => {
    // unpackBlock reads blocks itself (src/protocol/block-reader.ts); msgpackr, which reads every
    // other untrusted message, is the reference. Where both read a block, each frame must validate
    // to the same frame or be refused by both. (Where only one reads it, the bytes hold one of
    // msgpackr's own extension types or a map as a key: then one refuses the block, the other each
    // frame; mutate() makes plenty of those too.)
    const random = seededRandom(SEED + 4);
    const outcome = (validate: (raw: unknown) => unknown, raw: unknown): unknown => {
      try {
        return validate(raw);
      } catch (error) {
        if (!isSealcallError(error)) throw error;
        return `refused: ${error.code}`;
      }
    };
    let compared = 0;
    let acceptedBoth = 0;
    for (let i = 0; i < RUNS; i++) {
      const fromClient = i % 2 === 0;
      const genuine = fromClient ? CLIENT_BLOCKS[int(random, CLIENT_BLOCKS.length)]! : RELAY_BLOCKS[int(random, RELAY_BLOCKS.length)]!;
      const input = mutate(random, genuine);
      const validate = fromClient ? validateClientFrame : validateRelayFrame;
      let ours: unknown[];
      let reference: unknown;
      try {
        ours = unpackBlock(input);
        reference = unpackUntrusted(input, RELAY_LIMITS.maxFrameBytes, 'block');
      } catch {
        continue;
      }
      if (!Array.isArray(reference)) throw new Error(`read as a block, but msgpackr reads no array: ${Buffer.from(input).toString('hex')}`);
      expect(ours.length, Buffer.from(input).toString('hex')).toBe(reference.length);
      for (let f = 0; f < ours.length; f++) {
        const a = outcome(validate, ours[f]);
        const b = outcome(validate, reference[f]);
        expect(a, `frame ${f} of ${Buffer.from(input).toString('hex')}`).toEqual(b);
        if (typeof a !== 'string') acceptedBoth++;
      }
      compared++;
    }
    expect(compared).toBeGreaterThan(RUNS / 8);
    expect(acceptedBoth).toBeGreaterThan(RUNS / 10);
  });

  it('reads every msgpack width of a number and a string as msgpackr does', () => {
    // corr and ts written in each integer and float form, and t in each string form.
    const head = (t: number, ...bytes: number[]) => [t, ...bytes];
    const corrs = [
      [0x7f], head(0xcc, 0xff), head(0xcd, 0x12, 0x34), head(0xce, 0xff, 0xff, 0xff, 0xff), head(0xcf, 0, 0, 0, 0, 0, 0, 0x12, 0x34),
      head(0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1), head(0xd0, 0x7f), head(0xd0, 0x80), head(0xd1, 0x7f, 0xff), head(0xd2, 0x7f, 0xff, 0xff, 0xff),
      head(0xd3, 0, 0, 0, 0, 0, 0, 0, 9), head(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), [0xff],
      head(0xca, 0x40, 0x40, 0, 0), head(0xcb, 0x42, 0x78, 0xbc, 0xfe, 0x56, 0x80, 0, 0), head(0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0),
    ];
    const okType = [[0xa2, 0x6f, 0x6b], [0xd9, 2, 0x6f, 0x6b], [0xda, 0, 2, 0x6f, 0x6b], [0xdb, 0, 0, 0, 2, 0x6f, 0x6b]];
    const key = (name: string) => [0xa0 | name.length, ...new TextEncoder().encode(name)];
    for (const t of okType) {
      for (const corr of corrs) {
        const input = Uint8Array.from([0x91, 0x82, ...key('t'), ...t, ...key('corr'), ...corr]);
        const reference = unpackUntrusted(input, RELAY_LIMITS.maxFrameBytes, 'block') as unknown[];
        expect(unpackBlock(input), Buffer.from(input).toString('hex')).toEqual(reference);
      }
    }
  });

  it('validateClientFrame and validateRelayFrame survive arbitrary JS values', () => {
    const random = seededRandom(SEED + 2);
    for (let i = 0; i < RUNS; i++) {
      const input = value(random);
      for (const validate of [validateClientFrame, validateRelayFrame]) {
        try {
          validate(input);
        } catch (error) {
          if (!isSealcallError(error)) throw new Error(`non-SealcallError (seed ${SEED + 2}, run ${i}): ${String(error)}`);
        }
      }
    }
  });
});

/** Flipped bits, a cut or added bytes of `genuine`, the same bytes again, or random bytes of any length. */
function flipTruncateOrExtend(random: Random, genuine: Uint8Array): Uint8Array {
  const out = genuine.slice();
  switch (int(random, 5)) {
    case 0:
      for (let i = int(random, 4) + 1; i > 0 && out.length > 0; i--) out[int(random, out.length)]! ^= 1 << int(random, 8);
      return out;
    case 1:
      return out.subarray(0, int(random, out.length + 1));
    case 2:
      return Buffer.concat([out, bytes(random, int(random, 32) + 1)]);
    case 3:
      return out;
    default:
      return bytes(random, int(random, 4000));
  }
}

describe(`delivered body opening under hostile bytes (${RUNS} inputs, seed ${SEED})`, () => {
  beforeAll(() => ready());

  it('openDelivery opens only the genuine sealed body (in place or not) and refuses every other with DECRYPT_FAILED, leaving it unchanged, at sizes in and past its scratch', () => {
    const random = seededRandom(SEED + 3);
    const queue = generateRelayKeyPair();
    const server = generateRelayKeyPair();
    const key = deliveryKey(server.secretKey, queue.publicKey, server.publicKey, queue.publicKey);
    const msgId = bytes(random, 16);
    const ts = 1_700_000_000_123;
    // 9,000 bytes is past the 16 KiB scratch (plaintext and ciphertext both in it): the wrapper's path.
    const genuine = [0, 1, 592, 3152, 9000].map((size) => {
      const body = bytes(random, size);
      return { body, sealed: sealDelivery(key, msgId, ts, body) };
    });
    let refused = 0;
    for (let i = 0; i < RUNS; i++) {
      const { body, sealed } = genuine[int(random, genuine.length)]!;
      const input = flipTruncateOrExtend(random, sealed);
      const otherId = int(random, 8) === 0;
      // Half of them opened in place (over the input, as WebSocketTransport does).
      const inPlace = int(random, 2) === 0;
      const before = Uint8Array.from(input);
      try {
        const opened = openDelivery(key, otherId ? bytes(random, 16) : msgId, ts, input, inPlace);
        // Only the unchanged body under its own id opens, and to what was sealed.
        if (otherId || !Buffer.from(before).equals(sealed) || !Buffer.from(opened).equals(body)) {
          throw new Error(`opened what it should not (seed ${SEED + 3}, run ${i}): ${Buffer.from(before).toString('hex')}`);
        }
        if (inPlace && (opened.buffer !== input.buffer || opened.byteOffset !== input.byteOffset)) {
          throw new Error(`opened in place into an array of its own (seed ${SEED + 3}, run ${i})`);
        }
      } catch (error) {
        if (!isSealcallError(error, 'DECRYPT_FAILED')) fail(before, SEED + 3, error);
        // A refused body is left as it came.
        if (!Buffer.from(input).equals(before)) fail(before, SEED + 3, new Error('a refused body was changed'));
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(RUNS / 2);
  });
});
