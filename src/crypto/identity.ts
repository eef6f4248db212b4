import { SealcallError } from '../errors.js';
import { sodium } from './sodium.js';

/** A user's static X25519 identity. The public key is what contacts store. */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Length of X25519 public and secret keys. */
export const KEY_BYTES = 32;

/** Creates a new random identity. Needs `await ready()`. */
export function generateIdentity(): Identity {
  const secretKey = sodium().randombytes_buf(KEY_BYTES);
  return identityFromSecretKey(secretKey);
}

/** Rebuilds an identity from its stored secret key. */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  checkKey(secretKey, 'secret key');
  return { publicKey: sodium().crypto_scalarmult_base(secretKey), secretKey };
}

/** Throws `BAD_KEY` unless `key` is a 32-byte Uint8Array. */
export function checkKey(key: unknown, name: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new SealcallError('BAD_KEY', `${name} must be a ${KEY_BYTES}-byte Uint8Array`);
  }
}
