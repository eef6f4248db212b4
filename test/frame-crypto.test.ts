import { beforeAll, describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import {
  clearByteCount,
  decodeHeader,
  FrameReceiver,
  FrameSender,
  type FrameCounters,
  type FrameKind,
  type FrameSuiteName,
  nextBaseKey,
} from '../src/crypto/frame/index.js';

const SUITES: FrameSuiteName[] = ['chacha20poly1305', 'aes128gcm'];
const OPUS: FrameKind = { media: 'audio', codec: 'opus' };
const VP8_KEY: FrameKind = { media: 'video', codec: 'vp8', keyFrame: true };
const VP8_DELTA: FrameKind = { media: 'video', codec: 'vp8', keyFrame: false };
const KINDS: [string, FrameKind][] = [
  ['opus', OPUS],
  ['vp8 key', VP8_KEY],
  ['vp8 delta', VP8_DELTA],
];

beforeAll(() => ready());

const key = (fill: number, length = 32): Uint8Array => new Uint8Array(length).fill(fill);
const frameOf = (length: number, seed = 1): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 7) & 0xff);

/** A manual clock for key retirement. */
function clock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function pair(suite: FrameSuiteName, kid = 1, base = key(0x11), options: ConstructorParameters<typeof FrameReceiver>[1] = {}) {
  const sender = new FrameSender(suite);
  const receiver = new FrameReceiver(suite, options);
  await Promise.all([sender.setKey(kid, base), receiver.setKey(kid, base)]);
  return { sender, receiver };
}

async function seal(sender: FrameSender, frame: Uint8Array, kind: FrameKind = OPUS): Promise<Uint8Array> {
  const out = await sender.encrypt(frame, kind);
  if (!out) throw new Error('sender dropped the frame');
  return out;
}

const dropped = (counters: FrameCounters) => Object.fromEntries(Object.entries(counters.dropped).filter(([, n]) => n > 0));

describe.each(SUITES)('frame crypto, suite %s', (suite) => {
  it('round-trips every codec and frame size, clear bytes in clear, 17–19 bytes of overhead', async () => {
    const { sender, receiver } = await pair(suite);
    let frames = 0;
    for (const [, kind] of KINDS) {
      for (const length of [0, 1, 2, 3, 4, 9, 10, 11, 100, 1200, 16_000]) {
        const frame = frameOf(length, length);
        const out = await seal(sender, frame, kind);
        const clear = clearByteCount(kind, length);
        expect(out.subarray(0, clear)).toEqual(frame.subarray(0, clear));
        const header = decodeHeader(out, clear)!;
        expect(header.kid).toBe(1n);
        expect(header.ctr).toBe(BigInt(frames));
        expect(out.length - length).toBe(header.length + 16);
        // The rest is not the plaintext (except by chance for a byte or two).
        if (length - clear >= 8) expect(out.subarray(clear + header.length, clear + header.length + 8)).not.toEqual(frame.subarray(clear, clear + 8));
        expect(await receiver.decrypt(out, kind), `${kind.media} ${length}`).toEqual(frame);
        frames++;
      }
    }
    expect(sender.counters.encrypted).toBe(frames);
    expect(dropped(sender.counters)).toEqual({});
    expect(receiver.counters.decrypted).toBe(frames);
    expect(dropped(receiver.counters)).toEqual({});
  });

  it('returns frames that own their whole ArrayBuffer (for encodedFrame.data = out.buffer)', async () => {
    const { sender, receiver } = await pair(suite);
    for (const [, kind] of KINDS) {
      for (const length of [0, 2, 50, 3000]) {
        const backing = new Uint8Array(length + 20);
        const frame = backing.subarray(7, 7 + length); // a view into a larger buffer as input
        frame.set(frameOf(length));
        const out = await seal(sender, frame, kind);
        expect([out.byteOffset, out.buffer.byteLength]).toEqual([0, out.length]);
        const back = (await receiver.decrypt(new Uint8Array(out.buffer), kind))!;
        expect(back).toEqual(frameOf(length));
        expect([back.byteOffset, back.buffer.byteLength]).toEqual([0, length]);
      }
    }
  });

  it('authenticates the clear bytes, the header and the body', async () => {
    const { sender, receiver } = await pair(suite);
    const frame = frameOf(120);
    for (const [kind, position] of [
      [VP8_KEY, 0], // clear byte
      [VP8_KEY, 9], // last clear byte
      [OPUS, 0], // the TOC
      [OPUS, 60], // body
      [OPUS, -1], // tag
    ] as [FrameKind, number][]) {
      const out = await seal(sender, frame, kind);
      out[(position + out.length) % out.length]! ^= 0x01;
      expect(await receiver.decrypt(out, kind)).toBeNull();
    }
    expect(dropped(receiver.counters)).toEqual({ auth: 5 });
    // A header whose CTR was changed is a different nonce and AAD: also 'auth'.
    const out = await seal(sender, frame);
    out[1]! ^= 0x01; // config byte after the 1 clear byte: CTR bits (CTR < 8 here)
    expect(await receiver.decrypt(out, OPUS)).toBeNull();
    expect(receiver.counters.dropped.auth).toBe(6);
    expect(receiver.counters.decrypted).toBe(0);
  });

  it('drops frames under a wrong key as auth, never throwing', async () => {
    const sender = new FrameSender(suite);
    const receiver = new FrameReceiver(suite);
    await sender.setKey(3, key(1));
    await receiver.setKey(3, key(2));
    for (let i = 0; i < 5; i++) expect(await receiver.decrypt(await seal(sender, frameOf(50)), OPUS)).toBeNull();
    expect(receiver.counters.decrypted).toBe(0);
    expect(dropped(receiver.counters)).toEqual({ auth: 5 });
  });

  it('fails closed without a key on either side', async () => {
    const sender = new FrameSender(suite);
    expect(await sender.encrypt(frameOf(10), OPUS)).toBeNull();
    expect(dropped(sender.counters)).toEqual({ 'no-key': 1 });
    const receiver = new FrameReceiver(suite);
    await sender.setKey(0, key(5));
    expect(await receiver.decrypt(await seal(sender, frameOf(10)), OPUS)).toBeNull();
    expect(dropped(receiver.counters)).toEqual({ 'no-key': 1 });
  });

  it('holds frames that come while the first key is being derived, on either side, and drops none', async () => {
    const sender = new FrameSender(suite);
    const receiver = new FrameReceiver(suite);
    const sent = sender.setKey(0, key(7)); // deriving: not awaited
    const sealed = await Promise.all([sender.encrypt(frameOf(20, 1), OPUS), sender.encrypt(frameOf(20, 2), OPUS)]);
    await sent;
    const received = receiver.setKey(0, key(7));
    // In order, under counters 0 and 1: both open, and neither is taken for a replay of the other.
    const opened = await Promise.all(sealed.map((frame) => receiver.decrypt(frame!, OPUS)));
    await received;
    expect(opened).toEqual([frameOf(20, 1), frameOf(20, 2)]);
    expect(dropped(sender.counters)).toEqual({});
    expect(dropped(receiver.counters)).toEqual({});
  });

  it('drops replays, accepts reordering within the window, drops what is older than it', async () => {
    const { sender, receiver } = await pair(suite, 1, key(0x22), { replayWindow: 64 });
    const frames = [];
    for (let i = 0; i < 100; i++) frames.push(await seal(sender, frameOf(30, i)));
    expect(await receiver.decrypt(frames[0]!, OPUS)).not.toBeNull();
    expect(await receiver.decrypt(frames[0]!, OPUS)).toBeNull(); // replay
    for (const i of [5, 3, 4, 1, 2]) expect(await receiver.decrypt(frames[i]!, OPUS), `frame ${i}`).toEqual(frameOf(30, i)); // reordered
    expect(await receiver.decrypt(frames[99]!, OPUS)).not.toBeNull();
    expect(await receiver.decrypt(frames[36]!, OPUS)).not.toBeNull(); // 63 behind: still inside
    expect(await receiver.decrypt(frames[35]!, OPUS)).toBeNull(); // 64 behind: too old
    expect(await receiver.decrypt(frames[3]!, OPUS)).toBeNull(); // too old and a replay
    expect(receiver.counters.decrypted).toBe(8);
    expect(dropped(receiver.counters)).toEqual({ replay: 3 });
  });

  it('accepts only one of two copies of a frame decrypted concurrently', async () => {
    const { sender, receiver } = await pair(suite);
    const out = await seal(sender, frameOf(40));
    const results = await Promise.all([receiver.decrypt(out, OPUS), receiver.decrypt(out, OPUS), receiver.decrypt(out.slice(), OPUS)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(dropped(receiver.counters)).toEqual({ replay: 2 });
  });

  it('keeps counters unique under concurrent encrypts, and every frame decrypts', async () => {
    const { sender, receiver } = await pair(suite);
    const frames = Array.from({ length: 200 }, (_, i) => frameOf(100 + i, i));
    const sealed = await Promise.all(frames.map((f) => sender.encrypt(f, VP8_DELTA)));
    const ctrs = new Set(sealed.map((s) => decodeHeader(s!, 3)!.ctr));
    expect(ctrs.size).toBe(200);
    const opened = await Promise.all(sealed.map((s) => receiver.decrypt(s!, VP8_DELTA)));
    expect(opened).toEqual(frames);
  });

  it('drops unknown kids and garbage', async () => {
    const { sender, receiver } = await pair(suite, 20);
    const other = new FrameSender(suite);
    await other.setKey(40, key(0x11)); // 20 above the newest: not a ratchet candidate
    expect(await receiver.decrypt(await seal(other, frameOf(30)), OPUS)).toBeNull();
    const lower = new FrameSender(suite);
    await lower.setKey(19, key(0x11));
    expect(await receiver.decrypt(await seal(lower, frameOf(30)), OPUS)).toBeNull();
    expect(dropped(receiver.counters)).toEqual({ 'unknown-kid': 2 });

    const good = await seal(sender, frameOf(30));
    for (const bad of [new Uint8Array(0), good.subarray(0, 1), good.subarray(0, 17), good.subarray(0, 10), Uint8Array.of(0, 0xff)]) {
      expect(await receiver.decrypt(bad, OPUS)).toBeNull();
    }
    expect(receiver.counters.dropped.malformed).toBe(5);
    // Truncated but long enough for a header and a tag: indistinguishable from tampering.
    expect(await receiver.decrypt(good.subarray(0, good.length - 1), OPUS)).toBeNull();
    expect(receiver.counters.dropped.auth).toBe(1);
    // A header claiming an 8-byte CTR that is not there.
    expect(await receiver.decrypt(Uint8Array.of(0x10, 0x9f, 1, 2), OPUS)).toBeNull();
    expect(receiver.counters.dropped.malformed).toBe(6);
    // A frame with a header whose CTR is beyond 2^53 (not trackable) is malformed too.
    const huge = Uint8Array.from([0x10, 0xa0 | 0x0f, 20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...new Uint8Array(16)]);
    huge[1] = 0x80 | 0x0f; // X=1 K=0 (1-byte KID), Y=1 C=7 (8-byte CTR)
    expect(await receiver.decrypt(huge, OPUS)).toBeNull();
    expect(receiver.counters.dropped.malformed).toBe(7);
    expect(await receiver.decrypt(good, OPUS)).toEqual(frameOf(30));
  });

  it('rotates: old kid decrypts during the grace after the new one is used, then drops as unknown-kid', async () => {
    const time = clock();
    const { sender, receiver } = await pair(suite, 1, key(1), { keyGraceMs: 2000, now: time.now });
    const late = [await seal(sender, frameOf(50, 1)), await seal(sender, frameOf(50, 2)), await seal(sender, frameOf(50, 3))];
    await Promise.all([sender.setKey(2, key(2)), receiver.setKey(2, key(2))]);
    expect(sender.kid).toBe(2);
    const fresh = await seal(sender, frameOf(50, 9));
    expect(decodeHeader(fresh, 1)).toEqual({ kid: 2n, ctr: 0n, length: 1 }); // CTR restarts per kid
    // Before any frame under kid 2, kid 1 has no deadline at all.
    time.advance(10_000);
    expect(await receiver.decrypt(late[0]!, OPUS)).toEqual(frameOf(50, 1));
    expect(await receiver.decrypt(fresh, OPUS)).toEqual(frameOf(50, 9));
    time.advance(1999);
    expect(await receiver.decrypt(late[1]!, OPUS)).toEqual(frameOf(50, 2));
    time.advance(1);
    expect(await receiver.decrypt(late[2]!, OPUS)).toBeNull();
    expect(dropped(receiver.counters)).toEqual({ 'unknown-kid': 1 });
    expect(await receiver.decrypt(await seal(sender, frameOf(50, 10)), OPUS)).toEqual(frameOf(50, 10));
  });

  it('gives a key installed late, below the key in use, only what is left of the grace', async () => {
    const time = clock();
    const { sender, receiver } = await pair(suite, 5, key(5), { keyGraceMs: 1000, now: time.now });
    expect(await receiver.decrypt(await seal(sender, frameOf(20)), OPUS)).not.toBeNull();
    const old = new FrameSender(suite);
    await old.setKey(4, key(4));
    await receiver.setKey(4, key(4));
    time.advance(500);
    expect(await receiver.decrypt(await seal(old, frameOf(20)), OPUS)).not.toBeNull();
    time.advance(500);
    expect(await receiver.decrypt(await seal(old, frameOf(20)), OPUS)).toBeNull();
    expect(dropped(receiver.counters)).toEqual({ 'unknown-kid': 1 });
  });

  it('ratchets on the fly to kid+1…kid+4 when frames overtake setKey, committing only authentic keys', async () => {
    const time = clock();
    const base = key(7);
    const { sender, receiver } = await pair(suite, 10, base, { keyGraceMs: 100, now: time.now });
    expect(await receiver.decrypt(await seal(sender, frameOf(20, 1)), OPUS)).not.toBeNull();

    // An impostor at kid 11 with a key that is not the ratchet of kid 10's: dropped, not committed.
    const impostor = new FrameSender(suite);
    await impostor.setKey(11, key(8));
    expect(await receiver.decrypt(await seal(impostor, frameOf(20)), OPUS)).toBeNull();
    expect(dropped(receiver.counters)).toEqual({ auth: 1 });

    // The real sender rotates twice (kid 12 = ratchet², skipping 11) before the receiver hears of it.
    const k11 = nextBaseKey(base);
    const k12 = nextBaseKey(k11);
    await sender.setKey(12, k12);
    const first = await seal(sender, frameOf(20, 2));
    expect(await receiver.decrypt(first, OPUS)).toEqual(frameOf(20, 2));
    expect(await receiver.decrypt(first, OPUS)).toBeNull(); // the committed key has a replay window
    expect(receiver.counters.dropped.replay).toBe(1);
    // The late setKey with the same base key is a no-op that keeps that window.
    await receiver.setKey(12, k12);
    expect(await receiver.decrypt(first, OPUS)).toBeNull();
    expect(receiver.counters.dropped.replay).toBe(2);
    // kid 10 retires after the grace; kid 12 goes on.
    time.advance(100);
    const stale = new FrameSender(suite);
    await stale.setKey(10, base);
    expect(await receiver.decrypt(await seal(stale, frameOf(20)), OPUS)).toBeNull();
    expect(receiver.counters.dropped['unknown-kid']).toBe(1);
    expect(await receiver.decrypt(await seal(sender, frameOf(20, 3)), OPUS)).toEqual(frameOf(20, 3));

    // Five ahead is too far.
    let far = k12;
    for (let i = 0; i < 5; i++) far = nextBaseKey(far);
    const ahead = new FrameSender(suite);
    await ahead.setKey(17, far);
    expect(await receiver.decrypt(await seal(ahead, frameOf(20)), OPUS)).toBeNull();
    expect(receiver.counters.dropped['unknown-kid']).toBe(2);
  });

  it('keeps directions apart: a frame under one direction’s key fails under the other’s', async () => {
    const aliceToBob = key(0xa1);
    const bobToAlice = key(0xb0);
    const alice = new FrameSender(suite);
    const bob = new FrameSender(suite);
    const atAlice = new FrameReceiver(suite); // receives bob's frames
    const atBob = new FrameReceiver(suite); // receives alice's frames
    await Promise.all([alice.setKey(0, aliceToBob), atBob.setKey(0, aliceToBob), bob.setKey(0, bobToAlice), atAlice.setKey(0, bobToAlice)]);
    const fromAlice = await seal(alice, frameOf(60));
    const fromBob = await seal(bob, frameOf(60));
    expect(await atAlice.decrypt(fromAlice, OPUS)).toBeNull(); // reflected back to its sender
    expect(await atBob.decrypt(fromBob, OPUS)).toBeNull();
    expect(await atBob.decrypt(fromAlice, OPUS)).toEqual(frameOf(60));
    expect(await atAlice.decrypt(fromBob, OPUS)).toEqual(frameOf(60));
    expect(atAlice.counters.dropped.auth + atBob.counters.dropped.auth).toBe(2);
  });

  it('never reuses a kid on the sender and stops at the counter limit', async () => {
    const sender = new FrameSender(suite, { maxCounter: 9 });
    await sender.setKey(3, key(3));
    await sender.setKey(3, key(3)); // the same key again: no-op
    const rejects = async (promise: Promise<void>, code: string) => {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      expect(isSealcallError(error) && error.code).toBe(code);
    };
    await rejects(sender.setKey(3, key(4)), 'INVALID_ARGUMENT');
    await rejects(sender.setKey(2, key(4)), 'INVALID_ARGUMENT');
    await rejects(sender.setKey(4, key(4, 8)), 'BAD_KEY');
    await rejects(sender.setKey(-1, key(4)), 'INVALID_ARGUMENT');
    const ctrs = [];
    for (let i = 0; i < 12; i++) {
      const out = await sender.encrypt(frameOf(10), OPUS);
      if (out) ctrs.push(Number(decodeHeader(out, 1)!.ctr));
    }
    expect(ctrs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(dropped(sender.counters)).toEqual({ 'counter-exhausted': 2 });
    await sender.setKey(4, key(4));
    expect(decodeHeader((await sender.encrypt(frameOf(10), OPUS))!, 1)).toEqual({ kid: 4n, ctr: 0n, length: 1 });
  });

  it('installs the newest of racing setKey calls', async () => {
    const sender = new FrameSender(suite);
    await Promise.all([sender.setKey(1, key(1)), sender.setKey(2, key(2)), sender.setKey(3, key(3))]);
    expect(sender.kid).toBe(3);
  });

  it('dispose wipes keys: frames drop as no-key and setKey rejects', async () => {
    const { sender, receiver } = await pair(suite);
    const out = await seal(sender, frameOf(20));
    sender.dispose();
    receiver.dispose();
    expect(await sender.encrypt(frameOf(20), OPUS)).toBeNull();
    expect(await receiver.decrypt(out, OPUS)).toBeNull();
    expect(sender.counters.dropped['no-key']).toBe(1);
    expect(receiver.counters.dropped['no-key']).toBe(1);
    await expect(sender.setKey(9, key(9))).rejects.toSatisfy((e) => isSealcallError(e, 'DISPOSED'));
    await expect(receiver.setKey(9, key(9))).rejects.toSatisfy((e) => isSealcallError(e, 'DISPOSED'));
  });
});

describe('frame crypto helpers', () => {
  it('counts clear bytes per codec, clamped to the frame', () => {
    expect(clearByteCount(OPUS, 100)).toBe(1);
    expect(clearByteCount(OPUS, 0)).toBe(0);
    expect(clearByteCount(VP8_KEY, 1000)).toBe(10);
    expect(clearByteCount(VP8_KEY, 4)).toBe(4);
    expect(clearByteCount(VP8_DELTA, 1000)).toBe(3);
    expect(clearByteCount(VP8_DELTA, 2)).toBe(2);
  });

  it('ratchets base keys one way, deterministically, keeping their length', () => {
    const k0 = key(0x42);
    const k1 = nextBaseKey(k0);
    expect(k1).toHaveLength(32);
    expect(k1).toEqual(nextBaseKey(key(0x42)));
    expect(k1).not.toEqual(k0);
    expect(nextBaseKey(k1)).not.toEqual(k1);
    expect(nextBaseKey(key(1, 16))).toHaveLength(16);
    expect(() => nextBaseKey(key(1, 15))).toThrowSealcallError();
    expect(() => nextBaseKey(key(1, 65))).toThrowSealcallError();
    expect(sodium().to_hex(nextBaseKey(new Uint8Array(32)))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects unknown suites and bad options at construction', () => {
    expect(() => new FrameSender('rot13' as FrameSuiteName)).toThrowSealcallError();
    expect(() => new FrameReceiver('rot13' as FrameSuiteName)).toThrowSealcallError();
    expect(() => new FrameReceiver('aes128gcm', { replayWindow: 100 })).toThrowSealcallError();
    expect(() => new FrameSender('aes128gcm', { maxCounter: 2 ** 60 })).toThrowSealcallError();
  });
});
