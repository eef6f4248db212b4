import type { Socket } from 'node:net';

/**
 * One buffer, reused, for the blocks the relay and WebSocketTransport write straight to a Node
 * socket (relay/websocket-writer.ts, relay-client/websocket-writer.ts).
 *
 * Why: a fresh buffer per block is a fresh ArrayBuffer (or a share of one of Node's pool slabs),
 * and V8 counts ArrayBuffer bytes allocated since its last full GC against the old generation's
 * headroom: with 3 KB bodies, the relay's copies (each body read, sealed and written) brought a
 * full GC every ~140 ms in the load bench, in the relay and in its clients alike.
 *
 * Why it is safe: a socket write that goes out at once (the usual case: the kernel takes the
 * bytes) keeps nothing; one that does not holds its buffer until done, and then the socket's
 * `writableLength` is not 0. So a block is written from this buffer only into a socket with
 * nothing queued, and if the socket keeps it, the buffer is the socket's and a new one is made for
 * the next block. At 8 KiB (Node's pool slab), a write still pending holds no more memory than a
 * pooled Buffer would.
 */
const REUSED_BYTES = 8 * 1024;

let reusable: Buffer | undefined;

/**
 * A buffer of exactly `bytes` for one write to `socket` with {@link writeBlockBuffer}, every byte
 * to be written by the caller: a view of the reusable buffer when it fits and `socket` has nothing
 * queued, a new one otherwise.
 */
export function blockBuffer(socket: Socket, bytes: number): Buffer {
  if (bytes > REUSED_BYTES || socket.writableLength !== 0) return Buffer.allocUnsafe(bytes);
  reusable ??= Buffer.allocUnsafeSlow(REUSED_BYTES);
  return reusable.subarray(0, bytes);
}

/** Writes a buffer from {@link blockBuffer} to `socket`; if the socket keeps it, it is the socket's. */
export function writeBlockBuffer(socket: Socket, buffer: Buffer): void {
  socket.write(buffer);
  if (reusable !== undefined && buffer.buffer === reusable.buffer && socket.writableLength !== 0) reusable = undefined;
}
