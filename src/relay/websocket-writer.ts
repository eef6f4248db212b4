import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { relayBlockBytes, writeRelayBlock, type RelayFrame } from '../protocol/relay-frames.js';

/**
 * Sends a block of relay frames as one binary WebSocket message, its frame header and payload in
 * one buffer and one socket write.
 *
 * Why not `ws.send`: a server frame leaves it as two chunks (header, payload) written under
 * `cork()`, and Node's writev path allocates arrays and callbacks for each: about a quarter of all
 * the relay allocated per message in the load bench, for what is one write either way.
 *
 * Why this keeps the stream valid: the relay's server never compresses (`perMessageDeflate:
 * false`) and never sends a `Blob`, which are the only cases where `ws` queues a frame instead of
 * writing it to the socket at once. So `ws`'s own frames (pings, close) and these reach the
 * socket in the order they are sent. `bufferedAmount` still counts them: it reads the socket.
 */
export function sendBlock(ws: WebSocket, frames: readonly RelayFrame[]): void {
  const socket = (ws as unknown as { _socket: Socket | null })._socket;
  const size = relayBlockBytes(frames);
  const start = socket ? headerBytes(size) : 0;
  // Node's pool for small ones (no ArrayBuffer of its own), and a Buffer, which the socket takes
  // as it is: most blocks are an `ok` or one `msg`. Every byte is written below, none left stale.
  const buffer = Buffer.allocUnsafe(start + size);
  if (writeRelayBlock(buffer, start, frames) !== buffer.length) throw new Error('relay block length mismatch');
  if (!socket) {
    // Not a `ws` socket as this module knows it (a future `ws` that renamed `_socket`): its own way.
    ws.send(buffer);
    return;
  }
  writeHeader(buffer, size);
  socket.write(buffer);
}

/** RFC 6455 §5.2: a 7-bit length, or 126 and 16 bits, or 127 and 64 bits; a server does not mask. */
function headerBytes(payloadBytes: number): number {
  return payloadBytes < 126 ? 2 : payloadBytes < 0x10000 ? 4 : 10;
}

/** FIN and the binary opcode, then the payload length (blocks are far below 2^32 bytes). */
function writeHeader(out: Uint8Array, payloadBytes: number): void {
  out[0] = 0x82;
  if (payloadBytes < 126) {
    out[1] = payloadBytes;
  } else if (payloadBytes < 0x10000) {
    out[1] = 126;
    out[2] = payloadBytes >>> 8;
    out[3] = payloadBytes & 0xff;
  } else {
    out[1] = 127;
    out.fill(0, 2, 6);
    out[6] = payloadBytes >>> 24;
    out[7] = (payloadBytes >>> 16) & 0xff;
    out[8] = (payloadBytes >>> 8) & 0xff;
    out[9] = payloadBytes & 0xff;
  }
}
