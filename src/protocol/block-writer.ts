import { SealcallError } from '../errors.js';

/**
 * Writes a block of relay frames as msgpack: an array of flat objects whose values are strings,
 * unsigned integers or bytes, which is every frame of the relay protocol. The bytes are exactly
 * msgpackr's for the same value (maps as map16, unsigned integers above 2^32 − 1 as float64, as
 * it writes them; test/block-writer.test.ts compares the two; only a lone surrogate, which is not
 * text, becomes U+FFFD here), so the published vectors hold, but
 * the block is measured first and written into one array of its exact size: no scratch buffer to
 * copy out of, no encoder state. The relay writes a block on every delivery and reply.
 * Platform-neutral (no `Buffer`): clients in browsers write their blocks with it too.
 */
export function writeBlock(frames: readonly object[]): Uint8Array {
  const out = new Uint8Array(blockBytes(frames));
  writeBlockAt(out, 0, frames);
  return out;
}

/** The length of the block {@link writeBlock} writes for `frames`. */
export function blockBytes(frames: readonly object[]): number {
  let size = frames.length < 16 ? 1 : 3;
  for (const frame of frames) size += frameBytes(frame);
  return size;
}

/**
 * Writes the block into `out` from `at` (which has {@link blockBytes} free from there), after a
 * header the caller writes before it: the relay's WebSocket frame header, so that header and block
 * leave in one write. Returns the end.
 */
export function writeBlockAt(out: Uint8Array, at: number, frames: readonly object[]): number {
  if (frames.length < 16) out[at++] = 0x90 | frames.length;
  else at = writeHead(out, at, 0xdc, 2, frames.length);
  for (const frame of frames) at = writeFrame(out, at, frame);
  return at;
}

function frameBytes(frame: object): number {
  let size = 3; // map16 header
  for (const key in frame) {
    const value = (frame as Record<string, unknown>)[key];
    size += stringBytes(key);
    if (typeof value === 'string') size += stringBytes(value);
    else if (typeof value === 'number') size += uintBytes(value, key);
    else if (value instanceof Uint8Array) size += value.length + (value.length < 0x100 ? 2 : value.length < 0x10000 ? 3 : 5);
    else throw new SealcallError('INVALID_ARGUMENT', `frame field ${key} is not a string, an unsigned integer or bytes`);
  }
  return size;
}

function uintBytes(n: number, key: string): number {
  if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
    throw new SealcallError('INVALID_ARGUMENT', `frame field ${key} is not an unsigned integer`);
  }
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n <= 0xffff_ffff ? 5 : 9;
}

const utf8 = new TextEncoder();

/** Frame keys and most values are short ASCII: counted without encoding them. */
function stringBytes(text: string): number {
  const length = isAscii(text) ? text.length : utf8.encode(text).length;
  return length + (length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeFrame(out: Uint8Array, at: number, frame: object): number {
  let keys = 0;
  for (const _ in frame) keys++;
  at = writeHead(out, at, 0xde, 2, keys);
  for (const key in frame) {
    at = writeString(out, at, key);
    const value = (frame as Record<string, unknown>)[key];
    if (typeof value === 'string') at = writeString(out, at, value);
    else if (typeof value === 'number') at = writeUint(out, at, value);
    else at = writeBytes(out, at, value as Uint8Array);
  }
  return at;
}

function writeString(out: Uint8Array, at: number, text: string): number {
  const ascii = isAscii(text);
  const bytes = ascii ? undefined : utf8.encode(text);
  const length = bytes ? bytes.length : text.length;
  if (length < 32) out[at++] = 0xa0 | length;
  else at = writeLength(out, at, length, 0xd9);
  if (bytes) out.set(bytes, at);
  else for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i);
  return at + length;
}

function writeUint(out: Uint8Array, at: number, n: number): number {
  if (n < 0x80) {
    out[at] = n;
    return at + 1;
  }
  if (n < 0x100) return writeHead(out, at, 0xcc, 1, n);
  if (n < 0x10000) return writeHead(out, at, 0xcd, 2, n);
  if (n <= 0xffff_ffff) return writeHead(out, at, 0xce, 4, n);
  // Every `msg` carries one (its ts in ms): written through a scratch double, no view per frame.
  out[at] = 0xcb;
  float64.setFloat64(0, n);
  out.set(float64Bytes, at + 1);
  return at + 9;
}

const float64 = new DataView(new ArrayBuffer(8));
const float64Bytes = new Uint8Array(float64.buffer);

function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  at = writeLength(out, at, bytes.length, 0xc4);
  out.set(bytes, at);
  return at + bytes.length;
}

/** A str (`first` 0xd9) or bin (0xc4) length: the 8-, 16- or 32-bit form, whichever fits. */
function writeLength(out: Uint8Array, at: number, length: number, first: number): number {
  if (length < 0x100) return writeHead(out, at, first, 1, length);
  if (length < 0x10000) return writeHead(out, at, first + 1, 2, length);
  return writeHead(out, at, first + 2, 4, length);
}

/** A type byte followed by `n` as a big-endian unsigned integer of `bytes` bytes. */
function writeHead(out: Uint8Array, at: number, type: number, bytes: number, n: number): number {
  out[at++] = type;
  for (let shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out[at++] = Math.floor(n / 2 ** shift) & 0xff;
  return at;
}
