import { SealcallError, type ErrorCode } from '../errors.js';
import { fromBase64, toBase64 } from '../protocol/base64.js';

/**
 * What a contact needs to reach a user over a relay: the relay, the queue's sender id (which
 * lets anyone send into the queue, nothing more) and the user's X25519 identity public key (to
 * seal the sender's identity for the recipient alone).
 */
export interface ContactAddress {
  /**
   * `ws://` or `wss://` URL of the relay holding the queue, with its key's fingerprint as the user
   * part: `ws://<fingerprint>@host:port`, the fingerprint being base64url of the relay's Ed25519 key.
   */
  relayUrl: string;
  /** The queue's 16-byte sender id. */
  senderId: Uint8Array;
  /** The recipient's 32-byte X25519 identity public key. */
  publicKey: Uint8Array;
}

/** Version prefix of contact addresses. A future format gets a new prefix. */
export const ADDRESS_PREFIX = 'sc1:';
const SENDER_ID_BYTES = 16;
const PUBLIC_KEY_BYTES = 32;
/** Longest relay URL an address may hold. */
const MAX_RELAY_URL_CHARS = 1024;
const MAX_ADDRESS_CHARS = ADDRESS_PREFIX.length + Math.ceil(((SENDER_ID_BYTES + PUBLIC_KEY_BYTES + MAX_RELAY_URL_CHARS * 3) * 4) / 3);

/**
 * Encodes an address as text to share (a QR code, a link, a chat message):
 * `sc1:` + base64url(senderId ‖ publicKey ‖ UTF-8 relay URL). About 160 characters for a short URL.
 */
export function encodeAddress(address: ContactAddress): string {
  const relayUrl = checkRelayUrl(address?.relayUrl, 'INVALID_ARGUMENT');
  checkBytes(address.senderId, SENDER_ID_BYTES, 'senderId', 'INVALID_ARGUMENT');
  checkBytes(address.publicKey, PUBLIC_KEY_BYTES, 'publicKey', 'INVALID_ARGUMENT');
  const url = new TextEncoder().encode(relayUrl);
  const bytes = new Uint8Array(SENDER_ID_BYTES + PUBLIC_KEY_BYTES + url.length);
  bytes.set(address.senderId, 0);
  bytes.set(address.publicKey, SENDER_ID_BYTES);
  bytes.set(url, SENDER_ID_BYTES + PUBLIC_KEY_BYTES);
  return ADDRESS_PREFIX + toBase64(bytes, 'url');
}

/** Decodes and validates an address from an untrusted source. Throws `BAD_ADDRESS`. */
export function decodeAddress(text: string): ContactAddress {
  if (typeof text !== 'string' || !text.startsWith(ADDRESS_PREFIX)) {
    throw new SealcallError('BAD_ADDRESS', `a contact address starts with ${ADDRESS_PREFIX}`);
  }
  if (text.length > MAX_ADDRESS_CHARS) throw new SealcallError('BAD_ADDRESS', 'address is too long');
  const bytes = fromBase64(text.slice(ADDRESS_PREFIX.length), 'url');
  if (!bytes) throw new SealcallError('BAD_ADDRESS', 'address is not base64url');
  if (bytes.length <= SENDER_ID_BYTES + PUBLIC_KEY_BYTES) throw new SealcallError('BAD_ADDRESS', 'address is truncated');
  let relayUrl: string;
  try {
    relayUrl = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(SENDER_ID_BYTES + PUBLIC_KEY_BYTES));
  } catch {
    throw new SealcallError('BAD_ADDRESS', 'relay URL is not UTF-8');
  }
  return {
    relayUrl: checkRelayUrl(relayUrl, 'BAD_ADDRESS'),
    senderId: bytes.slice(0, SENDER_ID_BYTES),
    publicKey: bytes.slice(SENDER_ID_BYTES, SENDER_ID_BYTES + PUBLIC_KEY_BYTES),
  };
}

/** Characters of a relay key fingerprint: base64url of the relay's 32-byte Ed25519 key. */
const FINGERPRINT_CHARS = 43;

/**
 * Checks that `url` is a relay URL, `ws://<fingerprint>@host:port[/path]` or `wss://…`, whose
 * user part is the fingerprint of the relay's key (base64url of its 32-byte Ed25519 public key,
 * as `Relay.listen` and `sealcall relay` print it), with no password or fragment. Returns it
 * unchanged. Throws `code`.
 */
export function checkRelayUrl(url: unknown, code: ErrorCode): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_RELAY_URL_CHARS) {
    throw new SealcallError(code, `relay URL must be a string of 1..${MAX_RELAY_URL_CHARS} characters`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SealcallError(code, 'relay URL is not a URL');
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new SealcallError(code, 'relay URL must be ws: or wss:');
  if (parsed.password || parsed.hash) throw new SealcallError(code, 'relay URL must not hold a password or a fragment');
  if (!parsed.username) {
    throw new SealcallError(code, "relay URL must name the relay's key: ws://<fingerprint>@host:port, as the relay prints it");
  }
  if (parsed.username.length !== FINGERPRINT_CHARS || fromBase64(parsed.username, 'url')?.length !== PUBLIC_KEY_BYTES) {
    throw new SealcallError(code, "the relay URL's fingerprint must be 43 characters of base64url (a 32-byte key)");
  }
  return url;
}

/** The form of a relay URL used to tell whether two addresses name the same relay (key included). */
export function relayKey(url: string): string {
  return new URL(url).href;
}

function checkBytes(value: unknown, length: number, name: string, code: ErrorCode): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new SealcallError(code, `${name} must be ${length} bytes`);
  }
}
