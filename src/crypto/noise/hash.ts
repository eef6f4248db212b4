import { sodium } from '../sodium.js';

/** BLAKE2b-512 output length (Noise HASHLEN). */
export const HASH_LEN = 64;
/** BLAKE2b block length (Noise BLOCKLEN), the HMAC block size. */
const BLOCK_LEN = 128;

/** Unkeyed BLAKE2b-512 over the concatenation of `parts`. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const s = sodium();
  const state = s.crypto_generichash_init(null, HASH_LEN);
  for (const part of parts) s.crypto_generichash_update(state, part);
  return s.crypto_generichash_final(state, HASH_LEN);
}

/**
 * RFC 2104 HMAC over unkeyed BLAKE2b, as Noise §4.3 requires (BLAKE2b's own keyed mode is a
 * different function and would not match the vectors).
 */
export function hmac(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const block = new Uint8Array(BLOCK_LEN);
  block.set(key.length > BLOCK_LEN ? hash(key) : key);
  const inner = block.map((b) => b ^ 0x36);
  const outer = block.map((b) => b ^ 0x5c);
  const innerHash = hash(inner, ...data);
  const result = hash(outer, innerHash);
  sodium().memzero(block);
  sodium().memzero(inner);
  sodium().memzero(outer);
  return result;
}

/** Noise's HKDF with two outputs (each HASH_LEN bytes). */
export function hkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = hmac(chainingKey, ikm);
  const out1 = hmac(temp, Uint8Array.of(1));
  const out2 = hmac(temp, out1, Uint8Array.of(2));
  sodium().memzero(temp);
  return [out1, out2];
}
