import { randomBytes } from 'node:crypto';
import _sodium from 'libsodium-wrappers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chachaOpen, chachaSeal, keyedHash, keyedHashEquals } from '../src/crypto/sodium-scratch.js';
import { ready, sodium, type Sodium } from '../src/crypto/sodium.js';

// libsodium's functions called on its module through one scratch region (src/crypto/sodium-scratch.ts):
// the same bytes as the wrapper's calls, the wrapper where the scratch cannot serve, nothing left behind.

// Not libsodium's randombytes_buf: it leaves its output in the module's freed memory, which the test of what the scratch leaves behind reads.
const random = (bytes: number) => new Uint8Array(randomBytes(bytes));
const wrapperSeal = (m: Uint8Array, ad: Uint8Array, n: Uint8Array, k: Uint8Array) => sodium().crypto_aead_chacha20poly1305_ietf_encrypt(m, ad, null, n, k);
const wrapperOpen = (c: Uint8Array, ad: Uint8Array, n: Uint8Array, k: Uint8Array) => sodium().crypto_aead_chacha20poly1305_ietf_decrypt(null, c, ad, n, k);
/** Sizes around the scratch's edges (8,112 bytes of plaintext fit) and the relay's bodies. */
const SIZES = [0, 1, 15, 16, 17, 64, 65, 592, 3152, 8111, 8112, 8113, 9000, 70_000];

beforeAll(() => ready());
afterEach(() => ready(_sodium)); // back to the module-backed wrapper after a provider test

function heapHolds(needle: Uint8Array): boolean {
  const heap = (sodium() as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8;
  return Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength).includes(Buffer.from(needle));
}

describe('libsodium through the scratch', () => {
  it('seals and opens ChaCha20-Poly1305-IETF exactly as the wrapper does, at every size and associated-data length', () => {
    for (const size of SIZES) {
      for (const adBytes of [0, 24, 64, 65]) {
        const [message, ad, nonce, key] = [random(size), random(adBytes), random(12), random(32)];
        const sealed = chachaSeal(message, ad, nonce, key);
        expect(sealed).toEqual(wrapperSeal(message, ad, nonce, key));
        expect(chachaOpen(sealed, ad, nonce, key)).toEqual(message);
        expect(wrapperOpen(sealed, ad, nonce, key)).toEqual(message);
      }
    }
  });

  it('refuses what does not authenticate (a changed byte, another key, other associated data, a short input)', () => {
    const [message, ad, nonce, key] = [random(592), random(24), random(12), random(32)];
    const sealed = chachaSeal(message, ad, nonce, key);
    const tampered = sealed.slice();
    tampered[100]! ^= 1;
    expect(() => chachaOpen(tampered, ad, nonce, key)).toThrow();
    expect(() => chachaOpen(sealed, ad, nonce, random(32))).toThrow();
    expect(() => chachaOpen(sealed, random(24), nonce, key)).toThrow();
    expect(() => chachaOpen(sealed.subarray(0, 15), ad, nonce, key)).toThrow();
    expect(chachaOpen(sealed, ad, nonce, key)).toEqual(message); // and still opens after the refusals
  });

  it("takes the wrapper's checks for a key or nonce of the wrong length", () => {
    const [message, ad] = [random(64), random(24)];
    expect(() => chachaSeal(message, ad, random(12), random(31))).toThrow(/key/);
    expect(() => chachaSeal(message, ad, random(11), random(32))).toThrow(/nonce/);
    expect(() => chachaOpen(random(80), ad, random(12), random(33))).toThrow(/key/);
  });

  it('computes keyed BLAKE2b-256 as the wrapper does, and compares an authenticator in full', () => {
    for (const size of [0, 71, 1000, 16_200, 20_000]) {
      const [content, key] = [random(size), random(32)];
      const hash = keyedHash(content, key);
      expect(hash).toEqual(sodium().crypto_generichash(32, content, key));
      expect(keyedHashEquals(content, key, hash)).toBe(true);
      for (const at of [0, 31]) {
        const wrong = hash.slice();
        wrong[at]! ^= 0x80;
        expect(keyedHashEquals(content, key, wrong)).toBe(false);
      }
      expect(keyedHashEquals(content, key, hash.subarray(0, 31))).toBe(false);
    }
    // A key of another length: the wrapper's hash (BLAKE2b takes 16 to 64 bytes).
    const [content, key16] = [random(71), random(16)];
    expect(keyedHash(content, key16)).toEqual(sodium().crypto_generichash(32, content, key16));
  });

  it('leaves no key and no plaintext in libsodium’s memory after a call', () => {
    const [message, ad, nonce, key] = [random(3152), random(24), random(12), random(32)];
    const sealed = chachaSeal(message, ad, nonce, key);
    expect(chachaOpen(sealed, ad, nonce, key)).toEqual(message);
    const [hashKey, content] = [random(32), random(71)];
    expect(keyedHashEquals(content, hashKey, keyedHash(content, hashKey))).toBe(true);
    for (const secret of [key, message.subarray(0, 32), message.subarray(3120), hashKey, content.subarray(0, 32)]) {
      expect(heapHolds(secret)).toBe(false);
    }
  });

  it('falls back to the wrapper for a libsodium provider without the module (such as react-native-libsodium)', async () => {
    const withoutModule = Object.create(_sodium, { libsodium: { value: undefined } }) as Sodium;
    await ready(withoutModule);
    expect(sodium()).toBe(withoutModule);
    const [message, ad, nonce, key] = [random(592), random(24), random(12), random(32)];
    const sealed = chachaSeal(message, ad, nonce, key);
    expect(sealed).toEqual(wrapperSeal(message, ad, nonce, key));
    expect(chachaOpen(sealed, ad, nonce, key)).toEqual(message);
    expect(keyedHash(message, key)).toEqual(sodium().crypto_generichash(32, message, key));
    expect(keyedHashEquals(message, key, keyedHash(message, key))).toBe(true);
  });

  it('falls back to the wrapper for a module whose calls do not give the wrapper’s bytes (another calling convention)', async () => {
    const module = (_sodium as unknown as { libsodium: object }).libsodium;
    // Its encryption "succeeds" without writing anything: caught by the first check.
    const mismatched = Object.create(module, { _crypto_aead_chacha20poly1305_ietf_encrypt: { value: () => 0 } });
    await ready(Object.create(_sodium, { libsodium: { value: mismatched } }) as Sodium);
    const [message, ad, nonce, key] = [random(592), random(24), random(12), random(32)];
    expect(chachaSeal(message, ad, nonce, key)).toEqual(wrapperSeal(message, ad, nonce, key));
  });
});
