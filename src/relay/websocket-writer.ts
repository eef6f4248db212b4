import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { measureBlock, writeBlockFrom, type RelayFrame } from '../protocol/relay-frames.js';
import { blockBuffer, writeBlockBuffer } from '../protocol/socket-write-buffer.js';
import { frameHeaderBytes, writeFrameHeader } from '../protocol/websocket-frame.js';

/**
 * Sends a block of relay frames as one binary WebSocket message, its frame header and payload in
 * one buffer (reused while writes leave at once: protocol/socket-write-buffer.ts) and one socket
 * write.
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
  const size = measureBlock(frames);
  if (!socket) {
    // Not a `ws` socket as this module knows it (a future `ws` that renamed `_socket`): its own way.
    const buffer = Buffer.allocUnsafe(size);
    if (writeBlockFrom(buffer, 0, frames) !== buffer.length) throw new Error('relay block length mismatch');
    ws.send(buffer);
    return;
  }
  const start = frameHeaderBytes(size, false);
  // Every byte is written below, none left stale.
  const buffer = blockBuffer(socket, start + size);
  if (writeBlockFrom(buffer, start, frames) !== buffer.length) throw new Error('relay block length mismatch');
  writeFrameHeader(buffer, size);
  writeBlockBuffer(socket, buffer);
}
