import { beforeAll, describe, expect, it } from 'vitest';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { ready } from '../src/crypto/sodium.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { ReplayCache } from '../src/signaling/replay-cache.js';
import { ENVELOPE_BUCKETS, EnvelopeKind, parseEnvelope } from '../src/signaling/envelope.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from '../src/signaling/handshake.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { handshakePair, text } from './helpers/crypto.js';

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

describe('signaling handshake and transport', () => {
  it('completes a handshake and exchanges transport messages both ways', () => {
    const { caller, callee, outgoing, invite, reply } = handshakePair(text('hello bob'), text('ringing'));
    expect(caller.callId).toBe(outgoing.callId);
    expect(callee.callId).toBe(outgoing.callId);
    expect(caller.sessionTag).toBe(callee.sessionTag);
    expect(Buffer.from(caller.handshakeHash).equals(Buffer.from(callee.handshakeHash))).toBe(true);
    for (const envelope of [invite, reply]) expect(ENVELOPE_BUCKETS).toContain(envelope.length);

    for (let i = 0; i < 5; i++) {
      expect(decode(callee.open(caller.seal(text(`a→b ${i}`))))).toBe(`a→b ${i}`);
      expect(decode(caller.open(callee.seal(text(`b→a ${i}`))))).toBe(`b→a ${i}`);
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
      envelope: outgoing.invite(text('invite payload')),
      replayCache: new ReplayCache(),
    });
    expect(decode(incoming.payload)).toBe('invite payload');
    expect(incoming.callId).toBe(outgoing.callId);
    const { payload } = outgoing.accept(incoming.respond(text('busy')).envelope);
    expect(decode(payload)).toBe('busy');
  });

  it('pads every envelope to a bucket whatever the payload length', () => {
    const { caller } = handshakePair();
    const sizes = new Set<number>();
    for (const n of [0, 1, 100, 221, 222, 300, 5000, 60_000]) {
      const envelope = caller.seal(new Uint8Array(n));
      expect(ENVELOPE_BUCKETS).toContain(envelope.length);
      sizes.add(envelope.length);
    }
    expect(sizes.size).toBeGreaterThan(3);
    expectCode(() => caller.seal(new Uint8Array(70_000)), 'MESSAGE_TOO_LARGE');
  });

  it('rejects a change to any byte of the invitation, the reply or a transport message', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const invite = outgoing.invite(text('invite'));
    for (let i = 0; i < invite.length; i++) {
      const forged = invite.slice();
      forged[i]! ^= 0x01;
      expect(() =>
        IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: forged, replayCache: new ReplayCache() }),
      ).toThrowSealcallError();
    }
    const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: new ReplayCache() });
    const { envelope: reply, session: callee } = incoming.respond(text('ringing'));
    for (let i = 0; i < reply.length; i++) {
      const forged = reply.slice();
      forged[i]! ^= 0x80;
      expect(() => outgoing.accept(forged)).toThrowSealcallError();
    }
    // The genuine reply still works after all those forgeries.
    const { session: caller } = outgoing.accept(reply);
    const sealed = caller.seal(text('transport'));
    for (let i = 0; i < sealed.length; i++) {
      const forged = sealed.slice();
      forged[i]! ^= 0x04;
      expect(() => callee.open(forged)).toThrowSealcallError();
    }
    expect(decode(callee.open(sealed))).toBe('transport');
  });

  it('rejects truncated and extended envelopes', () => {
    const { caller, callee } = handshakePair();
    const sealed = caller.seal(text('x'));
    for (const bad of [sealed.subarray(0, 0), sealed.subarray(0, 33), sealed.subarray(0, 255), new Uint8Array([...sealed, 0])]) {
      expectCode(() => callee.open(bad), 'BAD_MESSAGE');
    }
  });

  it('never rings twice for a replayed invitation', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const cache = new ReplayCache();
    const invite = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey }).invite(text('i'));
    const open = () => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: cache });
    open();
    expectCode(open, 'REPLAYED');
  });

  it('forgets replay entries only after the cache lifetime', () => {
    let now = 0;
    const cache = new ReplayCache({ ttlMs: 1000, now: () => now });
    cache.add('a');
    now = 999;
    expect(cache.has('a')).toBe(true);
    now = 1000;
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(0);
    const small = new ReplayCache({ maxEntries: 2 });
    small.add('x');
    small.add('y');
    small.add('z');
    expect([small.has('x'), small.has('y'), small.has('z')]).toEqual([false, true, true]);
  });

  it('drops replayed transport messages and accepts reordered and duplicated ones once', () => {
    const { caller, callee } = handshakePair();
    const sealed = Array.from({ length: 50 }, (_, i) => caller.seal(text(String(i))));
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
    const first = caller.seal(text('old'));
    for (let i = 0; i < 1024; i++) callee.open(caller.seal(text('new')));
    expectCode(() => callee.open(first), 'REPLAYED');
  });

  it('refuses an invitation sealed for someone else or by someone else', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const mallory = generateIdentity();
    const toMallory = new OutgoingHandshake({ identity: alice, remotePublicKey: mallory.publicKey }).invite(text('i'));
    expectCode(
      () => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: toMallory, replayCache: new ReplayCache() }),
      'DECRYPT_FAILED',
    );
    const fromMallory = new OutgoingHandshake({ identity: mallory, remotePublicKey: bob.publicKey }).invite(text('i'));
    expectCode(
      () => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: fromMallory, replayCache: new ReplayCache() }),
      'DECRYPT_FAILED',
    );
    // A reply from the wrong contact does not complete the caller's handshake.
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const invite = outgoing.invite(text('i'));
    const asIfMallory = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: new ReplayCache() });
    expect(asIfMallory).toBeDefined();
    expectCode(
      () => IncomingHandshake.open({ identity: mallory, remotePublicKey: alice.publicKey, envelope: invite, replayCache: new ReplayCache() }),
      'DECRYPT_FAILED',
    );
  });

  it('rejects a low-order contact key with BAD_KEY and wrong-length keys', () => {
    const alice = generateIdentity();
    expectCode(() => new OutgoingHandshake({ identity: alice, remotePublicKey: new Uint8Array(32) }).invite(text('i')), 'BAD_KEY');
    expectCode(() => new OutgoingHandshake({ identity: alice, remotePublicKey: new Uint8Array(31) }), 'BAD_KEY');
  });

  it('refuses envelopes spliced from another call', () => {
    const one = handshakePair();
    const two = handshakePair();
    expectCode(() => two.callee.open(one.caller.seal(text('x'))), 'WRONG_CALL');
    // Rewriting the clear call id does not help: the header is authenticated.
    const spliced = one.caller.seal(text('x'));
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
    const invite = outgoing.invite(text('i'));
    const devices = [1, 2].map(() =>
      IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: new ReplayCache() }).respond(
        text('ringing'),
      ),
    );
    const [a, b] = devices.map((d) => outgoing.accept(d.envelope).session);
    expect(a!.sessionTag).not.toBe(b!.sessionTag);
    expect(decode(devices[0]!.session.open(a!.seal(text('to device 1'))))).toBe('to device 1');
    expectCode(() => devices[1]!.session.open(a!.seal(text('not for device 2'))), 'WRONG_CALL');
    expectCode(() => outgoing.accept(devices[0]!.envelope), 'REPLAYED');
  });

  it('opens a one-shot cancel bound to its call even without the invitation', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const cache = new ReplayCache();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    const cancel = sealOneShot({ identity: alice, remotePublicKey: bob.publicKey, callId: outgoing.callId, payload: text('cancel') });
    const opened = openOneShot({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel, replayCache: cache });
    expect(opened.callId).toBe(outgoing.callId);
    expect(decode(opened.payload)).toBe('cancel');
    expectCode(() => openOneShot({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel, replayCache: cache }), 'REPLAYED');
    // A one-shot is not an invitation, and an invitation is not a one-shot.
    expectCode(
      () => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: cancel, replayCache: new ReplayCache() }),
      'BAD_MESSAGE',
    );
    const relabelled = cancel.slice();
    relabelled[1] = 1;
    expectCode(
      () => IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: relabelled, replayCache: new ReplayCache() }),
      'DECRYPT_FAILED',
    );
  });

  it('wipes keys on dispose and refuses to work afterwards', () => {
    const { caller, callee } = handshakePair();
    const sealed = caller.seal(text('x'));
    callee.dispose();
    callee.dispose();
    expectCode(() => callee.open(sealed), 'DISPOSED');
    expectCode(() => callee.seal(text('x')), 'DISPOSED');
  });

  it('keeps every handshake step in order', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
    expectCode(() => outgoing.accept(new Uint8Array(256)), 'HANDSHAKE_STATE');
    const invite = outgoing.invite(text('i'));
    expectCode(() => outgoing.invite(text('again')), 'HANDSHAKE_STATE');
    const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: new ReplayCache() });
    incoming.respond(text('r'));
    expectCode(() => incoming.respond(text('r')), 'DISPOSED');
  });

  it('shows the network nothing but padded ciphertext', async () => {
    const network = new MemoryNetwork({ latencyMs: [0, 5], reorder: true, duplicateRate: 0.3, seed: 11 });
    const a = network.endpoint('alice');
    const b = network.endpoint('bob');
    const secrets = ['v=0 o=- 4611731400430051336', 'candidate:1 1 udp 2122260223 192.168.1.7 54321 typ host', 'the invitation'];
    const { outgoing, invite, reply, caller, callee } = handshakePair(text(secrets[2]!), text('ringing-secret'));
    const received: string[] = [];
    b.onMessage((_from, envelope) => {
      if (parseEnvelope(envelope).kind !== EnvelopeKind.transport) return;
      try {
        received.push(decode(callee.open(envelope)));
      } catch (error) {
        expect(isSealcallError(error, 'REPLAYED')).toBe(true);
      }
    });
    await a.send('bob', invite);
    await b.send('alice', reply);
    for (const s of secrets) await a.send('bob', caller.seal(text(s)));
    await network.settled();
    expect(received.filter((r) => secrets.includes(r)).sort()).toEqual([...secrets].sort());
    expect(outgoing.callId).toBe(parseEnvelope(invite).callId);
    const seen = Buffer.concat(network.observed.map((o) => o.payload));
    for (const s of [...secrets, 'ringing-secret', '192.168.1.7']) expect(seen.includes(Buffer.from(s))).toBe(false);
    for (const o of network.observed) expect(ENVELOPE_BUCKETS).toContain(o.payload.length);
    network.close();
  });
});
