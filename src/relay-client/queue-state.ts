import { SealcallError } from '../errors.js';
import { sodium } from '../crypto/sodium.js';
import { checkRelayUrl } from './address.js';
import { fromBase64, toBase64 } from '../protocol/base64.js';

/**
 * The credentials of a queue on a relay, as `WebSocketTransport.exportState()` returns them:
 * JSON-safe (base64url strings), so an app or CLI can store them and reuse the same queue (and
 * so the same address) after a restart. `recipientSecretKey` lets its holder read and delete the
 * queue: store it like any other secret.
 */
export interface QueueState {
  v: 1;
  /** The relay URL the queue lives on. */
  relayUrl: string;
  /** Recipient id (16 bytes). */
  recipientId: string;
  /** Sender id (16 bytes), the one in the address. */
  senderId: string;
  /** Ed25519 public key registered at queue creation (32 bytes). */
  recipientPublicKey: string;
  /** Ed25519 secret key that signs `sub`, `ack` and `del` (64 bytes, libsodium format). */
  recipientSecretKey: string;
}

/** The same credentials as bytes. */
export interface QueueCredentials {
  relayUrl: string;
  recipientId: Uint8Array;
  senderId: Uint8Array;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Turns credentials into their JSON-safe form. */
export function exportQueueState(c: QueueCredentials): QueueState {
  return {
    v: 1,
    relayUrl: c.relayUrl,
    recipientId: toBase64(c.recipientId, 'url'),
    senderId: toBase64(c.senderId, 'url'),
    recipientPublicKey: toBase64(c.publicKey, 'url'),
    recipientSecretKey: toBase64(c.secretKey, 'url'),
  };
}

/**
 * Reads stored credentials, checking every field and that the secret key belongs to the public
 * key. Throws `INVALID_ARGUMENT`. Needs `await ready()`.
 */
export function importQueueState(value: unknown): QueueCredentials {
  if (typeof value !== 'object' || value === null) throw invalid('state must be an object');
  const state = value as Record<string, unknown>;
  if (state.v !== 1) throw invalid('unknown state version');
  const credentials: QueueCredentials = {
    relayUrl: checkRelayUrl(state.relayUrl, 'INVALID_ARGUMENT'),
    recipientId: bytes(state.recipientId, 16, 'recipientId'),
    senderId: bytes(state.senderId, 16, 'senderId'),
    publicKey: bytes(state.recipientPublicKey, 32, 'recipientPublicKey'),
    secretKey: bytes(state.recipientSecretKey, 64, 'recipientSecretKey'),
  };
  // A libsodium Ed25519 secret key is seed ‖ public key: rederive both from the seed.
  const derived = sodium().crypto_sign_seed_keypair(credentials.secretKey.subarray(0, 32));
  if (sodium().compare(derived.publicKey, credentials.publicKey) !== 0 || sodium().compare(derived.privateKey, credentials.secretKey) !== 0) {
    throw invalid('recipientSecretKey does not match recipientPublicKey');
  }
  return credentials;
}

function bytes(value: unknown, length: number, name: string): Uint8Array {
  const decoded = typeof value === 'string' ? fromBase64(value, 'url') : undefined;
  if (!decoded || decoded.length !== length) throw invalid(`${name} must be ${length} bytes of base64url`);
  return decoded;
}

function invalid(message: string): SealcallError {
  return new SealcallError('INVALID_ARGUMENT', `queue state: ${message}`);
}
