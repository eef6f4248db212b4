/**
 * RFC 6455 §5.2 framing of one binary message, for the two places that write a block with its
 * WebSocket header in the same buffer instead of through `ws`'s sender (see
 * relay/websocket-writer.ts and relay-client/websocket-writer.ts for why, and why it is safe).
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

/** XORs `out[from..to)` with the 4-byte masking key, in place (RFC 6455 §5.3). */
export function maskPayload(out: Uint8Array, from: number, to: number, maskKey: Uint8Array): void {
  const k0 = maskKey[0]!;
  const k1 = maskKey[1]!;
  const k2 = maskKey[2]!;
  const k3 = maskKey[3]!;
  let i = from;
  for (; i + 3 < to; i += 4) {
    out[i] = out[i]! ^ k0;
    out[i + 1] = out[i + 1]! ^ k1;
    out[i + 2] = out[i + 2]! ^ k2;
    out[i + 3] = out[i + 3]! ^ k3;
  }
  for (let j = 0; i < to; i++, j++) out[i] = out[i]! ^ maskKey[j]!;
}
