import { SealcallError } from '../errors.js';
import type { Identity } from '../crypto/identity.js';
import { sodium } from '../crypto/sodium.js';

/*
 * The outer layer of every envelope between two contacts. A relay or transport that knows every
 * public key sees only a random nonce and ciphertext of one fixed length: no version, kind, call
 * id, counter or session tag, and no byte string that repeats (every send, retransmissions
 * included, draws a fresh nonce).
 *
 * ```
 * offset  size  field
 * 0       24    nonce, random
 * 24      …     XChaCha20-Poly1305-IETF(key = pair send key, nonce, ad = "sealcall pair v2", inner envelope)
 * ```
 *
 * The pair keys are libsodium's `crypto_kx` session keys of the two identity keys (the smaller
 * public key in the client role): BLAKE2b-512 over the static-static X25519 secret and both
 * public keys, one half per direction. Only the two contacts can compute them. The receiver
 * knows which contact a payload claims to come from (the transport says), so finding the key is
 * a lookup and opening costs one AEAD, never a trial of every session.
 */

/** Length of the random nonce that starts every sealed envelope. */
export const PAIR_NONCE_BYTES = 24;
/** Bytes the outer layer adds to the inner envelope: the nonce and the AEAD tag. */
export const PAIR_SEAL_OVERHEAD = PAIR_NONCE_BYTES + 16;

const AD = new TextEncoder().encode('sealcall pair v2');

/** The outer-layer keys between this user and one contact. */
export interface PairKeys {
  /** Seals what this user sends to the contact. */
  send: Uint8Array;
  /** Opens what the contact sends to this user. */
  receive: Uint8Array;
}

/** Derives the pair keys with a contact (`crypto_kx`, roles by public-key order). Wipe them with {@link wipePairKeys}. */
export function pairKeys(identity: Identity, remotePublicKey: Uint8Array): PairKeys {
  const s = sodium();
  const order = s.compare(identity.publicKey, remotePublicKey);
  if (order === 0) {
    // Talking to oneself (another device of the same identity): one key both ways.
    const { sharedTx } = s.crypto_kx_client_session_keys(identity.publicKey, identity.secretKey, remotePublicKey);
    return { send: sharedTx, receive: sharedTx.slice() };
  }
  const keys =
    order < 0
      ? s.crypto_kx_client_session_keys(identity.publicKey, identity.secretKey, remotePublicKey)
      : s.crypto_kx_server_session_keys(identity.publicKey, identity.secretKey, remotePublicKey);
  return { send: keys.sharedTx, receive: keys.sharedRx };
}

/** Wipes both keys. */
export function wipePairKeys(keys: PairKeys): void {
  sodium().memzero(keys.send);
  sodium().memzero(keys.receive);
}

/** Seals an inner envelope for the contact. `nonce` only for published test vectors. */
export function sealPair(keys: PairKeys, inner: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const s = sodium();
  const n = nonce ?? s.randombytes_buf(PAIR_NONCE_BYTES);
  const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(inner, AD, null, n, keys.send);
  const out = new Uint8Array(PAIR_NONCE_BYTES + sealed.length);
  out.set(n);
  out.set(sealed, PAIR_NONCE_BYTES);
  return out;
}

/** Opens what the contact sealed. Throws `BAD_MESSAGE` when too short, `DECRYPT_FAILED` when not theirs. */
export function openPair(keys: PairKeys, outer: Uint8Array): Uint8Array {
  if (!(outer instanceof Uint8Array) || outer.length < PAIR_SEAL_OVERHEAD + 1) {
    throw new SealcallError('BAD_MESSAGE', 'envelope is too short');
  }
  try {
    return sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      outer.subarray(PAIR_NONCE_BYTES),
      AD,
      outer.subarray(0, PAIR_NONCE_BYTES),
      keys.receive,
    );
  } catch {
    throw new SealcallError('DECRYPT_FAILED', 'envelope is not sealed by this contact for this user');
  }
}
