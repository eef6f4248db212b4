import { SealcallError } from '../errors.js';

/**
 * Readers for decoded, untrusted values: each checks one JS type and never calls into the value,
 * so building a fresh object from them keeps nothing a sender smuggled in.
 */

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

/**
 * Exactly `length` bytes, copied into a fresh plain Uint8Array (never a view into the frame),
 * unless `copy` is false: then the value itself, for a caller that keeps none of it.
 */
export function fixedBytes(value: unknown, name: string, length: number, copy = true): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) throw bad(`${name} must be ${length} bytes`);
  return copy ? new Uint8Array(value) : value;
}

/** At most `max` bytes, copied into a fresh plain Uint8Array unless `copy` is false (see {@link fixedBytes}). */
export function bytesUpTo(value: unknown, name: string, max: number, copy = true): Uint8Array {
  if (!(value instanceof Uint8Array)) throw bad(`${name} must be bytes`);
  if (value.length > max) throw new SealcallError('MESSAGE_TOO_LARGE', `${name} is over ${max} bytes`);
  return copy ? new Uint8Array(value) : value;
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

/** A boolean. */
export function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw bad(`${name} must be a boolean`);
  return value;
}

/** A `BAD_MESSAGE` error. */
export function bad(message: string): SealcallError {
  return new SealcallError('BAD_MESSAGE', message);
}
