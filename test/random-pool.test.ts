import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { poolRandomness } from '../src/crypto/random-pool.js';
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
    for (const [array] of draws.mock.calls) expect((array as Uint32Array).byteLength).toBe(4096);
    // Key pairs stay key pairs, and differ.
    for (const { publicKey, privateKey } of pairs) expect(sodium().crypto_scalarmult_base(privateKey)).toEqual(publicKey);
    expect(new Set(pairs.map((p) => sodium().to_hex(p.privateKey))).size).toBe(100);
  });

  it('hands out each drawn value once and zeroes it in the pool', () => {
    let pool: Uint32Array | undefined;
    vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const values = array as unknown as Uint32Array;
      for (let i = 0; i < values.length; i++) values[i] = i + 1;
      pool = values;
      return array;
    });
    const module: { getRandomValue?: () => number } = { getRandomValue: () => 0 };
    expect(poolRandomness({ libsodium: module })).toBe(true);
    const handedOut = Array.from({ length: 1500 }, () => module.getRandomValue!());
    // 1,024 values per draw: the second draw starts over.
    expect(handedOut.slice(0, 3)).toEqual([1, 2, 3]);
    expect(handedOut[1023]).toBe(1024);
    expect(handedOut[1024]).toBe(1);
    expect(pool!.subarray(0, 1500 - 1024).every((v) => v === 0)).toBe(true);
    expect(pool![1500 - 1024]).toBe(1500 - 1024 + 1);
  });

  it('leaves a provider without the hook alone (react-native-libsodium draws natively)', () => {
    const provider = { ready: Promise.resolve() };
    expect(poolRandomness(provider)).toBe(false);
    expect(poolRandomness({ libsodium: {} })).toBe(false);
    expect(provider).toEqual({ ready: expect.any(Promise) });
  });

  it('leaves libsodium its own source where there is no WebCrypto', () => {
    const own = () => 7;
    const module = { getRandomValue: own };
    vi.spyOn(globalThis, 'crypto', 'get').mockReturnValue(undefined as unknown as Crypto);
    expect(poolRandomness({ libsodium: module })).toBe(false);
    expect(module.getRandomValue).toBe(own);
  });
});
