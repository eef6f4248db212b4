import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { blockBuffer, writeBlockBuffer } from '../src/protocol/socket-write-buffer.js';

// The relay and WebSocketTransport write each block from one reused buffer while the socket takes
// every write at once (src/protocol/socket-write-buffer.ts). A write the socket keeps must never
// see its bytes overwritten by the next block: checked on a real TCP pair whose reader stops.

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A connected TCP pair on 127.0.0.1: `writer` writes, `reader` receives. */
async function tcpPair(): Promise<{ writer: net.Socket; reader: net.Socket }> {
  const server = net.createServer();
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  sockets.push(writer);
  await once(writer, 'connect');
  const [reader] = await accepted;
  sockets.push(reader);
  return { writer, reader };
}

/** Fills `buffer` as block `index`: the index in its first 4 bytes, then a byte pattern of its own. */
function fillBlock(buffer: Buffer, index: number): void {
  buffer.writeUInt32BE(index, 0);
  for (let i = 4; i < buffer.length; i++) buffer[i] = (index * 31 + i) & 0xff;
}

/** Everything `reader` receives, once it is as long as the `blocks` written to it. */
function readBytes(reader: net.Socket, blocks: Buffer[]): Promise<Buffer> {
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const chunks: Buffer[] = [];
  let bytes = 0;
  return new Promise((resolve) => {
    reader.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= total) resolve(Buffer.concat(chunks));
    });
  });
}

describe('blockBuffer / writeBlockBuffer', () => {
  it('reuses one buffer while each write leaves at once', async () => {
    const { writer } = await tcpPair();
    const first = blockBuffer(writer, 600);
    fillBlock(first, 0);
    writeBlockBuffer(writer, first);
    expect(writer.writableLength).toBe(0); // the kernel took it
    const second = blockBuffer(writer, 3_200);
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(3_200);
    fillBlock(second, 1);
    writeBlockBuffer(writer, second);
  });

  it('gives a block over 8 KiB a buffer of its own', async () => {
    const { writer } = await tcpPair();
    const reused = blockBuffer(writer, 100);
    expect(blockBuffer(writer, 8 * 1024 + 1).buffer).not.toBe(reused.buffer);
    expect(blockBuffer(writer, 8 * 1024).buffer).toBe(reused.buffer);
  });

  it('never writes over a block a socket still holds, for it or another socket: every byte arrives as written', async () => {
    const { writer, reader } = await tcpPair();
    // A second connection whose reader keeps reading: each block written to it while the first
    // holds one must not be written into the held buffer.
    const other = await tcpPair();
    const otherBlocks: Buffer[] = [];
    reader.pause(); // the reader stops: the kernel's buffers fill, and then the socket keeps writes
    const sizes = [600, 3_200, 8_000, 1_500];
    const expected: Buffer[] = [];
    let held = 0;
    for (let index = 0; held < 50; index++) {
      if (index > 100_000) throw new Error('the socket never held a write');
      const block = blockBuffer(writer, sizes[index % sizes.length]!);
      fillBlock(block, index);
      expected.push(Buffer.from(block));
      writeBlockBuffer(writer, block);
      if (writer.writableLength !== 0) {
        held++;
        const otherBlock = blockBuffer(other.writer, 8 * 1024); // all of the reused buffer
        fillBlock(otherBlock, 1_000_000 + held);
        otherBlocks.push(Buffer.from(otherBlock));
        writeBlockBuffer(other.writer, otherBlock);
      }
    }
    // A socket with bytes queued gets a buffer of its own: the reused one would only be held too.
    const reused = blockBuffer(other.writer, 100).buffer;
    expect(blockBuffer(writer, 100).buffer).not.toBe(reused);
    const received = readBytes(reader, expected);
    const otherReceived = readBytes(other.reader, otherBlocks);
    reader.resume();
    expect((await received).equals(Buffer.concat(expected))).toBe(true);
    expect((await otherReceived).equals(Buffer.concat(otherBlocks))).toBe(true);
  });
});
