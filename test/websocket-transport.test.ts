import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CallClient } from '../src/call/call-client.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { sodium } from '../src/crypto/sodium.js';
import { decodeClientFrame } from '../src/protocol/relay-frames.js';
import { decodeSnapshot } from '../src/relay/snapshot.js';
import { decodeAddress, encodeAddress } from '../src/relay-client/address.js';
import { sealSender } from '../src/relay-client/sealed-sender.js';
import type { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { hasCode, inbox, RelayFixture, sleep, text, until } from './helpers/relay-fixture.js';

// WebSocketTransport against a real Relay on 127.0.0.1: addresses, sealed sender, fan-out,
// dedupe. Reconnects and failures are in websocket-transport-resilience.test.ts.
const f = new RelayFixture();
afterEach(() => f.close());

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
    expect(t.address.length).toBeLessThan(120);
    const decoded = decodeAddress(t.address);
    expect(decoded.relayUrl).toBe(relay.address!.url);
    expect(encodeAddress(decoded)).toBe(t.address);
    for (const bad of ['', 'sc2:AAAA', 'sc1:!!!', 'sc1:AAAA', t.address.slice(0, 40), t.address + '=', 'sc1:' + 'A'.repeat(100_000)]) {
      expect(() => decodeAddress(bad), bad.slice(0, 20)).toThrow(expect.objectContaining({ code: 'BAD_ADDRESS' }));
    }
    const http = encodeAddress({ ...decoded, relayUrl: 'ws://x' }).replace('sc1:', '');
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
    const bodies = decodeSnapshot(file).find((q) => Buffer.from(q.senderId).equals(Buffer.from(bobQueue.senderId)))!.messages;
    expect(bodies).toHaveLength(5);
    const aliceQueue = decodeAddress(alice.address);
    const needles = [
      ['alice public key', aliceId.publicKey],
      ['alice sender id', aliceQueue.senderId],
      ['alice recipient id', sodium().from_base64(alice.exportState().recipientId, sodium().base64_variants.URLSAFE_NO_PADDING)],
      ['peer id', text('alice')],
    ] as const;
    for (const { body } of bodies) {
      expect(body.length).toBe(80 + 'secret 0'.length);
      for (const [name, needle] of needles) expect(Buffer.from(body).includes(Buffer.from(needle)), name).toBe(false);
    }
    // Alice's own queue is on this relay too (its ids are stored), but nothing else about her is.
    for (const [name, needle] of [needles[0], needles[3]]) expect(file.includes(Buffer.from(needle)), name).toBe(false);
    // Five bodies are there, each the fixed 80-byte sealed header plus the payload.
    const restarted = await f.start({ storePath });
    expect(restarted.stats.bytesQueued).toBe(5 * (80 + 'secret 0'.length));
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
    await until(() => atPhone.length === 1 && atLaptop.length === 1);
    await sleep(30);
    expect(atPhone).toEqual([['alice', 'ring ring']]);
    expect(atLaptop).toEqual([['alice', 'ring ring']]);
    // One device gone for good still lets the message reach the other (and warns).
    await laptop.deleteQueue();
    const warnings: string[] = [];
    alice.on('warning', (w) => warnings.push(w.code));
    await alice.send('bob', text('again'));
    await until(() => atPhone.length === 2);
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
    await expect(f.user(relay, { identity: bobId, state: { ...state, recipientSecretKey: state.recipientPublicKey } })).rejects.toSatisfy(
      hasCode('INVALID_ARGUMENT'),
    );
  });

  it('delivers a message to its handler once when the relay redelivers it (lost ack)', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const port = relay.address!.port;
    let dropAcks = true;
    class AckDroppingWebSocket extends WebSocket {
      override send(data: Uint8Array): void {
        if (dropAcks && decodeClientFrame(data).t === 'ack') return;
        super.send(data);
      }
    }
    const alice = await f.user(relay);
    const bob = await f.user(relay, { WebSocket: AckDroppingWebSocket });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    const got = inbox(bob);
    await alice.send('bob', text('once'));
    await until(() => got.length === 1);
    await sleep(100);
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
    await sleep(30);
    expect(got).toEqual([['alice', 'dup']]);
  });

  it('holds messages that arrive before any handler and acknowledges them once handled', async () => {
    const relay = await f.start();
    const { alice, bob } = await f.pair(relay);
    await alice.send('bob', text('early'));
    await sleep(50);
    expect(relay.stats.bytesQueued).toBeGreaterThan(0);
    const got = inbox(bob);
    expect(got).toEqual([['alice', 'early']]);
    await until(() => relay.stats.bytesQueued === 0);
  });
});
