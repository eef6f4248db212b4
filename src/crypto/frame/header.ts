import { SealcallError } from '../../errors.js';

/**
 * RFC 9605 §4.3 SFrame header codec.
 *
 * ```
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+---------------------------------+-------------------------------+
 * |X|  K  |Y|  C  |   KID (if X=1, K+1 bytes)       |   CTR (if Y=1, C+1 bytes)     |
 * +-+-+-+-+-+-+-+-+---------------------------------+-------------------------------+
 * ```
 * A value below 8 lives in its 3 config bits (X/Y = 0); otherwise X/Y = 1 and K/C holds its
 * byte length minus one, the value following big-endian in as few bytes as possible.
 *
 * Two flavours: `encodeHeader`/`decodeHeader` take the full 0..2^64−1 range as bigint (vectors,
 * tooling); `writeHeader`/`readHeader` work on plain numbers without allocating, for the
 * per-frame path, where KIDs and CTRs stay below 2^53.
 */

/** The longest header: config byte + 8-byte KID + 8-byte CTR. */
export const MAX_HEADER_BYTES = 17;
/** Largest KID / CTR the header can carry (2^64 − 1). */
const MAX_HEADER_VALUE = 0xffff_ffff_ffff_ffffn;

/** A decoded header with the RFC's full value range. */
export interface SFrameHeader {
  kid: bigint;
  ctr: bigint;
  /** Bytes the header occupies (1..17). */
  length: number;
}

/**
 * A decoded header as plain numbers, filled in place by {@link readHeader}. A KID or CTR above
 * 2^53 − 1 is not exact here: check `Number.isSafeInteger` before trusting it.
 */
export interface HeaderFields {
  kid: number;
  ctr: number;
  length: number;
}

/** Byte length of `value` (≥ 8) big-endian without leading zeros. Division, not shifts: values pass 2^32. */
function byteLength(value: number): number {
  let n = 1;
  for (let v = value; v >= 256; v = Math.floor(v / 256)) n++;
  return n;
}

/** Header length for a KID and CTR given as safe non-negative integers. */
export function headerLength(kid: number, ctr: number): number {
  return 1 + (kid < 8 ? 0 : byteLength(kid)) + (ctr < 8 ? 0 : byteLength(ctr));
}

/**
 * Writes the header for `kid`/`ctr` (safe non-negative integers, unchecked: the caller owns
 * them) at `out[offset]` and returns its length. `out` must have {@link headerLength} bytes free.
 */
export function writeHeader(out: Uint8Array, offset: number, kid: number, ctr: number): number {
  let position = offset + 1;
  let config: number;
  if (kid < 8) config = kid << 4;
  else {
    const n = byteLength(kid);
    config = 0x80 | ((n - 1) << 4);
    writeNumber(out, position, kid, n);
    position += n;
  }
  if (ctr < 8) config |= ctr;
  else {
    const n = byteLength(ctr);
    config |= 0x08 | (n - 1);
    writeNumber(out, position, ctr, n);
    position += n;
  }
  out[offset] = config;
  return position - offset;
}

function writeNumber(out: Uint8Array, offset: number, value: number, n: number): void {
  let v = value;
  for (let i = offset + n - 1; i >= offset; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/**
 * Parses the header at `bytes[offset]` into `out` without allocating. Returns false when the
 * bytes end before the header does (or `offset` is out of range); never reads past the end.
 *
 * Non-minimal encodings (a KID below 8 sent in extended form, leading zero bytes) are accepted,
 * as RFC 9605 does not forbid them: the header is authenticated as received, so re-encoding a
 * genuine header just fails authentication.
 */
export function readHeader(bytes: Uint8Array, offset: number, out: HeaderFields): boolean {
  if (!(Number.isInteger(offset) && offset >= 0 && offset < bytes.length)) return false;
  const config = bytes[offset]!;
  let position = offset + 1;
  let kid = (config >>> 4) & 0x07;
  if (config & 0x80) {
    const n = kid + 1;
    if (position + n > bytes.length) return false;
    kid = readNumber(bytes, position, n);
    position += n;
  }
  let ctr = config & 0x07;
  if (config & 0x08) {
    const n = ctr + 1;
    if (position + n > bytes.length) return false;
    ctr = readNumber(bytes, position, n);
    position += n;
  }
  out.kid = kid;
  out.ctr = ctr;
  out.length = position - offset;
  return true;
}

/** Up to 8 bytes big-endian. Above 2^53 the float rounds but stays above MAX_SAFE_INTEGER (monotonic), which callers check. */
function readNumber(bytes: Uint8Array, offset: number, n: number): number {
  let value = 0;
  for (let i = offset; i < offset + n; i++) value = value * 256 + bytes[i]!;
  return value;
}

function toBigInt(value: bigint | number, name: string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new SealcallError('INVALID_ARGUMENT', `${name} must be an integer (use bigint above 2^53)`);
  }
  const big = BigInt(value);
  if (big < 0n || big > MAX_HEADER_VALUE) throw new SealcallError('INVALID_ARGUMENT', `${name} must be in 0..2^64−1`);
  return big;
}

function bigByteLength(value: bigint): number {
  let n = 1;
  for (let v = value; v >= 256n; v >>= 8n) n++;
  return n;
}

/**
 * Encodes a header for any KID and CTR in 0..2^64−1 (numbers or bigints).
 * @throws SealcallError `INVALID_ARGUMENT` for values out of range.
 */
export function encodeHeader(kid: bigint | number, ctr: bigint | number): Uint8Array {
  const k = toBigInt(kid, 'kid');
  const c = toBigInt(ctr, 'ctr');
  const kidBytes = k < 8n ? 0 : bigByteLength(k);
  const ctrBytes = c < 8n ? 0 : bigByteLength(c);
  const out = new Uint8Array(1 + kidBytes + ctrBytes);
  out[0] = (kidBytes ? 0x80 | ((kidBytes - 1) << 4) : Number(k) << 4) | (ctrBytes ? 0x08 | (ctrBytes - 1) : Number(c));
  for (let i = 0, v = k; i < kidBytes; i++, v >>= 8n) out[kidBytes - i] = Number(v & 0xffn);
  for (let i = 0, v = c; i < ctrBytes; i++, v >>= 8n) out[kidBytes + ctrBytes - i] = Number(v & 0xffn);
  return out;
}

/**
 * Decodes the header at `bytes[offset]` with the full 64-bit range. Returns null for bytes that
 * end before the header does; never throws, never reads past the end.
 */
export function decodeHeader(bytes: Uint8Array, offset = 0): SFrameHeader | null {
  if (!(Number.isInteger(offset) && offset >= 0 && offset < bytes.length)) return null;
  const config = bytes[offset]!;
  let position = offset + 1;
  const field = (extended: boolean, bits: number): bigint | null => {
    if (!extended) return BigInt(bits);
    if (position + bits + 1 > bytes.length) return null;
    let value = 0n;
    for (let end = position + bits + 1; position < end; position++) value = (value << 8n) | BigInt(bytes[position]!);
    return value;
  };
  const kid = field((config & 0x80) !== 0, (config >>> 4) & 0x07);
  if (kid === null) return null;
  const ctr = field((config & 0x08) !== 0, config & 0x07);
  if (ctr === null) return null;
  return { kid, ctr, length: position - offset };
}
