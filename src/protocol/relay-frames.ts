import { SealcallError } from '../errors.js';
import { bad, bytesUpTo, field, fixedBytes, oneOf, record, text, uint } from './fields.js';
import { pack, unpackUntrusted } from './msgpack.js';

/**
 * Relay wire protocol, version 1: one msgpack map per binary WebSocket message.
 *
 * ```
 * client → relay                                      relay → client
 * {t:'new',  corr, recipientKey, sig}                 {t:'ids', corr, recipientId, senderId}
 * {t:'sub',  corr, recipientId, sig}                  {t:'ok', corr}, then {t:'msg', …} frames
 * {t:'ack',  corr, recipientId, msgId, sig}           {t:'ok', corr}
 * {t:'del',  corr, recipientId, sig}                  {t:'ok', corr}
 * {t:'send', corr, senderId, body}                    {t:'ok', corr}
 * {t:'ping', corr}                                    {t:'pong', corr}
 *                                                     {t:'hello', v, sessionId}  (first, always)
 *                                                     {t:'msg', recipientId, msgId, body, ts}
 *                                                     {t:'err', corr?, code, message}
 * ```
 * Ids, keys and signatures are msgpack bin. `sig` is Ed25519 over `signedContent`: the label
 * `sealcall relay v1 command`, the connection's `sessionId` from `hello`, then the canonical
 * msgpack array `[t, corr, recipientId]` (`[t, corr, recipientId, msgId]` for `ack`,
 * `[t, corr, recipientKey]` for `new`, signed by that key: creating a queue proves possession of
 * its key).
 */
export const RELAY_PROTOCOL_VERSION = 1;

/** Sizes and bounds of relay frames. */
export const RELAY_LIMITS = {
  /** Recipient and sender queue ids. */
  queueIdBytes: 16,
  /** The per-connection session id in `hello`. */
  sessionIdBytes: 16,
  /** Relay-assigned message ids. */
  msgIdBytes: 16,
  /** Ed25519 public key registered at `new`. */
  publicKeyBytes: 32,
  /** Ed25519 signature. */
  signatureBytes: 64,
  /** Largest correlation id. */
  maxCorr: 0xffff_ffff,
  /** Longest `err` message. */
  errorMessageChars: 256,
  /** Largest frame either side decodes at all (a relay usually sets a lower `maxPayload`). */
  maxFrameBytes: 1024 * 1024,
  /** Largest body a frame may carry before the relay's own `maxMessageBytes` applies. */
  maxBodyBytes: 1024 * 1024 - 1024,
} as const;

/** Error codes a relay puts in `err` frames. */
export const RELAY_ERROR_CODES = ['BAD_FRAME', 'AUTH', 'NO_QUEUE', 'QUOTA', 'TOO_LARGE', 'RATE_LIMITED', 'UNSUPPORTED'] as const;
/** An error code of an `err` frame. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/** Creates a queue whose recipient commands are signed by `recipientKey` (Ed25519); `sig` is by that key. */
export interface NewFrame { t: 'new'; corr: number; recipientKey: Uint8Array; sig: Uint8Array }
/** Subscribes this connection to a queue; replaces the queue's previous subscriber. */
export interface SubFrame { t: 'sub'; corr: number; recipientId: Uint8Array; sig: Uint8Array }
/** Acknowledges (and deletes) a delivered message. */
export interface AckFrame { t: 'ack'; corr: number; recipientId: Uint8Array; msgId: Uint8Array; sig: Uint8Array }
/** Deletes a queue and its messages. */
export interface DelFrame { t: 'del'; corr: number; recipientId: Uint8Array; sig: Uint8Array }
/** Stores a message in the queue known to senders by `senderId`. No account, no signature. */
export interface SendFrame { t: 'send'; corr: number; senderId: Uint8Array; body: Uint8Array }
/** Liveness check. */
export interface PingFrame { t: 'ping'; corr: number }
/** A frame a client sends. */
export type ClientFrame = NewFrame | SubFrame | AckFrame | DelFrame | SendFrame | PingFrame;
/** The recipient commands, which carry a signature. */
export type SignedFrame = SubFrame | AckFrame | DelFrame;

/** First frame on every connection; `sessionId` binds signatures to this connection. */
export interface HelloFrame { t: 'hello'; v: number; sessionId: Uint8Array }
/** Reply to `new`: two unrelated random ids. */
export interface IdsFrame { t: 'ids'; corr: number; recipientId: Uint8Array; senderId: Uint8Array }
/** A stored message delivered to the queue's subscriber. `ts`: when the relay accepted it (ms). */
export interface MsgFrame { t: 'msg'; recipientId: Uint8Array; msgId: Uint8Array; body: Uint8Array; ts: number }
/** Success reply to `sub`, `ack`, `del` and `send`. */
export interface OkFrame { t: 'ok'; corr: number }
/** Reply to `ping`. */
export interface PongFrame { t: 'pong'; corr: number }
/** A refused command (`corr` set) or a connection-level problem (no `corr`). */
export interface ErrFrame { t: 'err'; corr?: number; code: RelayErrorCode; message: string }
/** A frame the relay sends. */
export type RelayFrame = HelloFrame | IdsFrame | MsgFrame | OkFrame | PongFrame | ErrFrame;

/** Encodes a client frame, validating it first so this build never emits what it would reject. */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  return pack(validateClientFrame(frame));
}

/** Encodes a relay frame, validating it first. */
export function encodeRelayFrame(frame: RelayFrame): Uint8Array {
  return pack(validateRelayFrame(frame));
}

/**
 * Decodes untrusted bytes from a client. Throws only {@link SealcallError}: `BAD_MESSAGE`,
 * `MESSAGE_TOO_LARGE`, or `UNSUPPORTED_VERSION` for a well-formed frame of an unknown type.
 */
export function decodeClientFrame(bytes: Uint8Array, maxBytes: number = RELAY_LIMITS.maxFrameBytes): ClientFrame {
  return validateClientFrame(unpackUntrusted(bytes, maxBytes, 'frame'));
}

/** Decodes untrusted bytes from a relay. Throws only {@link SealcallError}, like {@link decodeClientFrame}. */
export function decodeRelayFrame(bytes: Uint8Array, maxBytes: number = RELAY_LIMITS.maxFrameBytes): RelayFrame {
  return validateRelayFrame(unpackUntrusted(bytes, maxBytes, 'frame'));
}

/**
 * Turns a decoded, untrusted value into a {@link ClientFrame}: a fresh object holding only the
 * known fields of its type, with byte fields copied.
 */
export function validateClientFrame(value: unknown): ClientFrame {
  const obj = record(value, 'frame');
  const t = frameType(field(obj, 't'));
  const corr = correlation(field(obj, 'corr'));
  const recipientId = () => fixedBytes(field(obj, 'recipientId'), 'recipientId', RELAY_LIMITS.queueIdBytes);
  const sig = () => fixedBytes(field(obj, 'sig'), 'sig', RELAY_LIMITS.signatureBytes);
  switch (t) {
    case 'new':
      return { t, corr, recipientKey: fixedBytes(field(obj, 'recipientKey'), 'recipientKey', RELAY_LIMITS.publicKeyBytes), sig: sig() };
    case 'sub':
    case 'del':
      return { t, corr, recipientId: recipientId(), sig: sig() };
    case 'ack':
      return { t, corr, recipientId: recipientId(), msgId: msgId(field(obj, 'msgId')), sig: sig() };
    case 'send':
      return {
        t,
        corr,
        senderId: fixedBytes(field(obj, 'senderId'), 'senderId', RELAY_LIMITS.queueIdBytes),
        body: bytesUpTo(field(obj, 'body'), 'body', RELAY_LIMITS.maxBodyBytes),
      };
    case 'ping':
      return { t, corr };
    default:
      throw unsupported(t);
  }
}

/** Turns a decoded, untrusted value into a {@link RelayFrame} (fresh object, own fields only). */
function validateRelayFrame(value: unknown): RelayFrame {
  const obj = record(value, 'frame');
  const t = frameType(field(obj, 't'));
  const recipientId = () => fixedBytes(field(obj, 'recipientId'), 'recipientId', RELAY_LIMITS.queueIdBytes);
  switch (t) {
    case 'hello': {
      const v = field(obj, 'v');
      if (v !== RELAY_PROTOCOL_VERSION) {
        if (typeof v === 'number' && Number.isInteger(v)) {
          throw new SealcallError('UNSUPPORTED_VERSION', `unsupported relay protocol version ${v}`);
        }
        throw bad('v must be an integer');
      }
      return { t, v, sessionId: fixedBytes(field(obj, 'sessionId'), 'sessionId', RELAY_LIMITS.sessionIdBytes) };
    }
    case 'ids':
      return {
        t,
        corr: correlation(field(obj, 'corr')),
        recipientId: recipientId(),
        senderId: fixedBytes(field(obj, 'senderId'), 'senderId', RELAY_LIMITS.queueIdBytes),
      };
    case 'msg':
      return {
        t,
        recipientId: recipientId(),
        msgId: msgId(field(obj, 'msgId')),
        body: bytesUpTo(field(obj, 'body'), 'body', RELAY_LIMITS.maxBodyBytes),
        ts: uint(field(obj, 'ts'), 'ts', Number.MAX_SAFE_INTEGER),
      };
    case 'ok':
    case 'pong':
      return { t, corr: correlation(field(obj, 'corr')) };
    case 'err': {
      const corr = field(obj, 'corr');
      return {
        t,
        ...(corr === undefined ? {} : { corr: correlation(corr) }),
        code: oneOf(field(obj, 'code'), RELAY_ERROR_CODES, 'code'),
        message: text(field(obj, 'message'), 'message', RELAY_LIMITS.errorMessageChars),
      };
    }
    default:
      throw unsupported(t);
  }
}

/**
 * The correlation id of a decoded value that failed validation, if it has a valid one, so the
 * error reply can still name the command it refuses.
 */
export function corrOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const corr = field(value as Record<string, unknown>, 'corr');
  return typeof corr === 'number' && Number.isInteger(corr) && corr >= 0 && corr <= RELAY_LIMITS.maxCorr ? corr : undefined;
}

/** Domain-separation label of recipient command signatures. */
const SIGNATURE_LABEL = 'sealcall relay v1 command';
const LABEL_BYTES = new TextEncoder().encode(SIGNATURE_LABEL);

/**
 * The bytes a recipient signs for `new`, `sub`, `ack` and `del`: the label, the connection's
 * session id (so a signature is void on any other connection), then the canonical msgpack array
 * `[t, corr, recipientId]`, `[t, corr, recipientId, msgId]` or, for `new`, `[t, corr,
 * recipientKey]` (shortest encodings, written by hand so no encoder option can change it).
 */
export function signedContent(
  sessionId: Uint8Array,
  frame: { t: SignedFrame['t']; corr: number; recipientId: Uint8Array; msgId?: Uint8Array } | { t: 'new'; corr: number; recipientKey: Uint8Array },
): Uint8Array {
  const msgId = 'msgId' in frame ? frame.msgId : undefined;
  const parts: number[] = [msgId ? 0x94 : 0x93];
  const t = new TextEncoder().encode(frame.t);
  parts.push(0xa0 | t.length, ...t);
  pushUint(parts, correlation(frame.corr));
  pushBin(parts, frame.t === 'new' ? frame.recipientKey : frame.recipientId);
  if (msgId) pushBin(parts, msgId);
  const out = new Uint8Array(LABEL_BYTES.length + sessionId.length + parts.length);
  out.set(LABEL_BYTES, 0);
  out.set(sessionId, LABEL_BYTES.length);
  out.set(parts, LABEL_BYTES.length + sessionId.length);
  return out;
}

function pushUint(out: number[], n: number): void {
  if (n < 0x80) out.push(n);
  else if (n <= 0xff) out.push(0xcc, n);
  else if (n <= 0xffff) out.push(0xcd, n >>> 8, n & 0xff);
  else out.push(0xce, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function pushBin(out: number[], bytes: Uint8Array): void {
  // Ids are 16 bytes, keys 32: bin8 always fits (the caller validated the lengths).
  out.push(0xc4, bytes.length, ...bytes);
}

function frameType(value: unknown): string {
  if (typeof value !== 'string' || value.length > 16) throw bad('t must be a short string');
  return value;
}

function correlation(value: unknown): number {
  return uint(value, 'corr', RELAY_LIMITS.maxCorr);
}

function msgId(value: unknown): Uint8Array {
  return fixedBytes(value, 'msgId', RELAY_LIMITS.msgIdBytes);
}

function unsupported(t: string): SealcallError {
  return new SealcallError('UNSUPPORTED_VERSION', `unknown frame type ${JSON.stringify(t.slice(0, 16))}`);
}
