import { SealcallError } from '../errors.js';
import { MAX_NONCE } from '../crypto/noise/cipher-state.js';
import { sodium } from '../crypto/sodium.js';

/**
 * Envelope wire format, version 1. Every envelope is exactly one of {@link ENVELOPE_BUCKETS}
 * bytes long, so a relay learns only a coarse size class.
 *
 * ```
 * offset  size  field
 * 0       1     version (1)
 * 1       1     kind: 1 invite (Noise msg 1), 2 response (Noise msg 2),
 *               3 transport, 4 one-shot (a fresh Noise msg 1 not answered)
 * 2       16    call id
 * 18      8     session tag (transport only, else zero): which answered device
 * 26      8     counter, big-endian (transport only, else zero)
 * 34      …     body: Noise message or AEAD ciphertext of the padded payload
 * ```
 */
export const ENVELOPE_VERSION = 1;
/** Length of the clear header. */
export const HEADER_BYTES = 34;
/** Every envelope length that may occur. */
export const ENVELOPE_BUCKETS = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;
/** Length of a call id in bytes (hex: twice that). */
export const CALL_ID_BYTES = 16;
/** Length of a session tag. */
export const SESSION_TAG_BYTES = 8;

/** The kinds of envelope. */
export const EnvelopeKind = { invite: 1, response: 2, transport: 3, oneShot: 4 } as const;
/** An envelope kind. */
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/** What the clear header says. Nothing here is secret; all of it is authenticated. */
export interface EnvelopeHeader {
  kind: EnvelopeKind;
  /** 32 lowercase hex digits. */
  callId: string;
  /** 16 lowercase hex digits; all zeros except on transport envelopes. */
  sessionTag: string;
  counter: number;
}

/** A parsed envelope: its header, the raw header bytes (used as AD) and the body. */
export interface ParsedEnvelope extends EnvelopeHeader {
  headerBytes: Uint8Array;
  body: Uint8Array;
}

/** The session tag of handshake envelopes. */
export const ZERO_SESSION_TAG = '0'.repeat(SESSION_TAG_BYTES * 2);

/**
 * Reads the clear header of untrusted bytes without decrypting anything, so a receiver can route
 * the envelope. Throws `BAD_MESSAGE` or `UNSUPPORTED_VERSION`.
 */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) {
    throw new SealcallError('BAD_MESSAGE', 'envelope is shorter than its header');
  }
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new SealcallError('UNSUPPORTED_VERSION', `unsupported envelope version ${bytes[0]}`);
  }
  if (!(ENVELOPE_BUCKETS as readonly number[]).includes(bytes.length)) {
    throw new SealcallError('BAD_MESSAGE', 'envelope length is not a padding bucket');
  }
  const kind = bytes[1] as EnvelopeKind;
  if (kind < EnvelopeKind.invite || kind > EnvelopeKind.oneShot) {
    throw new SealcallError('BAD_MESSAGE', 'unknown envelope kind');
  }
  const s = sodium();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const high = view.getUint32(26);
  const low = view.getUint32(30);
  const counter = high * 2 ** 32 + low;
  const sessionTag = s.to_hex(bytes.subarray(18, 26));
  if (kind === EnvelopeKind.transport) {
    if (counter > MAX_NONCE) throw new SealcallError('BAD_MESSAGE', 'envelope counter out of range');
  } else if (counter !== 0 || sessionTag !== ZERO_SESSION_TAG) {
    throw new SealcallError('BAD_MESSAGE', 'handshake envelope with a counter or session tag');
  }
  return {
    kind,
    callId: s.to_hex(bytes.subarray(2, 18)),
    sessionTag,
    counter,
    headerBytes: bytes.subarray(0, HEADER_BYTES),
    body: bytes.subarray(HEADER_BYTES),
  };
}

/** Writes a clear header. */
export function writeHeader(header: EnvelopeHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out[0] = ENVELOPE_VERSION;
  out[1] = header.kind;
  out.set(callIdBytes(header.callId), 2);
  out.set(sodium().from_hex(header.sessionTag), 18);
  const view = new DataView(out.buffer);
  view.setUint32(26, Math.floor(header.counter / 2 ** 32));
  view.setUint32(30, header.counter >>> 0);
  return out;
}

/** Concatenates header and body into one envelope. */
export function joinEnvelope(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/**
 * Pads `payload` (ISO/IEC 7816-4: 0x80 then zeros) so that with `overhead` bytes of header and
 * crypto added, the envelope lands exactly on a bucket.
 */
export function pad(payload: Uint8Array, overhead: number): Uint8Array {
  const minimum = HEADER_BYTES + overhead + payload.length + 1;
  const bucket = ENVELOPE_BUCKETS.find((b) => b >= minimum);
  if (bucket === undefined) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `payload of ${payload.length} bytes does not fit an envelope`);
  }
  const out = new Uint8Array(bucket - HEADER_BYTES - overhead);
  out.set(payload);
  out[payload.length] = 0x80;
  return out;
}

/** Reverses {@link pad}. Throws `BAD_MESSAGE` on bad padding. */
export function unpad(padded: Uint8Array): Uint8Array {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) throw new SealcallError('BAD_MESSAGE', 'bad padding');
  return padded.subarray(0, end);
}

/** A new random call id (32 hex digits). */
export function randomCallId(): string {
  return sodium().to_hex(sodium().randombytes_buf(CALL_ID_BYTES));
}

const CALL_ID = /^[0-9a-f]{32}$/;

/** The 16 bytes of a call id; `INVALID_ARGUMENT` unless it is 32 lowercase hex digits. */
export function callIdBytes(callId: string): Uint8Array {
  if (typeof callId !== 'string' || !CALL_ID.test(callId)) {
    throw new SealcallError('INVALID_ARGUMENT', 'call id must be 32 lowercase hex digits');
  }
  return sodium().from_hex(callId);
}
