import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { poolRandomness, RandomPool } from '../src/crypto/random-pool.js';
import { ready, sodium } from '../src/crypto/sodium.js';

// libsodium.js asks its host for randomness one value per call; sealcall's ready() hands it
// WebCrypto's output drawn 4 KiB at a time (src/crypto/random-pool.ts).

beforeAll(() => ready());
afterEach(() => vi.restoreAllMocks());

describe('libsodium randomness', () => {
  it('comes from WebCrypto, 4 KiB per draw, once ready() resolved', () => {
    const draws = vi.spyOn(globalThis.crypto, 'getRandomValues');
    // 100 key pairs: 3,200 random bytes, which libsodium asks for one value at a time.
    const pairs = Array.from({ length: 100 }, () => sodium().crypto_box_keypair());
    // libsodium's own host function uses Node's crypto.randomBytes, never getRandomValues: no draw
    // at all without the pool, one per call without batching.
    expect(draws.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(draws.mock.calls.length).toBeLessThanOrEqual(4);
    for (const [array] of draws.mock.calls) expect((array as Uint8Array).byteLength).toBe(4096);
    // Key pairs stay key pairs, and differ.
    for (const { publicKey, privateKey } of pairs) expect(sodium().crypto_scalarmult_base(privateKey)).toEqual(publicKey);
    expect(new Set(pairs.map((p) => sodium().to_hex(p.privateKey))).size).toBe(100);
  });

  it('hands out each drawn byte once, zeroes it in the pool, and draws again once the pool is used up', () => {
    let pool: Uint8Array | undefined;
    vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array;
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i + 1) & 0xff;
      pool = bytes;
      return array;
    });
    const random = new RandomPool(64);
    const first = random.bytes(16);
    expect([...first]).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(random.uint32()).toBe(0x14131211); // bytes 17..20, little-endian
    expect(pool!.subarray(0, 20).every((b) => b === 0)).toBe(true);
    expect(pool![20]).toBe(21);
    // A copy of its own: the pool zeroing its bytes leaves it alone.
    expect(first[0]).toBe(1);
    random.bytes(40); // 60 of 64 bytes used
    expect(random.bytes(8)[0]).toBe(1); // fewer than 8 left: a fresh draw
    expect(() => random.bytes(65)).toThrow(RangeError); // more than a pool holds
    const module: { getRandomValue?: () => number } = { getRandomValue: () => 0 };
    expect(poolRandomness({ libsodium: module })).toBe(true);
    expect(module.getRandomValue!()).toBe(0x04030201);
  });

  it('leaves a provider without the hook alone (react-native-libsodium draws natively)', () => {
    const provider = { ready: Promise.resolve() };
    expect(poolRandomness(provider)).toBe(false);
    expect(poolRandomness({ libsodium: {} })).toBe(false);
    expect(provider).toEqual({ ready: expect.any(Promise) });
  });

  it('leaves libsodium its own source where there is no WebCrypto, and a pool refuses to start there', () => {
    const own = () => 7;
    const module = { getRandomValue: own };
    vi.spyOn(globalThis, 'crypto', 'get').mockReturnValue(undefined as unknown as Crypto);
    expect(poolRandomness({ libsodium: module })).toBe(false);
    expect(module.getRandomValue).toBe(own);
    expect(() => new RandomPool()).toThrow(TypeError);
  });
});
