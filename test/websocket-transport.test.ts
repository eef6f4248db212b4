import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CallClient } from '../src/call/call-client.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { sodium } from '../src/crypto/sodium.js';
import { DELIVERY_OVERHEAD, generateRelayIdentity } from '../src/crypto/relay-keys.js';
import { socketUrl, withFingerprint } from '../src/protocol/relay-url.js';
import { toBase64 } from '../src/protocol/base64.js';
import type { ClientFrame, RelayFrame } from '../src/protocol/relay-frames.js';
import { readStoreLog } from '../src/relay/store-log.js';
import { exportQueueState, importQueueState } from '../src/relay-client/queue-state.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { decodeAddress, encodeAddress } from '../src/relay-client/address.js';
import { sealSender } from '../src/relay-client/sealed-sender.js';
import { RelayTap } from './helpers/relay-tap.js';
import { filteringWebSocket, hasCode, inbox, nextTurn, recordingWebSocket, RelayFixture, text, until } from './helpers/relay-fixture.js';

// WebSocketTransport against a real Relay on 127.0.0.1: addresses, sealed sender, fan-out,
// dedupe. Reconnects and failures are in websocket-transport-resilience.test.ts.
const f = new RelayFixture();
let tap: RelayTap | undefined;
afterEach(async () => {
  await f.close();
  await tap?.close();
  tap = undefined;
});

describe('WebSocketTransport: messaging', () => {
  it('exchanges messages both ways via addresses', async () => {
    const relay = await f.start();
    const { alice, bob } = await f.pair(relay);
    expect(alice.status).toBe('connected');
    const atBob = inbox(bob);
    const atAlice = inbox(alice);
    await alice.send('bob', text('hello bob'));
    await bob.send('alice', text('hello alice'));
    await until(() => atBob.length === 1 && atAlice.length === 1);
    expect(atBob).toEqual([['alice', 'hello bob']]);
    expect(atAlice).toEqual([['bob', 'hello alice']]);
    await until(() => relay.stats.bytesQueued === 0); // both acknowledged
  });

  it('encodes addresses compactly and rejects malformed ones with BAD_ADDRESS', async () => {
    const relay = await f.start();
    const t = await f.user(relay);
    expect(t.address).toMatch(/^sc1:[A-Za-z0-9_-]+$/);
    // 48 bytes of ids and key plus the URL, whose 43-character fingerprint is most of it.
    expect(t.address.length).toBeLessThan(160);
    const decoded = decodeAddress(t.address);
    expect(decoded.relayUrl).toBe(relay.address!.url);
    expect(encodeAddress(decoded)).toBe(t.address);
    for (const bad of ['', 'sc2:AAAA', 'sc1:!!!', 'sc1:AAAA', t.address.slice(0, 40), t.address + '=', 'sc1:' + 'A'.repeat(100_000)]) {
      expect(() => decodeAddress(bad), bad.slice(0, 20)).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    }
    const http = encodeAddress({ ...decoded, relayUrl: withFingerprint('ws://x', new Uint8Array(32).fill(7)) }).replace('sc1:', '');
    expect(() => decodeAddress('sc1:' + http.slice(0, -2) + 'AA')).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(() => t.addContact('x', 'nope')).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(() => t.addContact('key:abc', t.address)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('adds a contact once: the address gives both where to send and the key a CallClient reads', async () => {
    const relay = await f.start();
    const bobId = generateIdentity();
    const alice = await f.user(relay);
    const bob = await f.user(relay, { identity: bobId });
    const bobLaptop = await f.user(relay, { identity: bobId });
    expect(alice.contactKey('bob')).toBeUndefined();
    alice.addContact('bob', bob.address);
    alice.addContact('bob', bobLaptop.address);
    expect(alice.contactKey('bob')).toEqual(bobId.publicKey);
    // Another key for the same contact is a mistake, refused without changing anything.
    const stranger = await f.user(relay);
    expect(() => alice.addContact('bob', stranger.address)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(alice.contactKey('bob')).toEqual(bobId.publicKey);
    alice.removeContact('bob');
    expect(alice.contactKey('bob')).toBeUndefined();

    const client = await CallClient.create({ identity: generateIdentity(), transport: alice });
    await expect(client.call('bob', { audio: false, video: false })).rejects.toSatisfy(hasCode('UNKNOWN_CONTACT'));
    await client.close();
    // A transport that cannot name keys needs `contacts`.
    await expect(CallClient.create({ identity: generateIdentity(), transport: { send: async () => {}, onMessage: () => () => {} } })).rejects.toSatisfy(
      hasCode('INVALID_ARGUMENT'),
    );
  });

  it('names a sender whose key is no contact key:<hex>', async () => {
    const relay = await f.start();
    const carolId = generateIdentity();
    const bob = await f.user(relay);
    const carol = await f.user(relay, { identity: carolId });
    carol.addContact('bob', bob.address);
    const atBob = inbox(bob);
    await carol.send('bob', text('who am I'));
    await until(() => atBob.length === 1);
    expect(atBob[0]).toEqual(['key:' + sodium().to_hex(carolId.publicKey), 'who am I']);
    await expect(bob.send('carol', text('?'))).rejects.toSatisfy(hasCode('UNKNOWN_CONTACT'));
  });

  // The payload itself is the app's business: sealcall hands the transport encrypted, padded envelopes.
  it('seals the sender: the relay stores no sender key, name, address or queue id', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const { alice, bob, aliceId } = await f.pair(relay);
    bob.close(); // offline: the messages stay on the relay
    for (let i = 0; i < 5; i++) await alice.send('bob', text(`secret ${i}`));
    await f.stop(relay);
    const file = readFileSync(storePath);
    const bobQueue = decodeAddress(bob.address);
    const bodies = (await readStoreLog(storePath))!.records.find((q) => Buffer.from(q.senderId).equals(Buffer.from(bobQueue.senderId)))!.messages;
    expect(bodies).toHaveLength(5);
    const aliceQueue = decodeAddress(alice.address);
    const needles = [
      ['alice public key', aliceId.publicKey],
      ['alice sender id', aliceQueue.senderId],
      ['alice recipient id', sodium().from_base64(alice.exportState().recipientId, sodium().base64_variants.URLSAFE_NO_PADDING)],
      ['peer id', text('alice')],
    ] as const;
    // Stored as the relay will deliver them: sealed for the recipient (DELIVERY_OVERHEAD more).
    for (const { body } of bodies) {
      expect(body.length).toBe(80 + 'secret 0'.length + DELIVERY_OVERHEAD);
      for (const [name, needle] of needles) expect(Buffer.from(body).includes(Buffer.from(needle)), name).toBe(false);
    }
    // Alice's own queue is on this relay too (its ids are stored), but nothing else about her is.
    for (const [name, needle] of [needles[0], needles[3]]) expect(file.includes(Buffer.from(needle)), name).toBe(false);
    // Five bodies are there, each the fixed 80-byte sealed header plus the payload, plus the relay's layer.
    const restarted = await f.start({ storePath });
    expect(restarted.stats.bytesQueued).toBe(5 * (80 + 'secret 0'.length + DELIVERY_OVERHEAD));
  });

  it('fans out to every device of a contact', async () => {
    const relay = await f.start();
    const bobId = generateIdentity();
    const alice = await f.user(relay);
    const phone = await f.user(relay, { identity: bobId });
    const laptop = await f.user(relay, { identity: bobId });
    alice.addContact('bob', phone.address);
    alice.addContact('bob', laptop.address);
    alice.addContact('bob', laptop.address); // idempotent
    phone.addContact('alice', alice.address);
    laptop.addContact('alice', alice.address);
    const atPhone = inbox(phone);
    const atLaptop = inbox(laptop);
    await alice.send('bob', text('ring ring'));
    // A second message behind it in each queue: a second copy of the first would come before it.
    await alice.send('bob', text('again'));
    await until(() => atPhone.length === 2 && atLaptop.length === 2);
    const both: [string, string][] = [
      ['alice', 'ring ring'],
      ['alice', 'again'],
    ];
    expect(atPhone).toEqual(both);
    expect(atLaptop).toEqual(both);
    // One device gone for good still lets the message reach the other (and warns).
    await laptop.deleteQueue();
    const warnings: string[] = [];
    alice.on('warning', (w) => warnings.push(w.code));
    await alice.send('bob', text('still there'));
    await until(() => atPhone.length === 3);
    expect(atPhone.at(-1)).toEqual(['alice', 'still there']);
    expect(warnings).toEqual(['QUEUE_NOT_FOUND']);
  });

  it('sends to a contact whose queue is on another relay', async () => {
    const here = await f.start();
    const there = await f.start();
    const alice = await f.user(here);
    const bob = await f.user(there);
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const atBob = inbox(bob);
    const atAlice = inbox(alice);
    await alice.send('bob', text('across'));
    await bob.send('alice', text('and back'));
    await until(() => atBob.length === 1 && atAlice.length === 1);
    expect(atBob).toEqual([['alice', 'across']]);
    expect(atAlice).toEqual([['bob', 'and back']]);
    expect(there.stats.connections).toBe(2); // bob's own, and alice's send-only link
  });

  it('reuses its queue from exportState after a restart and gets what arrived meanwhile', async () => {
    const relay = await f.start();
    const bobId = generateIdentity();
    const { alice } = await f.pair(relay);
    const bob = await f.user(relay, { identity: bobId });
    alice.addContact('bob2', bob.address);
    const state = JSON.parse(JSON.stringify(bob.exportState())) as ReturnType<WebSocketTransport['exportState']>;
    const address = bob.address;
    bob.close();
    await alice.send('bob2', text('while you were away'));
    const again = await f.user(relay, { identity: bobId, state });
    expect(again.address).toBe(address);
    const got = inbox(again);
    await until(() => got.length === 1);
    expect(got[0]![1]).toBe('while you were away');
    // A damaged state is refused: a key of the wrong size, a server key with no shared secret.
    for (const bad of [{ ...state, recipientSecretKey: state.recipientId }, { ...state, serverKey: toBase64(new Uint8Array(32), 'url') }]) {
      await expect(f.user(relay, { identity: bobId, state: bad })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    }
  });

  it('stops receiving with QUEUE_TAKEN_OVER when the same state connects again elsewhere, and does not take the queue back', async () => {
    const relay = await f.start();
    const bobId = generateIdentity();
    const { alice } = await f.pair(relay);
    const first = await f.user(relay, { identity: bobId });
    alice.addContact('bob2', first.address);
    const statuses: [string, string | undefined][] = [];
    first.on('status', (status, error) => statuses.push([status, error?.code]));
    const atFirst = inbox(first);

    const second = await f.user(relay, { identity: bobId, state: first.exportState() });
    await until(() => first.status === 'failed');
    expect(statuses).toEqual([['failed', 'QUEUE_TAKEN_OVER']]);
    const atSecond = inbox(second);
    for (let i = 0; i < 3; i++) await alice.send('bob2', text(`for the new one ${i}`));
    await until(() => atSecond.length === 3);
    // The first did not subscribe again (which would have moved the queue back): still failed,
    // no message, and the relay holds only the second's receive connection for this queue.
    expect(first.status).toBe('failed');
    expect(second.status).toBe('connected');
    expect(atFirst).toEqual([]);
    // Sending does not depend on the receiving link.
    first.addContact('alice', alice.address);
    const atAlice = inbox(alice);
    await first.send('alice', text('still sending'));
    await until(() => atAlice.length === 1);
    expect(atAlice[0]![1]).toBe('still sending');
  });

  it('delivers a message to its handler once when the relay redelivers it (lost ack)', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    let dropAcks = true;
    let dropped = 0;
    // Acks may share a block with other frames: only they are dropped.
    const AckDroppingWebSocket = filteringWebSocket((frames) => {
      if (!dropAcks) return frames;
      const kept = frames.filter((frame) => frame.t !== 'ack');
      dropped += frames.length - kept.length;
      return kept;
    });
    const alice = await f.user(relay);
    const bob = await f.user(relay, { WebSocket: AckDroppingWebSocket });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const got = inbox(bob);
    await alice.send('bob', text('once'));
    await until(() => got.length === 1 && dropped === 1);
    expect(relay.stats.bytesQueued).toBeGreaterThan(0); // the ack never reached the relay
    dropAcks = false;
    await f.stop(relay);
    const restarted = await f.start({ storePath }, port);
    // Redelivered on the new subscription, recognised, acknowledged, not handed over again.
    await until(() => bob.status === 'connected' && restarted.stats.bytesQueued === 0);
    expect(got).toEqual([['alice', 'once']]);
  });

  it('drops a second copy of the same sealed body (a sender resend) but acknowledges it', async () => {
    const relay = await f.start();
    const aliceId = generateIdentity();
    const bob = await f.user(relay);
    bob.addContact('alice', encodeAddress({ relayUrl: relay.address!.url, senderId: new Uint8Array(16), publicKey: aliceId.publicKey }));
    const got = inbox(bob);
    const raw = await f.raw(relay);
    const body = sealSender(aliceId.publicKey, decodeAddress(bob.address).publicKey, text('dup'));
    const senderId = decodeAddress(bob.address).senderId;
    expect((await raw.sendTo(senderId, body)).t).toBe('ok');
    expect((await raw.sendTo(senderId, body)).t).toBe('ok');
    await until(() => relay.stats.bytesQueued === 0);
    // Another body behind both in the queue: the copy, had it been handed over, would come first.
    expect((await raw.sendTo(senderId, sealSender(aliceId.publicKey, decodeAddress(bob.address).publicKey, text('next')))).t).toBe('ok');
    await until(() => got.some(([, t]) => t === 'next'));
    expect(got).toEqual([
      ['alice', 'dup'],
      ['alice', 'next'],
    ]);
  });

  it('holds messages that arrive before any handler and acknowledges them once handled', async () => {
    const relay = await f.start();
    const bobSocket = recordingWebSocket();
    const alice = await f.user(relay);
    const bob = await f.user(relay, { WebSocket: bobSocket.WebSocket });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const acks = () => bobSocket.record.sent.filter((frame) => frame.t === 'ack').length;
    await alice.send('bob', text('early'));
    await until(() => bobSocket.record.received.some((frame) => !(frame instanceof Error) && frame.t === 'msg'));
    await nextTurn();
    expect(acks()).toBe(0); // got, held, not acknowledged
    expect(relay.stats.bytesQueued).toBeGreaterThan(0);
    const got = inbox(bob);
    expect(got).toEqual([['alice', 'early']]);
    await until(() => relay.stats.bytesQueued === 0);
    expect(acks()).toBe(1);
  });
});

describe('WebSocketTransport: relay identity, connections and queue state (protocol v2)', () => {
  it('refuses a relay whose key is not the one its URL pins (RELAY_KEY_MISMATCH) before sending it a single frame', async () => {
    const relay = await f.start();
    tap = await RelayTap.start(relay.address!.url);
    const other = generateRelayIdentity().publicKey;
    const identity = generateIdentity();
    // Through the tap, which sees everything the client sends: a URL naming another key.
    await expect(WebSocketTransport.connect({ url: withFingerprint(tap.url, other), identity, WebSocket })).rejects.toSatisfy(hasCode('RELAY_KEY_MISMATCH'));
    // And straight to the relay.
    await expect(WebSocketTransport.connect({ url: withFingerprint(relay.address!.url, other), identity, WebSocket })).rejects.toSatisfy(
      hasCode('RELAY_KEY_MISMATCH'),
    );
    await until(() => relay.stats.connections === 0); // the client hung up: whatever it sent has passed the tap
    // The relay's hello came down; nothing went up (no new, no sub, not even a ping).
    expect(tap.frames.map((t) => `${t.dir} ${t.frame?.t}`)).toEqual(['down hello']);
    expect(relay.stats.queues).toBe(0);
    // The right fingerprint through the same tap works.
    const ok = await f.user(relay, { url: tap.url });
    expect(ok.status).toBe('connected');
    expect(relay.stats.queues).toBe(1);
  });

  it('refuses a relay URL without fingerprint (INVALID_ARGUMENT, no connection) and an address holding one (BAD_ADDRESS)', async () => {
    const relay = await f.start();
    tap = await RelayTap.start(relay.address!.url);
    const identity = generateIdentity();
    const bare = socketUrl(tap.url);
    expect(new URL(bare).username).toBe('');
    const { WebSocket: Recording, record } = recordingWebSocket();
    await expect(WebSocketTransport.connect({ url: bare, identity, WebSocket: Recording })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    await expect(WebSocketTransport.connect({ url: bare.replace(/\/$/, ''), identity, WebSocket: Recording })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    // A malformed fingerprint is no better.
    const short = bare.replace('ws://', 'ws://' + toBase64(new Uint8Array(31), 'url') + '@');
    await expect(WebSocketTransport.connect({ url: short, identity, WebSocket: Recording })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    expect(record.made).toBe(0); // not even a connection attempt
    expect(tap.frames).toEqual([]);

    const t = await f.user(relay);
    const { senderId, publicKey } = decodeAddress(t.address);
    // An address can only be made with a fingerprinted URL…
    expect(() => encodeAddress({ relayUrl: socketUrl(relay.address!.url), senderId, publicKey })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // …and one built by hand without it (as a v1 address was) is refused wherever it is read.
    const url = new TextEncoder().encode(socketUrl(relay.address!.url));
    const bytes = new Uint8Array(16 + 32 + url.length);
    bytes.set(senderId, 0);
    bytes.set(publicKey, 16);
    bytes.set(url, 48);
    const unpinned = 'sc1:' + toBase64(bytes, 'url');
    expect(() => decodeAddress(unpinned)).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(() => t.addContact('old', unpinned)).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    expect(t.contactKey('old')).toBeUndefined();
  });

  it('receives and sends on separate connections, and what the relay delivers differs from what was sent', async () => {
    const relay = await f.start();
    tap = await RelayTap.start(relay.address!.url);
    const aliceId = generateIdentity();
    const bobId = generateIdentity();
    const alice = await f.user(relay, { identity: aliceId, url: tap.url });
    const bob = await f.user(relay, { identity: bobId, url: tap.url });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const atBob = inbox(bob);
    const atAlice = inbox(alice);
    const long = (s: string) => text(s.repeat(40));
    for (let i = 0; i < 3; i++) {
      await alice.send('bob', long(`a→b ${i} `));
      await bob.send('alice', long(`b→a ${i} `));
    }
    await until(() => atBob.length === 3 && atAlice.length === 3);
    await until(() => relay.stats.bytesQueued === 0); // all acknowledged

    const up = tap.frames.filter((t) => t.dir === 'up' && t.frame) as { conn: number; frame: ClientFrame }[];
    const down = tap.frames.filter((t) => t.dir === 'down' && t.frame) as { conn: number; frame: RelayFrame }[];
    const kinds = new Map<number, Set<string>>();
    for (const { conn, frame } of up) kinds.set(conn, (kinds.get(conn) ?? new Set()).add(frame.t));
    // No connection both acts as a queue's recipient and sends.
    for (const [conn, types] of kinds) {
      const recipient = ['new', 'sub', 'ack', 'del'].some((t) => types.has(t));
      expect(recipient && types.has('send'), `connection ${conn}: ${[...types].join(',')}`).toBe(false);
    }
    const bytesOf = (b64: string) => sodium().from_base64(b64, sodium().base64_variants.URLSAFE_NO_PADDING);
    const subConn = (t: WebSocketTransport) => {
      const recipientId = bytesOf(t.exportState().recipientId);
      const conns = up.filter(({ frame }) => frame.t === 'sub' && sodium().memcmp(frame.recipientId, recipientId)).map((u) => u.conn);
      expect(conns.length).toBeGreaterThan(0);
      return new Set(conns);
    };
    const sendConns = (to: WebSocketTransport) => {
      const { senderId } = decodeAddress(to.address);
      return new Set(up.filter(({ frame }) => frame.t === 'send' && sodium().memcmp(frame.senderId, senderId)).map((u) => u.conn));
    };
    const [aliceSub, bobSub, aliceSends, bobSends] = [subConn(alice), subConn(bob), sendConns(bob), sendConns(alice)];
    // Each transport sends on one connection of its own (to this relay), never on its receiving one.
    expect(aliceSends.size).toBe(1);
    expect(bobSends.size).toBe(1);
    for (const conn of aliceSends) expect(aliceSub.has(conn) || bobSub.has(conn)).toBe(false);
    for (const conn of bobSends) expect(bobSub.has(conn) || aliceSub.has(conn)).toBe(false);
    expect([...aliceSends][0]).not.toBe([...bobSends][0]);
    // Sends went up only on send-only connections, messages came down only on receiving ones.
    const msgs = down.filter(({ frame }) => frame.t === 'msg') as { conn: number; frame: RelayFrame & { t: 'msg' } }[];
    for (const { conn } of msgs) expect(aliceSub.has(conn) || bobSub.has(conn)).toBe(true);

    // Bodies in and out: every delivered body is its sent body re-encrypted (16 bytes longer),
    // and shares no 32-byte run with any body that went up.
    const sent = up.flatMap(({ frame }) => (frame.t === 'send' ? [frame.body] : []));
    const delivered = msgs.map(({ frame }) => frame.body);
    expect(sent).toHaveLength(6);
    expect(delivered).toHaveLength(6);
    expect(delivered.map((b) => b.length).sort()).toEqual(sent.map((b) => b.length + DELIVERY_OVERHEAD).sort());
    const windows = new Set<string>();
    for (const body of delivered) for (let i = 0; i + 32 <= body.length; i++) windows.add(Buffer.from(body.subarray(i, i + 32)).toString('hex'));
    const leaked = sent.flatMap((body, n) => {
      expect(body.length).toBeGreaterThan(200);
      const runs: string[] = [];
      for (let i = 0; i + 32 <= body.length; i++) if (windows.has(Buffer.from(body.subarray(i, i + 32)).toString('hex'))) runs.push(`send ${n} @${i}`);
      return runs;
    });
    expect(leaked, 'bytes of a sent body came down unchanged').toEqual([]);
  });

  it('exports a v2 queue state that reconnects to the same queue, and refuses a v1 state with INVALID_ARGUMENT', async () => {
    const relay = await f.start();
    const bobId = generateIdentity();
    const alice = await f.user(relay);
    const bob = await f.user(relay, { identity: bobId });
    alice.addContact('bob', bob.address);
    const state = JSON.parse(JSON.stringify(bob.exportState())) as ReturnType<WebSocketTransport['exportState']>;
    expect(Object.keys(state).sort()).toEqual(['recipientId', 'recipientSecretKey', 'relayUrl', 'senderId', 'serverKey', 'v']);
    expect(state.v).toBe(2);
    expect(state.relayUrl).toBe(relay.address!.url);
    expect(exportQueueState(importQueueState(state))).toEqual(state);
    const address = bob.address;
    bob.close();
    await alice.send('bob', text('kept for you'));
    expect(relay.stats.queues).toBe(2);

    const again = await f.user(relay, { identity: bobId, state });
    expect(relay.stats.queues).toBe(2); // no new queue
    expect(again.address).toBe(address);
    expect(again.exportState()).toEqual(state);
    const got = inbox(again);
    await until(() => got.length === 1);
    expect(got[0]![1]).toBe('kept for you');
    await until(() => relay.stats.bytesQueued === 0); // acknowledged: sub and ack authorized with the imported key

    // A state written by the v1 protocol (Ed25519 queue keys, no serverKey), and v2 fields labelled v1.
    const v1 = {
      v: 1,
      relayUrl: socketUrl(relay.address!.url),
      recipientId: state.recipientId,
      senderId: state.senderId,
      recipientPublicKey: toBase64(new Uint8Array(32).fill(1), 'url'),
      recipientSecretKey: toBase64(new Uint8Array(64).fill(2), 'url'),
    };
    for (const old of [v1, { ...state, v: 1 }]) {
      expect(() => importQueueState(old)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      await expect(f.user(relay, { identity: bobId, state: old as unknown as typeof state })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    }
    // A state of the same relay address under another key is a state of another relay.
    const elsewhere = { ...state, relayUrl: withFingerprint(relay.address!.url, generateRelayIdentity().publicKey) };
    await expect(f.user(relay, { identity: bobId, state: elsewhere })).rejects.toSatisfy(hasCode('INVALID_ARGUMENT'));
    expect(relay.stats.queues).toBe(2);
  });
});
