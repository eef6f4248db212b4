import { SealcallError } from '../../errors.js';
import { sodium } from '../sodium.js';
import { MAX_BASE_KEY_BYTES, MIN_BASE_KEY_BYTES } from './frame-key.js';

const RATCHET_LABEL = new TextEncoder().encode('sealcall frame key ratchet v1');

/**
 * Key rotation ratchet: the base key of KID n+1 from that of KID n, as keyed BLAKE2b (a PRF keyed
 * by the current base key) over a fixed label, with the input's length. One-way: a leaked key
 * does not reveal earlier ones, so frames sent before it stay confidential. (It does reveal later
 * ratchet steps; recover from a leak with a fresh base key from a new handshake, not a ratchet.)
 *
 * Synchronous (libsodium): `await ready()` from sealcall's crypto first.
 * @throws SealcallError `BAD_KEY` unless `baseKey` is 16–64 bytes; `NOT_READY` before `ready()`.
 */
export function nextBaseKey(baseKey: Uint8Array): Uint8Array {
  if (!(baseKey instanceof Uint8Array) || baseKey.length < MIN_BASE_KEY_BYTES || baseKey.length > MAX_BASE_KEY_BYTES) {
    throw new SealcallError('BAD_KEY', `base key must be ${MIN_BASE_KEY_BYTES}–${MAX_BASE_KEY_BYTES} bytes`);
  }
  return sodium().crypto_generichash(baseKey.length, RATCHET_LABEL, baseKey);
}
