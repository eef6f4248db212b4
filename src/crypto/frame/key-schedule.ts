import { SealcallError } from '../../errors.js';
import { bufferSource, subtle } from './web-crypto.js';

/**
 * RFC 9605 §4.4.2 key schedule with HKDF-SHA256 (RFC 5869) on WebCrypto:
 *
 * ```
 * sframe_secret = HKDF-Extract("", base_key)
 * sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  ‖ KID (8 B) ‖ suite (2 B), Nk)
 * sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " ‖ KID (8 B) ‖ suite (2 B), Nn)
 * ```
 * Runs once per key (asynchronous, a handful of WebCrypto calls), never per frame. Extract and
 * Expand are spelled out on HMAC instead of WebCrypto's one-shot HKDF so that `sframe_secret` is
 * visible to the published vectors.
 */

/** The derived secrets of one (base key, KID, suite). The caller wipes them once imported. */
export interface KeyMaterial {
  secret: Uint8Array;
  key: Uint8Array;
  salt: Uint8Array;
}

const HASH_BYTES = 32;
const KEY_LABEL = new TextEncoder().encode('SFrame 1.0 Secret key ');
const SALT_LABEL = new TextEncoder().encode('SFrame 1.0 Secret salt ');

/** The RFC's info string: `prefix ‖ KID (8 bytes BE) ‖ suite id (2 bytes BE)`. */
export function sframeLabel(kind: 'key' | 'salt', kid: bigint | number, suiteId: number): Uint8Array {
  const prefix = kind === 'key' ? KEY_LABEL : SALT_LABEL;
  const label = new Uint8Array(prefix.length + 10);
  label.set(prefix);
  const view = new DataView(label.buffer);
  view.setBigUint64(prefix.length, BigInt(kid));
  view.setUint16(prefix.length + 8, suiteId);
  return label;
}

async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const imported = await subtle().importKey('raw', bufferSource(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', imported, bufferSource(data)));
}

/**
 * HKDF-Extract(salt, ikm). An empty salt means HashLen zero bytes (RFC 5869 §2.2); passing the
 * zeros explicitly is the same HMAC key (HMAC zero-pads keys) and avoids WebCrypto implementations
 * that refuse empty HMAC keys.
 */
function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
  return hmacSha256(salt.length ? salt : new Uint8Array(HASH_BYTES), ikm);
}

/** HKDF-Expand(prk, info, length), length ≤ 255 · 32. */
export async function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_BYTES) {
    throw new SealcallError('INVALID_ARGUMENT', 'HKDF-Expand length out of range');
  }
  const key = await subtle().importKey('raw', bufferSource(prk), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  for (let i = 1, filled = 0; filled < length; i++) {
    const block = new Uint8Array(previous.length + info.length + 1);
    block.set(previous);
    block.set(info, previous.length);
    block[block.length - 1] = i;
    previous = new Uint8Array(await subtle().sign('HMAC', key, block));
    out.set(previous.subarray(0, length - filled), filled);
    filled += previous.length;
  }
  return out;
}

/**
 * Derives `sframe_secret`, `sframe_key` (`keyBytes`) and `sframe_salt` (`nonceBytes`) for one
 * KID and suite from `baseKey`.
 */
export async function deriveKeyMaterial(
  baseKey: Uint8Array,
  kid: bigint | number,
  suite: { id: number; keyBytes: number; nonceBytes: number },
): Promise<KeyMaterial> {
  const secret = await hkdfExtract(new Uint8Array(0), baseKey);
  const key = await hkdfExpand(secret, sframeLabel('key', kid, suite.id), suite.keyBytes);
  const salt = await hkdfExpand(secret, sframeLabel('salt', kid, suite.id), suite.nonceBytes);
  return { secret, key, salt };
}
