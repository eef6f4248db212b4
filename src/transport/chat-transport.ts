import type { ErrorCode, SealcallError } from '../errors.js';

/** How the app names a contact on its chat transport (a user id, a queue address, …). */
export type PeerId = string;

/** What sealcall tells a transport about one payload, beyond its bytes. */
export interface SendHints {
  /**
   * True on the first copy of an invitation: the contact's device should be woken for it if
   * it sleeps (a VoIP push carrying this payload; see `buildCallPush` in `sealcall/callkit`).
   * Never set on anything else, retransmissions of the invitation included.
   */
  wake?: boolean;
}

/**
 * The app's existing chat channel, as sealcall needs it. sealcall hands it opaque ciphertext,
 * every payload the same length, and assumes it may delay, duplicate, reorder and lose messages.
 */
export interface ChatTransport {
  /**
   * Sends bytes to a contact. Resolves when handed off (not when delivered). A rejection is
   * retried. Reject with a `SealcallError` of code `TRANSPORT_CLOSED`, `RELAY_UNREACHABLE`,
   * `RELAY_KEY_MISMATCH`, `QUEUE_NOT_FOUND` or `UNKNOWN_CONTACT` when retrying cannot help: a call that has not
   * connected yet then ends `transport-failed` at once instead of at its timeout.
   */
  send(to: PeerId, payload: Uint8Array, hints?: SendHints): Promise<void>;
  /** Subscribes to incoming bytes; returns the unsubscribe function. */
  onMessage(handler: (from: PeerId, payload: Uint8Array) => void): () => void;
  /**
   * A transport that already knows its contacts' identity keys (sealcall's own
   * `WebSocketTransport` reads them from the addresses given to `addContact`) offers them here,
   * so that `CallClientOptions.contacts` can be left out and a contact is added once.
   */
  contactKey?(peer: PeerId): Uint8Array | undefined;
  /**
   * The largest payload, in bytes, one `send` may carry (a chat server's stanza or message size
   * limit, less its own overhead). sealcall then sends smaller envelopes (the largest of 512,
   * 1024 or 2048 bytes that fits) and splits a message that does not fit across several. At
   * least 512; default: no limit, and every envelope is 3072 bytes.
   */
  readonly maxPayloadBytes?: number;
}

/** Transport error codes after which retrying a send cannot help (see {@link ChatTransport.send}). */
const PERMANENT_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TRANSPORT_CLOSED',
  'RELAY_UNREACHABLE',
  'RELAY_KEY_MISMATCH',
  'QUEUE_NOT_FOUND',
  'UNKNOWN_CONTACT',
]);

/** Whether a failed send says the transport will never deliver to that contact. */
export function isPermanentFailure(error: SealcallError): boolean {
  return PERMANENT_FAILURES.has(error.code);
}
