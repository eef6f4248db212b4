import { SealcallError } from '../errors.js';
import { sodium } from '../crypto/sodium.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The lowercase canonical form of a UUID in any case. Throws `INVALID_ARGUMENT` for anything
 * else, so a malformed UUID from the OS or a push never reaches a map lookup.
 */
export function normalizeUuid(uuid: unknown): string {
  const lower = typeof uuid === 'string' ? uuid.toLowerCase() : '';
  if (!UUID.test(lower)) throw new SealcallError('INVALID_ARGUMENT', 'not a UUID');
  return lower;
}

/** True when `uuid` is a UUID in any case. */
export function isUuid(uuid: unknown): uuid is string {
  return typeof uuid === 'string' && UUID.test(uuid.toLowerCase());
}

/**
 * A fresh random (version 4) UUID in lowercase canonical form, one per call session: never
 * derived from the call id, so a rejoin or a replayed invitation can never reuse a CallKit UUID.
 * Uses WebCrypto's `getRandomValues` (Node, browsers, Hermes with a polyfill), else libsodium
 * once `ready()` resolved.
 */
export function randomUuid(): string {
  const bytes = new Uint8Array(16);
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto;
  if (typeof webCrypto?.getRandomValues === 'function') webCrypto.getRandomValues(bytes);
  else bytes.set(sodium().randombytes_buf(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
