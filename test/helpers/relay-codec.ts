import {
  encodeClientBlock,
  encodeRelayBlock,
  unpackBlock,
  validateClientFrame,
  validateRelayFrame,
  type ClientFrame,
  type RelayFrame,
} from '../../src/protocol/relay-frames.js';

/** One client frame as a block of one. */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  return encodeClientBlock([frame]);
}

/** One relay frame as a block of one (validated first, unlike the relay's own encoder). */
export function encodeRelayFrame(frame: RelayFrame): Uint8Array {
  return encodeRelayBlock([validateRelayFrame(frame)]);
}

/** Every frame of a client block; throws on the first malformed one. */
export function decodeClientFrames(bytes: Uint8Array): ClientFrame[] {
  return unpackBlock(bytes).map(validateClientFrame);
}

/** Every frame of a relay block; throws on the first malformed one. */
export function decodeRelayFrames(bytes: Uint8Array): RelayFrame[] {
  return unpackBlock(bytes).map(validateRelayFrame);
}
