import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallClientOptions } from '../src/call/options.js';
import { DEFAULT_ENVELOPE_BYTES, HEADER_BYTES } from '../src/signaling/envelope.js';
import { PAIR_NONCE_BYTES, PAIR_SEAL_OVERHEAD } from '../src/signaling/pair-seal.js';
import type { ReplayStore } from '../src/signaling/replay-guard.js';
import { nextBaseKey } from '../src/crypto/frame/index.js';
import { generateIdentity, type Identity } from '../src/crypto/identity.js';
import { IncomingHandshake, OutgoingHandshake } from '../src/signaling/handshake.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { encodeMessage } from '../src/protocol/codec.js';
import type { Relay } from '../src/relay/index.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { decodeAddress } from '../src/relay-client/address.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { openSender, sealSender, SEALED_SENDER_BYTES } from '../src/relay-client/sealed-sender.js';
import { importQueueState } from '../src/relay-client/queue-state.js';
import { DELIVERY_OVERHEAD, openDelivery } from '../src/crypto/relay-keys.js';
import type { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { endedWithin, eventually, liveCalls, noPeerConnections } from './helpers/call-watch.js';
import { Harness, once, reach, type User } from './helpers/call-harness.js';
import { openFrom, sealFor } from './helpers/crypto.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import type { RawClient } from './helpers/relay-client.js';
import { RelayFixture } from './helpers/relay-fixture.js';
import { RelayTap } from './helpers/relay-tap.js';

/**
 * What a relay (or anyone on the network path) can and cannot do to calls. Alice, Bob and Carol
 * talk through a real relay on 127.0.0.1 with a man in the middle in front of it (RelayTap) that
 * records every frame and can drop, rewrite and inject: the strongest relay there is, one that
 * also knows every user's public identity key (from their shared addresses).
 *
 * Every envelope is pair-sealed (src/signaling/pair-seal.ts): the relay sees a random nonce and
 * ciphertext of one fixed length, so it cannot tell an invitation from any other envelope, nor
 * read a call id, session tag or counter. The attacks below use only what a relay can do: record,
 * drop, delay, replay or re-label captured bodies, and inject bytes it made itself (with keys it
 * owns, such as Mallory's identity, or at random). The *test*, however, is omniscient: where an
 * attack needs to pick one captured body (the invitation, a key update), the test opens the pair
 * seal with the users' identities to find it, as a real relay could only guess from timing and
 * order. That is the strongest version of each attack.
 */

const T = { ringTimeoutMs: 3000, connectTimeoutMs: 8000, remoteEndGraceMs: 400 };
const SLACK = 1500;

const fx = new RelayFixture();
let harness: Harness | undefined;
let tap: RelayTap | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  const left = (harness?.clients ?? []).flatMap((c) => liveCalls(c).map((call) => `${call.direction} ${call.state}`));
  await harness?.close();
  harness = undefined;
  await tap?.close();
  tap = undefined;
  await fx.close();
  await noPeerConnections(5000);
  expect(left).toEqual([]);
});

type Name = 'alice' | 'bob' | 'carol';
const NAMES = ['alice', 'bob', 'carol'] as const;
type Person = User & { ws: WebSocketTransport; senderId: Uint8Array; incoming: Call[] };

interface World {
  relay: Relay;
  tap: RelayTap;
  alice: Person;
  bob: Person;
  carol: Person;
  ids: Record<Name, Identity>;
  /** A raw relay client the attacker uses to (re)send bodies into queues (straight to the relay, not through the tap). */
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
  for (const a of NAMES) for (const b of NAMES) if (a !== b) ws[a].addContact(b, ws[b].address);
  const contacts = { alice: ids.alice.publicKey, bob: ids.bob.publicKey, carol: ids.carol.publicKey };
  const h = (harness = new Harness(new MemoryNetwork(), { wrtc: flakyWrtc, ...T, ...options }));
  const person = async (name: Name, extra: Partial<CallClientOptions> = {}): Promise<Person> => {
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
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * What a captured body holds, as only its sender and recipient can see it: who sent it to whom,
 * and the inner envelope under the pair seal. The relay cannot do this; the omniscient test does,
 * to pick what to attack with and to check what happened. Undefined when no user can open it.
 */
function opened(w: World, body: Uint8Array): { from: Name; to: Name; inner: Uint8Array } | undefined {
  for (const to of NAMES) {
    let claimed: Uint8Array;
    try {
      claimed = openSender(w.ids[to], body).senderPublicKey;
    } catch {
      continue;
    }
    const from = NAMES.find((n) => hex(w.ids[n].publicKey) === hex(claimed));
    if (!from) return undefined;
    try {
      return { from, to, inner: openFrom(w.ids[to], w.ids[from].publicKey, envelopeOf(body)) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
/** The inner envelope's kind (1 invite, 2 response, 3 transport, 4 one-shot): the test's knowledge, not the relay's. */
const kindOf = (w: World, body: Uint8Array) => opened(w, body)?.inner[1];
/** The inner envelope's call id, hex. */
const callIdOf = (inner: Uint8Array) => hex(inner.subarray(2, 18));

/** Bodies sent into `to`'s queue, in order (what the relay stores for it). */
function bodiesTo(t: RelayTap, to: Person): Uint8Array[] {
  return t.frames.flatMap((f) => (f.dir === 'up' && f.frame?.t === 'send' && hex(f.frame.senderId) === hex(to.senderId) ? [f.frame.body] : []));
}

/** Re-sends a (pair-sealed) envelope into `to`'s queue through the relay protocol, with a fresh sealed-sender header claiming `claimed`. */
async function inject(w: World, to: Person, claimed: Uint8Array, envelope: Uint8Array, recipient: Uint8Array): Promise<void> {
  const reply = await w.attacker.sendTo(to.senderId, sealSender(claimed, recipient, envelope));
  expect(reply.t).toBe('ok');
}

/**
 * The pair seal's cipher is a stream cipher (XChaCha20): flipping a ciphertext bit flips the same
 * plaintext bit. So a relay that knew or guessed the plaintext under the seal (here the test tells
 * it, the strongest case) could rewrite it in place: `edit` turns the inner envelope into the one
 * wanted, and the outer envelope comes back with exactly the differing bits flipped. Only the
 * Poly1305 tag stands in the way, and it must refuse every one (`DECRYPT_FAILED`).
 */
function malleate(outer: Uint8Array, inner: Uint8Array, edit: (inner: Uint8Array) => void): Uint8Array {
  const wanted = inner.slice();
  edit(wanted);
  const out = outer.slice();
  for (let i = 0; i < inner.length; i++) out[PAIR_NONCE_BYTES + i]! ^= inner[i]! ^ wanted[i]!;
  return out;
}

/** Waits until `user` has reported a warning with `code` (bounded). */
async function warnedWith(user: User, code: ErrorCode, ms = 3000): Promise<void> {
  await eventually(() => user.warnings.some((w) => w.code === code), ms, `warning ${code}`);
}

/** Waits until `user` has reported exactly `count` warnings with `code`, and none of any other code. */
async function warnedOnly(user: User, code: ErrorCode, count: number, ms = 3000): Promise<void> {
  await eventually(() => user.warnings.filter((w) => w.code === code).length >= count, ms, `${count} × ${code}`);
  expect(user.warnings.map((x) => (isSealcallError(x) ? x.code : String(x)))).toEqual(Array<string>(count).fill(code));
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
  it('nothing on the wire or in the relay store holds signaling plaintext, SDP, candidates, IP addresses, identity keys, call ids or session tags; every envelope is one length and shares no bytes with another', async () => {
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

    // Each distinct body once: what went up as `send` (what the relay stores, re-encrypted), and
    // what came down as `msg` (the relay's re-encryption for the recipient).
    const distinct = (list: Uint8Array[]) => [...new Map(list.map((b) => [hex(b), b])).values()];
    const bodies = distinct(w.tap.frames.flatMap((f) => (f.dir === 'up' && f.frame?.t === 'send' ? [f.frame.body] : [])));
    const msgs = w.tap.frames.flatMap((f) => (f.dir === 'down' && f.frame?.t === 'msg' ? [f.frame] : []));
    const delivered = distinct(msgs.map((m) => m.body));
    expect(bodies.length).toBeGreaterThan(10);
    // Under the relay's layer (which the omniscient test removes with the recipients' queue keys)
    // each delivered body is exactly one body that went up, and every one that went up came down.
    const queues = NAMES.map((n) => importQueueState(w[n].ws.exportState()));
    const deliveryKeys = new Map(queues.map((q) => [hex(q.recipientId), q.deliveryKey]));
    const unwrapped = new Set(msgs.map((m) => hex(openDelivery(deliveryKeys.get(hex(m.recipientId))!, m.msgId, m.ts, m.body))));
    expect(unwrapped).toEqual(new Set(bodies.map(hex)));
    // Without that layer nobody can open what came down, not even its recipient's identity.
    expect(delivered.filter((b) => opened(w, b) !== undefined)).toEqual([]);
    // The test (not the relay) opens every envelope: all are Alice's and Bob's, version 2, and
    // hold the call ids and session tags that must not show on the wire.
    const inners = bodies.map((b) => opened(w, b));
    expect(inners.filter((x) => x === undefined || ![x.from, x.to].every((n) => n === 'alice' || n === 'bob'))).toEqual([]);
    const callIds = new Set(inners.map((x) => callIdOf(x!.inner)));
    expect([...callIds]).toEqual([aliceCall.id]);
    const tags = new Set(inners.filter((x) => x!.inner[1] === 3).map((x) => hex(x!.inner.subarray(18, 26))));
    expect(tags.size).toBeGreaterThanOrEqual(1); // the answered session's

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
      ...[...secrets, ...words, ...callIds, ...tags].map((s): [string, Uint8Array] => [s, new TextEncoder().encode(s)]),
      // Binary forms too (loopback's 7f000001 is too common a byte pattern to test that way).
      ...addresses.filter((a) => !a.startsWith('127.')).map((a): [string, Uint8Array] => [`${a} (binary)`, Uint8Array.from(a.split('.').map(Number))]),
      ...[...callIds].map((id): [string, Uint8Array] => [`call id ${id} (binary)`, Buffer.from(id, 'hex')]),
      ...[...tags].map((tag): [string, Uint8Array] => [`session tag ${tag} (binary)`, Buffer.from(tag, 'hex')]),
      ...NAMES.flatMap((n): [string, Uint8Array][] => [
        [`${n} identity key`, w.ids[n].publicKey],
        [`${n} identity key (hex)`, new TextEncoder().encode(hex(w.ids[n].publicKey))],
        [`${n} identity key (base64)`, new TextEncoder().encode(Buffer.from(w.ids[n].publicKey).toString('base64').slice(0, 40))],
      ]),
    ];
    const wire = w.tap.frames.map((f) => Buffer.from(f.bytes));
    expect(wire.length).toBeGreaterThan(20);
    const found = needles.filter(([, needle]) => wire.some((frame) => frame.includes(Buffer.from(needle))));
    expect(found.map(([name]) => name)).toEqual([]);

    // Every body is a sealed-sender header plus an envelope of exactly one length, whatever it
    // carries (invitation, reply, offer, candidates, ack, key update, hangup), and comes down
    // DELIVERY_OVERHEAD longer.
    expect(new Set(bodies.map((b) => b.length - SEALED_SENDER_BYTES))).toEqual(new Set([DEFAULT_ENVELOPE_BYTES]));
    expect(new Set(delivered.map((b) => b.length))).toEqual(new Set([SEALED_SENDER_BYTES + DEFAULT_ENVELOPE_BYTES + DELIVERY_OVERHEAD]));
    expect(new Set(inners.map((x) => x!.inner.length))).toEqual(new Set([DEFAULT_ENVELOPE_BYTES - PAIR_SEAL_OVERHEAD]));
    // No 16-byte window of one envelope appears in another: nothing in them is in clear or
    // repeats (no version, kind, call id, tag or counter; retransmissions are sealed afresh).
    const windows = new Map<string, number>();
    const shared: string[] = [];
    bodies.forEach((body, n) => {
      const envelope = Buffer.from(envelopeOf(body));
      const own = new Set<string>();
      for (let i = 0; i + 16 <= envelope.length; i++) own.add(envelope.toString('latin1', i, i + 16));
      for (const window of own) {
        const other = windows.get(window);
        if (other === undefined) windows.set(window, n);
        else shared.push(`bodies ${other} and ${n}`);
      }
    });
    expect(shared).toEqual([]);
    // Nor does any 16-byte window of a body that went up (header included) show in one that came
    // down, nor one delivered body's in another's: a relay's input and output do not match by content.
    const up = new Set<string>();
    for (const body of bodies) for (let i = 0; i + 16 <= body.length; i++) up.add(Buffer.from(body).toString('latin1', i, i + 16));
    const down = new Map<string, number>();
    const crossed: string[] = [];
    delivered.forEach((body, n) => {
      const own = new Set<string>();
      for (let i = 0; i + 16 <= body.length; i++) own.add(Buffer.from(body).toString('latin1', i, i + 16));
      for (const window of own) {
        const other = down.get(window);
        if (up.has(window)) crossed.push(`delivered body ${n} and a sent body`);
        else if (other === undefined) down.set(window, n);
        else crossed.push(`delivered bodies ${other} and ${n}`);
      }
    });
    expect(crossed).toEqual([]);
    // Sealed sender: no two headers alike (nothing links messages to one sender), and the relay,
    // holding no identity secret, cannot open them.
    const headers = new Set(bodies.map((b) => hex(b.subarray(0, SEALED_SENDER_BYTES))));
    expect(headers.size).toBe(bodies.length);
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
    for (const needle of ['invite', 'audio', 'capabilities', 'cancel', 'no-answer', 'alice', call.id]) expect(stored.includes(needle)).toBe(false);
    expect(stored.includes(Buffer.from(call.id, 'hex'))).toBe(false);
    for (const n of ['alice', 'bob'] as const) expect(stored.includes(Buffer.from(w.ids[n].publicKey))).toBe(false);
  });
});

describe('a relay cannot make a phone ring again with a captured invitation', () => {
  it('replayed verbatim, or re-wrapped under a fresh sealed-sender header: never rings again (within its lifetime it only gets the same reply, sealed afresh)', async () => {
    const w = await world();
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => w.bob.incoming.length === 1, 3000);
    await w.bob.incoming[0]!.reject();
    await endedWithin(call, SLACK);
    // The relay cannot tell which body was the invitation (it could guess: the first of a burst);
    // the test opens them to pick it.
    const invite = bodiesTo(w.tap, w.bob).find((b) => kindOf(w, b) === 1)!;
    expect(invite).toBeDefined();
    await drained(w);
    const replies = () => bodiesTo(w.tap, w.alice).filter((b) => kindOf(w, b) === 2);
    const repliesBefore = replies().length;
    expect(repliesBefore).toBeGreaterThanOrEqual(1);

    // 1. The relay delivers the stored body again (same sealed-sender header): the transport drops the copy.
    expect((await w.attacker.sendTo(w.bob.senderId, invite)).t).toBe('ok');
    // 2. Re-wrapped so the transport sees a new message: the router's replay guard refuses it.
    // Since the invitation could still be fresh (Alice may not have heard Bob), Bob repeats his
    // stored reply, and nothing else.
    await inject(w, w.bob, w.ids.alice.publicKey, envelopeOf(invite), w.ids.bob.publicKey);
    await drained(w);
    await eventually(() => replies().length === repliesBefore + 1, 3000, 'the stored reply repeated');
    const [first, again] = [replies()[0]!, replies().at(-1)!];
    expect(hex(opened(w, again)!.inner)).toBe(hex(opened(w, first)!.inner)); // the same reply…
    expect(hex(envelopeOf(again).subarray(0, PAIR_NONCE_BYTES))).not.toBe(hex(envelopeOf(first).subarray(0, PAIR_NONCE_BYTES))); // …under a fresh nonce
    expect(hex(envelopeOf(again))).not.toBe(hex(envelopeOf(first)));
    await drained(w);
    expect(w.bob.incoming).toHaveLength(1);
    expect(w.bob.warnings.map((x) => x.code)).toEqual([]); // REPLAYED is expected, so it is not even reported
    expect(w.alice.warnings.map((x) => x.code)).toEqual([]); // a reply for a call that is over is dropped silently
    expect(w.alice.client.activeCalls).toEqual([]);
  });

  it('after a restart of the app, a replay neither rings nor gets any reply when the app keeps a replayStore; without one it rings again within the invitation’s lifetime', async () => {
    // The app's disk: an in-memory stand-in shared across the restart.
    let saved: Uint8Array | undefined;
    let saves = 0;
    const disk: ReplayStore = {
      load: () => saved,
      save: (state) => {
        saved = state.slice();
        saves++;
      },
    };
    const w = await world({}, undefined, { replayStore: disk });
    const savesWhenRang: number[] = [];
    w.bob.client.on('incoming', () => savesWhenRang.push(saves));
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => w.bob.incoming.length === 1, 3000);
    expect(savesWhenRang).toEqual([1]); // saved before it rang
    await w.bob.incoming[0]!.reject();
    await endedWithin(call, SLACK);
    // Picked by the omniscient test; a relay would take the first body of the burst.
    const invite = envelopeOf(bodiesTo(w.tap, w.bob).find((b) => kindOf(w, b) === 1)!);
    await drained(w);
    expect(saves).toBe(1); // one invitation accepted (Alice's cancel, if any, is not an invitation)
    await w.bob.client.close();

    // Restarted with the store: the replay is refused, and since a refused replay after a restart
    // is never answered, nothing at all goes back to Alice.
    const careful = await w.restart('bob', { replayStore: disk });
    const toAliceBefore = bodiesTo(w.tap, w.alice).length;
    await inject(w, careful, w.ids.alice.publicKey, invite, w.ids.bob.publicKey);
    await drained(w);
    // A later genuine call proves the replay was handled (same queue, in order) and answered by
    // nothing: every body Bob sent Alice since belongs to the new call.
    const rings = once(careful.client, 'incoming');
    const next = await w.alice.client.call('bob', { audio: false });
    const heard = once(next, 'ringing');
    const [nextCall] = await rings;
    expect(nextCall.id).toBe(next.id);
    await heard; // Bob's reply to the new call reached Alice
    const since = bodiesTo(w.tap, w.alice).slice(toAliceBefore);
    expect(since.length).toBeGreaterThanOrEqual(1);
    expect(since.map((b) => callIdOf(opened(w, b)!.inner))).toEqual(since.map(() => next.id));
    expect(careful.incoming.map((c) => c.id)).toEqual([next.id]);
    expect(careful.warnings.map((x) => x.code)).toEqual([]);
    await nextCall.reject();
    await endedWithin(next, SLACK);
    expect(saves).toBe(2);
    await careful.client.close();

    // Without a store the state lives in memory only: the same replay rings again (the documented
    // limitation, within the invitation's lifetime plus 30 s of clock skew).
    const forgetful = await w.restart('bob');
    await inject(w, forgetful, w.ids.alice.publicKey, invite, w.ids.bob.publicKey);
    await eventually(() => forgetful.incoming.length === 1, 3000, 'replayed invitation rang');
    expect(forgetful.incoming[0]!.peer).toBe('alice');
    expect(forgetful.incoming[0]!.id).toBe(call.id);
    await forgetful.incoming[0]!.reject();
  });
});

describe('a relay cannot splice messages between calls', () => {
  it('envelopes of an earlier call injected into a later one, as they were or rewritten under the seal, are dropped; the later call is unaffected', async () => {
    const w = await world();
    const first = await connect(w.alice, w.bob);
    await first.callerCall.hangup();
    await endedWithin(first.calleeCall, T.remoteEndGraceMs + SLACK);
    // Alice's transport envelopes of the first call (picked by the omniscient test).
    const fromFirst = bodiesTo(w.tap, w.bob)
      .filter((b) => kindOf(w, b) === 3)
      .map((b) => ({ outer: envelopeOf(b), inner: opened(w, b)!.inner }));
    expect(fromFirst.length).toBeGreaterThan(2);
    await drained(w);
    const sentBefore = bodiesTo(w.tap, w.bob).length;

    const second = await connect(w.alice, w.bob);
    const ofSecond = bodiesTo(w.tap, w.bob)
      .slice(sentBefore)
      .filter((b) => kindOf(w, b) === 3)
      .map((b) => ({ outer: envelopeOf(b), inner: opened(w, b)!.inner }));
    const secondHeader = ofSecond[0]!.inner.subarray(0, HEADER_BYTES);
    expect(callIdOf(secondHeader)).toBe(second.calleeCall.id);
    expect(callIdOf(fromFirst[0]!.inner)).toBe(first.calleeCall.id);
    const claim = (e: Uint8Array) => inject(w, w.bob, w.ids.alice.publicKey, e, w.ids.bob.publicKey);

    for (const e of fromFirst) await claim(e.outer); // a) as they were: their call is over (dropped silently)
    for (const e of fromFirst) {
      // b) renamed to the live call, c) and to its session: bit flips under the seal
      await claim(malleate(e.outer, e.inner, (x) => x.set(secondHeader.subarray(2, 18), 2)));
      await claim(malleate(e.outer, e.inner, (x) => x.set(secondHeader.subarray(2, 26), 2)));
    }
    for (const e of ofSecond) await claim(e.outer); // d) the live call's own envelopes again (replays: dropped silently)
    await drained(w);
    // Exactly the rewritten ones fail, at the pair seal; nothing else is even reported.
    await warnedOnly(w.bob, 'DECRYPT_FAILED', 2 * fromFirst.length);
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
  it('an invitation from another identity claiming to be Alice, or Alice’s own re-labelled as Carol’s, never rings and never reaches the handshake', async () => {
    const w = await world();
    const handshakes = vi.spyOn(IncomingHandshake, 'open');
    const mallory = generateIdentity();
    const forged = new OutgoingHandshake({ identity: mallory, remotePublicKey: w.ids.bob.publicKey });
    const inner = forged.invite(
      encodeMessage({ type: 'invite', callId: forged.callId, seq: 0, media: 'audio', capabilities: { frameEncryption: [] }, sentAt: Date.now(), lifetimeMs: 30_000 }),
      DEFAULT_ENVELOPE_BYTES,
    );
    // The best Mallory can do: pair-seal it with her own keys.
    const invite = sealFor(mallory, w.ids.bob.publicKey, inner);
    await inject(w, w.bob, w.ids.alice.publicKey, invite, w.ids.bob.publicKey); // "from alice"
    await warnedWith(w.bob, 'DECRYPT_FAILED');
    await inject(w, w.bob, mallory.publicKey, invite, w.ids.bob.publicKey); // as herself: a stranger
    await warnedWith(w.bob, 'UNKNOWN_CONTACT');
    expect(handshakes).not.toHaveBeenCalled();

    // Alice's genuine invitation, dropped on its way (with every copy she sends again) and
    // re-labelled as coming from Carol. The relay cannot tell the invitation by its bytes; the
    // omniscient test opens each body to pick it.
    w.tap.up = RelayTap.withhold((f) => f.t === 'send' && hex(f.senderId) === hex(w.bob.senderId) && kindOf(w, f.body) === 1);
    const call = await w.alice.client.call('bob', { audio: false });
    await eventually(() => bodiesTo(w.tap, w.bob).some((b) => kindOf(w, b) === 1), 3000);
    const genuine = envelopeOf(bodiesTo(w.tap, w.bob).find((b) => kindOf(w, b) === 1)!);
    await inject(w, w.bob, w.ids.carol.publicKey, genuine, w.ids.bob.publicKey);
    await eventually(() => w.bob.warnings.filter((x) => x.code === 'DECRYPT_FAILED').length >= 2, 3000);
    expect(w.bob.incoming).toHaveLength(0);
    expect(handshakes).not.toHaveBeenCalled(); // refused at the pair seal, before any Noise
    expect(w.bob.warnings.map((x) => x.code)).toEqual(['DECRYPT_FAILED', 'UNKNOWN_CONTACT', 'DECRYPT_FAILED']);
    // The failed forgery did not burn the genuine invitation: delivered as Alice's, it rings.
    await inject(w, w.bob, w.ids.alice.publicKey, genuine, w.ids.bob.publicKey);
    await eventually(() => w.bob.incoming.length === 1, 3000);
    w.tap.up = () => 'pass';
    expect(handshakes).toHaveBeenCalledTimes(1);
    expect(w.bob.incoming[0]!.peer).toBe('alice');
    expect(w.bob.incoming[0]!.id).toBe(call.id);
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
    // The first body of the call is the invitation (the test checks what the relay can only assume).
    const captured = bodiesTo(w.tap, w.bob)[0]!;
    const inviteInner = opened(w, captured)!.inner;
    expect(inviteInner[1]).toBe(1);
    const invite = envelopeOf(captured);
    // The call id is under the seal; this relay is told it anyway (the strongest case).
    const callId = call.id;
    // A reply (KK message 2) it cannot compute for Bob's key: its own handshake's, pair-sealed
    // with its own keys; and random bytes of the one envelope length.
    const own = new OutgoingHandshake({ identity: mallory, remotePublicKey: w.ids.alice.publicKey, callId });
    const fakeInner = own.invite(encodeMessage({ type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: ['chacha20poly1305'] } }), DEFAULT_ENVELOPE_BYTES);
    fakeInner[1] = 2; // relabelled as a response
    const fake = sealFor(mallory, w.ids.alice.publicKey, fakeInner);
    const junk = sodium().randombytes_buf(invite.length);
    // An "offer" under a made-up session tag (the invitation rewritten under the seal), and the
    // invitation bounced back: pair keys have a direction, so Alice cannot open her own.
    const offer = malleate(invite, inviteInner, (x) => {
      x[1] = 3;
      x.set(sodium().randombytes_buf(8), 18);
    });
    for (const envelope of [fake, junk, offer, invite]) await inject(w, w.alice, w.ids.bob.publicKey, envelope, w.ids.alice.publicKey);
    await warnedOnly(w.alice, 'DECRYPT_FAILED', 4);
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
    // The key update's envelope, captured: the last transport envelope Alice sent Bob (the test
    // opens them to find it; to the relay they all look alike).
    const captured = bodiesTo(w.tap, w.bob)
      .filter((b) => kindOf(w, b) === 3)
      .at(-1)!;
    const update = envelopeOf(captured);
    const updateInner = opened(w, captured)!.inner;
    const claim = (e: Uint8Array) => inject(w, w.bob, w.ids.alice.publicKey, e, w.ids.bob.publicKey);
    await claim(update); // replayed: opens, then dropped by the session's replay window, silently
    // Moved ahead of the replay window (a counter never used) by flipping bits under the seal: the
    // counter is authenticated, twice over (pair seal and session), and the pair seal refuses it.
    const ahead = (by: number) =>
      malleate(update, updateInner, (x) => {
        const view = new DataView(x.buffer, x.byteOffset, x.length);
        view.setUint32(30, view.getUint32(30) + by);
      });
    await claim(ahead(1000));
    const flipped = ahead(2000);
    flipped[flipped.length - 1]! ^= 0x80; // and a forged body
    await claim(flipped);
    await claim(sodium().randombytes_buf(update.length)); // and random bytes
    await drained(w);
    await warnedOnly(w.bob, 'DECRYPT_FAILED', 3);
    // Bob's receive keys are exactly Alice's send keys: key 0 from the handshake, key 1 its ratchet.
    expect(bobSide!.receiveKeys.map((k) => k.kid)).toEqual([0, 1]);
    expect(bobSide!.receiveKeys.map((k) => hex(k.key))).toEqual(aliceSide!.sendKeys.map((k) => hex(k.key)));
    expect(hex(bobSide!.receiveKeys[1]!.key)).toBe(hex(nextBaseKey(aliceSide!.sendKeys[0]!.key)));
    expect(aliceSide!.receiveKeys.map((k) => hex(k.key))).toEqual(bobSide!.sendKeys.map((k) => hex(k.key)));
    await calleeCall.hangup();
    await endedWithin(callerCall, T.remoteEndGraceMs + SLACK);
  });
});
