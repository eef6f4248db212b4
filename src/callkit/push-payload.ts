import { SealcallError } from '../errors.js';
import { CALL_ID_BYTES, ENVELOPE_BUCKETS, ENVELOPE_VERSION, EnvelopeKind, HEADER_BYTES } from '../signaling/envelope.js';
import type { CallMedia } from '../protocol/messages.js';
import { fromBase64, toBase64 } from '../protocol/base64.js';
import { normalizeUuid, randomUuid } from './uuid.js';

/*
 * A VoIP push for a call invitation. iOS gives the app a few seconds from a VoIP push to report
 * a call to CallKit, often before libsodium (WebAssembly or a native module) has loaded, so the
 * fields CallKit needs are in the clear and everything here is synchronous and sodium-free. The
 * invitation itself stays sealed: only the CallClient opens and authenticates it, afterwards.
 */

/** Version of the push payload format. */
export const CALL_PUSH_VERSION = 1;

/**
 * Largest invitation envelope a push may carry. Invitations fit the 256- or 512-byte bucket;
 * 2048 bytes is 2732 base64 characters, well under APNs' 5120-byte VoIP payload limit.
 */
export const MAX_PUSH_ENVELOPE_BYTES = 2048;

/** Longest caller hint. */
export const MAX_CALLER_HINT_CHARS = 256;

/**
 * Where an app may nest the payload in its push dictionary (`{ aps: …, sealcall: {…} }`);
 * {@link unwrapCallPush} looks there first.
 */
export const CALL_PUSH_KEY = 'sealcall';

/** The JSON-safe push payload, as the app server sends it in the VoIP push. */
export interface CallPushPayload {
  /** {@link CALL_PUSH_VERSION}. */
  v: typeof CALL_PUSH_VERSION;
  /** The CallKit UUID of this call session, fresh per session (lowercase canonical form). */
  uuid: string;
  /** The call id (32 lowercase hex digits), as in the envelope header. */
  callId: string;
  /**
   * Untrusted display hint: the caller's peer id as the callee's app names it. It is where the
   * callee's CallClient expects the invitation from; the caller is known for sure only once the
   * client opened and authenticated the sealed invitation (a lying hint fails to open).
   */
  callerHint: string;
  /** Untrusted hint of the media, for CallKit's `hasVideo`; corrected once the invitation is opened. */
  media: CallMedia;
  /** The sealed invitation envelope, standard padded base64. */
  envelope: string;
}

/** A validated push, ready for CallKit and for `CallClient.deliver`. */
export interface CallPush {
  uuid: string;
  callId: string;
  callerHint: string;
  media: CallMedia;
  /** The sealed invitation envelope bytes. */
  envelope: Uint8Array;
}

/** Options of {@link buildCallPush}. */
export interface BuildCallPushOptions {
  /** The invitation envelope, exactly as the caller's CallClient handed it to the transport. */
  envelope: Uint8Array;
  /** The caller's peer id as the callee knows it (see {@link CallPushPayload.callerHint}). */
  callerHint: string;
  /** Audio or video (e.g. `client.activeCalls.find((c) => c.id === callId)?.media`). */
  media: CallMedia;
  /** The CallKit UUID to use. Default: a fresh random one. */
  uuid?: string;
}

/**
 * Builds the push payload for an invitation envelope, on the caller's device or on the app
 * server. Throws `BAD_MESSAGE` unless `envelope` is an invitation, `MESSAGE_TOO_LARGE` if it does
 * not fit a VoIP push, `INVALID_ARGUMENT` for a bad hint, media or UUID.
 */
export function buildCallPush(options: BuildCallPushOptions): CallPushPayload {
  const callId = inviteCallId(options.envelope);
  checkHint(options.callerHint, 'INVALID_ARGUMENT');
  if (options.media !== 'audio' && options.media !== 'video') {
    throw new SealcallError('INVALID_ARGUMENT', "media must be 'audio' or 'video'");
  }
  return {
    v: CALL_PUSH_VERSION,
    uuid: options.uuid === undefined ? randomUuid() : normalizeUuid(options.uuid),
    callId,
    callerHint: options.callerHint,
    media: options.media,
    envelope: toBase64(options.envelope, 'standard'),
  };
}

/**
 * Validates a received push payload, synchronously and without libsodium, so the app can report
 * the call to CallKit at once. Accepts the UUID in any case. Throws `UNSUPPORTED_VERSION` for
 * another payload version, `MESSAGE_TOO_LARGE` for an oversized envelope and `BAD_MESSAGE` for
 * anything else malformed (unknown fields, wrong types, a call id that does not match the
 * envelope header, an envelope that is not an invitation).
 */
export function parseCallPush(payload: unknown): CallPush {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new SealcallError('BAD_MESSAGE', 'push payload is not an object');
  }
  const record = payload as Record<string, unknown>;
  if (record.v !== CALL_PUSH_VERSION) {
    throw new SealcallError(typeof record.v === 'number' ? 'UNSUPPORTED_VERSION' : 'BAD_MESSAGE', 'unsupported push payload version');
  }
  const allowed = new Set(['v', 'uuid', 'callId', 'callerHint', 'media', 'envelope']);
  if (Object.keys(record).some((key) => !allowed.has(key))) {
    throw new SealcallError('BAD_MESSAGE', 'push payload has unknown fields');
  }
  let uuid: string;
  try {
    uuid = normalizeUuid(record.uuid);
  } catch {
    throw new SealcallError('BAD_MESSAGE', 'push payload uuid is not a UUID');
  }
  checkHint(record.callerHint, 'BAD_MESSAGE');
  const { media, envelope: text } = record;
  if (media !== 'audio' && media !== 'video') throw new SealcallError('BAD_MESSAGE', 'push payload media is invalid');
  if (typeof text !== 'string') throw new SealcallError('BAD_MESSAGE', 'push payload envelope is not a string');
  if (text.length > Math.ceil(MAX_PUSH_ENVELOPE_BYTES / 3) * 4) {
    throw new SealcallError('MESSAGE_TOO_LARGE', 'push payload envelope is too large');
  }
  const envelope = fromBase64(text, 'standard');
  if (!envelope) throw new SealcallError('BAD_MESSAGE', 'envelope is not canonical padded base64');
  const callId = inviteCallId(envelope);
  if (record.callId !== callId) throw new SealcallError('BAD_MESSAGE', 'push payload call id does not match its envelope');
  return { uuid, callId, callerHint: record.callerHint as string, media, envelope };
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

/**
 * True when `bytes` is an invitation envelope, so a transport wrapper on the caller's device can
 * tell which outgoing message deserves a VoIP push. Never throws.
 */
export function isCallInvite(bytes: Uint8Array): boolean {
  try {
    inviteCallId(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * The call id of an invitation envelope, read from its clear header (byte 0 version, byte 1
 * kind, bytes 2..18 call id; handshake envelopes carry a zero session tag and counter). Nothing
 * is decrypted or authenticated here. Throws `BAD_MESSAGE`, `UNSUPPORTED_VERSION` or
 * `MESSAGE_TOO_LARGE`.
 */
export function inviteCallId(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new SealcallError('BAD_MESSAGE', 'envelope is not bytes');
  if (bytes.length > MAX_PUSH_ENVELOPE_BYTES) throw new SealcallError('MESSAGE_TOO_LARGE', 'invitation does not fit a VoIP push');
  if (!(ENVELOPE_BUCKETS as readonly number[]).includes(bytes.length) || bytes.length < HEADER_BYTES) {
    throw new SealcallError('BAD_MESSAGE', 'envelope length is not a padding bucket');
  }
  if (bytes[0] !== ENVELOPE_VERSION) throw new SealcallError('UNSUPPORTED_VERSION', `unsupported envelope version ${bytes[0]}`);
  if (bytes[1] !== EnvelopeKind.invite) throw new SealcallError('BAD_MESSAGE', 'envelope is not an invitation');
  const idEnd = 2 + CALL_ID_BYTES;
  if (bytes.subarray(idEnd, HEADER_BYTES).some((b) => b !== 0)) {
    throw new SealcallError('BAD_MESSAGE', 'invitation with a session tag or counter');
  }
  return Array.from(bytes.subarray(2, idEnd), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** C0 and C1 control characters. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkHint(hint: unknown, code: 'BAD_MESSAGE' | 'INVALID_ARGUMENT'): void {
  // Control characters could garble or spoof the lock-screen text; the hint is untrusted.
  // (A plain character class: Hermes lacks some regex features.)
  if (typeof hint !== 'string' || hint.length === 0 || hint.length > MAX_CALLER_HINT_CHARS || CONTROL.test(hint)) {
    throw new SealcallError(code, 'caller hint must be 1 to 256 characters without control characters');
  }
}
