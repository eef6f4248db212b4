import { SealcallError } from '../errors.js';
import { LIMITS } from './limits.js';
import { PROTOCOL_VERSION, type Message, type OutgoingMessage } from './messages.js';
import { pack, unpackUntrusted } from './msgpack.js';
import { compressSdp } from './sdp-compression.js';
import { validateMessage } from './validate.js';

/**
 * Encodes a message for sending. The message is validated first, so this build never emits
 * anything its own decoder would reject.
 */
export function encodeMessage(message: OutgoingMessage | Message): Uint8Array {
  const stamped = validateMessage({ ...message, v: PROTOCOL_VERSION });
  const bytes = pack(deflateDescriptions(stamped));
  if (bytes.length > LIMITS.messageBytes) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `message is ${bytes.length} bytes, over ${LIMITS.messageBytes}`);
  }
  return bytes;
}

/** Decodes and validates untrusted bytes. Throws only {@link SealcallError}. */
export function decodeMessage(bytes: Uint8Array): Message {
  return validateMessage(unpackUntrusted(bytes, LIMITS.messageBytes, 'message'));
}

/** The wire form of a message: session descriptions travel deflated (`sdpz`), see sdp-compression.ts. */
function deflateDescriptions(message: Message): Record<string, unknown> {
  const deflate = ({ sdp, ...rest }: { sdp: string }) => ({ ...rest, sdpz: compressSdp(sdp) });
  if (message.type === 'offer' || message.type === 'answer') return deflate(message);
  if (message.type === 'renegotiate' && message.description) return { ...message, description: deflate(message.description) };
  return message as unknown as Record<string, unknown>;
}
