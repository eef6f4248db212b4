import { SealcallError } from '../errors.js';

/**
 * Reads a block of relay frames from untrusted msgpack: an array whose entries are frames (maps).
 * A frame's values are read if they are flat (strings, numbers, booleans, nil, bytes); a nested
 * one (a map, an array, an extension) is walked past and reads as nil, which no field accepts. Every
 * frame of the relay protocol is flat, so a frame reads as msgpackr reads it, for all the
 * validators of relay-frames.ts look at (test/relay-fuzz.test.ts compares the two on mutated
 * blocks). An entry that is not a map reads as its value (nil if nested): the validators refuse
 * that frame alone, as before.
 *
 * Why not msgpackr, which every other untrusted decoder here uses: the relay reads two blocks per
 * message and each client one to three, and msgpackr's general path (a DataView per call, a cache
 * of keys, a decoder state to save and restore) cost about 1 µs per small frame and as many young
 * objects again as the frame itself. This reads into one plain object per frame, with
 * byte fields as views into `bytes` (as msgpackr's) and the protocol's keys and names as shared
 * strings. It is the mirror of block-writer.ts.
 *
 * Throws only {@link SealcallError}: `MESSAGE_TOO_LARGE` for more than `maxFrames` entries,
 * `BAD_MESSAGE` for anything that is not an array, cut short, or followed by more bytes.
 */
export function readBlock(bytes: Uint8Array, maxFrames: number): unknown[] {
  const reader = new Reader(bytes);
  const count = reader.arrayLength();
  if (count > maxFrames) throw new SealcallError('MESSAGE_TOO_LARGE', `block has more than ${maxFrames} entries`);
  const frames: unknown[] = [];
  for (let i = 0; i < count; i++) frames.push(reader.entry());
  if (reader.at !== bytes.length) throw bad('bytes after the block');
  return frames;
}

/** A map nested deeper than this in a skipped value is refused rather than walked. */
const MAX_SKIP_DEPTH = 16;

/** The value of a skipped (nested) field: never stored. */
const SKIPPED = Symbol('skipped');

const utf8 = new TextDecoder();

/** Where floats are read: every `msg` carries one (its `ts`), and a view per block would be waste. */
const floatBytes = new Uint8Array(8);
const floatView = new DataView(floatBytes.buffer);

class Reader {
  at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  arrayLength(): number {
    const type = this.byte();
    if ((type & 0xf0) === 0x90) return type & 0x0f;
    if (type === 0xdc) return this.uint(2);
    if (type === 0xdd) return this.uint(4);
    throw bad('block must be an array');
  }

  /**
   * One entry of the block: a frame (a map) as an object, or whatever else it is (a flat value, or
   * null for a nested one), which the validators then refuse as that frame alone.
   */
  entry(): unknown {
    const next = this.bytes[this.at];
    if (next === undefined || ((next & 0xf0) !== 0x80 && next !== 0xde && next !== 0xdf)) {
      const value = this.value(0);
      return value === SKIPPED ? null : value;
    }
    const type = this.byte();
    const entries = type === 0xde ? this.uint(2) : type === 0xdf ? this.uint(4) : type & 0x0f;
    if (entries > this.bytes.length - this.at) throw bad('block cut short');
    // A plain object, not Object.create(null): V8 keeps those in dictionary mode, a hash table per
    // frame. Frames of one type then share one hidden class.
    const frame: Record<string, unknown> = {};
    for (let i = 0; i < entries; i++) {
      const key = this.value(0);
      const value = this.value(0);
      // Keys are strings in every frame; another key cannot name a field, so it is dropped, and so
      // is `__proto__`, which would set the prototype. A nested value reads as nil, which no field
      // accepts (dropping it would pass for an absent optional field).
      if (typeof key === 'string' && key !== '__proto__') frame[key] = value === SKIPPED ? null : value;
    }
    return frame;
  }

  /** A flat value, or {@link SKIPPED} once a nested one (`depth` deep) has been walked past. */
  private value(depth: number): unknown {
    const type = this.byte();
    if (type < 0x80) return type;
    if (type >= 0xe0) return type - 0x100;
    if (type >= 0xa0 && type <= 0xbf) return this.string(type & 0x1f);
    if (type >= 0x80 && type <= 0x8f) return this.skipEntries(2 * (type & 0x0f), depth);
    if (type >= 0x90 && type <= 0x9f) return this.skipEntries(type & 0x0f, depth);
    switch (type) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.uint(1));
      case 0xc5:
        return this.bin(this.uint(2));
      case 0xc6:
        return this.bin(this.uint(4));
      case 0xc7:
        return this.skipBytes(this.uint(1) + 1);
      case 0xc8:
        return this.skipBytes(this.uint(2) + 1);
      case 0xc9:
        return this.skipBytes(this.uint(4) + 1);
      case 0xca:
        return this.float(4);
      case 0xcb:
        return this.float(8);
      case 0xcc:
        return this.uint(1);
      case 0xcd:
        return this.uint(2);
      case 0xce:
        return this.uint(4);
      case 0xcf: {
        const high = this.uint(4);
        return high * 0x1_0000_0000 + this.uint(4);
      }
      case 0xd0:
        return (this.uint(1) << 24) >> 24;
      case 0xd1:
        return (this.uint(2) << 16) >> 16;
      case 0xd2:
        return this.uint(4) | 0;
      case 0xd3: {
        const high = this.uint(4) | 0;
        return high * 0x1_0000_0000 + this.uint(4);
      }
      case 0xd4:
        return this.skipBytes(2);
      case 0xd5:
        return this.skipBytes(3);
      case 0xd6:
        return this.skipBytes(5);
      case 0xd7:
        return this.skipBytes(9);
      case 0xd8:
        return this.skipBytes(17);
      case 0xd9:
        return this.string(this.uint(1));
      case 0xda:
        return this.string(this.uint(2));
      case 0xdb:
        return this.string(this.uint(4));
      case 0xdc:
        return this.skipEntries(this.uint(2), depth);
      case 0xdd:
        return this.skipEntries(this.uint(4), depth);
      case 0xde:
        return this.skipEntries(2 * this.uint(2), depth);
      case 0xdf:
        return this.skipEntries(2 * this.uint(4), depth);
      default:
        throw bad('not msgpack'); // 0xc1: never used
    }
  }

  private skipEntries(count: number, depth: number): typeof SKIPPED {
    if (depth >= MAX_SKIP_DEPTH) throw bad('value nested too deep');
    // Each entry takes at least a byte: a count beyond what is left is cut short.
    if (count > this.bytes.length - this.at) throw bad('block cut short');
    for (let i = 0; i < count; i++) this.value(depth + 1);
    return SKIPPED;
  }

  private skipBytes(length: number): typeof SKIPPED {
    this.need(length);
    return SKIPPED;
  }

  private bin(length: number): Uint8Array {
    const start = this.need(length);
    return this.bytes.subarray(start, start + length);
  }

  private string(length: number): string {
    const start = this.need(length);
    return knownString(this.bytes, start, length) ?? utf8.decode(this.bytes.subarray(start, start + length));
  }

  private float(length: 4 | 8): number {
    const start = this.need(length);
    for (let i = 0; i < length; i++) floatBytes[i] = this.bytes[start + i]!;
    return length === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
  }

  private byte(): number {
    return this.bytes[this.need(1)]!;
  }

  /** A big-endian unsigned integer of `length` (1, 2 or 4) bytes. */
  private uint(length: 1 | 2 | 4): number {
    const at = this.need(length);
    const b = this.bytes;
    if (length === 1) return b[at]!;
    if (length === 2) return (b[at]! << 8) | b[at + 1]!;
    return b[at]! * 0x100_0000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  }

  /** Claims the next `length` bytes; returns where they start. */
  private need(length: number): number {
    const start = this.at;
    if (length > this.bytes.length - start) throw bad('block cut short');
    this.at = start + length;
    return start;
  }
}

/**
 * The keys and names every frame carries, as shared strings: found by their bytes instead of
 * decoded into a new string per frame. By length, then compared byte for byte.
 */
const KNOWN_STRINGS = [
  't', 'v', 'ts', 'ok', 'new', 'sub', 'ack', 'del', 'msg', 'ids', 'err', 'end', 'sig', 'corr', 'send', 'ping', 'pong', 'body',
  'auth', 'code', 'hello', 'msgId', 'message', 'relayKey', 'senderId', 'serverKey', 'sessionKey', 'recipientId', 'recipientKey',
];
const KNOWN_BY_LENGTH: { text: string; bytes: Uint8Array }[][] = [];
for (const text of KNOWN_STRINGS) (KNOWN_BY_LENGTH[text.length] ??= []).push({ text, bytes: new TextEncoder().encode(text) });

function knownString(bytes: Uint8Array, start: number, length: number): string | undefined {
  const candidates = KNOWN_BY_LENGTH[length];
  if (!candidates) return undefined;
  next: for (const candidate of candidates) {
    const known = candidate.bytes;
    for (let i = 0; i < length; i++) if (bytes[start + i] !== known[i]) continue next;
    return candidate.text;
  }
  return undefined;
}

function bad(message: string): SealcallError {
  return new SealcallError('BAD_MESSAGE', message);
}
