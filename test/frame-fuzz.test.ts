import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { decodeHeader, FrameReceiver, FrameSender, type FrameKind, type FrameSuiteName, nextBaseKey } from '../src/crypto/frame/index.js';
import { type HeaderFields, readHeader } from '../src/crypto/frame/header.js';
import { seededRandom } from '../src/testing/seeded-random.js';

// Same knobs as test/fuzz.test.ts: SEALCALL_FUZZ_RUNS inputs per suite, SEALCALL_FUZZ_SEED to replay.
const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.SEALCALL_FUZZ_SEED ?? 0x5f4a3e);
const KID = 5;

beforeAll(() => ready());

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const bytes = (random: Random, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(random, 256));

const KINDS: FrameKind[] = [
  { media: 'audio', codec: 'opus' },
  { media: 'video', codec: 'vp8', keyFrame: true },
  { media: 'video', codec: 'vp8', keyFrame: false },
];

/** Config byte + KID + CTR, as the RFC lays them out, for hand-made headers. */
function header(random: Random, kid: number): Uint8Array {
  const ctr = int(random, 4) === 0 ? int(random, 8) : int(random, 2 ** 32);
  const be = (v: number) => {
    const out: number[] = [];
    for (; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
    return out;
  };
  const k = kid < 8 ? [] : be(kid);
  const c = ctr < 8 ? [] : be(ctr);
  return Uint8Array.from([(k.length ? 0x80 | ((k.length - 1) << 4) : kid << 4) | (c.length ? 0x08 | (c.length - 1) : ctr), ...k, ...c]);
}

/** A hostile variant of a genuine protected frame. */
function mutate(random: Random, genuine: Uint8Array[], at: number): Uint8Array {
  const seed = genuine[int(random, genuine.length)]!;
  const out = seed.slice();
  switch (int(random, 9)) {
    case 0: // a few bit flips anywhere
      for (let i = int(random, 4) + 1; i > 0 && out.length; i--) out[int(random, out.length)]! ^= 1 << int(random, 8);
      return out;
    case 1: // truncate
      return out.subarray(0, int(random, out.length + 1));
    case 2: // extend
      return Uint8Array.from([...out, ...bytes(random, int(random, 40) + 1)]);
    case 3: // random bytes where the header is, genuine rest
      out.set(bytes(random, Math.min(out.length - at, int(random, 18))), at);
      return out;
    case 4: // a well-formed header for a ratchet-candidate, older, unknown or our own KID, genuine body
      return Uint8Array.from([...out.subarray(0, at), ...header(random, [KID + 1 + int(random, 4), KID - 1, 1000, KID][int(random, 4)]!), ...out.subarray(at + 1)]);
    case 5: // header and body from two different frames
      return Uint8Array.from([...out.subarray(0, at + 2), ...genuine[int(random, genuine.length)]!.subarray(at + 2)]);
    case 6: // an exact replay
      return out;
    case 7: // tiny frames, where the short-frame fallback runs
      return bytes(random, int(random, 45));
    default: // entirely random
      return bytes(random, int(random, 400));
  }
}

describe.each<FrameSuiteName>(['chacha20poly1305', 'aes128gcm'])(`frame fuzzing, suite %s (${RUNS} inputs, seed ${SEED})`, (suite) => {
  it('never throws or rejects, accepts no forgery, and still decrypts genuine frames afterwards', { timeout: 600_000 }, async () => {
    const random = seededRandom(SEED);
    const base = new Uint8Array(32).fill(9);
    const sender = new FrameSender(suite);
    const receiver = new FrameReceiver(suite, { replayWindow: 64 });
    await Promise.all([sender.setKey(KID, base), receiver.setKey(KID, base)]);
    // Genuine frames of every kind, some shorter than the codec's clear bytes. Opus ones (1 clear byte) seed the mutations.
    const genuine: Uint8Array[] = [];
    for (const length of [0, 1, 2, 5, 40, 200, 1200]) {
      for (const kind of KINDS) genuine.push((await sender.encrypt(bytes(random, length), kind))!);
    }
    const opus = genuine.filter((_, i) => i % 3 === 0);

    const fields: HeaderFields = { kid: 0, ctr: 0, length: 0 };
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const input = int(random, 2) ? mutate(random, opus, 1) : mutate(random, genuine, 0);
      const kind = KINDS[int(random, KINDS.length)]!;
      const offset = int(random, 12) - 1;
      let result: Uint8Array | null;
      try {
        const parsed = decodeHeader(input, offset);
        const read = readHeader(input, offset, fields);
        expect(read).toBe(parsed !== null);
        if (parsed) {
          expect(fields.length).toBe(parsed.length);
          expect(offset + parsed.length).toBeLessThanOrEqual(input.length);
          if (parsed.kid <= BigInt(Number.MAX_SAFE_INTEGER)) expect(fields.kid).toBe(Number(parsed.kid));
          if (parsed.ctr <= BigInt(Number.MAX_SAFE_INTEGER)) expect(fields.ctr).toBe(Number(parsed.ctr));
        }
        result = await receiver.decrypt(input, kind);
      } catch (error) {
        throw new Error(`input ${Buffer.from(input).toString('hex')} (${kind.media}, seed ${SEED}, run ${i}): ${String(error)}`, { cause: error });
      }
      if (result) accepted++;
    }
    // A mutation may reproduce a genuine frame (flipping one bit twice), once per frame; later copies are replays.
    expect(accepted).toBeLessThanOrEqual(genuine.length);
    const counted = receiver.counters.decrypted + Object.values(receiver.counters.dropped).reduce((a, b) => a + b, 0);
    expect(counted).toBe(RUNS);

    // The receiver is undisturbed: fresh frames decrypt, under this key and the ratcheted next one.
    const fresh = bytes(random, 300);
    expect(await receiver.decrypt((await sender.encrypt(fresh, KINDS[1]!))!, KINDS[1]!)).toEqual(fresh);
    await sender.setKey(KID + 1, nextBaseKey(base));
    expect(await receiver.decrypt((await sender.encrypt(fresh, KINDS[0]!))!, KINDS[0]!)).toEqual(fresh);
  });
});
