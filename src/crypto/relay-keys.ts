import { SealcallError } from '../errors.js';
import { sodium } from './sodium.js';
import { chachaOpen, chachaSeal, keyedHash, keyedHashEquals } from './sodium-scratch.js';

/*
 * The relay protocol's cryptography (src/protocol/relay-frames.ts), shared by the relay and its
 * clients. All of it is libsodium:
 *
 * - hello: the relay's long-term Ed25519 key signs `"sealcall relay v2 hello" ‖ sessionKey`, a
 *   fresh X25519 key per connection. A client that knows the relay's key (the fingerprint in the
 *   relay URL) knows it talks to that relay and no other.
 * - command key: BLAKE2b-256(`"sealcall relay v2 auth"` ‖ X25519(queue key, session key) ‖
 *   sessionKey ‖ recipientKey). Only the queue's owner and this connection's relay side can
 *   compute it; an authenticator is keyed BLAKE2b-256 of the command (`authContent`) under it.
 * - delivery key: BLAKE2b-256(`"sealcall relay v2 deliver"` ‖ X25519(queue key, relay's queue
 *   key) ‖ serverKey ‖ recipientKey), agreed when the queue is created. A delivered body is
 *   ChaCha20-Poly1305-IETF(delivery key, nonce = msgId[0..12], ad = msgId ‖ ts as 8 bytes
 *   big-endian, body): the relay re-encrypts what it stored, so bytes in and out differ.
 */

const HELLO_LABEL = encode('sealcall relay v2 hello');
const AUTH_LABEL = encode('sealcall relay v2 auth');
const DELIVER_LABEL = encode('sealcall relay v2 deliver');
/** Bytes an authenticator and a derived key have. */
export const RELAY_KEY_BYTES = 32;
/** Bytes the delivery layer adds to a body (the AEAD tag). */
export const DELIVERY_OVERHEAD = 16;
/** The delivery nonce is the first this many bytes of the message id. */
const DELIVERY_NONCE_BYTES = 12;

/** An X25519 or Ed25519 key pair as raw bytes. */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/**
 * The relay's long-term Ed25519 key pair (a 32-byte public key, libsodium's 64-byte secret key),
 * kept in its store so that it survives restarts; it signs each connection's `hello`.
 */
export type RelayIdentity = KeyPair;

/** A fresh X25519 key pair (queue keys, session keys, the relay's per-queue keys). */
export function generateRelayKeyPair(): KeyPair {
  return keyPair(sodium().crypto_box_keypair());
}

/** A fresh relay identity. */
export function generateRelayIdentity(): RelayIdentity {
  return keyPair(sodium().crypto_sign_keypair());
}

function keyPair({ publicKey, privateKey }: { publicKey: Uint8Array; privateKey: Uint8Array }): KeyPair {
  return { publicKey, secretKey: privateKey };
}

/** The bytes the relay's identity signs in `hello`. */
export function helloContent(sessionKey: Uint8Array): Uint8Array {
  return concat(HELLO_LABEL, sessionKey);
}

/** Signs a connection's session key with the relay's Ed25519 identity. */
export function signHello(identitySecretKey: Uint8Array, sessionKey: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(helloContent(sessionKey), identitySecretKey);
}

/** Whether `sig` is the relay key's signature over the session key. Never throws. */
export function verifyHello(relayKey: Uint8Array, sessionKey: Uint8Array, sig: Uint8Array): boolean {
  try {
    return sodium().crypto_sign_verify_detached(sig, helloContent(sessionKey), relayKey);
  } catch {
    return false;
  }
}

/**
 * The key that authorizes one queue's commands on one connection. The client calls it with its
 * queue secret and the session key, the relay with its session secret and the queue key; both
 * get the same bytes. Throws `DECRYPT_FAILED` for a key that yields no shared secret (a
 * low-order point): such a command cannot be authorized.
 */
export function commandKey(secretKey: Uint8Array, publicKey: Uint8Array, sessionKey: Uint8Array, recipientKey: Uint8Array): Uint8Array {
  return derive(AUTH_LABEL, secretKey, publicKey, sessionKey, recipientKey);
}

/** The authenticator of a command's {@link authContent} bytes. */
export function authenticate(key: Uint8Array, content: Uint8Array): Uint8Array {
  return keyedHash(content, key);
}

/** Whether `auth` authenticates `content` under `key` (constant-time comparison). */
export function verifyAuth(key: Uint8Array, content: Uint8Array, auth: Uint8Array): boolean {
  return keyedHashEquals(content, key, auth);
}

/**
 * The key of the relay-to-recipient layer of one queue: the recipient calls it with its queue
 * secret and the relay's `serverKey`, the relay with its per-queue secret and the queue key.
 * Throws `DECRYPT_FAILED` like {@link commandKey}.
 */
export function deliveryKey(secretKey: Uint8Array, publicKey: Uint8Array, serverKey: Uint8Array, recipientKey: Uint8Array): Uint8Array {
  return derive(DELIVER_LABEL, secretKey, publicKey, serverKey, recipientKey);
}

/** Seals a stored body for its recipient (the relay does this once, when it accepts the message). */
export function sealDelivery(key: Uint8Array, msgId: Uint8Array, ts: number, body: Uint8Array): Uint8Array {
  return chachaSeal(body, deliveryAd(msgId, ts), msgId.subarray(0, DELIVERY_NONCE_BYTES), key);
}

/**
 * Opens a delivered body. Throws `DECRYPT_FAILED` if the relay's layer does not authenticate.
 * With `inPlace`, the plaintext is written over `sealed` and returned as a view of it: for a
 * recipient that owns the bytes it received and copies out what it keeps.
 */
export function openDelivery(key: Uint8Array, msgId: Uint8Array, ts: number, sealed: Uint8Array, inPlace = false): Uint8Array {
  try {
    return chachaOpen(sealed, deliveryAd(msgId, ts), msgId.subarray(0, DELIVERY_NONCE_BYTES), key, inPlace);
  } catch (cause) {
    throw new SealcallError('DECRYPT_FAILED', "a delivered message does not open with the queue's delivery key", { cause });
  }
}

function derive(label: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = sodium().crypto_scalarmult(secretKey, publicKey);
  } catch (cause) {
    throw new SealcallError('DECRYPT_FAILED', 'the key yields no shared secret', { cause });
  }
  const key = sodium().crypto_generichash(RELAY_KEY_BYTES, concat(label, shared, a, b), null);
  sodium().memzero(shared);
  return key;
}

/** The associated data of a delivered body: `msgId` ‖ `ts` as 8 bytes big-endian. */
function deliveryAd(msgId: Uint8Array, ts: number): Uint8Array {
  const ad = new Uint8Array(msgId.length + 8);
  ad.set(msgId, 0);
  // ts < 2^53, big-endian, byte by byte: no BigInt per message, and no DataView, which would move
  // this small array's bytes off the JavaScript heap (an allocation and a free per message).
  let high = Math.floor(ts / 2 ** 32);
  let low = ts >>> 0;
  for (let i = msgId.length + 7; i >= msgId.length + 4; i--, low >>>= 8) ad[i] = low & 0xff;
  for (let i = msgId.length + 3; i >= msgId.length; i--, high >>>= 8) ad[i] = high & 0xff;
  return ad;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
