import { afterEach, describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import { DEFAULT_ENVELOPE_BYTES as SIZE, parseEnvelope, EnvelopeKind } from '../src/signaling/envelope.js';
import { IncomingHandshake, sealOneShot } from '../src/signaling/handshake.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import type { WebRtcImplementation } from '../src/session/types.js';
import type { ChatTransport } from '../src/transport/chat-transport.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, ended, Harness, nodeWrtc, once, reach, ringingPair } from './helpers/call-harness.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import { openFrom, sealFor } from './helpers/crypto.js';
import { until } from './helpers/relay-fixture.js';

let harness: Harness;
afterEach(() => harness?.close());

function setup(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 3 }), defaults);
  return harness;
}

const deniedWrtc: WebRtcImplementation = {
  ...nodeWrtc,
  mediaDevices: {
    getUserMedia: () => Promise.reject(Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' })),
  },
};

/** Wraps a transport so a test can make every later send fail. */
function breakable(inner: ChatTransport): ChatTransport & { broken: boolean } {
  const wrapper = {
    broken: false,
    send: (to: string, payload: Uint8Array) =>
      wrapper.broken ? Promise.reject(new Error('socket closed')) : inner.send(to, payload),
    onMessage: inner.onMessage.bind(inner),
  };
  return wrapper;
}

/**
 * Makes a call's peer connection close the way Chromium reports a peer that closed its own: a
 * data-channel error (its SCTP association aborted), then the close. Reaches into the call's
 * internals: `@roamhq/wrtc` closes cleanly instead, so nothing else produces this.
 */
function abortDataChannel(call: unknown): void {
  const peer = (call as { protocol: { plane: { connection: { session: { peer: { destroy(error: Error): void } } } } } }).protocol.plane.connection.session.peer;
  peer.destroy(Object.assign(new Error('User-Initiated Abort, reason=Close called'), { code: 'ERR_DATA_CHANNEL' }));
}

describe('how calls fail', () => {
  it("waits for the peer's end when its connection closes with a data-channel error, as Chromium reports a hangup", async () => {
    harness = new Harness(new MemoryNetwork({ seed: 3, latencyMs: 150 }), { remoteEndGraceMs: 1000 });
    const { aliceCall, bobCall } = await connectedPair(harness);
    const bobEnded = ended(bobCall);
    // Alice hangs up; Bob's connection reports it at once, her `end` comes 150 ms later.
    void aliceCall.hangup();
    abortDataChannel(bobCall);
    expect((await bobEnded).reason).toBe('remote-hangup');
  });

  it('ends media-failed when a data-channel error is not followed by the peer’s end within remoteEndGraceMs', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 3 }), { remoteEndGraceMs: 300 });
    const { bobCall } = await connectedPair(harness);
    const started = Date.now();
    abortDataChannel(bobCall);
    const end = await ended(bobCall);
    expect(end).toMatchObject({ reason: 'media-failed', error: { code: 'PEER_CONNECTION_FAILED' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('rejects call() with MIC_PERMISSION_DENIED and sends nothing when the microphone is refused', async () => {
    const h = setup();
    const alice = await h.user('alice', { wrtc: deniedWrtc });
    await h.user('bob');
    await expect(alice.client.call('bob')).rejects.toMatchObject({ code: 'MIC_PERMISSION_DENIED' });
    expect(h.network.observed).toEqual([]);
    expect(alice.client.activeCalls).toEqual([]);
  });

  it('ends media-failed on both sides when the callee cannot get its microphone', async () => {
    const h = setup();
    const { aliceCall, bobCall, rang: ringing } = await ringingPair(h, { bob: { wrtc: deniedWrtc } });
    await ringing;
    await expect(bobCall.accept()).rejects.toMatchObject({ code: 'MIC_PERMISSION_DENIED' });
    expect(bobCall.endedWith).toMatchObject({ reason: 'media-failed', error: { code: 'MIC_PERMISSION_DENIED' } });
    expect((await ended(aliceCall)).reason).toBe('media-failed');
  });

  it('ends connect-timeout when no media path ever forms', async () => {
    // Relay-only ICE without any TURN server: no candidate pair can ever work.
    const h = setup({ connectTimeoutMs: 1500, iceTransportPolicy: 'relay' });
    const { aliceCall, bobCall } = await ringingPair(h);
    await bobCall.accept();
    const [a, b] = await Promise.all([ended(aliceCall), ended(bobCall)]);
    expect([a.reason, b.reason]).toEqual(['connect-timeout', 'connect-timeout']);
  });

  it('a chat transport that stops sending delays the call; once it sends again the call connects', async () => {
    const h = setup({ retransmitMs: 100, retransmitMaxMs: 200 });
    const alice = await h.user('alice');
    const bobTransport = breakable(h.network.endpoint('bob'));
    const bob = await h.user('bob', { transport: bobTransport });
    const warnings: string[] = [];
    bob.client.on('warning', (w) => warnings.push(w.code));
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    bobTransport.broken = true;
    await bobCall.accept();
    await until(() => warnings.includes('TRANSPORT_FAILED'));
    expect(bobCall.state).toBe('joining');
    bobTransport.broken = false;
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    await aliceCall.hangup();
    expect((await ended(bobCall)).reason).toBe('remote-hangup');
  });

  it('goes reconnecting when ICE drops, restarts ICE over the encrypted channel and comes back', async () => {
    const h = setup({ iceRestartDelayMs: 100 });
    const { aliceCall, bobCall } = await ringingPair(h, { alice: { wrtc: flakyWrtc }, bob: { wrtc: flakyWrtc } });
    await bobCall.accept();
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    const states: string[] = [];
    aliceCall.on('state', (s) => states.push(s));
    const before = h.network.observed.length;

    // Alice (the answering side) loses her path: she asks Bob, the offerer, for an ICE restart.
    const pcs = [...flakyConnections];
    expect(pcs).toHaveLength(2);
    pcs.find((c) => c.pc.remoteDescription?.type === 'offer')!.cut('disconnected');
    await reach(aliceCall, 'reconnecting');
    await reach(aliceCall, 'connected');
    expect(states).toEqual(['reconnecting', 'connected']);
    // Renegotiation went over the chat transport, sealed like everything else.
    expect(h.network.observed.length).toBeGreaterThan(before + 1);
    const echo = once(bobCall, 'data');
    aliceCall.send('still here');
    expect(Buffer.from((await echo)[0]).toString()).toBe('still here');
  });

  it('ends ice-failed when the path does not come back in time', async () => {
    // The restart is scheduled after the give-up time, so nothing can heal the path.
    const h = setup({ iceRestartDelayMs: 10_000, iceFailTimeoutMs: 300 });
    const { aliceCall, bobCall } = await ringingPair(h, { alice: { wrtc: flakyWrtc }, bob: { wrtc: flakyWrtc } });
    await bobCall.accept();
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    [...flakyConnections].find((c) => c.pc.localDescription?.type === 'offer')!.cut('disconnected');
    await reach(bobCall, 'reconnecting');
    const [a, b] = await Promise.all([ended(aliceCall), ended(bobCall)]);
    expect(b.reason).toBe('ice-failed');
    expect(a.reason).toBe('ice-failed');
  });

  it('a peer with valid keys that floods out-of-order messages is refused past fixed bounds, with warnings; the call goes on', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bobIdentity = (await h.user('bob', { transport: { send: async () => {}, onMessage: () => () => {} } })).identity;
    // A hostile "bob" written by hand: he answers the handshake correctly, then misbehaves.
    const hostile = h.network.endpoint('bob');
    const got = new Promise<Uint8Array>((resolve) => hostile.onMessage((_from, payload) => resolve(payload)));
    const aliceCall = await alice.client.call('bob');
    const warnings: string[] = [];
    alice.client.on('warning', (w) => warnings.push(w.code));
    const invite = openFrom(bobIdentity, alice.identity.publicKey, await got);
    expect(parseEnvelope(invite).kind).toBe(EnvelopeKind.invite);
    const incoming = IncomingHandshake.open({ identity: bobIdentity, remotePublicKey: alice.identity.publicKey, envelope: invite });
    const { callId } = decodeMessage(incoming.payload);
    const { session, envelope } = incoming.respond(encodeMessage({ type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: [] } }), SIZE);
    const toAlice = (inner: Uint8Array) => hostile.send('alice', sealFor(bobIdentity, alice.identity.publicKey, inner));
    await toAlice(envelope);
    await once(aliceCall, 'ringing');
    // Ordered messages whose first never comes: at most 256 are held, the rest refused.
    for (let n = 2; n < 302; n++) {
      await toAlice(session.seal(encodeMessage({ type: 'ice', callId, seq: n, order: n, candidates: [], end: false }), SIZE));
    }
    // A sequence number far past what was acknowledged is refused too.
    await toAlice(session.seal(encodeMessage({ type: 'media-state', callId, seq: 100_000, audioMuted: true, videoEnabled: false }), SIZE));
    await h.network.settled();
    expect(warnings.filter((w) => w === 'MESSAGE_TOO_LARGE').length).toBe(300 - 256 + 1);
    expect(aliceCall.state).toBe('outgoing');
    await aliceCall.hangup();
  });

  it('ignores a cancel sent to the caller: only the caller withdraws an invitation', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bobIdentity = (await h.user('bob', { transport: { send: async () => {}, onMessage: () => () => {} } })).identity;
    const hostile = h.network.endpoint('bob');
    const got = new Promise<Uint8Array>((resolve) => hostile.onMessage((_from, payload) => resolve(payload)));
    const aliceCall = await alice.client.call('bob');
    const incoming = IncomingHandshake.open({ identity: bobIdentity, remotePublicKey: alice.identity.publicKey, envelope: openFrom(bobIdentity, alice.identity.publicKey, await got) });
    const { callId } = decodeMessage(incoming.payload);
    const toAlice = (inner: Uint8Array) => hostile.send('alice', sealFor(bobIdentity, alice.identity.publicKey, inner));
    await toAlice(incoming.respond(encodeMessage({ type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: [] } }), SIZE).envelope);
    await once(aliceCall, 'ringing');
    const cancel = encodeMessage({ type: 'cancel', callId, seq: 0, reason: 'answered-elsewhere' });
    await toAlice(sealOneShot({ identity: bobIdentity, remotePublicKey: alice.identity.publicKey, callId, payload: cancel, envelopeBytes: SIZE }));
    await h.network.settled();
    expect(aliceCall.state).toBe('outgoing');
  });

  it('reports forged and unknown-sender input as warnings and keeps working', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const warnings: string[] = [];
    alice.client.on('warning', (e) => {
      expect(isSealcallError(e)).toBe(true);
      warnings.push(e.code);
    });
    const mallory = h.network.endpoint('mallory');
    await mallory.send('alice', Uint8Array.of(1, 2, 3));
    const lookslikeInvite = new Uint8Array(256);
    lookslikeInvite.set([1, EnvelopeKind.invite]);
    lookslikeInvite.fill(7, 2, 18);
    await mallory.send('alice', lookslikeInvite);
    await h.network.settled();
    expect(warnings).toEqual(['UNKNOWN_CONTACT', 'UNKNOWN_CONTACT']);
    // From a contact: bytes that are not a bucket long, and bytes the contact did not seal.
    const bob = await h.user('bob');
    const forger = h.network.endpoint('bob');
    await forger.send('alice', Uint8Array.of(1, 2, 3));
    await forger.send('alice', new Uint8Array(SIZE).fill(7));
    await h.network.settled();
    expect(warnings.slice(2)).toEqual(['BAD_MESSAGE', 'DECRYPT_FAILED']);
    // Still works afterwards.
    const incoming = once(bob.client, 'incoming');
    await alice.client.call('bob');
    await incoming;
  });
});
