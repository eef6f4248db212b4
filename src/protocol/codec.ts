import { Packr, Unpackr } from 'msgpackr';
import { SealcallError } from '../errors.js';
import { LIMITS } from './limits.js';
import { PROTOCOL_VERSION, type Message, type OutgoingMessage } from './messages.js';
import { validateMessage } from './validate.js';

// Plain msgpack only: no records or shared structures (a peer could define them), maps decode to
// objects whose `__proto__` keys msgpackr renames, 64-bit ints decode to numbers.
const packr = new Packr({ useRecords: false, structuredClone: false });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  int64AsType: 'number',
});

/**
 * Encodes a message for sending. The message is validated first, so this build never emits
 * anything its own decoder would reject.
 */
export function encodeMessage(message: OutgoingMessage | Message): Uint8Array {
  const stamped = validateMessage({ ...message, v: PROTOCOL_VERSION });
  // msgpackr returns a view into a buffer it reuses on the next call: copy it out.
  const bytes = Uint8Array.from(packr.pack(stamped));
  if (bytes.length > LIMITS.messageBytes) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `message is ${bytes.length} bytes, over ${LIMITS.messageBytes}`);
  }
  return bytes;
}

/** Decodes and validates untrusted bytes. Throws only {@link SealcallError}. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length > LIMITS.messageBytes) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `message is ${bytes.length} bytes, over ${LIMITS.messageBytes}`);
  }
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (cause) {
    throw new SealcallError('BAD_MESSAGE', 'message is not valid msgpack', { cause });
  }
  return validateMessage(value);
}
