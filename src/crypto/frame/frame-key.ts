import { SealcallError } from '../../errors.js';
import { ready, sodium } from '../sodium.js';
import { AesGcmCipher } from './aes-gcm-cipher.js';
import { ChaChaCipher } from './chacha-cipher.js';
import type { FrameCipher } from './cipher.js';
import { deriveKeyMaterial } from './key-schedule.js';
import { FRAME_SUITES, type FrameSuiteName } from './types.js';

/** Shortest base key sealcall accepts: keyed BLAKE2b (the rotation ratchet) takes 16–64-byte keys. */
export const MIN_BASE_KEY_BYTES = 16;
/** Longest base key sealcall accepts (see {@link MIN_BASE_KEY_BYTES}). */
export const MAX_BASE_KEY_BYTES = 64;

/** One installed key: its KID, its AEAD, and a copy of the base key it came from. */
export interface FrameKey {
  readonly kid: number;
  readonly cipher: FrameCipher;
  /** Kept to ratchet to the next KID and to recognise a repeated `setKey`. */
  readonly baseKey: Uint8Array;
}

/** Rejects KIDs the per-frame path cannot carry exactly and base keys the ratchet cannot key. */
export function checkKeyArguments(kid: number, baseKey: Uint8Array): void {
  if (!Number.isSafeInteger(kid) || kid < 0) throw new SealcallError('INVALID_ARGUMENT', 'kid must be a non-negative safe integer');
  if (!(baseKey instanceof Uint8Array) || baseKey.length < MIN_BASE_KEY_BYTES || baseKey.length > MAX_BASE_KEY_BYTES) {
    throw new SealcallError('BAD_KEY', `base key must be ${MIN_BASE_KEY_BYTES}–${MAX_BASE_KEY_BYTES} bytes`);
  }
}

/**
 * Runs the RFC 9605 key schedule for `kid` and builds the suite's cipher. Copies `baseKey`
 * synchronously, so the caller may wipe its own copy as soon as this returns. Wipes the
 * intermediate secrets.
 */
export async function deriveFrameKey(suiteName: FrameSuiteName, kid: number, baseKey: Uint8Array): Promise<FrameKey> {
  checkKeyArguments(kid, baseKey);
  const copy = baseKey.slice();
  try {
    await ready();
    const suite = FRAME_SUITES[suiteName];
    const { secret, key, salt } = await deriveKeyMaterial(copy, kid, suite);
    secret.fill(0);
    if (suiteName !== 'aes128gcm') return { kid, cipher: new ChaChaCipher(key, salt), baseKey: copy };
    try {
      return { kid, cipher: await AesGcmCipher.create(key, salt), baseKey: copy };
    } finally {
      key.fill(0); // now inside the non-extractable CryptoKey
    }
  } catch (error) {
    copy.fill(0);
    throw error;
  }
}

const wiped = new WeakSet<FrameKey>();

/** Wipes the key's cipher and base key copy. */
export function wipeFrameKey(key: FrameKey): void {
  key.cipher.wipe();
  key.baseKey.fill(0);
  wiped.add(key);
}

/** Whether {@link wipeFrameKey} ran on `key`. */
export function isWiped(key: FrameKey): boolean {
  return wiped.has(key);
}

/** Whether two base keys are equal, in constant time for equal lengths. */
export function sameBaseKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium().memcmp(a, b);
}
