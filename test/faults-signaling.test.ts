import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallClientOptions } from '../src/call/options.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { endedWithin, eventually, liveCalls, noPeerConnections, watch } from './helpers/call-watch.js';
import { Harness, once, reach, type User } from './helpers/call-harness.js';
import { FaultTransport, installSignalOracle, uninstallSignalOracle } from './helpers/fault-transport.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import { manyCandidatesWrtc, slowGatherWrtc } from './helpers/gather-wrtc.js';

/**
 * What the library does when the chat transport loses a signaling message, or refuses to send:
 * the message is sent again until it arrives, so a loss delays the call and never ends or wedges
 * it. One test per row of RELIABILITY.md's table.
 */

const RING = 600;
const CONNECT = 800;
/** For calls that must connect: a slow machine never turns them into connect-timeouts. */
const CONNECTS = { connectTimeoutMs: 8000 };
const GRACE = 300;
/** Timers fire late under load; a hung call would blow far past this. */
const SLACK = 900;

let harness: Harness | undefined;
const transports: FaultTransport[] = [];
beforeAll(() => installSignalOracle());
afterAll(() => uninstallSignalOracle());
afterEach(async () => {
  // Every test ends all of its calls itself: anything still live here was left hanging.
  const left = (harness?.clients ?? []).flatMap((c) => liveCalls(c).map((call) => `${call.direction} ${call.state}`));
  await harness?.close();
  for (const t of transports.splice(0)) t.close();
  harness = undefined;
  await noPeerConnections();
  expect(left).toEqual([]);
});

function setup(defaults: Partial<CallClientOptions> = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 11 }), {
    wrtc: flakyWrtc,
    ringTimeoutMs: RING,
    connectTimeoutMs: CONNECT,
    remoteEndGraceMs: GRACE,
    ...defaults,
  });
  return harness;
}

/** A user whose sends go through a FaultTransport the test controls. */
async function faulty(h: Harness, name: string, options: Partial<CallClientOptions> = {}): Promise<User & { net: FaultTransport }> {
  const net = new FaultTransport(h.network.endpoint(name));
  transports.push(net);
  return { ...(await h.user(name, { transport: net, ...options })), net };
}

/** `ms` (measured) lies within [expected - 50, expected + SLACK]. */
function around(ms: number, expected: number): void {
  expect(ms).toBeGreaterThanOrEqual(expected - 50);
  expect(ms).toBeLessThanOrEqual(expected + SLACK);
}

/** Alice calls Bob; resolves with Bob's ringing call (or undefined if it never rings within `ms`). */
async function dial(alice: User, bob: User, ms = RING + SLACK, audio = false) {
  let bobCall: Call | undefined;
  const incoming = new Promise<Call | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    bob.client.once('incoming', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const started = Date.now();
  const aliceCall = await alice.client.call('bob', { audio });
  bobCall = await incoming;
  return { aliceCall, bobCall, started };
}

/**
 * Reliable delivery: every message is resent after RETRANSMIT ms (doubling) until acknowledged,
 * the invitation until a device replies, a handshake reply until the caller is heard, a cancel
 * twice more. Ring and connect timeouts here are long, so a call that connects did so because
 * the lost message was sent again, and an end that comes in well under them came from a resend.
 */
const RETRANSMIT = 150;
const RELIABLE = { retransmitMs: RETRANSMIT, retransmitMaxMs: 4 * RETRANSMIT, ringTimeoutMs: 6000, connectTimeoutMs: 6000, remoteEndGraceMs: 6000 };
/** Within this of the loss the resend arrived: two retransmission timeouts and scheduling slack. */
const RESENT = 2 * RETRANSMIT + SLACK;

/** Alice calls bob (whose sends or hers may be faulty), bob accepts once it rings, both connect. */
async function connects(alice: User, bob: User): Promise<{ aliceCall: Call; bobCall: Call }> {
  const { aliceCall, bobCall } = await dial(alice, bob, 4000);
  expect(bobCall, 'bob rang').toBeDefined();
  await bobCall!.accept({ audio: false });
  await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
  return { aliceCall, bobCall: bobCall! };
}

/** Hangs up from alice's side; bob ends remote-hangup. */
async function hangUp(aliceCall: Call, bobCall: Call): Promise<void> {
  await aliceCall.hangup();
  expect((await endedWithin(bobCall, RESENT)).reason).toBe('remote-hangup');
}

describe('a lost signaling message delays the call; it never ends or wedges it', () => {
  it('lost invite: sent again, bob rings, the call connects', async () => {
    const h = setup(RELIABLE);
    const alice = await faulty(h, 'alice');
    alice.net.dropNth('invite', 1);
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await connects(alice, bob);
    expect(alice.net.dropped.map((r) => r.kind)).toEqual(['invite']);
    expect(alice.net.sent.filter((r) => r.kind === 'invite').length).toBeGreaterThanOrEqual(2);
    await hangUp(aliceCall, bobCall);
  });

  it('lost ringing: bob resends it until alice is heard; alice hears ringing and the call connects', async () => {
    const h = setup(RELIABLE);
    const alice = await h.user('alice');
    const bob = await faulty(h, 'bob');
    bob.net.dropNth('response', 1);
    const { aliceCall, bobCall } = await dial(alice, bob);
    await once(aliceCall, 'ringing');
    await bobCall!.accept({ audio: false });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
    expect(bob.net.dropped.map((r) => r.kind)).toEqual(['response']);
    await hangUp(aliceCall, bobCall!);
  });

  it('lost ringing, bob accepts at once: his offer waits at alice for the resent reply, then the call connects', async () => {
    const h = setup(RELIABLE);
    const alice = await h.user('alice');
    const bob = await faulty(h, 'bob');
    bob.net.dropNth('response', 1);
    const { aliceCall, bobCall } = await connects(alice, bob);
    await hangUp(aliceCall, bobCall);
  });

  for (const [who, type] of [['bob', 'offer'], ['alice', 'answer']] as const) {
    it(`lost ${type}: sent again, the call connects`, async () => {
      const h = setup(RELIABLE);
      const alice = who === 'alice' ? await faulty(h, 'alice') : await h.user('alice');
      const bob = who === 'bob' ? await faulty(h, 'bob') : await h.user('bob');
      (who === 'alice' ? (alice as Awaited<ReturnType<typeof faulty>>) : (bob as Awaited<ReturnType<typeof faulty>>)).net.dropNextOfType(type);
      const { aliceCall, bobCall } = await connects(alice, bob);
      const net = (who === 'alice' ? alice : bob) as Awaited<ReturnType<typeof faulty>>;
      expect(net.net.dropped.map((r) => r.type)).toEqual([type]);
      await hangUp(aliceCall, bobCall);
    });
  }

  it('the first copy of every ICE batch lost both ways, no candidate in offer or answer: resent, the call connects', async () => {
    const h = setup({ ...RELIABLE, wrtc: slowGatherWrtc(300) });
    const alice = await faulty(h, 'alice');
    const bob = await faulty(h, 'bob');
    const seen = new Set<string>();
    const firstCopy = (who: string) => (r: { type?: string; nth: number }) => r.type === 'ice' && !seen.has(`${who}`) && (seen.add(who), true);
    alice.net.dropWhen(firstCopy('alice'), true);
    bob.net.dropWhen(firstCopy('bob'), true);
    const { aliceCall, bobCall } = await connects(alice, bob);
    expect(alice.net.dropped.filter((r) => r.type === 'ice').length + bob.net.dropped.filter((r) => r.type === 'ice').length).toBeGreaterThan(0);
    await hangUp(aliceCall, bobCall);
  });

  it('lost end (hang-up): resent; bob ends remote-hangup long before remoteEndGraceMs', async () => {
    const h = setup(RELIABLE);
    const alice = await faulty(h, 'alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await connects(alice, bob);
    alice.net.dropNextOfType('end');
    const hungUpAt = Date.now();
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await endedWithin(bobCall, RESENT)).reason).toBe('remote-hangup');
    expect(Date.now() - hungUpAt).toBeLessThan(RELIABLE.remoteEndGraceMs / 2);
    expect(alice.net.dropped.map((r) => r.type)).toEqual(['end']);
  });

  it('lost cancel (alice hangs up while ringing): its repeat ends bob cancelled about a second later', async () => {
    const h = setup(RELIABLE);
    const alice = await faulty(h, 'alice');
    alice.net.dropNth('oneShot', 1);
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    await once(aliceCall, 'ringing');
    const hungUpAt = Date.now();
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await endedWithin(bobCall!, 1000 + SLACK)).reason).toBe('cancelled');
    around(Date.now() - hungUpAt, 1000);
  });

  it('delivered cancel, for contrast: the callee ends cancelled at once', async () => {
    const h = setup(RELIABLE);
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    await once(aliceCall, 'ringing');
    const hungUpAt = Date.now();
    await aliceCall.hangup();
    expect((await endedWithin(bobCall!, SLACK)).reason).toBe('cancelled');
    expect(Date.now() - hungUpAt).toBeLessThan(RETRANSMIT * 2);
  });

  it('lost reject: its end is resent, alice ends rejected', async () => {
    const h = setup(RELIABLE);
    const alice = await h.user('alice');
    const bob = await faulty(h, 'bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    await once(aliceCall, 'ringing');
    bob.net.dropNextOfType('end');
    await bobCall!.reject();
    expect(bobCall!.endedWith?.reason).toBe('rejected');
    expect((await endedWithin(aliceCall, RESENT)).reason).toBe('rejected');
  });

  it('lost busy: alice sends her invitation again, bob repeats busy, alice ends busy', async () => {
    const h = setup(RELIABLE);
    const alice = await h.user('alice');
    const bob = await faulty(h, 'bob');
    const carol = await h.user('carol');
    const ringing = await dial(carol, bob); // bob is ringing with carol: busy for anyone else
    bob.net.dropNth('response', 2);
    const aliceCall = await alice.client.call('bob', { audio: false });
    expect((await endedWithin(aliceCall, RESENT)).reason).toBe('busy');
    expect(bob.net.dropped.map((r) => `${r.kind}#${r.nth}`)).toEqual(['response#2']);
    await ringing.aliceCall.hangup();
    expect((await endedWithin(ringing.bobCall!, SLACK)).reason).toBe('cancelled');
  });

  it('lost mid-call media state: bob converges to alice’s latest within two retransmission timeouts, and a later ICE restart completes', async () => {
    const h = setup({ ...RELIABLE, iceRestartDelayMs: 100, iceFailTimeoutMs: 4000 });
    const alice = await faulty(h, 'alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob, 4000, true); // a microphone, so mute is announced
    await bobCall!.accept({ audio: false });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
    await h.network.settled();
    const remote: boolean[] = [];
    bobCall!.on('remote-media', (m) => remote.push(m.audioMuted));
    alice.net.dropNextOfType('media-state');
    const mutedAt = Date.now();
    await aliceCall.setAudioMuted(true); // lost, then resent
    await eventually(() => bobCall!.remoteMedia?.audioMuted === true, RESENT, 'bob sees alice muted');
    expect(Date.now() - mutedAt).toBeLessThanOrEqual(RESENT);
    await aliceCall.setAudioMuted(false);
    await eventually(() => bobCall!.remoteMedia?.audioMuted === false, RESENT, 'bob sees alice unmuted');
    expect(alice.net.dropped.map((r) => r.type)).toEqual(['media-state']);
    // Alice (the answering side) loses her path: her renegotiation goes through, ICE recovers.
    [...flakyConnections].find((c) => c.pc.remoteDescription?.type === 'offer')!.cut('disconnected');
    await reach(aliceCall, 'reconnecting');
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
    expect(alice.net.sent.some((r) => r.type === 'renegotiate')).toBe(true);
    await hangUp(aliceCall, bobCall!);
  });

  it('lost key-update: resent, bob follows every key', async () => {
    FakeFrameProtector.made.length = 0;
    const frames = { frameProtector: FakeFrameProtector.factory() };
    const h = setup({ ...RELIABLE, ...frames });
    const alice = await faulty(h, 'alice', frames);
    const bob = await h.user('bob', frames);
    const { aliceCall, bobCall } = await connects(alice, bob);
    await h.network.settled();
    const [bobSide] = FakeFrameProtector.made;
    alice.net.dropNextOfType('key-update');
    expect(await aliceCall.rotateFrameKey()).toBe(1); // announcement lost, then resent
    expect(await aliceCall.rotateFrameKey()).toBe(2);
    await eventually(() => bobSide!.receiveKeys.some((k) => k.kid === 2), RESENT, 'bob follows key 2');
    expect(bobCall.state).toBe('connected');
    await hangUp(aliceCall, bobCall);
  });

  it('every call in this file ended: the watch helper saw only legal transitions', async () => {
    // A cheap end-to-end check of the helper itself on a normal call.
    const h = setup(CONNECTS);
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    const wa = watch(aliceCall);
    const wb = watch(bobCall!);
    await bobCall!.accept({ audio: false });
    await reach(aliceCall, 'connected');
    await bobCall!.hangup();
    await endedWithin(aliceCall, GRACE + SLACK);
    expect(wa.violations).toEqual([]);
    expect(wb.violations).toEqual([]);
    expect(wa.states.map((s) => s.state)).toEqual(['outgoing', 'joining', 'connected', 'disconnected']);
    expect(wa.ended?.reason).toBe('remote-hangup');
  });
});

describe('a transport that stays down', () => {
  it('sends refused for a while (a chat reconnecting): retried, never fatal, warned with a transport code; the calls go through once it is back', async () => {
    const h = setup(RELIABLE);
    const alice = await faulty(h, 'alice');
    const bob = await faulty(h, 'bob');
    const warnings: { code: string; callId: string | undefined }[] = [];
    alice.client.on('warning', (w) => warnings.push({ code: w.code, callId: w.callId }));
    // Alice calls while her chat is down: call() still settles, the invitation goes out later.
    alice.net.mode = 'down';
    const aliceCall = await alice.client.call('bob', { audio: false });
    await eventually(() => alice.net.sent.filter((r) => r.kind === 'invite').length >= 2, 4 * RETRANSMIT + SLACK, 'the invitation is retried');
    expect(warnings).toContainEqual({ code: 'TRANSPORT_FAILED', callId: aliceCall.id });
    expect(aliceCall.state).toBe('outgoing');
    const rang = new Promise<Call>((resolve) => bob.client.once('incoming', resolve));
    alice.net.mode = 'normal';
    const incoming = await rang;
    // Bob accepts while his chat is down: his offer is retried, then goes through.
    bob.net.mode = 'down';
    await incoming.accept({ audio: false });
    await eventually(() => bob.net.sent.filter((r) => r.type === 'offer').length >= 2, 4 * RETRANSMIT + SLACK, 'the offer is retried');
    expect(incoming.state).toBe('joining');
    bob.net.mode = 'normal';
    await Promise.all([reach(aliceCall, 'connected'), reach(incoming, 'connected')]);
    await hangUp(aliceCall, incoming);
  });

  it('sends reject mid-call: hang-up still ends both sides (the peer by the closing connection)', async () => {
    const h = setup(CONNECTS);
    const alice = await faulty(h, 'alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    await bobCall!.accept({ audio: false });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
    alice.net.mode = 'down';
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await endedWithin(bobCall!, GRACE + SLACK)).reason).toBe('remote-hangup');
  });

  // ---- Bugs these suites found, fixed: kept as regression tests. ----------

  it('hangup() over a transport whose send never settles still closes the call and its peer connection', async () => {
    const h = setup(CONNECTS);
    const alice = await faulty(h, 'alice');
    const bob = await h.user('bob');
    const { aliceCall, bobCall } = await dial(alice, bob);
    await bobCall!.accept({ audio: false });
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
    alice.net.mode = 'blackhole';
    void aliceCall.hangup();
    try {
      // Expected: media stops at once; the peer sees the connection close and ends after the grace.
      expect((await endedWithin(bobCall!, GRACE + 500, 'peer of a hung-up call')).reason).toBe('remote-hangup');
      expect(aliceCall.state).toBe('disconnected');
    } finally {
      alice.net.mode = 'normal';
      await bobCall!.hangup(); // lets the test clean up: the stuck side follows its peer
      await endedWithin(aliceCall, GRACE + SLACK).catch(() => {});
    }
  });

  it('a send that never settles: the invitation still rings out, the call ends no-answer at its ring timeout', async () => {
    const h = setup();
    const alice = await faulty(h, 'alice');
    await h.user('bob');
    alice.net.mode = 'blackhole';
    // Not awaited: the test follows the call's own events.
    alice.client.call('bob', { audio: false }).catch(() => {});
    await eventually(() => alice.client.activeCalls.length === 1, 1000, 'the call exists');
    const [call] = alice.client.activeCalls;
    await reach(call!, 'outgoing');
    expect((await endedWithin(call!, RING + SLACK)).reason).toBe('no-answer');
    expect(alice.client.activeCalls).toEqual([]);
    alice.net.mode = 'down'; // the no-answer cancel and anything later fail at once
  });

  it('call() over a transport whose send never settles still settles (the call rings out)', async () => {
    const h = setup();
    const alice = await faulty(h, 'alice');
    await h.user('bob');
    alice.net.mode = 'blackhole';
    const placing = alice.client.call('bob', { audio: false });
    placing.catch(() => {});
    const settled = await Promise.race([placing.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), RING + 500))]);
    alice.net.mode = 'down';
    // Expected: resolves (with the call, which then ends no-answer) or rejects; not pending forever.
    expect(settled).toBe(true);
  });
});

describe('more candidates than one message may carry', () => {
  it('a gathering window with more than 64 candidates is split over several messages, nothing is thrown, the call connects', async () => {
    const uncaught: unknown[] = [];
    const onError = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onError);
    try {
      const h = setup({ ...CONNECTS, ringTimeoutMs: 4000 });
      const alice = await h.user('alice');
      const bob = await faulty(h, 'bob', { wrtc: manyCandidatesWrtc(40) }); // a host with many interfaces
      const { aliceCall, bobCall } = await dial(alice, bob);
      await bobCall!.accept({ audio: false });
      await Promise.all([reach(aliceCall, 'connected'), reach(bobCall!, 'connected')]);
      expect(uncaught.map(String)).toEqual([]);
      // The offer carried 64 candidates and the rest followed in ICE messages.
      expect(bob.net.sent.filter((r) => r.type === 'ice').length).toBeGreaterThan(0);
      await aliceCall.hangup();
      expect((await endedWithin(bobCall!, GRACE + SLACK)).reason).toBe('remote-hangup');
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
