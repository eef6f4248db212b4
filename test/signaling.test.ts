import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { generateIdentity, type Identity } from '../src/crypto/identity.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { CancelMessage, Message, OutgoingMessage } from '../src/protocol/messages.js';
import type { DeliveryOptions, SignalingChannel } from '../src/signaling/channel.js';
import { DEFAULT_ENVELOPE_BYTES, ENVELOPE_BUCKETS, EnvelopeKind, parseEnvelope, randomCallId } from '../src/signaling/envelope.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from '../src/signaling/handshake.js';
import type { IncomingInvitation } from '../src/signaling/invitation.js';
import { PAIR_SEAL_OVERHEAD } from '../src/signaling/pair-seal.js';
import { ReplayGuard } from '../src/signaling/replay-guard.js';
import { SignalingRouter } from '../src/signaling/router.js';
import { transportPayloadCapacity } from '../src/signaling/session.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { handshakePair, openFrom, sealFor, text } from './helpers/crypto.js';

beforeAll(() => ready());

function expectCode(fn: () => unknown, code: ErrorCode): void {
  try {
    fn();
  } catch (error) {
    if (!isSealcallError(error)) throw error;
    expect(error.code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** The length of every envelope a client sends (after the pair seal), and of the inner envelope inside it. */
const SIZE = DEFAULT_ENVELOPE_BYTES;
const INNER = SIZE - PAIR_SEAL_OVERHEAD;

const DELIVERY: DeliveryOptions = { retransmitMs: 1000, retransmitMaxMs: 8000, ackDelayMs: 20, lingerMs: 1000, envelopeBytes: SIZE };

/** A client's signaling router on `network` as `peer`, with its own replay guard, and what it reported. */
function routerOn(network: MemoryNetwork, peer: string, identity: Identity, contacts: Record<string, Identity>, clock = { now: Date.now() }) {
  const now = () => clock.now;
  const router = new SignalingRouter({
    identity,
    transport: network.endpoint(peer),
    keyOf: (p) => contacts[p]?.publicKey,
    replayGuard: new ReplayGuard({ now }),
    now,
    delivery: DELIVERY,
    memoryMs: 60_000,
  });
  const seen = { router, invitations: [] as IncomingInvitation[], cancels: [] as CancelMessage[], warnings: [] as ErrorCode[] };
  router.on('invitation', (invitation) => seen.invitations.push(invitation));
  router.on('cancel', (_from, _key, cancel) => seen.cancels.push(cancel));
  router.on('warning', (warning) => seen.warnings.push(warning.code));
  return seen;
}

const inviteMessage = (callId: string, sentAt: number): OutgoingMessage => ({
  type: 'invite',
  callId,
  seq: 0,
  media: 'audio',
  capabilities: { frameEncryption: [] },
  sentAt,
  lifetimeMs: LIMITS.inviteLifetimeMs,
});

/** An invitation from `from` to `to` written by hand (the inner envelope), as a caller's router would. */
function invitation(from: Identity, to: Identity, sentAt: number, callId?: string): { outgoing: OutgoingHandshake; inner: Uint8Array } {
  const outgoing = new OutgoingHandshake({ identity: from, remotePublicKey: to.publicKey, ...(callId ? { callId } : {}) });
  return { outgoing, inner: outgoing.invite(encodeMessage(inviteMessage(outgoing.callId, sentAt)), SIZE) };
}

describe('signaling handshake and transport', () => {
  it('completes a handshake and exchanges transport messages both ways', () => {
    const { caller, callee, outgoing, invite, reply } = handshakePair(text('hello bob'), text('ringing'));
    expect(caller.callId).toBe(outgoing.callId);
    expect(callee.callId).toBe(outgoing.callId);
    expect(caller.sessionTag).toBe(callee.sessionTag);
    expect(Buffer.from(caller.handshakeHash).equals(Buffer.from(callee.handshakeHash))).toBe(true);
    for (const envelope of [invite, reply]) expect(envelope.length).toBe(INNER);

    for (let i = 0; i < 5; i++) {
      expect(decode(callee.open(caller.seal(text(`a→b ${i}`), SIZE)))).toBe(`a→b ${i}`);
      expect(decode(caller.open(callee.seal(text(`b→a ${i}`), SIZE)))).toBe(`b→a ${i}`);
    }
  });

  it('derives per-direction frame base keys that match across sides and differ by direction and call', () => {
    const { caller, callee } = handshakePair();
    const a = caller.frameBaseKeys();
    const b = callee.frameBaseKeys();
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    expect(hex(a.send)).toBe(hex(b.receive));
    expect(hex(a.receive)).toBe(hex(b.send));
    expect(hex(a.send)).not.toBe(hex(a.receive));
    expect(a.send).toHaveLength(32);
    expect(hex(handshakePair().caller.frameBaseKeys().send)).not.toBe(hex(a.send));
    caller.dispose();
    expectCode(() => caller.frameBaseKeys(), 'DISPOSED');
  });

  it('carries the payloads of both handshake messages', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const incoming = IncomingHandshake.open({
      identity: bob,
      remotePublicKey: alice.publicKey,
      envelope: outgoing.invite(text('invite payload'), SIZE),
    });
    expect(decode(incoming.payload)).toBe('invite payload');
    expect(incoming.callId).toBe(outgoing.callId);
    const { payload } = outgoing.accept(incoming.respond(text('busy'), SIZE).envelope);
    expect(decode(payload)).toBe('busy');
  });

  it('pads every envelope to the one length asked for, whatever it carries, and refuses a payload that does not fit', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { caller } = handshakePair();
    const capacity = transportPayloadCapacity(SIZE);
    for (const n of [0, 1, 100, 221, 222, 300, 2000, capacity]) expect(caller.seal(new Uint8Array(n), SIZE).length).toBe(INNER);
    expectCode(() => caller.seal(new Uint8Array(capacity + 1), SIZE), 'MESSAGE_TOO_LARGE');
    expectCode(() => caller.seal(new Uint8Array(70_000), SIZE), 'MESSAGE_TOO_LARGE');
    // Handshake messages and one-shots too, short or long.
    for (const n of [0, 1000]) {
      const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
      expect(outgoing.invite(new Uint8Array(n), SIZE).length).toBe(INNER);
      const oneShot = sealOneShot({ identity: alice, remotePublicKey: bob.publicKey, callId: outgoing.callId, payload: new Uint8Array(n), envelopeBytes: SIZE });
      expect(oneShot.length).toBe(INNER);
    }
    expectCode(() => new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey }).invite(new Uint8Array(SIZE), SIZE), 'MESSAGE_TOO_LARGE');
    // A transport that carries less gets smaller envelopes, each exactly as long as asked.
    for (const bucket of ENVELOPE_BUCKETS) expect(caller.seal(text('x'), bucket).length).toBe(bucket - PAIR_SEAL_OVERHEAD);
  });

  it('rejects a change to any byte of the invitation, the reply or a transport message', () => {
    // The smallest envelopes: every byte is tried, and there are fewer of them.
    const size = ENVELOPE_BUCKETS[0];
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const invite = outgoing.invite(text('invite'), size);
    for (let i = 0; i < invite.length; i++) {
      const forged = invite.slice();
      forged[i]! ^= 0x01;
      expect(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: forged })).toThrowSealcallError();
    }
    const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite });
    const { envelope: reply, session: callee } = incoming.respond(text('ringing'), size);
    for (let i = 0; i < reply.length; i++) {
      const forged = reply.slice();
      forged[i]! ^= 0x80;
      expect(() => outgoing.accept(forged)).toThrowSealcallError();
    }
    // The genuine reply still works after all those forgeries.
    const { session: caller } = outgoing.accept(reply);
    const sealed = caller.seal(text('transport'), size);
    for (let i = 0; i < sealed.length; i++) {
      const forged = sealed.slice();
      forged[i]! ^= 0x04;
      expect(() => callee.open(forged)).toThrowSealcallError();
    }
    expect(decode(callee.open(sealed))).toBe('transport');
  });

  it('rejects truncated and extended envelopes', () => {
    const { caller, callee } = handshakePair();
    const sealed = caller.seal(text('x'), SIZE);
    for (const bad of [sealed.subarray(0, 0), sealed.subarray(0, 33), sealed.subarray(0, 255), sealed.subarray(0, INNER - 1), new Uint8Array([...sealed, 0])]) {
      expectCode(() => callee.open(bad), 'BAD_MESSAGE');
    }
  });

  it('never rings twice for a replayed invitation, verbatim or sealed afresh: the reply is sent again instead', async () => {
    const network = new MemoryNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const clock = { now: 1_000_000 };
    const b = routerOn(network, 'bob', bob, { alice }, clock);
    const a = network.endpoint('alice');
    const replies: Uint8Array[] = [];
    a.onMessage((_from, payload) => replies.push(openFrom(alice, bob.publicKey, payload)));
    const { outgoing, inner } = invitation(alice, bob, clock.now);
    const captured = sealFor(alice, bob.publicKey, inner);
    await a.send('bob', captured);
    await network.settled();
    expect(b.invitations).toHaveLength(1);
    b.invitations[0]!.busy();
    await network.settled();
    expect(replies).toHaveLength(1);
    expect(decodeMessage(outgoing.accept(replies[0]!).payload).type).toBe('busy');

    clock.now += 1000;
    await a.send('bob', captured);
    await a.send('bob', sealFor(alice, bob.publicKey, inner));
    await network.settled();
    expect(b.invitations).toHaveLength(1);
    // The caller may not have heard the reply: it comes again, the same one.
    expect(replies).toHaveLength(3);
    expect(replies[1]).toEqual(replies[0]);
    expect(replies[2]).toEqual(replies[0]);
    expect(b.warnings).toEqual([]);
    b.router.close();
    network.close();
  });

  it('forgets an invitation only once the freshness check refuses it, however many came after it', async () => {
    const network = new MemoryNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const clock = { now: 1_000_000 };
    const sentAt = clock.now;
    const b = routerOn(network, 'bob', bob, { alice }, clock);
    const a = network.endpoint('alice');
    const captured = sealFor(alice, bob.publicKey, invitation(alice, bob, sentAt).inner);
    await a.send('bob', captured);
    // More invitations from the same contact than it keeps one by one.
    for (let i = 1; i <= 12; i++) await a.send('bob', sealFor(alice, bob.publicKey, invitation(alice, bob, sentAt + i).inner));
    await network.settled();
    expect(b.invitations).toHaveLength(13);
    for (const incoming of b.invitations) incoming.dispose();
    await a.send('bob', captured);
    await network.settled();
    expect(b.invitations).toHaveLength(13);
    // The last moment the invitation is fresh: still refused, without a word.
    clock.now = sentAt + LIMITS.inviteLifetimeMs + LIMITS.clockSkewMs;
    await a.send('bob', captured);
    await network.settled();
    expect(b.invitations).toHaveLength(13);
    expect(b.warnings).toEqual([]);
    // Later the freshness check refuses it on its own.
    clock.now = sentAt + LIMITS.inviteLifetimeMs + 2 * LIMITS.clockSkewMs + 1;
    await a.send('bob', captured);
    await network.settled();
    expect(b.invitations).toHaveLength(13);
    expect(b.warnings).toEqual(['STALE']);
    b.router.close();
    network.close();
  });

  it('drops replayed transport messages and accepts reordered and duplicated ones once', () => {
    const { caller, callee } = handshakePair();
    const sealed = Array.from({ length: 50 }, (_, i) => caller.seal(text(String(i)), SIZE));
    const order = [...sealed.keys()].reverse();
    const got: string[] = [];
    for (const i of [...order, ...order]) {
      try {
        got.push(decode(callee.open(sealed[i]!)));
      } catch (error) {
        expect(isSealcallError(error, 'REPLAYED')).toBe(true);
      }
    }
    expect(got).toEqual(order.map(String));
  });

  it('refuses messages older than the replay window', () => {
    const { caller, callee } = handshakePair();
    const first = caller.seal(text('old'), SIZE);
    for (let i = 0; i < 1024; i++) callee.open(caller.seal(text('new'), SIZE));
    expectCode(() => callee.open(first), 'REPLAYED');
  });

  it('refuses an invitation sealed for someone else or by someone else', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const mallory = generateIdentity();
    const toMallory = new OutgoingHandshake({ identity: alice, remotePublicKey: mallory.publicKey }).invite(text('i'), SIZE);
    expectCode(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: toMallory }), 'DECRYPT_FAILED');
    const fromMallory = new OutgoingHandshake({ identity: mallory, remotePublicKey: bob.publicKey }).invite(text('i'), SIZE);
    expectCode(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: fromMallory }), 'DECRYPT_FAILED');
    // A reply from the wrong contact does not complete the caller's handshake.
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const invite = outgoing.invite(text('i'), SIZE);
    const asIfMallory = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite });
    expect(asIfMallory).toBeDefined();
    expectCode(() => IncomingHandshake.open({ identity: mallory, remotePublicKey: alice.publicKey, envelope: invite }), 'DECRYPT_FAILED');
  });

  it('rejects a low-order contact key with BAD_KEY and wrong-length keys', () => {
    const alice = generateIdentity();
    expectCode(() => new OutgoingHandshake({ identity: alice, remotePublicKey: new Uint8Array(32) }).invite(text('i'), SIZE), 'BAD_KEY');
    expectCode(() => new OutgoingHandshake({ identity: alice, remotePublicKey: new Uint8Array(31) }), 'BAD_KEY');
  });

  it('refuses envelopes spliced from another call', () => {
    const one = handshakePair();
    const two = handshakePair();
    expectCode(() => two.callee.open(one.caller.seal(text('x'), SIZE)), 'WRONG_CALL');
    // Rewriting the call id does not help: the inner header is authenticated.
    const spliced = one.caller.seal(text('x'), SIZE);
    spliced.set(Buffer.from(two.callee.callId, 'hex'), 2);
    spliced.set(Buffer.from(two.callee.sessionTag, 'hex'), 18);
    expectCode(() => two.callee.open(spliced), 'DECRYPT_FAILED');
    // Nor does a reply of another call reach this call's handshake.
    expectCode(() => one.outgoing.accept(two.reply), 'WRONG_CALL');
  });

  it('lets several devices of one contact answer, each with its own session', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const invite = outgoing.invite(text('i'), SIZE);
    const devices = [1, 2].map(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite }).respond(text('ringing'), SIZE));
    const [a, b] = devices.map((d) => outgoing.accept(d.envelope).session);
    expect(a!.sessionTag).not.toBe(b!.sessionTag);
    expect(decode(devices[0]!.session.open(a!.seal(text('to device 1'), SIZE)))).toBe('to device 1');
    expectCode(() => devices[1]!.session.open(a!.seal(text('not for device 2'), SIZE)), 'WRONG_CALL');
    expectCode(() => outgoing.accept(devices[0]!.envelope), 'REPLAYED');
  });

  it('opens a one-shot cancel bound to its call even without the invitation', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const cancel = sealOneShot({ identity: alice, remotePublicKey: bob.publicKey, callId: outgoing.callId, payload: text('cancel'), envelopeBytes: SIZE });
    const opened = openOneShot({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel });
    expect(opened.callId).toBe(outgoing.callId);
    expect(decode(opened.payload)).toBe('cancel');
    // A repeat opens again, to the same call: applying a cancel twice changes nothing.
    expect(openOneShot({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel })).toEqual(opened);
    // Rewriting its call id does not move it to another call.
    const moved = cancel.slice();
    moved.set(Buffer.from(randomCallId(), 'hex'), 2);
    expectCode(() => openOneShot({ identity: bob, remotePublicKey: alice.publicKey, envelope: moved }), 'DECRYPT_FAILED');
    // A one-shot is not an invitation, and an invitation is not a one-shot.
    expectCode(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel }), 'BAD_MESSAGE');
    const relabelled = cancel.slice();
    relabelled[1] = 1;
    expectCode(() => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: relabelled }), 'DECRYPT_FAILED');
  });

  it('applies a repeated cancel again, and only to the call it names', async () => {
    const network = new MemoryNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const b = routerOn(network, 'bob', bob, { alice });
    const a = network.endpoint('alice');
    const withdrawn = randomCallId();
    const payload = encodeMessage({ type: 'cancel', callId: withdrawn, seq: 0, reason: 'cancelled' });
    const cancel = sealOneShot({ identity: alice, remotePublicKey: bob.publicKey, callId: withdrawn, payload, envelopeBytes: SIZE });
    const captured = sealFor(alice, bob.publicKey, cancel);
    await a.send('bob', captured);
    await a.send('bob', captured);
    await a.send('bob', sealFor(alice, bob.publicKey, cancel));
    await network.settled();
    expect(b.cancels.map((c) => c.callId)).toEqual([withdrawn, withdrawn, withdrawn]);
    // The invitation it withdraws never rings; another call's does.
    const other = invitation(alice, bob, Date.now());
    await a.send('bob', sealFor(alice, bob.publicKey, invitation(alice, bob, Date.now(), withdrawn).inner));
    await a.send('bob', sealFor(alice, bob.publicKey, other.inner));
    await network.settled();
    expect(b.invitations.map((i) => i.invite.callId)).toEqual([other.outgoing.callId]);
    expect(b.warnings).toEqual([]);
    b.router.close();
    network.close();
  });

  it('wipes keys on dispose and refuses to work afterwards', () => {
    const { caller, callee } = handshakePair();
    const sealed = caller.seal(text('x'), SIZE);
    callee.dispose();
    callee.dispose();
    expectCode(() => callee.open(sealed), 'DISPOSED');
    expectCode(() => callee.seal(text('x'), SIZE), 'DISPOSED');
  });

  it('keeps every handshake step in order', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    expectCode(() => outgoing.accept(new Uint8Array(INNER)), 'HANDSHAKE_STATE');
    const invite = outgoing.invite(text('i'), SIZE);
    expectCode(() => outgoing.invite(text('again'), SIZE), 'HANDSHAKE_STATE');
    const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite });
    incoming.respond(text('r'), SIZE);
    expectCode(() => incoming.respond(text('r'), SIZE), 'DISPOSED');
  });

  it('shows the network nothing but sealed ciphertext: no payload, call id or session tag', async () => {
    const network = new MemoryNetwork({ latencyMs: [0, 5], reorder: true, duplicateRate: 0.3, seed: 11 });
    const a = network.endpoint('alice');
    const b = network.endpoint('bob');
    const secrets = ['v=0 o=- 4611731400430051336', 'candidate:1 1 udp 2122260223 192.168.1.7 54321 typ host', 'the invitation'];
    const { alice, bob, outgoing, invite, reply, caller, callee } = handshakePair(text(secrets[2]!), text('ringing-secret'));
    const received: string[] = [];
    b.onMessage((_from, payload) => {
      const envelope = openFrom(bob, alice.publicKey, payload);
      if (parseEnvelope(envelope).kind !== EnvelopeKind.transport) return;
      try {
        received.push(decode(callee.open(envelope)));
      } catch (error) {
        expect(isSealcallError(error, 'REPLAYED')).toBe(true);
      }
    });
    await a.send('bob', sealFor(alice, bob.publicKey, invite));
    await b.send('alice', sealFor(bob, alice.publicKey, reply));
    for (const s of secrets) await a.send('bob', sealFor(alice, bob.publicKey, caller.seal(text(s), SIZE)));
    await network.settled();
    expect(received.filter((r) => secrets.includes(r)).sort()).toEqual([...secrets].sort());
    expect(outgoing.callId).toBe(parseEnvelope(invite).callId);
    const seen = Buffer.concat(network.observed.map((o) => o.payload));
    for (const s of [...secrets, 'ringing-secret', '192.168.1.7']) expect(seen.includes(Buffer.from(s))).toBe(false);
    for (const hex of [outgoing.callId, caller.sessionTag]) expect(seen.includes(Buffer.from(hex, 'hex'))).toBe(false);
    for (const o of network.observed) expect(o.payload.length).toBe(SIZE);
    network.close();
  });

  it('makes every envelope a client sends the same length, whatever it carries', async () => {
    const network = new MemoryNetwork({ latencyMs: [0, 5], reorder: true, duplicateRate: 0.3, seed: 12 });
    const alice = generateIdentity();
    const bob = generateIdentity();
    const a = routerOn(network, 'alice', alice, { bob });
    const b = routerOn(network, 'bob', bob, { alice });
    const outgoing = a.router.invite('bob', bob.publicKey, (callId) => inviteMessage(callId, Date.now()));
    const ringing = new Promise<SignalingChannel>((resolve) =>
      outgoing.replies((reply) => {
        if (reply.type === 'ringing') resolve(reply.channel);
      }),
    );
    const invited = new Promise<IncomingInvitation>((resolve) => b.router.once('invitation', resolve));
    await outgoing.send(5000);
    const bobChannel = (await invited).ring({ frameEncryption: [] });
    const aliceChannel = await ringing;
    outgoing.stop();
    /** Resolves with the types of the messages `channel` delivered once it has `count` of them. */
    const heard = (channel: SignalingChannel, count: number) =>
      new Promise<Message['type'][]>((resolve) => {
        const got: Message['type'][] = [];
        channel.attach({
          messages: (messages) => {
            got.push(...messages.map((m) => m.type));
            if (got.length >= count) resolve(got);
          },
          warn: () => {},
        });
      });
    const bobHeard = heard(bobChannel, 2);
    const aliceHeard = heard(aliceChannel, 1);
    // A small message, one that travels in parts, and a one-shot cancel of another call.
    const sdp = `v=0\r\n${Buffer.from(sodium().randombytes_buf(8000)).toString('base64')}`;
    expect(sdp.length).toBeGreaterThan(3 * transportPayloadCapacity(SIZE)); // random text: it barely deflates
    aliceChannel.send({ type: 'media-state', audioMuted: true, videoEnabled: false });
    aliceChannel.send({ type: 'offer', sdp, candidates: [] });
    bobChannel.send({ type: 'answer', sdp: 'v=0\r\n', candidates: [] });
    a.router.cancel('bob', randomCallId(), { reason: 'cancelled' });
    expect((await bobHeard).sort()).toEqual(['media-state', 'offer']);
    expect(await aliceHeard).toEqual(['answer']);
    // Both sides acknowledged: acknowledgements that went alone were sent too.
    await vi.waitFor(() => expect(aliceChannel.pending + bobChannel.pending).toBe(0), { timeout: 5000 });
    const seen = Buffer.concat(network.observed.map((o) => o.payload));
    expect(seen.includes(Buffer.from(outgoing.callId, 'hex'))).toBe(false);
    expect(network.observed.length).toBeGreaterThan(6);
    for (const o of network.observed) expect(o.payload.length).toBe(SIZE);
    a.router.close();
    b.router.close();
    network.close();
  });
});
