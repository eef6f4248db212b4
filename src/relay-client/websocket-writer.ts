import type { Socket } from 'node:net';
import { RandomPool } from '../crypto/random-pool.js';
import { measureBlock, packClientBlock, writeBlockFrom, type ClientFrame } from '../protocol/relay-frames.js';
import { blockBuffer, writeBlockBuffer } from '../protocol/socket-write-buffer.js';
import { frameHeaderBytes, maskPayload, writeFrameHeader } from '../protocol/websocket-frame.js';
import { WS_OPEN, type WebSocketLike } from './websocket-like.js';

/**
 * Sends a block of client frames (each checked already) as one binary WebSocket message.
 *
 * On Node's `ws`, the block is written into one buffer after its frame header (reused while
 * writes leave at once: protocol/socket-write-buffer.ts), masked in place and handed to the
 * socket: `ws.send` would copy it into a new buffer to mask it and allocate its options and
 * framing objects, for every `send` and every `ack` a client makes. A browser's or React
 * Native's WebSocket (no socket of its own to reach) sends it as usual.
 *
 * Why this keeps the stream valid, as the relay's own writer (relay/websocket-writer.ts): with no
 * extension negotiated (the relay never compresses) and no `Blob` ever sent, `ws` writes every
 * frame to the socket at once, so its own frames (pongs, close) and these stay in order.
 */
export function sendClientBlock(ws: WebSocketLike, frames: readonly ClientFrame[]): void {
  const socket = rawSocket(ws);
  if (!socket) {
    ws.send(packClientBlock(frames));
    return;
  }
  const size = measureBlock(frames);
  const start = frameHeaderBytes(size, true);
  // Node only here (a Node socket was found). Every byte is written below.
  const buffer = blockBuffer(socket, start + size);
  if (writeBlockFrom(buffer, start, frames) !== buffer.length) throw new Error('client block length mismatch');
  const key = maskKey();
  writeFrameHeader(buffer, size, key);
  maskPayload(buffer, start, buffer.length, key);
  writeBlockBuffer(socket, buffer);
}

/**
 * The TCP socket under an open `ws` WebSocket with no extension, or undefined for any other kind
 * (and for a socket closing: `send` then reports it as `ws` does).
 */
function rawSocket(ws: WebSocketLike): Socket | undefined {
  const inner = ws as WebSocketLike & { _socket?: Socket | null; extensions?: unknown };
  if (inner.readyState !== WS_OPEN || inner.extensions !== '' || !inner._socket || typeof inner._socket.write !== 'function') return undefined;
  return inner._socket;
}

/** Masking keys, made on first use: a module imported where no block is ever written this way need not have WebCrypto. */
let maskKeys: RandomPool | undefined;

/**
 * A fresh masking key per frame, from the platform's CSPRNG drawn 8 KiB at a time (as `ws` does):
 * RFC 6455 §5.3 wants keys a party on the path cannot predict.
 */
function maskKey(): Uint8Array {
  maskKeys ??= new RandomPool(8192);
  return maskKeys.bytes(4);
}
