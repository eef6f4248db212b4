import { beforeAll, describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import { ready } from '../src/crypto/sodium.js';
import { DEFAULT_ENVELOPE_BYTES, ENVELOPE_BUCKETS, ENVELOPE_VERSION, parseEnvelope } from '../src/signaling/envelope.js';
import { openPair, pairKeys, sealPair } from '../src/signaling/pair-seal.js';
import { IncomingHandshake, openOneShot, sealOneShot } from '../src/signaling/handshake.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import { seededRandom } from '../src/testing/seeded-random.js';
import { handshakePair, text } from './helpers/crypto.js';

// `npm run fuzz` raises the count; a failure prints the seed to replay it with SEALCALL_FUZZ_SEED.
const RUNS = Number(process.env.SEALCALL_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.SEALCALL_FUZZ_SEED ?? 0x5ea1ca11);

beforeAll(() => ready());

type Random = () => number;
const int = (random: Random, n: number): number => Math.floor(random() * n);
const bytes = (random: Random, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(random, 256));

/** A hostile variant of `seed`: bit flips, truncation, extension, random header fields. */
function mutate(random: Random, seed: Uint8Array): Uint8Array {
  const out = seed.slice();
  switch (int(random, 6)) {
    case 0: // a few bit flips anywhere
      for (let i = int(random, 4) + 1; i > 0; i--) out[int(random, out.length)]! ^= 1 << int(random, 8);
      return out;
    case 1: // truncate
      return out.subarray(0, int(random, out.length));
    case 2: // extend
      return Uint8Array.from([...out, ...bytes(random, int(random, 64) + 1)]);
    case 3: // random header, genuine body
      out.set(bytes(random, 34));
      out[0] = ENVELOPE_VERSION;
      return out;
    case 4: // random body at a bucket length with a plausible header
      return Uint8Array.from([ENVELOPE_VERSION, int(random, 6), ...out.subarray(2, 34), ...bytes(random, ENVELOPE_BUCKETS[int(random, 3)]! - 74)]);
    default: // entirely random bytes
      return bytes(random, int(random, 600));
  }
}

/** Runs `fn`, which may fail only with a SealcallError. Returns whether it succeeded. */
function survives(fn: () => unknown, input: Uint8Array, seed: number): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (!isSealcallError(error)) {
      throw new Error(`non-SealcallError for input ${Buffer.from(input).toString('hex')} (seed ${seed}): ${String(error)}`, {
        cause: error,
      });
    }
    return false;
  }
}

describe(`fuzzing (${RUNS} inputs per target, seed ${SEED})`, () => {
  it('envelope decoder and every opener survive random and mutated envelopes without state corruption', () => {
    const random = seededRandom(SEED);
    const pair = handshakePair();
    const size = DEFAULT_ENVELOPE_BYTES;
    const genuine = [pair.invite, pair.reply, pair.caller.seal(text('t'), size), sealOneShot({ identity: pair.alice, remotePublicKey: pair.bob.publicKey, callId: pair.outgoing.callId, payload: text('c'), envelopeBytes: size })];
    const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
    let forgeries = 0;
    for (let i = 0; i < RUNS; i++) {
      const input = mutate(random, genuine[int(random, genuine.length)]!);
      survives(() => parseEnvelope(input), input, SEED);
      const keys = { identity: pair.bob, remotePublicKey: pair.alice.publicKey };
      const opened = [
        survives(() => pair.callee.open(input), input, SEED),
        survives(() => IncomingHandshake.open({ ...keys, envelope: input }).dispose(), input, SEED),
        survives(() => openOneShot({ ...keys, envelope: input }), input, SEED),
        survives(() => pair.outgoing.accept(input), input, SEED),
      ];
      // A mutation may reproduce a genuine envelope (then it opens like the original); nothing else opens.
      if (opened.some(Boolean) && !genuine.some((g) => same(g, input))) forgeries++;
    }
    expect(forgeries).toBe(0);
    // The real session is undisturbed: a fresh genuine message still opens, both ways.
    expect(new TextDecoder().decode(pair.callee.open(pair.caller.seal(text('after'), size)))).toBe('after');
    expect(new TextDecoder().decode(pair.caller.open(pair.callee.seal(text('back'), size)))).toBe('back');
  });

  it('the pair seal opens nothing but what the contact sealed, and throws only SealcallError', () => {
    const random = seededRandom(SEED + 2);
    const pair = handshakePair();
    const genuine = sealPair(pairKeys(pair.alice, pair.bob.publicKey), pair.invite);
    const bob = pairKeys(pair.bob, pair.alice.publicKey);
    let opened = 0;
    for (let i = 0; i < RUNS; i++) {
      const input = mutate(random, genuine);
      if (survives(() => openPair(bob, input), input, SEED) && !(input.length === genuine.length && input.every((x, j) => x === genuine[j]))) opened++;
    }
    expect(opened).toBe(0);
    expect(openPair(bob, genuine)).toEqual(pair.invite);
  });

  it('message decoder survives random and mutated msgpack', () => {
    const random = seededRandom(SEED + 1);
    const callId = '01'.repeat(16);
    const seeds = [
      encodeMessage({ type: 'invite', callId, seq: 0, media: 'audio', capabilities: { frameEncryption: ['a', 'b'] }, sentAt: 5, lifetimeMs: 9 }),
      encodeMessage({ type: 'ice', callId, seq: 3, end: false, candidates: [{ candidate: 'candidate:x', sdpMid: '0', sdpMLineIndex: 0 }] }),
      encodeMessage({ type: 'renegotiate', callId, seq: 3, request: { iceRestart: true, addTransceiver: 'audio' } }),
      encodeMessage({ type: 'media-state', callId, seq: 4, audioMuted: false, videoEnabled: true, held: true }),
      encodeMessage({ type: 'media-state', callId, seq: 4, audioMuted: true, videoEnabled: true, screenSharing: true }),
    ];
    for (let i = 0; i < RUNS; i++) {
      const seed = seeds[int(random, seeds.length)]!;
      const input = int(random, 4) === 0 ? bytes(random, int(random, 200)) : mutate(random, seed).subarray(0, seed.length + 8);
      survives(() => decodeMessage(input), input, SEED + 1);
    }
  });
});
