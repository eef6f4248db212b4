import { SealcallError } from '../errors.js';
import { bad, bytesUpTo, field, fixedBytes, oneOf, record, text, uint } from './fields.js';
import { blockBytes, writeBlock, writeBlockAt } from './block-writer.js';
import { readBlock } from './block-reader.js';

/**
 * Relay wire protocol, version 2. Every binary WebSocket message is a *block*: a msgpack array of
 * 1 to {@link RELAY_LIMITS.maxFramesPerBlock} frames, each a msgpack map. Both sides gather the
 * frames of one moment into one block (transmissions batched, as SMP does).
 *
 * ```
 * client → relay                                      relay → client
 * {t:'new',  corr, recipientKey, auth}                {t:'ids', corr, recipientId, senderId, serverKey}
 * {t:'sub',  corr, recipientId, auth}                 {t:'ok', corr}, then {t:'msg', …} frames
 * {t:'ack',  corr, recipientId, msgId, auth}          {t:'ok', corr}
 * {t:'del',  corr, recipientId, auth}                 {t:'ok', corr}
 * {t:'send', corr, senderId, body}                    {t:'ok', corr}
 * {t:'ping', corr}                                    {t:'pong', corr}
 *                                                     {t:'hello', v, relayKey, sessionKey, sig}  (first, alone)
 *                                                     {t:'msg', recipientId, msgId, body, ts}
 *                                                     {t:'err', corr?, code, message}
 *                                                     {t:'end', recipientId}  (another connection subscribed)
 * ```
 * Ids, keys and authenticators are msgpack bin. `hello` carries the relay's long-term Ed25519
 * key (`relayKey`, whose base64url is the fingerprint in relay URLs), a fresh X25519 key for this
 * connection (`sessionKey`) and `relayKey`'s signature over it. A recipient's queue key
 * (`recipientKey`) is X25519; each recipient command carries `auth`, a keyed BLAKE2b of
 * `authContent` under a key both sides derive from the X25519 DH of the queue key and the
 * session key (src/crypto/relay-keys.ts): one hash per command instead of a signature, void on
 * any other connection. `new` is authorized by the key it registers, so creating a queue proves
 * possession of its key. `ids` returns the relay's X25519 key for the queue (`serverKey`): the
 * relay re-encrypts every delivered `msg` body for the recipient under their DH, so the bytes
 * that leave the relay differ from the bytes that came in.
 */
export const RELAY_PROTOCOL_VERSION = 2;

/** Sizes and bounds of relay frames. */
export const RELAY_LIMITS = {
  /** Recipient and sender queue ids. */
  queueIdBytes: 16,
  /** Relay-assigned message ids. */
  msgIdBytes: 16,
  /** X25519 and Ed25519 public keys. */
  publicKeyBytes: 32,
  /** Command authenticators. */
  authBytes: 32,
  /** Ed25519 signature. */
  signatureBytes: 64,
  /** Largest correlation id. */
  maxCorr: 0xffff_ffff,
  /** Longest `err` message. */
  errorMessageChars: 256,
  /** Most frames in one block. */
  maxFramesPerBlock: 64,
  /** Largest block either side decodes at all (a relay usually sets a lower `maxPayload`). */
  maxFrameBytes: 1024 * 1024,
  /** Largest body a frame may carry before the relay's own `maxMessageBytes` applies. */
  maxBodyBytes: 1024 * 1024 - 1024,
} as const;

/** Error codes a relay puts in `err` frames. */
export const RELAY_ERROR_CODES = ['BAD_FRAME', 'AUTH', 'NO_QUEUE', 'QUOTA', 'TOO_LARGE', 'RATE_LIMITED', 'UNSUPPORTED'] as const;
/** An error code of an `err` frame. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/** Creates a queue whose recipient commands are authorized with `recipientKey` (X25519), as this one is. */
export interface NewFrame { t: 'new'; corr: number; recipientKey: Uint8Array; auth: Uint8Array }
/** Subscribes this connection to a queue; replaces the queue's previous subscriber. */
export interface SubFrame { t: 'sub'; corr: number; recipientId: Uint8Array; auth: Uint8Array }
/** Acknowledges (and deletes) a delivered message. */
export interface AckFrame { t: 'ack'; corr: number; recipientId: Uint8Array; msgId: Uint8Array; auth: Uint8Array }
/** Deletes a queue and its messages. */
export interface DelFrame { t: 'del'; corr: number; recipientId: Uint8Array; auth: Uint8Array }
/** Stores a message in the queue known to senders by `senderId`. No account, no authenticator. */
export interface SendFrame { t: 'send'; corr: number; senderId: Uint8Array; body: Uint8Array }
/** Liveness check. */
export interface PingFrame { t: 'ping'; corr: number }
/** A frame a client sends. */
export type ClientFrame = NewFrame | SubFrame | AckFrame | DelFrame | SendFrame | PingFrame;
/** The commands that carry an authenticator. */
export type AuthorizedFrame = NewFrame | SubFrame | AckFrame | DelFrame;
/** A recipient command on an existing queue. */
export type RecipientFrame = SubFrame | AckFrame | DelFrame;

/** First frame on every connection: who the relay is, and this connection's key. */
export interface HelloFrame { t: 'hello'; v: number; relayKey: Uint8Array; sessionKey: Uint8Array; sig: Uint8Array }
/** Reply to `new`: two unrelated random ids, and the relay's X25519 key for this queue. */
export interface IdsFrame { t: 'ids'; corr: number; recipientId: Uint8Array; senderId: Uint8Array; serverKey: Uint8Array }
/**
 * A stored message delivered to the queue's subscriber, its body sealed for the recipient
 * (src/crypto/relay-keys.ts). `ts`: when the relay accepted it (ms). Decoded, `body` is a view
 * into the block's bytes: open it, do not keep it.
 */
export interface MsgFrame { t: 'msg'; recipientId: Uint8Array; msgId: Uint8Array; body: Uint8Array; ts: number }
/** Success reply to `sub`, `ack`, `del` and `send`. */
export interface OkFrame { t: 'ok'; corr: number }
/** Reply to `ping`. */
export interface PongFrame { t: 'pong'; corr: number }
/** A refused command (`corr` set) or a connection-level problem (no `corr`). */
export interface ErrFrame { t: 'err'; corr?: number; code: RelayErrorCode; message: string }
/**
 * This connection is no longer the queue's subscriber: another connection subscribed to it (on
 * this relay process or another sharing its store), and gets its messages from now on. Sent once,
 * as SMP's `END`; the relay sends nothing more for this queue here unless it subscribes again.
 */
export interface EndFrame { t: 'end'; recipientId: Uint8Array }
/** A frame the relay sends. */
export type RelayFrame = HelloFrame | IdsFrame | MsgFrame | OkFrame | PongFrame | ErrFrame | EndFrame;

/** Encodes client frames as one block, validating each first so this build never emits what it would reject. */
export function encodeClientBlock(frames: readonly ClientFrame[]): Uint8Array {
  return packClientBlock(frames.map(viewClientFrame));
}

/** Encodes client frames that were each checked already ({@link viewClientFrame}) as one block. */
export function packClientBlock(frames: readonly ClientFrame[]): Uint8Array {
  return packBlock(frames);
}

/**
 * Encodes relay frames as one block. Not validated: the relay builds them itself from checked
 * values, and this is its hottest path.
 */
export function encodeRelayBlock(frames: readonly RelayFrame[]): Uint8Array {
  return packBlock(frames);
}

/**
 * A block in two steps, for a transport header written before it in the same buffer: its length
 * (checking the frame count), then the block written from `at` ({@link writeBlockFrom}). For the
 * relay's frames, and for client frames each checked already ({@link viewClientFrame}).
 */
export function measureBlock(frames: readonly (RelayFrame | ClientFrame)[]): number {
  checkBlockSize(frames);
  return blockBytes(frames);
}

/** Writes the block of {@link measureBlock} into `out` from `at`; returns where it ends. */
export function writeBlockFrom(out: Uint8Array, at: number, frames: readonly (RelayFrame | ClientFrame)[]): number {
  return writeBlockAt(out, at, frames);
}

/**
 * Unpacks a block of untrusted bytes into its raw frames, each still to be validated. Throws only
 * {@link SealcallError}: `BAD_MESSAGE` (not an msgpack array, cut short, empty) or `MESSAGE_TOO_LARGE`.
 */
export function unpackBlock(bytes: Uint8Array, maxBytes: number = RELAY_LIMITS.maxFrameBytes): unknown[] {
  if (!(bytes instanceof Uint8Array)) throw bad('block must be bytes');
  if (bytes.length > maxBytes) throw new SealcallError('MESSAGE_TOO_LARGE', `block is ${bytes.length} bytes, over ${maxBytes}`);
  const frames = readBlock(bytes, RELAY_LIMITS.maxFramesPerBlock);
  if (frames.length === 0) throw bad('block is empty');
  return frames;
}

/**
 * Decodes a block from a relay. A block that is not one throws ({@link unpackBlock}); each frame
 * in it becomes a {@link RelayFrame} or, if malformed, the {@link SealcallError} saying why, so one
 * garbled frame does not cost the others.
 */
export function decodeRelayBlock(bytes: Uint8Array, maxBytes?: number): (RelayFrame | SealcallError)[] {
  return unpackBlock(bytes, maxBytes).map((raw) => {
    try {
      return validateRelayFrame(raw);
    } catch (error) {
      return error instanceof SealcallError ? error : new SealcallError('BAD_MESSAGE', 'invalid relay frame');
    }
  });
}

/**
 * Turns a decoded, untrusted value into a {@link ClientFrame}: a fresh object holding only the
 * known fields of its type, with byte fields copied. Throws `BAD_MESSAGE`, `MESSAGE_TOO_LARGE`,
 * or `UNSUPPORTED_VERSION` for a well-formed frame of an unknown type.
 */
export function validateClientFrame(value: unknown): ClientFrame {
  return clientFrame(value, true);
}

/**
 * {@link validateClientFrame} without copying byte fields: they stay views into the decoded
 * bytes. For a caller that keeps none of them (the relay: its commands hash, seal or look them
 * up, and its stores copy what they keep), or that only checks a frame before encoding it.
 */
export function viewClientFrame(value: unknown): ClientFrame {
  return clientFrame(value, false);
}

function clientFrame(value: unknown, copy: boolean): ClientFrame {
  // No closures here: the relay runs this for every frame it receives.
  const obj = record(value, 'frame');
  const t = frameType(field(obj, 't'));
  const corr = correlation(field(obj, 'corr'));
  switch (t) {
    case 'new':
      return { t, corr, recipientKey: fixedBytes(field(obj, 'recipientKey'), 'recipientKey', RELAY_LIMITS.publicKeyBytes, copy), auth: authOf(obj, copy) };
    case 'sub':
    case 'del':
      return { t, corr, recipientId: recipientIdOf(obj, copy), auth: authOf(obj, copy) };
    case 'ack':
      return { t, corr, recipientId: recipientIdOf(obj, copy), msgId: fixedBytes(field(obj, 'msgId'), 'msgId', RELAY_LIMITS.msgIdBytes, copy), auth: authOf(obj, copy) };
    case 'send':
      return {
        t,
        corr,
        senderId: fixedBytes(field(obj, 'senderId'), 'senderId', RELAY_LIMITS.queueIdBytes, copy),
        body: bytesUpTo(field(obj, 'body'), 'body', RELAY_LIMITS.maxBodyBytes, copy),
      };
    case 'ping':
      return { t, corr };
    default:
      throw unsupported(t);
  }
}

function recipientIdOf(obj: Record<string, unknown>, copy: boolean): Uint8Array {
  return fixedBytes(field(obj, 'recipientId'), 'recipientId', RELAY_LIMITS.queueIdBytes, copy);
}

function authOf(obj: Record<string, unknown>, copy: boolean): Uint8Array {
  return fixedBytes(field(obj, 'auth'), 'auth', RELAY_LIMITS.authBytes, copy);
}

/** Turns a decoded, untrusted value into a {@link RelayFrame} (fresh object, own fields only; byte fields copied except a `msg` body). */
export function validateRelayFrame(value: unknown): RelayFrame {
  const obj = record(value, 'frame');
  const t = frameType(field(obj, 't'));
  // No closures here: a client runs this for every frame the relay sends it.
  switch (t) {
    case 'hello': {
      const v = field(obj, 'v');
      if (v !== RELAY_PROTOCOL_VERSION) {
        if (typeof v === 'number' && Number.isInteger(v)) {
          throw new SealcallError('UNSUPPORTED_VERSION', `unsupported relay protocol version ${v}`);
        }
        throw bad('v must be an integer');
      }
      return {
        t,
        v,
        relayKey: publicKey(field(obj, 'relayKey'), 'relayKey'),
        sessionKey: publicKey(field(obj, 'sessionKey'), 'sessionKey'),
        sig: fixedBytes(field(obj, 'sig'), 'sig', RELAY_LIMITS.signatureBytes),
      };
    }
    case 'ids':
      return {
        t,
        corr: correlation(field(obj, 'corr')),
        recipientId: recipientIdOf(obj, true),
        senderId: fixedBytes(field(obj, 'senderId'), 'senderId', RELAY_LIMITS.queueIdBytes),
        serverKey: publicKey(field(obj, 'serverKey'), 'serverKey'),
      };
    case 'msg':
      return {
        t,
        recipientId: recipientIdOf(obj, true),
        msgId: msgId(field(obj, 'msgId')),
        // A view, not a copy: a recipient opens it at once (WebSocketTransport in place, then
        // copies out the payload) and keeps nothing of it, so copying a body per delivery would be waste.
        body: bytesUpTo(field(obj, 'body'), 'body', RELAY_LIMITS.maxBodyBytes, false),
        ts: uint(field(obj, 'ts'), 'ts', Number.MAX_SAFE_INTEGER),
      };
    case 'ok':
    case 'pong':
      return { t, corr: correlation(field(obj, 'corr')) };
    case 'end':
      return { t, recipientId: recipientIdOf(obj, true) };
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

/** Domain-separation label of command authenticators. */
const AUTH_LABEL = new TextEncoder().encode('sealcall relay v2 command');
/** `t` of each authorized command as a msgpack fixstr. */
const TYPE_BYTES: Record<AuthorizedFrame['t'], Uint8Array> = {
  new: fixstr('new'),
  sub: fixstr('sub'),
  ack: fixstr('ack'),
  del: fixstr('del'),
};

/** The most bytes {@link authContent} writes (an `ack`'s or a `new`'s, with the longest `corr`). */
export const AUTH_CONTENT_MAX_BYTES = AUTH_LABEL.length + 1 + 4 + 5 + 2 + RELAY_LIMITS.publicKeyBytes + 2 + RELAY_LIMITS.msgIdBytes;

/**
 * The bytes a command's authenticator covers: the label `sealcall relay v2 command`, then the
 * canonical msgpack array `[t, corr, recipientId]` (`[t, corr, recipientId, msgId]` for `ack`,
 * `[t, corr, recipientKey]` for `new`), shortest encodings, written by hand so no encoder option
 * can change them. The connection is bound by the authenticator's key, not by these bytes.
 *
 * Written into `into` (at least {@link AUTH_CONTENT_MAX_BYTES} long) when given, and then a view
 * of it that the next call overwrites: both ends hash it at once, for every `ack`, and a fresh
 * array of this size would live outside the JavaScript heap (an allocation and a free each).
 */
export function authContent(
  frame: { t: RecipientFrame['t']; corr: number; recipientId: Uint8Array; msgId?: Uint8Array } | { t: 'new'; corr: number; recipientKey: Uint8Array },
  into?: Uint8Array,
): Uint8Array {
  const msgId = 'msgId' in frame ? frame.msgId : undefined;
  const id = frame.t === 'new' ? frame.recipientKey : frame.recipientId;
  const type = TYPE_BYTES[frame.t];
  // Ids are 16 bytes, keys 32: bin8 always fits (the caller validated the lengths).
  const out = into ?? new Uint8Array(AUTH_LABEL.length + 1 + type.length + 5 + 2 + id.length + (msgId ? 2 + msgId.length : 0));
  out.set(AUTH_LABEL, 0);
  let at = AUTH_LABEL.length;
  out[at++] = msgId ? 0x94 : 0x93;
  out.set(type, at);
  at += type.length;
  at = writeUint(out, at, correlation(frame.corr));
  at = writeBin(out, at, id);
  if (msgId) at = writeBin(out, at, msgId);
  return out.subarray(0, at);
}

function fixstr(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  return Uint8Array.of(0xa0 | bytes.length, ...bytes);
}

function writeUint(out: Uint8Array, at: number, n: number): number {
  // Byte by byte: an array literal per call would be garbage at every command.
  if (n < 0x80) {
    out[at++] = n;
  } else if (n <= 0xff) {
    out[at++] = 0xcc;
    out[at++] = n;
  } else if (n <= 0xffff) {
    out[at++] = 0xcd;
    out[at++] = n >>> 8;
    out[at++] = n & 0xff;
  } else {
    out[at++] = 0xce;
    out[at++] = n >>> 24;
    out[at++] = (n >>> 16) & 0xff;
    out[at++] = (n >>> 8) & 0xff;
    out[at++] = n & 0xff;
  }
  return at;
}

function writeBin(out: Uint8Array, at: number, bytes: Uint8Array): number {
  out[at] = 0xc4;
  out[at + 1] = bytes.length;
  out.set(bytes, at + 2);
  return at + 2 + bytes.length;
}

function packBlock(frames: readonly object[]): Uint8Array {
  checkBlockSize(frames);
  return writeBlock(frames);
}

function checkBlockSize(frames: readonly object[]): void {
  if (frames.length === 0 || frames.length > RELAY_LIMITS.maxFramesPerBlock) {
    throw new SealcallError('INVALID_ARGUMENT', `a block holds 1..${RELAY_LIMITS.maxFramesPerBlock} frames`);
  }
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

function publicKey(value: unknown, name: string): Uint8Array {
  return fixedBytes(value, name, RELAY_LIMITS.publicKeyBytes);
}

function unsupported(t: string): SealcallError {
  return new SealcallError('UNSUPPORTED_VERSION', `unknown frame type ${JSON.stringify(t.slice(0, 16))}`);
}
