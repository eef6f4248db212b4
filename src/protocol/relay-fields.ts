import { Packr, Unpackr } from 'msgpackr';
import { SealcallError } from '../errors.js';

// The same safe settings as codec.ts: plain msgpack only (no records or shared structures a peer
// could define), maps decode to objects whose `__proto__` keys msgpackr renames, 64-bit ints
// decode to numbers. Everything decoded is still untrusted until a reader below accepts it.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  int64AsType: 'number',
});

/** Packs a plain value as msgpack. Returns a fresh copy (msgpackr reuses its output buffer). */
export function pack(value: unknown): Uint8Array {
  return Uint8Array.from(packr.pack(value));
}

/**
 * Unpacks untrusted bytes of at most `maxBytes`. Throws `MESSAGE_TOO_LARGE` or `BAD_MESSAGE`,
 * never anything else; the result must still go through the readers below.
 */
export function unpackUntrusted(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw bad(`${what} must be bytes`);
  if (bytes.length > maxBytes) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `${what} is ${bytes.length} bytes, over ${maxBytes}`);
  }
  try {
    return unpackr.unpack(bytes);
  } catch (cause) {
    throw new SealcallError('BAD_MESSAGE', `${what} is not valid msgpack`, { cause });
  }
}

// ---- readers: each checks one JS type and never calls into the value ----

/** A plain map (not an array, class instance, Map or Set). */
export function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${name} must be a map`);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw bad(`${name} must be a plain map`);
  return value as Record<string, unknown>;
}

/** Own properties only: an inherited or prototype-polluted key reads as absent. */
export function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** An array of at most `max` entries. */
export function list(value: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw bad(`${name} must be an array`);
  if (value.length > max) throw new SealcallError('MESSAGE_TOO_LARGE', `${name} has more than ${max} entries`);
  return value;
}

/** Exactly `length` bytes, copied into a fresh plain Uint8Array (never a view into the frame). */
export function fixedBytes(value: unknown, name: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) throw bad(`${name} must be ${length} bytes`);
  return new Uint8Array(value);
}

/** At most `max` bytes, copied into a fresh plain Uint8Array. */
export function bytesUpTo(value: unknown, name: string, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw bad(`${name} must be bytes`);
  if (value.length > max) throw new SealcallError('MESSAGE_TOO_LARGE', `${name} is over ${max} bytes`);
  return new Uint8Array(value);
}

/** A string of at most `max` UTF-16 units. */
export function text(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string') throw bad(`${name} must be a string`);
  if (value.length > max) throw new SealcallError('MESSAGE_TOO_LARGE', `${name} is longer than ${max} characters`);
  return value;
}

/** An integer in `0..max`. */
export function uint(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw bad(`${name} must be an integer in 0..${max}`);
  }
  return value;
}

/** One of the `allowed` strings. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw bad(`${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** A `BAD_MESSAGE` error. */
export function bad(message: string): SealcallError {
  return new SealcallError('BAD_MESSAGE', message);
}
