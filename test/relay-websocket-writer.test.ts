import { afterEach, describe, expect, it } from 'vitest';
import { decodeRelayBlock, type RelayFrame } from '../src/protocol/relay-frames.js';
import { sendBlock } from '../src/relay/websocket-writer.js';
import { afterMessages, closeHandshake, connectedWsPair } from './helpers/ws-pair.js';

// The relay writes its blocks to the TCP socket itself, WebSocket header included (see
// src/relay/websocket-writer.ts). A real `ws` client, which checks every frame header, must read
// them as the binary messages `ws.send` would have made, in order with `ws`'s own pings.

const open: { close(): void }[] = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** A `msg` frame whose block is about `bytes` long. */
function msg(bytes: number, fill: number): RelayFrame {
  return { t: 'msg', recipientId: new Uint8Array(16).fill(fill), msgId: new Uint8Array(16).fill(fill), ts: 1_733_270_000_123, body: new Uint8Array(bytes).fill(fill) };
}

describe('sendBlock (relay blocks written with their WebSocket header)', () => {
  it('is read as binary messages of every header length (7, 16 and 64-bit), in order with pings', async () => {
    const { server, client } = await connectedWsPair(open, { perMessageDeflate: false });
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
    await afterMessages(client, () => blocks.length === sent.length);
    expect(events).toEqual(['binary', 'ping', 'binary', 'binary', 'ping', 'binary']);
    expect(blocks).toEqual(sent);
    // The stream is still in step: the close handshake completes.
    expect(await closeHandshake(server, client)).toBe(1000);
  }, 5_000); // a wrong length leaves the client waiting for bytes that never come

  it('counts in bufferedAmount what the socket has not taken yet', async () => {
    const { server, client } = await connectedWsPair(open, { perMessageDeflate: false });
    client.pause(); // the client stops reading: the server's socket fills
    const block = [msg(60_000, 7)];
    // The kernel takes the first few hundred KiB; then the relay's slow-client guard must see the rest.
    for (let i = 0; i < 200 && server.bufferedAmount === 0; i++) sendBlock(server, block);
    expect(server.bufferedAmount).toBeGreaterThan(0);
  });
});
