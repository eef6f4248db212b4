import { deliveryKey } from '../crypto/relay-keys.js';
import { sodium } from '../crypto/sodium.js';
import { SealcallError } from '../errors.js';
import { checkRelayUrl } from './address.js';
import { fromBase64, toBase64 } from '../protocol/base64.js';

/**
 * The credentials of a queue on a relay, as `WebSocketTransport.exportState()` returns them:
 * JSON-safe (base64url strings), so an app or CLI can store them and reuse the same queue (and
 * so the same address) after a restart. `recipientSecretKey` lets its holder read and delete the
 * queue: store it like any other secret.
 */
export interface QueueState {
  v: 2;
  /** The relay URL the queue lives on, with the relay key's fingerprint. */
  relayUrl: string;
  /** Recipient id (16 bytes). */
  recipientId: string;
  /** Sender id (16 bytes), the one in the address. */
  senderId: string;
  /** X25519 secret key of the queue (32 bytes): authorizes `sub`, `ack` and `del`, opens deliveries. */
  recipientSecretKey: string;
  /** The relay's X25519 key for this queue (32 bytes), from queue creation. */
  serverKey: string;
}

/** The same credentials as bytes, with the keys derived from them. */
export interface QueueCredentials {
  relayUrl: string;
  recipientId: Uint8Array;
  senderId: Uint8Array;
  /** The queue's X25519 public key, registered at `new`. */
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  serverKey: Uint8Array;
  /** Opens what the relay delivers (see src/crypto/relay-keys.ts). */
  deliveryKey: Uint8Array;
}

/**
 * Credentials of a queue the relay just created: derives the public and delivery keys. Throws
 * `DECRYPT_FAILED` for a `serverKey` with no shared secret. Needs `await ready()`.
 */
export function queueCredentials(c: Pick<QueueCredentials, 'relayUrl' | 'recipientId' | 'senderId' | 'secretKey' | 'serverKey'>): QueueCredentials {
  const publicKey = sodium().crypto_scalarmult_base(c.secretKey);
  return { ...c, publicKey, deliveryKey: deliveryKey(c.secretKey, c.serverKey, c.serverKey, publicKey) };
}

/** Turns credentials into their JSON-safe form. */
export function exportQueueState(c: QueueCredentials): QueueState {
  return {
    v: 2,
    relayUrl: c.relayUrl,
    recipientId: toBase64(c.recipientId, 'url'),
    senderId: toBase64(c.senderId, 'url'),
    recipientSecretKey: toBase64(c.secretKey, 'url'),
    serverKey: toBase64(c.serverKey, 'url'),
  };
}

/**
 * Reads stored credentials, checking every field. Throws `INVALID_ARGUMENT` (a state of version 1
 * belongs to the relay protocol before 2 and cannot be used). Needs `await ready()`.
 */
export function importQueueState(value: unknown): QueueCredentials {
  if (typeof value !== 'object' || value === null) throw invalid('state must be an object');
  const state = value as Record<string, unknown>;
  if (state.v !== 2) throw invalid(state.v === 1 ? 'version 1 states belong to an older relay protocol: create a new queue' : 'unknown state version');
  try {
    return queueCredentials({
      relayUrl: checkRelayUrl(state.relayUrl, 'INVALID_ARGUMENT'),
      recipientId: bytes(state.recipientId, 16, 'recipientId'),
      senderId: bytes(state.senderId, 16, 'senderId'),
      secretKey: bytes(state.recipientSecretKey, 32, 'recipientSecretKey'),
      serverKey: bytes(state.serverKey, 32, 'serverKey'),
    });
  } catch (error) {
    throw error instanceof SealcallError && error.code === 'DECRYPT_FAILED' ? invalid('serverKey is not a usable key') : error;
  }
}

function bytes(value: unknown, length: number, name: string): Uint8Array {
  const decoded = typeof value === 'string' ? fromBase64(value, 'url') : undefined;
  if (!decoded || decoded.length !== length) throw invalid(`${name} must be ${length} bytes of base64url`);
  return decoded;
}

function invalid(message: string): SealcallError {
  return new SealcallError('INVALID_ARGUMENT', `queue state: ${message}`);
}
