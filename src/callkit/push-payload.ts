import { SealcallError } from '../errors.js';
import { sodium } from '../crypto/sodium.js';
import { fromBase64, toBase64 } from '../protocol/base64.js';
import { DEFAULT_ENVELOPE_BYTES, ENVELOPE_BUCKETS } from '../signaling/envelope.js';
import { normalizeUuid, randomUuid } from './uuid.js';

/*
 * A VoIP push for a call invitation, sealed to the receiving device. The push provider (APNs)
 * and the app server that relays it see a UUID and one fixed-length ciphertext: no caller, no
 * media kind, no call id. iOS gives the app a few seconds from a VoIP push to report a call to
 * CallKit, often before libsodium has loaded, so reading the payload is synchronous and
 * sodium-free: the app reports a neutral placeholder at once, and the coordinator opens the
 * sealed part, then the invitation, and updates CallKit with the authenticated contact.
 *
 * Sealed part: libsodium `crypto_box_seal` to the device's push key of
 *   hint length (1 byte) ‖ caller hint (UTF-8, zero-padded to 128 bytes) ‖ invitation envelope
 * The invitation envelope is exactly what the caller's client handed its transport (sealed for
 * the callee with the pair seal), so only the callee's client can open it.
 */

/** Version of the push payload format. */
export const CALL_PUSH_VERSION = 2;

/** Largest invitation envelope a push may carry: 3,072 bytes keeps the payload under APNs' 5,120-byte VoIP limit. */
export const MAX_PUSH_ENVELOPE_BYTES = DEFAULT_ENVELOPE_BYTES;

/** Longest caller hint, in UTF-8 bytes (padded to this length, so its length says nothing). */
export const MAX_CALLER_HINT_BYTES = 128;

/**
 * Where an app may nest the payload in its push dictionary (`{ aps: …, sealcall: {…} }`);
 * {@link unwrapCallPush} looks there first.
 */
export const CALL_PUSH_KEY = 'sealcall';

const SEAL_OVERHEAD = 48; // crypto_box_seal: ephemeral public key and tag
const HINT_FIELD = 1 + MAX_CALLER_HINT_BYTES;

/** The JSON-safe push payload, as the app server sends it in the VoIP push. */
export interface CallPushPayload {
  /** {@link CALL_PUSH_VERSION}. */
  v: typeof CALL_PUSH_VERSION;
  /** The CallKit UUID of this call session, fresh per session (lowercase canonical form). */
  uuid: string;
  /** The sealed part, standard padded base64. */
  sealed: string;
}

/** A validated push, ready for CallKit (its UUID) and for {@link openCallPush}. */
export interface CallPush {
  uuid: string;
  /** The sealed part's bytes. */
  sealed: Uint8Array;
}

/** What a push carries once opened with the device's push key. */
export interface OpenedCallPush {
  /**
   * Untrusted: the caller's peer id as the callee's app names it, which is where the callee's
   * CallClient expects the invitation from. The caller is known for sure only once the client
   * opened and authenticated the invitation (a lying hint makes it fail to open).
   */
  callerHint: string;
  /** The invitation envelope, for `CallClient.deliver(callerHint, envelope)`. */
  envelope: Uint8Array;
}

/** Options of {@link buildCallPush}. */
export interface BuildCallPushOptions {
  /** The invitation envelope, exactly as the caller's CallClient handed it to the transport (the send with `hints.wake`). */
  envelope: Uint8Array;
  /** The caller's peer id as the callee knows it (see {@link OpenedCallPush.callerHint}). */
  callerHint: string;
  /** The receiving device's push public key (see {@link generatePushKey}). */
  pushKey: Uint8Array;
  /** The CallKit UUID to use. Default: a fresh random one. */
  uuid?: string;
}

/** A device's push key pair: the app registers the public key where pushes are built. */
export interface PushKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A new push key pair (X25519, for `crypto_box_seal`). Needs `await ready()`. */
export function generatePushKey(): PushKeyPair {
  const { publicKey, privateKey } = sodium().crypto_box_keypair();
  return { publicKey, secretKey: privateKey };
}

/**
 * Builds the push payload for an invitation envelope, on the caller's device or on the app
 * server. Needs `await ready()`. Throws `MESSAGE_TOO_LARGE` if the envelope does not fit a
 * VoIP push, `INVALID_ARGUMENT` for a bad envelope, hint, push key or UUID.
 */
export function buildCallPush(options: BuildCallPushOptions): CallPushPayload {
  const { envelope, pushKey } = options;
  if (!(envelope instanceof Uint8Array) || !(ENVELOPE_BUCKETS as readonly number[]).includes(envelope.length)) {
    throw new SealcallError('INVALID_ARGUMENT', 'envelope is not a sealcall envelope');
  }
  if (envelope.length > MAX_PUSH_ENVELOPE_BYTES) throw new SealcallError('MESSAGE_TOO_LARGE', 'invitation does not fit a VoIP push');
  if (!(pushKey instanceof Uint8Array) || pushKey.length !== 32) throw new SealcallError('INVALID_ARGUMENT', 'pushKey must be a 32-byte public key');
  const hint = encodeHint(options.callerHint);
  const plain = new Uint8Array(HINT_FIELD + envelope.length);
  plain[0] = hint.length;
  plain.set(hint, 1);
  plain.set(envelope, HINT_FIELD);
  return {
    v: CALL_PUSH_VERSION,
    uuid: options.uuid === undefined ? randomUuid() : normalizeUuid(options.uuid),
    sealed: toBase64(sodium().crypto_box_seal(plain, pushKey), 'standard'),
  };
}

/**
 * Validates a received push payload, synchronously and without libsodium, so the app can report
 * the call to CallKit at once. Accepts the UUID in any case. Throws `UNSUPPORTED_VERSION` for
 * another payload version, `MESSAGE_TOO_LARGE` for an oversized sealed part and `BAD_MESSAGE`
 * for anything else malformed (unknown fields, wrong types).
 */
export function parseCallPush(payload: unknown): CallPush {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new SealcallError('BAD_MESSAGE', 'push payload is not an object');
  }
  const record = payload as Record<string, unknown>;
  if (record.v !== CALL_PUSH_VERSION) {
    throw new SealcallError(typeof record.v === 'number' ? 'UNSUPPORTED_VERSION' : 'BAD_MESSAGE', 'unsupported push payload version');
  }
  if (Object.keys(record).some((key) => key !== 'v' && key !== 'uuid' && key !== 'sealed')) {
    throw new SealcallError('BAD_MESSAGE', 'push payload has unknown fields');
  }
  let uuid: string;
  try {
    uuid = normalizeUuid(record.uuid);
  } catch {
    throw new SealcallError('BAD_MESSAGE', 'push payload uuid is not a UUID');
  }
  const text = record.sealed;
  if (typeof text !== 'string') throw new SealcallError('BAD_MESSAGE', 'push payload sealed part is not a string');
  if (text.length > Math.ceil((SEAL_OVERHEAD + HINT_FIELD + MAX_PUSH_ENVELOPE_BYTES) / 3) * 4) {
    throw new SealcallError('MESSAGE_TOO_LARGE', 'push payload sealed part is too large');
  }
  const sealed = fromBase64(text, 'standard');
  if (!sealed) throw new SealcallError('BAD_MESSAGE', 'sealed part is not canonical padded base64');
  if (sealed.length < SEAL_OVERHEAD + HINT_FIELD + ENVELOPE_BUCKETS[0]) throw new SealcallError('BAD_MESSAGE', 'sealed part is too short');
  return { uuid, sealed };
}

/**
 * Opens a push's sealed part with the device's push key. Needs `await ready()`. Throws
 * `DECRYPT_FAILED` when it was not sealed to this key, `BAD_MESSAGE` when what it holds is
 * malformed.
 */
export function openCallPush(push: CallPush, pushKey: PushKeyPair): OpenedCallPush {
  let plain: Uint8Array;
  try {
    plain = sodium().crypto_box_seal_open(push.sealed, pushKey.publicKey, pushKey.secretKey);
  } catch (cause) {
    throw new SealcallError('DECRYPT_FAILED', 'the push was not sealed to this device', { cause });
  }
  const length = plain[0]!;
  const envelope = plain.slice(HINT_FIELD);
  if (length === 0 || length > MAX_CALLER_HINT_BYTES || !(ENVELOPE_BUCKETS as readonly number[]).includes(envelope.length)) {
    throw new SealcallError('BAD_MESSAGE', 'the push holds no valid invitation');
  }
  let callerHint: string;
  try {
    callerHint = new TextDecoder('utf-8', { fatal: true }).decode(plain.subarray(1, 1 + length));
  } catch {
    throw new SealcallError('BAD_MESSAGE', 'the caller hint is not UTF-8');
  }
  if (CONTROL.test(callerHint)) throw new SealcallError('BAD_MESSAGE', 'the caller hint holds control characters');
  return { callerHint, envelope };
}

/**
 * The push payload inside an app's push dictionary: `dictionary.sealcall` when present (see
 * {@link CALL_PUSH_KEY}), else the dictionary itself. Validate the result with {@link parseCallPush}.
 */
export function unwrapCallPush(dictionary: unknown): unknown {
  if (typeof dictionary === 'object' && dictionary !== null && Object.prototype.hasOwnProperty.call(dictionary, CALL_PUSH_KEY)) {
    return (dictionary as Record<string, unknown>)[CALL_PUSH_KEY];
  }
  return dictionary;
}

/** C0 and C1 control characters. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function encodeHint(hint: unknown): Uint8Array {
  // Control characters could garble or spoof the lock-screen text; the hint is untrusted.
  // (A plain character class: Hermes lacks some regex features.)
  const bytes = typeof hint === 'string' ? new TextEncoder().encode(hint) : new Uint8Array();
  if (typeof hint !== 'string' || bytes.length === 0 || bytes.length > MAX_CALLER_HINT_BYTES || CONTROL.test(hint)) {
    throw new SealcallError('INVALID_ARGUMENT', `caller hint must be 1 to ${MAX_CALLER_HINT_BYTES} UTF-8 bytes without control characters`);
  }
  return bytes;
}
