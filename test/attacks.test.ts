import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallClientOptions } from '../src/call/options.js';
import { ENVELOPE_BUCKETS } from '../src/signaling/envelope.js';
import { nextBaseKey } from '../src/crypto/frame/index.js';
import { generateIdentity, type Identity } from '../src/crypto/identity.js';
import { ReplayCache } from '../src/signaling/replay-cache.js';
import { OutgoingHandshake } from '../src/signaling/handshake.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { encodeMessage } from '../src/protocol/codec.js';
import type { Relay } from '../src/relay/index.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { decodeAddress } from '../src/relay-client/address.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { openSender, sealSender, SEALED_SENDER_BYTES } from '../src/relay-client/sealed-sender.js';
import type { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { endedWithin, eventually, liveCalls, noPeerConnections } from './helpers/call-watch.js';
import { Harness, once, reach, type User } from './helpers/call-harness.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import type { RawClient } from './helpers/relay-client.js';
import { RelayFixture } from './helpers/relay-fixture.js';
import { RelayTap } from './helpers/relay-tap.js';

/**
 * What a relay (or anyone on the network path) can and cannot do to calls. Alice, Bob and Carol
 * talk through a real relay on 127.0.0.1 with a man in the middle in front of it (RelayTap) that
 * records every frame and can drop, rewrite and inject: the strongest relay there is, one that
 * also knows every user's public identity key (from their shared addresses).
 */

const T = { ringTimeoutMs: 3000, connectTimeoutMs: 8000, remoteEndGraceMs: 400 };
const SLACK = 1500;

const fx = new RelayFixture();
let harness: Harness | undefined;
let tap: RelayTap | undefined;
afterEach(async () => {
  const left = (harness?.clients ?? []).flatMap((c) => liveCalls(c).map((call) => `${call.direction} ${call.state}`));
  await harness?.close();
  harness = undefined;
  await tap?.close();
  tap = undefined;
  await fx.close();
  await noPeerConnections(5000);
  expect(left).toEqual([]);
});

type Person = User & { ws: WebSocketTransport; senderId: Uint8Array; incoming: Call[] };

interface World {
  relay: Relay;
  tap: RelayTap;
  alice: Person;
  bob: Person;
  carol: Person;
  ids: Record<'alice' | 'bob' | 'carol', Identity>;
  /** A raw relay client the attacker uses to (re)send bodies into queues. */
  attacker: RawClient;
  /** Adds a fresh CallClient for `name` on its existing transport (a restarted app). */
  restart: (name: 'bob', options?: Partial<CallClientOptions>) => Promise<Person>;
}

async function world(options: Partial<CallClientOptions> = {}, storePath?: string, bobOptions: Partial<CallClientOptions> = {}): Promise<World> {
  await ready();
  const relay = await fx.start(storePath ? { storePath } : {});
  tap = await RelayTap.start(relay.address!.url);
  const ids = { alice: generateIdentity(), bob: generateIdentity(), carol: generateIdentity() };
  const ws = {
    alice: await fx.user(relay, { identity: ids.alice, url: tap.url }),
    bob: await fx.user(relay, { identity: ids.bob, url: tap.url }),
    carol: await fx.user(relay, { identity: ids.carol, url: tap.url }),
  };
  for (const a of ['alice', 'bob', 'carol'] as const) for (const b of ['alice', 'bob', 'carol'] as const) if (a !== b) ws[a].addContact(b, ws[b].address);
  const contacts = { alice: ids.alice.publicKey, bob: ids.bob.publicKey, carol: ids.carol.publicKey };
  const h = (harness = new Harness(new MemoryNetwork(), { wrtc: flakyWrtc, ...T, ...options }));
  const person = async (name: 'alice' | 'bob' | 'carol', extra: Partial<CallClientOptions> = {}): Promise<Person> => {
    const user = await h.user(name, { identity: ids[name], contacts, transport: ws[name], ...extra });
    const incoming: Call[] = [];
    user.client.on('incoming', (c) => incoming.push(c));
    return { ...user, ws: ws[name], senderId: decodeAddress(ws[name].address).senderId, incoming };
  };
  return {
    relay,
    tap,
    ids,
    alice: await person('alice'),
    bob: await person('bob', bobOptions),
    carol: await person('carol'),
    attacker: await fx.raw(relay),
    restart: async (name, extra = {}) => person(name, extra),
  };
}

const envelopeOf = (body: Uint8Array) => body.subarray(SEALED_SENDER_BYTES);
const kindOf = (body: Uint8Array) => envelopeOf(body)[1];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Bodies sent into `to`'s queue, in order (what the relay stores for it). */
function bodiesTo(t: RelayTap, to: Person): Uint8Array[] {
  return t.frames.flatMap((f) => (f.dir === 'up' && f.frame?.t === 'send' && hex(f.frame.senderId) === hex(to.senderId) ? [f.frame.body] : []));
}

/** Re-sends an envelope into `to`'s queue through the relay protocol, with a fresh sealed-sender header claiming `claimed`. */
async function inject(w: World, to: Person, claimed: Uint8Array, envelope: Uint8Array, recipient: Uint8Array): Promise<void> {
  const reply = await w.attacker.sendTo(to.senderId, sealSender(claimed, recipient, envelope));
  expect(reply.t).toBe('ok');
}

/** Waits until `user` has reported a warning with `code` (bounded). */
async function warnedWith(user: User, code: ErrorCode, ms = 3000): Promise<void> {
  await eventually(() => user.warnings.some((w) => w.code === code), ms, `warning ${code}`);
}

/** Resolves once every body sent so far has been delivered and acknowledged (nothing left queued on the relay). */
async function drained(w: World): Promise<void> {
  await eventually(() => w.relay.stats.bytesQueued === 0, 3000, 'relay queues drained');
}

async function connect(caller: Person, callee: Person, accept: Parameters<Call['accept']>[0] = { audio: false }) {
  const rang = once(callee.client, 'incoming');
  const callerCall = await caller.client.call(callee.name, { audio: false });
  const [calleeCall] = await rang;
  await calleeCall.accept(accept);
  await Promise.all([reach(callerCall, 'connected'), reach(calleeCall, 'connected')]);
  return { callerCall, calleeCall };
}

describe('a relay cannot read signaling or learn SDP, addresses or senders', () => {
  it('nothing on the wire or in the relay store holds signaling plaintext, SDP, candidates, IP addresses or identity keys', async () => {
    FakeFrameProtector.made.length = 0;
    const frames = { frameProtector: FakeFrameProtector.factory() };
    const w = await world(frames);
    // Frame keys and a microphone on each side, so every kind of message flows.
    const rang = once(w.bob.client, 'incoming');
    const aliceCall = await w.alice.client.call('bob', { audio: true });
    const [bobCall] = await rang;
    await bobCall.accept({ audio: true });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    // Everything both peer connections know that must stay between them.
    const sdps = [...flakyConnections].flatMap((c) => [c.pc.localDescription?.sdp ?? '', c.pc.remoteDescription?.sdp ?? '']);
    expect(sdps.join('').length).toBeGreaterThan(500);
    await aliceCall.setAudioMuted(true);
    await aliceCall.setAudioMuted(false);
    const data = once(bobCall, 'data');
    aliceCall.send('secret over the data channel');
    await data;
    await aliceCall.hangup();
    await endedWithin(bobCall, T.remoteEndGraceMs + SLACK);
    await drained(w);

    const secrets = new Set<string>();
    for (const sdp of sdps) {
      for (const line of sdp.split(/\r?\n/)) {
        const value = (re: RegExp) => re.exec(line)?.[1];
        for (const v of [value(/^a=ice-ufrag:(\S+)/), value(/^a=ice-pwd:(\S+)/), value(/^a=fingerprint:\S+ (\S+)/), value(/^o=\S+ (\d+)/)]) if (v) secrets.add(v);
        const candidate = /^a=candidate:(\S+) \d+ \S+ \d+ (\S+) (\d+) typ/.exec(line);
        if (candidate) {
          secrets.add(candidate[2]!); // the address itself
          secrets.add(`${candidate[2]} ${candidate[3]}`);
        }
      }
    }
    const addresses = [...secrets].filter((s) => /^\d+\.\d+\.\d+\.\d+$/.test(s));
    expect(addresses.length).toBeGreaterThan(0); // host candidates were gathered and exchanged
    const words = ['candidate:', 'typ host', 'a=ice-ufrag', 'a=fingerprint', 'sha-256', 'v=0\r\n', 'm=audio', 'm=application', 'webrtc-datachannel', 'invite', 'ringing', 'offer', 'answer', 'media-state', 'renegotiate', 'capabilities', 'frameEncryption', 'chacha20poly1305', 'secret over', 'callId', 'alice', 'carol'];
    const needles: [string, Uint8Array][] = [
      ...[...secrets, ...words].map((s): [string, Uint8Array] => [s, new TextEncoder().encode(s)]),
      // Binary forms too (loopback's 7f000001 is too common a byte pattern to test that way).
      ...addresses.filter((a) => !a.startsWith('127.')).map((a): [string, Uint8Array] => [`${a} (binary)`, Uint8Array.from(a.split('.').map(Number))]),
      ...(['alice', 'bob', 'carol'] as const).flatMap((n): [string, Uint8Array][] => [
        [`${n} identity key`, w.ids[n].publicKey],
        [`${n} identity key (hex)`, new TextEncoder().encode(hex(w.ids[n].publicKey))],
        [`${n} identity key (base64)`, new TextEncoder().encode(Buffer.from(w.ids[n].publicKey).toString('base64').slice(0, 40))],
      ]),
    ];
    const wire = w.tap.frames.map((f) => Buffer.from(f.bytes));
    expect(wire.length).toBeGreaterThan(20);
    const found = needles.filter(([, needle]) => wire.some((frame) => frame.includes(Buffer.from(needle))));
    expect(found.map(([name]) => name)).toEqual([]);

    // Every body is a sealed-sender header plus an envelope of one of the padding sizes.
    const bodies = w.tap.bodies;
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) expect(ENVELOPE_BUCKETS as readonly number[]).toContain(body.length - SEALED_SENDER_BYTES);
    // Sealed sender: no two headers alike (nothing links messages to one sender), and the relay,
    // holding no identity secret, cannot open them.
    const headers = new Set(bodies.map((b) => hex(b.subarray(0, SEALED_SENDER_BYTES))));
    expect(headers.size).toBe(new Set(bodies.map(hex)).size);
    expect(() => openSender(generateIdentity(), bodies[0]!)).toThrowSealcallError();
  });

  it('the relay store file holds only padded ciphertext too', async () => {
    const storePath = fx.tempStore();
    const w = await world({ ringTimeoutMs: 800 }, storePath);
    // Bob is away (his transport stops reading) while Alice calls: her messages wait in the store.
    w.bob.ws.close();
    const call = await w.alice.client.call('bob', { audio: false });
    await endedWithin(call, T.ringTimeoutMs + SLACK); // no-answer, and a cancel queued behind it
    await fx.stop(w.relay); // writes the store
    const stored = readFileSync(storePath);
    expect(stored.length).toBeGreaterThan(512);
    for (const needle of ['invite', 'audio', 'capabilities', 'cancel', 'no-answer', 'alice']) expect(stored.includes(needle)).toBe(false);
    for (const n of ['alice', 'bob'] as const) expect(stored.includes(Buffer.from(w.ids[n].publicKey))).toBe(false);
  });
});

describe('a relay cannot make a phone ring again with a captured invitation', () => {
  it('replayed verbatim, or re-wrapped under a fresh sealed-sender header: never rings again', async () => {
    const w = await world();
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => w.bob.incoming.length === 1, 3000);
    await w.bob.incoming[0]!.reject();
    await endedWithin(call, SLACK);
    const invite = bodiesTo(w.tap, w.bob).find((b) => kindOf(b) === 1)!;
    expect(invite).toBeDefined();
    await drained(w);

    // 1. The relay delivers the stored body again (same sealed-sender header): the transport drops the copy.
    expect((await w.attacker.sendTo(w.bob.senderId, invite)).t).toBe('ok');
    // 2. Re-wrapped so the transport sees a new message: the call layer's replay cache refuses it.
    await inject(w, w.bob, w.ids.alice.publicKey, envelopeOf(invite), w.ids.bob.publicKey);
    await drained(w);
    expect(w.bob.incoming).toHaveLength(1);
    expect(w.bob.warnings.map((x) => x.code)).toEqual([]); // REPLAYED is expected, so it is not even reported
  });

  it('after a restart of the app, a replay rings again unless the app kept the replay cache (there is no persistence API: a subclass must do it)', async () => {
    // What an app can do today: `replayCache` takes an instance, and a subclass can write every
    // accepted key through to storage ("disk" here) and refill a new instance on a cold start.
    const disk: string[] = [];
    class PersistedReplayCache extends ReplayCache {
      override add(key: string): void {
        super.add(key);
        disk.push(key);
      }
    }
    const w = await world({}, undefined, { replayCache: new PersistedReplayCache() });
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => w.bob.incoming.length === 1, 3000);
    await w.bob.incoming[0]!.reject();
    await endedWithin(call, SLACK);
    const invite = envelopeOf(bodiesTo(w.tap, w.bob).find((b) => kindOf(b) === 1)!);
    await drained(w);
    expect(disk.length).toBeGreaterThanOrEqual(1); // the invitation (and Alice's one-shot cancel)
    await w.bob.client.close();

    const restored = new ReplayCache();
    for (const key of disk) restored.add(key);
    const careful = await w.restart('bob', { replayCache: restored });
    await inject(w, careful, w.ids.alice.publicKey, invite, w.ids.bob.publicKey);
    await drained(w);
    expect(careful.incoming).toHaveLength(0);
    await careful.client.close();

    // The default: a fresh in-memory cache per CallClient. The same replay rings again (it is
    // within the invitation's lifetime plus the 5 min clock-skew allowance).
    const forgetful = await w.restart('bob');
    await inject(w, forgetful, w.ids.alice.publicKey, invite, w.ids.bob.publicKey);
    await eventually(() => forgetful.incoming.length === 1, 3000, 'replayed invitation rang');
    expect(forgetful.incoming[0]!.peer).toBe('alice');
    await forgetful.incoming[0]!.reject();
  });
});

describe('a relay cannot splice messages between calls', () => {
  it('envelopes of an earlier call injected into a later one are dropped; the later call is unaffected', async () => {
    const w = await world();
    const first = await connect(w.alice, w.bob);
    await first.callerCall.hangup();
    await endedWithin(first.calleeCall, T.remoteEndGraceMs + SLACK);
    const fromFirst = bodiesTo(w.tap, w.bob).filter((b) => kindOf(b) === 3).map(envelopeOf);
    expect(fromFirst.length).toBeGreaterThan(2);
    await drained(w);
    const sentBefore = bodiesTo(w.tap, w.bob).length;

    const second = await connect(w.alice, w.bob);
    const ofSecond = bodiesTo(w.tap, w.bob).slice(sentBefore).filter((b) => kindOf(b) === 3).map(envelopeOf);
    const secondHeader = ofSecond[0]!.subarray(0, 34);
    expect(hex(secondHeader.subarray(2, 18))).toBe(second.calleeCall.id);
    const claim = (e: Uint8Array) => inject(w, w.bob, w.ids.alice.publicKey, e, w.ids.bob.publicKey);

    for (const e of fromFirst) await claim(e); // a) as they were: their call is over
    for (const e of fromFirst) {
      const retargeted = e.slice();
      retargeted.set(secondHeader.subarray(2, 18), 2); // b) renamed to the live call
      await claim(retargeted);
      const spliced = retargeted.slice();
      spliced.set(secondHeader.subarray(18, 26), 18); // c) and to its session
      await claim(spliced);
    }
    for (const e of ofSecond) await claim(e); // d) the live call's own envelopes again
    await drained(w);
    await warnedWith(w.bob, 'DECRYPT_FAILED');
    expect(w.bob.warnings.every((x) => isSealcallError(x) && ['DECRYPT_FAILED'].includes(x.code))).toBe(true);
    expect([second.callerCall.state, second.calleeCall.state]).toEqual(['connected', 'connected']);
    expect(w.bob.client.activeCalls).toEqual([second.calleeCall]);
    const echo = once(second.calleeCall, 'data');
    second.callerCall.send('unaffected');
    expect(Buffer.from((await echo)[0]).toString()).toBe('unaffected');
    await second.calleeCall.hangup();
    expect((await endedWithin(second.callerCall, T.remoteEndGraceMs + SLACK)).reason).toBe('remote-hangup');
  });
});

describe('a relay cannot get a call answered or media keys installed by anyone but the contact', () => {
  it('an invitation from another identity claiming to be Alice, or Alice’s own re-labelled as Carol’s, never rings', async () => {
    const w = await world();
    const mallory = generateIdentity();
    const forged = new OutgoingHandshake({ identity: mallory, remotePublicKey: w.ids.bob.publicKey });
    const invite = forged.invite(
      encodeMessage({ type: 'invite', callId: forged.callId, seq: 0, media: 'audio', capabilities: { frameEncryption: [] }, sentAt: Date.now(), lifetimeMs: 30_000 }),
    );
    await inject(w, w.bob, w.ids.alice.publicKey, invite, w.ids.bob.publicKey); // "from alice"
    await warnedWith(w.bob, 'DECRYPT_FAILED');

    // Alice's genuine invitation, dropped on its way and re-labelled as coming from Carol.
    w.tap.up = RelayTap.withhold((f) => f.t === 'send' && hex(f.senderId) === hex(w.bob.senderId) && kindOf(f.body) === 1);
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => bodiesTo(w.tap, w.bob).some((b) => kindOf(b) === 1), 3000);
    const genuine = envelopeOf(bodiesTo(w.tap, w.bob).find((b) => kindOf(b) === 1)!);
    w.tap.up = () => 'pass';
    await inject(w, w.bob, w.ids.carol.publicKey, genuine, w.ids.bob.publicKey);
    await eventually(() => w.bob.warnings.filter((x) => x.code === 'DECRYPT_FAILED').length >= 2, 3000);
    expect(w.bob.incoming).toHaveLength(0);
    // The failed forgery did not burn the genuine invitation: delivered as Alice's, it rings.
    await inject(w, w.bob, w.ids.alice.publicKey, genuine, w.ids.bob.publicKey);
    await eventually(() => w.bob.incoming.length === 1, 3000);
    expect(w.bob.incoming[0]!.peer).toBe('alice');
    await w.bob.incoming[0]!.reject();
    await endedWithin(call, SLACK);
  });

  it('a relay that answers for Bob (his reply withheld, its own forged) never gets Alice’s call answered or any frame key installed', async () => {
    FakeFrameProtector.made.length = 0;
    const w = await world({ frameProtector: FakeFrameProtector.factory(), ringTimeoutMs: 1500 });
    // Bob never hears of the call; the relay plays Bob with keys of its own.
    w.tap.up = RelayTap.withhold((f) => f.t === 'send' && hex(f.senderId) === hex(w.bob.senderId));
    const mallory = generateIdentity();
    const pcsBefore = flakyConnections.size;
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => bodiesTo(w.tap, w.bob).length > 0, 3000);
    const invite = envelopeOf(bodiesTo(w.tap, w.bob)[0]!);
    const callId = call.id;
    // A reply (KK message 2) it cannot compute for Bob's key: its own handshake's, and random bytes.
    const own = new OutgoingHandshake({ identity: mallory, remotePublicKey: w.ids.alice.publicKey, callId });
    const fake = own.invite(encodeMessage({ type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: ['chacha20poly1305'] } }));
    fake[1] = 2; // relabelled as a response
    const junk = invite.slice();
    junk[1] = 2;
    junk.set(sodium().randombytes_buf(junk.length - 34), 34);
    // An "offer" under a made-up session tag, and the invitation bounced back.
    const offer = invite.slice();
    offer[1] = 3;
    offer.set(sodium().randombytes_buf(8), 18);
    for (const envelope of [fake, junk, offer, invite]) await inject(w, w.alice, w.ids.bob.publicKey, envelope, w.ids.alice.publicKey);
    await eventually(() => w.alice.warnings.filter((x) => x.code === 'DECRYPT_FAILED').length >= 2, 3000);
    const end = await endedWithin(call, 1500 + SLACK);
    expect(end.reason).toBe('no-answer');
    expect(FakeFrameProtector.made).toEqual([]); // no frame protector, so no key, was ever made
    expect(flakyConnections.size).toBe(pcsBefore); // and no peer connection
    w.tap.up = () => 'pass';
  });

  it('in a genuine call, only keys from the contact’s handshake are installed; replayed and forged key updates add none', async () => {
    FakeFrameProtector.made.length = 0;
    const w = await world({ frameProtector: FakeFrameProtector.factory() });
    const { callerCall, calleeCall } = await connect(w.alice, w.bob);
    const [bobSide, aliceSide] = FakeFrameProtector.made; // Bob offered first
    expect(await callerCall.rotateFrameKey()).toBe(1);
    await bobSide!.receivedKeys(2);
    await drained(w);
    // The key update's envelope, captured: the last transport envelope Alice sent Bob.
    const update = envelopeOf(bodiesTo(w.tap, w.bob).filter((b) => kindOf(b) === 3).at(-1)!);
    const claim = (e: Uint8Array) => inject(w, w.bob, w.ids.alice.publicKey, e, w.ids.bob.publicKey);
    await claim(update); // replayed: dropped by the replay window
    // Moved ahead of the replay window (a counter never used), so they reach decryption.
    const ahead = (e: Uint8Array, by: number) => {
      const out = e.slice();
      const view = new DataView(out.buffer);
      view.setUint32(30, view.getUint32(30) + by);
      return out;
    };
    await claim(ahead(update, 1000)); // the counter is authenticated: fails
    const flipped = ahead(update, 2000);
    flipped[flipped.length - 1]! ^= 0x80; // and a forged body
    await claim(flipped);
    await drained(w);
    await warnedWith(w.bob, 'DECRYPT_FAILED');
    // Bob's receive keys are exactly Alice's send keys: key 0 from the handshake, key 1 its ratchet.
    expect(bobSide!.receiveKeys.map((k) => k.kid)).toEqual([0, 1]);
    expect(bobSide!.receiveKeys.map((k) => hex(k.key))).toEqual(aliceSide!.sendKeys.map((k) => hex(k.key)));
    expect(hex(bobSide!.receiveKeys[1]!.key)).toBe(hex(nextBaseKey(aliceSide!.sendKeys[0]!.key)));
    expect(aliceSide!.receiveKeys.map((k) => hex(k.key))).toEqual(bobSide!.sendKeys.map((k) => hex(k.key)));
    await calleeCall.hangup();
    await endedWithin(callerCall, T.remoteEndGraceMs + SLACK);
  });
});
