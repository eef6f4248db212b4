import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, type Identity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import { generateRelayIdentity, generateRelayKeyPair, signHello } from '../src/crypto/relay-keys.js';
import { encodeRelayBlock, RELAY_PROTOCOL_VERSION } from '../src/protocol/relay-frames.js';
import { withFingerprint } from '../src/protocol/relay-url.js';
import { openStoreLog, readStoreLog } from '../src/relay/store-log.js';
import type { WebSocketLike } from '../src/relay-client/websocket-like.js';
import { backoffDelay } from '../src/relay-client/backoff.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { decodeRelayFrames, encodeRelayFrame } from './helpers/relay-codec.js';
import { hasCode, inbox, recordingWebSocket, RelayFixture, statuses, text, until } from './helpers/relay-fixture.js';

// WebSocketTransport when the relay goes away: reconnects with backoff, held sends, giving up.
const f = new RelayFixture();
beforeAll(() => ready());
afterEach(() => f.close());

describe('WebSocketTransport: resilience', () => {
  it('backs off exponentially with full jitter', () => {
    const options = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, options, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(5, options, () => 0)).toBe(0);
    expect(backoffDelay(1e6, {}, () => 0.5)).toBe(5000);
  });

  it('survives a relay restart (same store, same port): reconnecting → connected, held sends delivered once', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    const sockets = recordingWebSocket(); // both users' sockets
    const { alice, bob } = await f.pair(relay, { WebSocket: sockets.WebSocket });
    const aliceStatus = statuses(alice);
    const bobStatus = statuses(bob);
    const atBob = inbox(bob);
    await alice.send('bob', text('before'));
    await until(() => atBob.length === 1);

    await f.stop(relay);
    await until(() => alice.status === 'reconnecting' && bob.status === 'reconnecting');
    const held = [1, 2, 3].map((i) => alice.send('bob', text(`held ${i}`)));
    // A few failed attempts (each a new socket, of alice's or bob's) while the relay is down.
    const attempts = sockets.record.made;
    await until(() => sockets.record.made >= attempts + 4);
    await f.start({ storePath }, port);
    await Promise.all(held);
    // One more behind them: a second copy of any would come before it.
    await alice.send('bob', text('last'));
    await until(() => atBob.some(([, t]) => t === 'last'));
    expect(atBob.map(([, t]) => t)).toEqual(['before', 'held 1', 'held 2', 'held 3', 'last']);
    await until(() => alice.status === 'connected' && bob.status === 'connected');
    expect(aliceStatus.list).toEqual(['reconnecting', 'connected']);
    expect(bobStatus.list).toEqual(['reconnecting', 'connected']);
    // Subscriptions resumed: new messages flow both ways.
    const atAlice = inbox(alice);
    await bob.send('alice', text('after'));
    await until(() => atAlice.length === 1);
  });

  it('resends what was in flight when the relay went down, and the receiver gets each message once, in order', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    const { alice, bob } = await f.pair(relay);
    const atBob = inbox(bob);
    const sends = Array.from({ length: 200 }, (_, i) => alice.send('bob', text(`#${i}`)));
    await until(() => relay.stats.messagesReceived >= 20, 5000);
    await f.stop(relay); // while the rest are on the wire or waiting for their ok
    const firstRun = relay.stats.messagesReceived;
    const second = await f.start({ storePath }, port);
    await Promise.all(sends);
    expect(firstRun + second.stats.messagesReceived).toBeGreaterThanOrEqual(200);
    // One more behind them all: a second copy of any would come before it.
    await alice.send('bob', text('end'));
    await until(() => atBob.some(([, t]) => t === 'end'), 10_000);
    expect(atBob.map(([, t]) => t)).toEqual([...Array.from({ length: 200 }, (_, i) => `#${i}`), 'end']);
  });

  it('delivers once a message whose ok was lost: resent after reconnecting, stored twice, handed over once', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    let dropOks = false;
    /** A WebSocket that loses the relay's `ok` replies while `dropOks` is set. */
    class OkLosingWebSocket implements WebSocketLike {
      private readonly inner: WebSocket;
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: unknown) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor(url: string) {
        this.inner = new WebSocket(url);
        this.inner.binaryType = 'arraybuffer';
        this.inner.onopen = (e) => this.onopen?.(e);
        this.inner.onclose = (e) => this.onclose?.(e);
        this.inner.onerror = (e) => this.onerror?.(e);
        this.inner.onmessage = (e) => {
          if (dropOks) {
            // An ok may share a block with other frames: only it is lost.
            const frames = decodeRelayFrames(new Uint8Array(e.data as ArrayBuffer));
            const kept = frames.filter((frame) => frame.t !== 'ok');
            if (kept.length === 0) return;
            if (kept.length < frames.length) return this.onmessage?.({ data: encodeRelayBlock(kept) });
          }
          this.onmessage?.(e);
        };
      }
      get binaryType() { return 'arraybuffer'; }
      set binaryType(_: string) {}
      get readyState() { return this.inner.readyState; }
      get bufferedAmount() { return this.inner.bufferedAmount; }
      send(data: Uint8Array) { this.inner.send(data); }
      close(code?: number, reason?: string) { this.inner.close(code, reason); }
    }
    const bob = await f.user(relay);
    const alice = await f.user(relay, { WebSocket: OkLosingWebSocket });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const atBob = inbox(bob);
    dropOks = true; // after alice's sub was answered
    const sent = alice.send('bob', text('exactly once'));
    await until(() => atBob.length === 1);
    expect(relay.stats.messagesReceived).toBe(1); // stored and delivered, but alice never heard ok
    dropOks = false;
    await f.stop(relay);
    const restarted = await f.start({ storePath }, port);
    await sent; // resent on the new connection, acknowledged this time
    expect(restarted.stats.messagesReceived).toBe(1); // a second copy under a new message id
    await until(() => restarted.stats.bytesQueued === 0); // bob acknowledged the copy…
    expect(atBob).toEqual([['alice', 'exactly once']]); // …without handing it over again
  });

  it('gives up after maxReconnectAttempts: status failed with RELAY_UNREACHABLE, sends reject', async () => {
    const relay = await f.start();
    const { alice } = await f.pair(relay, { maxReconnectAttempts: 3 });
    const status = statuses(alice);
    await f.stop(relay);
    await until(() => alice.status === 'reconnecting');
    const pending = alice.send('bob', text('never'));
    // Sends go on their own link, which gives up on its own schedule; the receiving link too.
    await expect(pending).rejects.toSatisfy(hasCode('RELAY_UNREACHABLE'));
    await until(() => alice.status === 'failed');
    expect(status.list).toEqual(['reconnecting', 'failed']);
    expect(status.errors.at(-1)).toBe('RELAY_UNREACHABLE');
    await expect(alice.send('bob', text('later'))).rejects.toSatisfy(hasCode('RELAY_UNREACHABLE'));
    alice.close();
    await expect(alice.send('bob', text('closed'))).rejects.toSatisfy(hasCode('TRANSPORT_CLOSED'));
  });

  it('rejects sends beyond maxBuffered with TRANSPORT_BUFFER_FULL while disconnected', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    const { alice, bob } = await f.pair(relay, { maxBuffered: 2 });
    const atBob = inbox(bob);
    await f.stop(relay);
    await until(() => alice.status === 'reconnecting');
    const held = [alice.send('bob', text('1')), alice.send('bob', text('2'))];
    await expect(alice.send('bob', text('3'))).rejects.toSatisfy(hasCode('TRANSPORT_BUFFER_FULL'));
    await f.start({ storePath }, port);
    await Promise.all(held);
    await until(() => atBob.length === 2);
    expect(atBob.map(([, t]) => t)).toEqual(['1', '2']);
  });

  it('fails with QUEUE_NOT_FOUND when the relay comes back with its key but without its queues', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    const { alice } = await f.pair(relay);
    const status = statuses(alice);
    await f.stop(relay);
    // A store holding the same identity and no queue (as if the queues were lost).
    const { identity } = (await readStoreLog(storePath))!;
    const emptyPath = f.tempStore();
    const { log } = await openStoreLog(emptyPath, { debounceMs: 0, logger: () => {}, newIdentity: () => identity, snapshot: () => [] });
    await log.close();
    const again = await f.start({ storePath: emptyPath }, port);
    expect(again.address!.url).toBe(relay.address!.url);
    await until(() => alice.status === 'failed');
    expect(status.errors.at(-1)).toBe('QUEUE_NOT_FOUND');
  });

  it('fails with RELAY_KEY_MISMATCH when a relay without storePath restarts (a new key: another relay to its clients)', async () => {
    const relay = await f.start();
    const port = relay.address!.port;
    const { alice } = await f.pair(relay);
    const status = statuses(alice);
    await f.stop(relay);
    const again = await f.start({}, port);
    expect(again.address!.url).not.toBe(relay.address!.url);
    await until(() => alice.status === 'failed');
    expect(status.errors.at(-1)).toBe('RELAY_KEY_MISMATCH');
    await expect(alice.send('bob', text('to whom?'))).rejects.toSatisfy(hasCode('RELAY_KEY_MISMATCH'));
    expect(again.stats.messagesReceived).toBe(0);
  });

  it('notices a relay that stops answering (pings) and refuses connect with RELAY_UNREACHABLE', async () => {
    // A "relay" that says a proper hello (so the client gets past the key check) and then never answers anything.
    const identity = generateRelayIdentity();
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    f.track(server);
    await new Promise((r) => server.once('listening', r));
    server.on('connection', (ws) => {
      const session = generateRelayKeyPair();
      const sig = signHello(identity.secretKey, session.publicKey);
      ws.send(encodeRelayFrame({ t: 'hello', v: RELAY_PROTOCOL_VERSION, relayKey: identity.publicKey, sessionKey: session.publicKey, sig }));
    });
    const port = (server.address() as { port: number }).port;
    const url = withFingerprint(`ws://127.0.0.1:${port}`, identity.publicKey);
    const started = Date.now();
    await expect(
      WebSocketTransport.connect({ url, identity: generateIdentity(), WebSocket, pingIntervalMs: 50, pingTimeoutMs: 50 }),
    ).rejects.toSatisfy(hasCode('RELAY_UNREACHABLE'));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses connect to nothing with RELAY_UNREACHABLE, and without a WebSocket implementation with INVALID_ARGUMENT', async () => {
    const identity: Identity = generateIdentity();
    const nothing = withFingerprint('ws://127.0.0.1:9', generateRelayIdentity().publicKey);
    await expect(WebSocketTransport.connect({ url: nothing, identity, WebSocket })).rejects.toSatisfy(hasCode('RELAY_UNREACHABLE'));
    await expect(WebSocketTransport.connect({ url: 'http://x', identity, WebSocket })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'undefined') {
      await expect(WebSocketTransport.connect({ url: nothing, identity })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    }
  });
});
