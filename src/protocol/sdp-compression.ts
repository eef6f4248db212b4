import { deflateSync, inflateSync } from 'fflate';
import { SealcallError } from '../errors.js';
import { LIMITS } from './limits.js';

/*
 * Session descriptions travel deflated (raw DEFLATE, RFC 1951) as `sdpz`, as SimpleX compresses
 * its SDP: an offer shrinks to about a third, so it fits fewer envelopes and smaller size classes.
 * fflate is synchronous and runs in every runtime sealcall targets (Node, browsers, Hermes),
 * unlike CompressionStream.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Deflates a session description. */
export function compressSdp(sdp: string): Uint8Array {
  return deflateSync(encoder.encode(sdp), { level: 9 });
}

/**
 * Inflates an untrusted `sdpz`, never to more than `LIMITS.sdpChars` bytes (a small input must not
 * expand into a large allocation): `MESSAGE_TOO_LARGE` beyond, `BAD_MESSAGE` for anything that is
 * not valid DEFLATE of UTF-8.
 */
export function decompressSdp(bytes: Uint8Array): string {
  const out = new Uint8Array(LIMITS.sdpChars + 1);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(bytes, { out });
  } catch (error) {
    throw new SealcallError('BAD_MESSAGE', 'sdpz is not valid DEFLATE', { cause: error });
  }
  if (inflated.length > LIMITS.sdpChars) throw new SealcallError('MESSAGE_TOO_LARGE', 'sdpz inflates beyond the SDP limit');
  try {
    return decoder.decode(inflated);
  } catch (error) {
    throw new SealcallError('BAD_MESSAGE', 'sdpz is not UTF-8', { cause: error });
  }
}
