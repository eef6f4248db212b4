import { SealcallError } from '../errors.js';
import type { Identity } from '../crypto/identity.js';
import { sodium } from '../crypto/sodium.js';

/**
 * Length of the sealed-sender header: libsodium's `crypto_box_seal` of the sender's 32-byte
 * X25519 identity public key (48 bytes of ephemeral key and tag, plus the key). Fixed, so it
 * reveals nothing.
 */
export const SEALED_SENDER_BYTES = 80;
const KEY_BYTES = 32;

/**
 * Prefixes `payload` with the sender's identity public key, sealed to the recipient's. The relay
 * sees only a fresh ephemeral key and ciphertext, never who sent the message.
 *
 * The header is anonymous encryption, not a signature: it says who the sender claims to be.
 * sealcall's envelopes authenticate that claim end to end (Noise KK with the contact's key), so
 * a forged header only leads to a message that fails to open.
 */
export function sealSender(senderPublicKey: Uint8Array, recipientPublicKey: Uint8Array, payload: Uint8Array): Uint8Array {
  const s = sodium();
  const header = s.crypto_box_seal(senderPublicKey, recipientPublicKey);
  const body = new Uint8Array(SEALED_SENDER_BYTES + payload.length);
  body.set(header, 0);
  body.set(payload, SEALED_SENDER_BYTES);
  return body;
}

/** An opened body. */
export interface OpenedBody {
  /** The sender's claimed X25519 identity public key. */
  senderPublicKey: Uint8Array;
  /** The bytes after the header (a fresh copy). */
  payload: Uint8Array;
}

/** Opens a body sealed to `identity`. Throws `BAD_MESSAGE` (too short) or `DECRYPT_FAILED`. */
export function openSender(identity: Identity, body: Uint8Array): OpenedBody {
  if (body.length < SEALED_SENDER_BYTES) throw new SealcallError('BAD_MESSAGE', 'body is shorter than its sealed-sender header');
  let senderPublicKey: Uint8Array;
  try {
    senderPublicKey = sodium().crypto_box_seal_open(body.subarray(0, SEALED_SENDER_BYTES), identity.publicKey, identity.secretKey);
  } catch (cause) {
    throw new SealcallError('DECRYPT_FAILED', 'sealed-sender header does not open with this identity', { cause });
  }
  if (senderPublicKey.length !== KEY_BYTES) throw new SealcallError('DECRYPT_FAILED', 'sealed-sender header holds no key');
  return { senderPublicKey, payload: body.slice(SEALED_SENDER_BYTES) };
}

/**
 * A string naming this particular sealed message: the header's ephemeral public key, fresh for
 * every seal. A body re-sent after a reconnect keeps it, so receivers can drop the duplicate even
 * though the relay stored it twice under two message ids.
 */
export function sealTag(body: Uint8Array): string {
  return sodium().to_hex(body.subarray(0, KEY_BYTES));
}
