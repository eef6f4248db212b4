import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeRelayBlock, type RelayFrame } from '../src/protocol/relay-frames.js';
import { sendBlock } from '../src/relay/websocket-writer.js';

// The relay writes its blocks to the TCP socket itself, WebSocket header included (see
// src/relay/websocket-writer.ts). A real `ws` client, which checks every frame header, must read
// them as the binary messages `ws.send` would have made, in order with `ws`'s own pings.

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** A `ws` server (port 0) and a client connected to it; the server's side of the connection. */
async function connectedPair(): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
  open.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  open.push({ close: () => client.terminate() });
  const server = await accepted;
  open.push({ close: () => server.terminate() });
  await new Promise((resolve) => (client.readyState === WebSocket.OPEN ? resolve(undefined) : client.once('open', resolve)));
  return { server, client };
}

/** A `msg` frame whose block is about `bytes` long. */
function msg(bytes: number, fill: number): RelayFrame {
  return { t: 'msg', recipientId: new Uint8Array(16).fill(fill), msgId: new Uint8Array(16).fill(fill), ts: 1_733_270_000_123, body: new Uint8Array(bytes).fill(fill) };
}

describe('sendBlock (relay blocks written with their WebSocket header)', () => {
  it('is read as binary messages of every header length (7, 16 and 64-bit), in order with pings', async () => {
    const { server, client } = await connectedPair();
    const events: string[] = [];
    const blocks: RelayFrame[][] = [];
    client.on('ping', () => events.push('ping'));
    client.on('message', (data, isBinary) => {
      events.push(isBinary ? 'binary' : 'text');
      blocks.push(decodeRelayBlock(new Uint8Array(data as Buffer)) as RelayFrame[]);
    });
    const sent: RelayFrame[][] = [
      [{ t: 'ok', corr: 1 }], // under 126 bytes: 7-bit length
      [msg(3_072, 2), { t: 'ok', corr: 3 }], // 16-bit length
      [msg(70_000, 4)], // 64-bit length
      [{ t: 'pong', corr: 5 }],
    ];
    sendBlock(server, sent[0]!);
    server.ping();
    sendBlock(server, sent[1]!);
    sendBlock(server, sent[2]!);
    server.ping();
    sendBlock(server, sent[3]!);
    await new Promise<void>((resolve) => {
      const check = () => (blocks.length === sent.length ? resolve() : client.once('message', () => setImmediate(check)));
      check();
    });
    expect(events).toEqual(['binary', 'ping', 'binary', 'binary', 'ping', 'binary']);
    expect(blocks).toEqual(sent);
    // The stream is still in step: the close handshake completes.
    const closed = new Promise<number>((resolve) => client.once('close', resolve));
    server.close(1000);
    expect(await closed).toBe(1000);
  }, 5_000); // a wrong length leaves the client waiting for bytes that never come

  it('counts in bufferedAmount what the socket has not taken yet', async () => {
    const { server, client } = await connectedPair();
    client.pause(); // the client stops reading: the server's socket fills
    const block = [msg(60_000, 7)];
    // The kernel takes the first few hundred KiB; then the relay's slow-client guard must see the rest.
    for (let i = 0; i < 200 && server.bufferedAmount === 0; i++) sendBlock(server, block);
    expect(server.bufferedAmount).toBeGreaterThan(0);
  });
});
