/**
 * RFC 6455 §5.2 framing of one binary message, for the two places that write a block with its
 * WebSocket header in the same buffer instead of through `ws`'s sender (see
 * relay/websocket-writer.ts and relay-client/websocket-writer.ts for why, and why it is safe),
 * and masking, which the relay's own reader of client frames (relay/websocket-reader.ts) undoes.
 */

/** Header bytes of a binary frame carrying `payloadBytes`: 2, 4 or 10, plus 4 for a masking key. */
export function frameHeaderBytes(payloadBytes: number, masked: boolean): number {
  return (payloadBytes < 126 ? 2 : payloadBytes < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes the header at the start of `out`: FIN, the binary opcode, the payload length as a 7-bit
 * value, or 126 and 16 bits, or 127 and 64 bits (blocks are far below 2^32 bytes), then the
 * masking key if there is one (a client's frames must carry one; a server's must not).
 */
export function writeFrameHeader(out: Uint8Array, payloadBytes: number, maskKey?: Uint8Array): void {
  out[0] = 0x82;
  const maskBit = maskKey ? 0x80 : 0;
  let at: number;
  if (payloadBytes < 126) {
    out[1] = maskBit | payloadBytes;
    at = 2;
  } else if (payloadBytes < 0x10000) {
    out[1] = maskBit | 126;
    out[2] = payloadBytes >>> 8;
    out[3] = payloadBytes & 0xff;
    at = 4;
  } else {
    out[1] = maskBit | 127;
    out.fill(0, 2, 6);
    out[6] = payloadBytes >>> 24;
    out[7] = (payloadBytes >>> 16) & 0xff;
    out[8] = (payloadBytes >>> 8) & 0xff;
    out[9] = payloadBytes & 0xff;
    at = 10;
  }
  if (maskKey) out.set(maskKey.subarray(0, 4), at);
}

/** Whether this platform stores a 32-bit word's lowest byte first (every platform Node runs on). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Payloads shorter than this are masked byte by byte: a word view costs more than it saves. */
const WORDS_FROM = 64;

/**
 * XORs `out[from..to)` with the 4-byte masking key `maskKey[keyAt..keyAt + 4)`, in place (RFC
 * 6455 §5.3; the same XOR masks and unmasks): byte `i` of the payload with key byte `i mod 4`. The
 * key may lie in `out` itself, before `from` (a received frame's). A long payload goes 32 bits at
 * a time from the first 4-byte boundary of the underlying buffer, with the key rotated to that
 * boundary: about twice as fast as byte by byte for a 3 KB block.
 */
export function maskPayload(out: Uint8Array, from: number, to: number, maskKey: Uint8Array, keyAt = 0): void {
  let i = from;
  if (to - from >= WORDS_FROM) {
    for (; ((out.byteOffset + i) & 3) !== 0; i++) out[i] = out[i]! ^ maskKey[keyAt + ((i - from) & 3)]!;
    const words = (to - i) >>> 2;
    const r = (i - from) & 3;
    const b0 = maskKey[keyAt + r]!;
    const b1 = maskKey[keyAt + ((r + 1) & 3)]!;
    const b2 = maskKey[keyAt + ((r + 2) & 3)]!;
    const b3 = maskKey[keyAt + ((r + 3) & 3)]!;
    const key = LITTLE_ENDIAN ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24) : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
    const view = new Int32Array(out.buffer, out.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = view[w]! ^ key;
    i += words * 4;
  }
  for (; i < to; i++) out[i] = out[i]! ^ maskKey[keyAt + ((i - from) & 3)]!;
}
