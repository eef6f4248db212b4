import { afterEach, describe, expect, it } from 'vitest';
import { packClientBlock, unpackBlock, validateClientFrame, type ClientFrame } from '../src/protocol/relay-frames.js';
import { sendClientBlock } from '../src/relay-client/websocket-writer.js';
import type { WebSocketLike } from '../src/relay-client/websocket-like.js';
import { afterMessages, closeHandshake, connectedWsPair } from './helpers/ws-pair.js';

// On Node's `ws`, WebSocketTransport writes its blocks to the TCP socket itself, header and
// masking key included (src/relay-client/websocket-writer.ts). A real `ws` server, which refuses
// an unmasked or misframed client frame by closing the connection, must read them as the binary
// messages `ws.send` would have made, in order with the client's own pongs.

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** A `send` frame whose block is about `bytes` long. */
function send(bytes: number, corr: number): ClientFrame {
  return { t: 'send', corr, senderId: new Uint8Array(16).fill(corr), body: new Uint8Array(bytes).fill(corr) };
}

const ack: ClientFrame = { t: 'ack', corr: 9, recipientId: new Uint8Array(16).fill(1), msgId: new Uint8Array(16).fill(2), auth: new Uint8Array(32).fill(3) };

describe('sendClientBlock (client blocks written with their WebSocket header, masked)', () => {
  it('is read by a ws server as binary messages of every header length (7, 16 and 64-bit), in order with pongs', async () => {
    const { server, client } = await connectedWsPair(open);
    const events: string[] = [];
    const blocks: ClientFrame[][] = [];
    server.on('pong', () => events.push('pong'));
    server.on('message', (data, isBinary) => {
      events.push(isBinary ? 'binary' : 'text');
      blocks.push(unpackBlock(new Uint8Array(data as Buffer)).map(validateClientFrame));
    });
    const sent: ClientFrame[][] = [
      [{ t: 'ping', corr: 1 }], // under 126 bytes: 7-bit length
      [send(3_072, 2), ack], // 16-bit length
      [send(70_000, 4)], // 64-bit length
      [ack],
    ];
    sendClientBlock(client, sent[0]!);
    sendClientBlock(client, sent[1]!);
    // The server's ping is answered by ws's own pong, written between this client's blocks.
    server.ping();
    await new Promise((resolve) => client.once('ping', () => setImmediate(resolve)));
    sendClientBlock(client, sent[2]!);
    sendClientBlock(client, sent[3]!);
    await afterMessages(server, () => blocks.length === sent.length);
    expect(events).toEqual(['binary', 'binary', 'pong', 'binary', 'binary']);
    expect(blocks).toEqual(sent);
    expect(await closeHandshake(client, server)).toBe(1000);
  }, 5_000); // a wrong length leaves the server waiting for bytes that never come

  it('masks each frame with a fresh key, over exactly the bytes of the block', async () => {
    const { client } = await connectedWsPair(open);
    const socket = (client as unknown as { _socket: { write(chunk: Uint8Array): boolean } })._socket;
    const written: Uint8Array[] = [];
    const write = socket.write.bind(socket);
    socket.write = (chunk: Uint8Array) => (written.push(Uint8Array.from(chunk)), write(chunk));
    const frames = [ack];
    for (let i = 0; i < 3; i++) sendClientBlock(client, frames);
    const plain = packClientBlock(frames);
    const keys = written.map((frame) => {
      expect(frame[0]).toBe(0x82); // FIN, binary
      expect(frame[1]).toBe(0x80 | plain.length); // masked, 7-bit length
      const key = frame.subarray(2, 6);
      expect(frame.subarray(6).map((byte, i) => byte ^ key[i % 4]!)).toEqual(plain);
      return Buffer.from(key).toString('hex');
    });
    expect(new Set(keys).size).toBe(3);
  });

  it("sends through the WebSocket's own send where there is no Node socket to reach (a browser's)", () => {
    const sentData: Uint8Array[] = [];
    const browserLike = { send: (data: Uint8Array) => sentData.push(data), readyState: 1, extensions: '' } as unknown as WebSocketLike;
    sendClientBlock(browserLike, [ack]);
    expect(sentData).toEqual([packClientBlock([ack])]);
  });
});
