/** The one msgpack codec for untrusted bytes: signaling messages, relay frames, the relay store. */
import { Packr, Unpackr } from 'msgpackr';
import { SealcallError } from '../errors.js';

// Safe settings for bytes from the network: plain msgpack only (no records or shared structures a
// peer could define), maps decode to objects whose `__proto__` keys msgpackr renames, 64-bit ints
// decode to numbers. Everything decoded stays untrusted until the readers in fields.ts accept it.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  int64AsType: 'number',
});

/** Packs a plain value as msgpack. Returns a fresh copy (msgpackr reuses its output buffer). */
export function pack(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value));
}

/**
 * Unpacks untrusted bytes of at most `maxBytes`. Throws `MESSAGE_TOO_LARGE` or `BAD_MESSAGE`,
 * never anything else; the result must still go through the readers of fields.ts.
 */
export function unpackUntrusted(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new SealcallError('BAD_MESSAGE', `${what} must be bytes`);
  if (bytes.length > maxBytes) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `${what} is ${bytes.length} bytes, over ${maxBytes}`);
  }
  try {
    return unpackr.unpack(bytes);
  } catch (cause) {
    throw new SealcallError('BAD_MESSAGE', `${what} is not valid msgpack`, { cause });
  }
}
