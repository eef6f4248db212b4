import { SealcallError } from '../errors.js';
import { MAX_NONCE } from '../crypto/noise/cipher-state.js';
import { sodium } from '../crypto/sodium.js';
import { PAIR_SEAL_OVERHEAD } from './pair-seal.js';

/**
 * Inner envelope wire format, version 2. It travels only inside the pair seal (pair-seal.ts),
 * so nothing here is visible to a relay or transport. A client makes every envelope the same
 * length ({@link DEFAULT_ENVELOPE_BYTES}, or less when the transport carries less), so sizes say
 * nothing about what an envelope carries; a receiver accepts any of {@link ENVELOPE_BUCKETS}.
 *
 * ```
 * offset  size  field
 * 0       1     version (2)
 * 1       1     kind: 1 invite (Noise msg 1), 2 response (Noise msg 2),
 *               3 transport, 4 one-shot (a fresh Noise msg 1 not answered)
 * 2       16    call id
 * 18      8     session tag (transport only, else zero): which answered device
 * 26      8     counter, big-endian (transport only, else zero)
 * 34      …     body: Noise message or AEAD ciphertext of the padded payload
 * ```
 */
export const ENVELOPE_VERSION = 2;
/** Length of the inner header. */
export const HEADER_BYTES = 34;
/** Every (sealed) envelope length a receiver accepts. */
export const ENVELOPE_BUCKETS = [512, 1024, 2048, 3072, 4096, 8192, 16384, 32768, 65536] as const;
/**
 * The length of every envelope a client sends when the transport takes it: room for a typical
 * video offer (compressed SDP) in one envelope, and small enough that a sealed VoIP push carrying
 * an invitation stays under APNs' 5 KiB.
 */
export const DEFAULT_ENVELOPE_BYTES = 3072;

/** The envelope length a client uses over a transport that carries at most `maxPayloadBytes`. */
export function envelopeBytesFor(maxPayloadBytes = Infinity): number {
  const fits = ENVELOPE_BUCKETS.filter((b) => b <= Math.min(maxPayloadBytes, DEFAULT_ENVELOPE_BYTES));
  if (fits.length === 0) throw new SealcallError('INVALID_ARGUMENT', `a transport must carry at least ${ENVELOPE_BUCKETS[0]} bytes`);
  return fits.at(-1)!;
}
/** Length of a call id in bytes (hex: twice that). */
export const CALL_ID_BYTES = 16;
/** Length of a session tag. */
export const SESSION_TAG_BYTES = 8;

/** The kinds of envelope. */
export const EnvelopeKind = { invite: 1, response: 2, transport: 3, oneShot: 4 } as const;
/** An envelope kind. */
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/** What the inner header says. Hidden by the pair seal, and authenticated. */
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
 * Reads the inner header of untrusted bytes (the pair seal already opened) without decrypting
 * anything more, so a receiver can route the envelope. Throws `BAD_MESSAGE` or
 * `UNSUPPORTED_VERSION`.
 */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) {
    throw new SealcallError('BAD_MESSAGE', 'envelope is shorter than its header');
  }
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new SealcallError('UNSUPPORTED_VERSION', `unsupported envelope version ${bytes[0]}`);
  }
  if (!(ENVELOPE_BUCKETS as readonly number[]).includes(bytes.length + PAIR_SEAL_OVERHEAD)) {
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

/** Writes an inner header. */
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
 * Pads `payload` (ISO/IEC 7816-4: 0x80 then zeros) so that with `overhead` bytes of crypto, the
 * inner header and the pair seal added, the envelope is exactly `envelopeBytes` long.
 */
export function pad(payload: Uint8Array, overhead: number, envelopeBytes: number): Uint8Array {
  const room = payloadCapacity(overhead, envelopeBytes);
  if (payload.length > room) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `payload of ${payload.length} bytes does not fit an envelope of ${envelopeBytes}`);
  }
  const out = new Uint8Array(room + 1);
  out.set(payload);
  out[payload.length] = 0x80;
  return out;
}

/** The most payload bytes an envelope of `envelopeBytes` holds after `overhead` bytes of crypto. */
export function payloadCapacity(overhead: number, envelopeBytes: number): number {
  return envelopeBytes - PAIR_SEAL_OVERHEAD - HEADER_BYTES - overhead - 1;
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
