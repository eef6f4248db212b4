import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallClientOptions } from '../src/call/options.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import type { Relay } from '../src/relay/index.js';
import { openStoreLog, readStoreLog } from '../src/relay/store-log.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import type { WebSocketTransport, WebSocketTransportOptions } from '../src/relay-client/websocket-transport.js';
import { endedWithin, eventually, liveCalls, noPeerConnections, watch } from './helpers/call-watch.js';
import { Harness, once, reach, type User } from './helpers/call-harness.js';
import { FaultTransport, installSignalOracle, uninstallSignalOracle, type SentRecord } from './helpers/fault-transport.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import { RelayFixture } from './helpers/relay-fixture.js';
import { RelayTap } from './helpers/relay-tap.js';

/**
 * Faults of the real relay path: WebSocketTransports through a `Relay` on 127.0.0.1, with the
 * relay restarted (with and without its store) mid-setup and mid-call, gone for good, or
 * swallowing sends. With `SEALCALL_FAULT_RUNS` >= 10 (`npm run test:faults`) the restart is tried
 * at each of the first 9 signaling messages, RUNS/10 times each; otherwise at the first 4, once.
 */
const RUNS = Number(process.env.SEALCALL_FAULT_RUNS ?? 2);
/** A call sends about 9 signaling messages (invite … media-state, end); long runs try each point several times. */
const RESTART_POINTS = RUNS >= 10 ? 9 : 4;
const REPEATS = RUNS >= 10 ? Math.ceil(RUNS / 10) : 1;
const T = { ringTimeoutMs: 6000, connectTimeoutMs: 6000, remoteEndGraceMs: 400, iceRestartDelayMs: 200, iceFailTimeoutMs: 1500 };
const SLACK = 1500;

const fx = new RelayFixture();
beforeAll(() => installSignalOracle());
afterAll(() => uninstallSignalOracle());
let harness: Harness | undefined;
const taps: RelayTap[] = [];
afterEach(async () => {
  const left = (harness?.clients ?? []).flatMap((c) => liveCalls(c).map((call) => `${call.direction} ${call.state}`));
  await harness?.close();
  harness = undefined;
  await fx.close();
  for (const t of taps.splice(0)) await t.close();
  await noPeerConnections(5000);
  expect(left).toEqual([]);
});

interface Setup {
  alice: User & { net: FaultTransport; ws: WebSocketTransport };
  bob: User & { net: FaultTransport; ws: WebSocketTransport };
  relay: () => Relay;
  /**
   * Stops the relay (as if it crashed and came back) and starts it again on the same port: with
   * its store (default); with a fresh store holding only its identity (`'empty'`: same key, every
   * queue gone); or memory only (`false`: a new key, so to its clients another relay).
   */
  restart: (options?: { store?: boolean | 'empty' }) => Promise<void>;
  /** Stops the relay. */
  stop: () => Promise<void>;
  /** Starts it again on the same port (with its store, if it had one). */
  start: () => Promise<void>;
  tap: RelayTap | undefined;
  sends: SentRecord[];
}

/** Alice and Bob as CallClients on WebSocketTransports through a real relay (optionally through a tap). */
async function setup(
  options: { store?: boolean; tap?: boolean; ws?: Partial<WebSocketTransportOptions>; calls?: Partial<CallClientOptions>; onSend?: (r: SentRecord, n: number) => void } = {},
): Promise<Setup> {
  await ready();
  const storePath = options.store === false ? undefined : fx.tempStore();
  let relay = await fx.start(storePath ? { storePath } : {});
  const { port, url } = relay.address!;
  const tap = options.tap ? await RelayTap.start(url) : undefined;
  if (tap) taps.push(tap);
  const ids = { alice: generateIdentity(), bob: generateIdentity() };
  const wsOptions = { url: tap?.url ?? url, backoff: { initialMs: 50, maxMs: 200 }, maxReconnectAttempts: 40, ...options.ws };
  const aliceWs = await fx.user(relay, { identity: ids.alice, ...wsOptions });
  const bobWs = await fx.user(relay, { identity: ids.bob, ...wsOptions });
  aliceWs.addContact('bob', bobWs.address);
  bobWs.addContact('alice', aliceWs.address);
  const sends: SentRecord[] = [];
  const onSend = (r: SentRecord) => {
    sends.push(r);
    options.onSend?.(r, sends.length);
  };
  const aliceNet = new FaultTransport(aliceWs, { onSend });
  const bobNet = new FaultTransport(bobWs, { onSend });
  const h = (harness = new Harness(new MemoryNetwork(), { wrtc: flakyWrtc, ...T, ...options.calls }));
  const contacts = { alice: ids.alice.publicKey, bob: ids.bob.publicKey };
  const alice = { ...(await h.user('alice', { identity: ids.alice, contacts, transport: aliceNet })), net: aliceNet, ws: aliceWs };
  const bob = { ...(await h.user('bob', { identity: ids.bob, contacts, transport: bobNet })), net: bobNet, ws: bobWs };
  return {
    alice,
    bob,
    tap,
    sends,
    relay: () => relay,
    restart: async (o = {}) => {
      await fx.stop(relay);
      const keep = o.store ?? true;
      if (keep === 'empty') {
        const { identity } = (await readStoreLog(storePath!))!;
        const emptyPath = fx.tempStore();
        const { log } = await openStoreLog(emptyPath, { debounceMs: 0, logger: () => {}, newIdentity: () => identity, snapshot: () => [] });
        await log.close();
        relay = await fx.start({ storePath: emptyPath }, port);
        expect(relay.address!.url).toBe(url);
        return;
      }
      relay = await fx.start(keep && storePath ? { storePath } : {}, port);
    },
    stop: () => fx.stop(relay),
    start: async () => {
      relay = await fx.start(storePath ? { storePath } : {}, port);
    },
  };
}

/**
 * Alice calls Bob, who answers at once: audio-less by default (the data channel is the media), or
 * with a microphone on both sides (one-sided audio adds a renegotiation right after connecting).
 */
async function callAndAnswer(s: Setup, audio = false): Promise<{ aliceCall: Call; bobCall: () => Call | undefined }> {
  let bobCall: Call | undefined;
  s.bob.client.on('incoming', (call) => {
    bobCall = call;
    void call.accept({ audio }).catch(() => {});
  });
  const aliceCall = await s.alice.client.call('bob', { audio });
  return { aliceCall, bobCall: () => bobCall };
}

async function hangUpConnected(aliceCall: Call, bobCall: Call): Promise<void> {
  const bobEnded = endedWithin(bobCall, T.remoteEndGraceMs + SLACK, 'callee');
  await aliceCall.hangup();
  expect(aliceCall.endedWith?.reason).toBe('hangup');
  expect((await bobEnded).reason).toBe('remote-hangup');
}

describe('calls through a real relay that restarts, vanishes or stalls', () => {
  for (let k = 1; k <= RESTART_POINTS * REPEATS; k++) {
    const point = ((k - 1) % RESTART_POINTS) + 1;
    it(`relay (with its store) restarts at signaling message ${point}${REPEATS > 1 ? ` (run ${Math.ceil(k / RESTART_POINTS)})` : ''}: the call still connects`, async () => {
      let restarting: Promise<void> | undefined;
      const s: Setup = await setup({
        onSend: (_r, n) => {
          if (n === point) restarting = s.restart();
        },
      });
      const { aliceCall, bobCall } = await callAndAnswer(s);
      const w = watch(aliceCall);
      await eventually(() => restarting !== undefined || w.wasConnected, T.ringTimeoutMs, 'restart triggered or connected');
      await restarting;
      await reach(aliceCall, 'connected');
      await reach(bobCall()!, 'connected');
      expect(w.violations).toEqual([]);
      await hangUpConnected(aliceCall, bobCall()!);
      expect(restarting).toBeDefined();
    }, 30_000);
  }

  it('relay down mid-call while ICE breaks: the renegotiation waits for the relay and the call recovers', async () => {
    const s = await setup();
    const { aliceCall, bobCall } = await callAndAnswer(s);
    await Promise.all([reach(aliceCall, 'connected'), eventually(() => bobCall()?.state === 'connected', T.connectTimeoutMs)]);
    await s.stop();
    await eventually(() => s.alice.ws.status === 'reconnecting' && s.bob.ws.status === 'reconnecting', 5000);
    [...flakyConnections].find((c) => c.pc.remoteDescription?.type === 'offer')!.cut('disconnected');
    await reach(aliceCall, 'reconnecting');
    await eventually(() => s.alice.net.sent.some((r) => r.type === 'renegotiate'), 2000, 'ICE restart requested');
    await s.start();
    await reach(aliceCall, 'connected');
    expect(bobCall()!.state).toBe('connected');
    await hangUpConnected(aliceCall, bobCall()!);
  }, 30_000);

  it('relay down mid-call for longer than iceFailTimeoutMs while ICE is broken: ice-failed, and the peer ends too', async () => {
    const s = await setup();
    const { aliceCall, bobCall } = await callAndAnswer(s);
    await Promise.all([reach(aliceCall, 'connected'), eventually(() => bobCall()?.state === 'connected', T.connectTimeoutMs)]);
    await s.stop();
    [...flakyConnections].find((c) => c.pc.remoteDescription?.type === 'offer')!.cut('disconnected');
    await reach(aliceCall, 'reconnecting');
    const cutAt = Date.now();
    expect((await endedWithin(aliceCall, T.iceRestartDelayMs + T.iceFailTimeoutMs + SLACK)).reason).toBe('ice-failed');
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(T.iceFailTimeoutMs - 50);
    // Bob's own path was fine; alice's closing connection ends his call after the grace (her
    // `end: ice-failed` is stuck with the relay, so he cannot know the real reason).
    expect((await endedWithin(bobCall()!, T.remoteEndGraceMs + SLACK)).reason).toBe('remote-hangup');
    await s.start();
  }, 30_000);

  it('relay restarts without its queues (same key) mid-setup: the queues are gone, the next send of either side fails its call transport-failed', async () => {
    const s = await setup({ calls: { ringTimeoutMs: 1200 } });
    const rang = new Promise<Call>((resolve) => s.bob.client.once('incoming', resolve));
    const aliceCall = await s.alice.client.call('bob', { audio: false });
    const bobCall = await rang;
    await once(aliceCall, 'ringing');
    await s.restart({ store: 'empty' });
    await eventually(() => s.bob.ws.status === 'failed' && s.alice.ws.status === 'failed', 5000, 'transports failed');
    await bobCall.accept({ audio: false });
    const b = await endedWithin(bobCall, 2000 + SLACK);
    expect(b).toMatchObject({ reason: 'transport-failed', error: { code: 'QUEUE_NOT_FOUND' } });
    // Alice's next resend of her invitation meets the same refusal.
    const a = await endedWithin(aliceCall, 1200 + SLACK);
    expect(a).toMatchObject({ reason: 'transport-failed', error: { code: 'QUEUE_NOT_FOUND' } });
  }, 30_000);

  it('relay restarts without its store mid-setup (a new key): both transports refuse it, and the next send of either side fails its call transport-failed', async () => {
    const s = await setup({ store: false, calls: { ringTimeoutMs: 1200 } });
    const rang = new Promise<Call>((resolve) => s.bob.client.once('incoming', resolve));
    const aliceCall = await s.alice.client.call('bob', { audio: false });
    const bobCall = await rang;
    await once(aliceCall, 'ringing');
    await s.restart({ store: false });
    await eventually(() => s.bob.ws.status === 'failed' && s.alice.ws.status === 'failed', 5000, 'transports failed');
    await bobCall.accept({ audio: false });
    const b = await endedWithin(bobCall, 2000 + SLACK);
    expect(b).toMatchObject({ reason: 'transport-failed', error: { code: 'RELAY_KEY_MISMATCH' } });
    const a = await endedWithin(aliceCall, 1200 + SLACK);
    expect(a).toMatchObject({ reason: 'transport-failed', error: { code: 'RELAY_KEY_MISMATCH' } });
    // Nothing reached the relay that took the old one's place.
    expect(s.relay().stats.messagesReceived).toBe(0);
    expect(s.relay().stats.queues).toBe(0);
  }, 30_000);

  it('relay gone for good mid-setup: each side ends transport-failed at its next send; new calls fail at once', async () => {
    const s = await setup({ ws: { maxReconnectAttempts: 3 }, calls: { ringTimeoutMs: 1200 } });
    const rang = new Promise<Call>((resolve) => s.bob.client.once('incoming', resolve));
    const aliceCall = await s.alice.client.call('bob', { audio: false });
    const bobCall = await rang;
    await once(aliceCall, 'ringing');
    await s.stop();
    await bobCall.accept({ audio: false }); // the offer waits for the relay, which never returns
    const b = await endedWithin(bobCall, 5000);
    expect(b).toMatchObject({ reason: 'transport-failed', error: { code: 'RELAY_UNREACHABLE' } });
    expect(await endedWithin(aliceCall, 5000)).toMatchObject({ reason: 'transport-failed', error: { code: 'RELAY_UNREACHABLE' } });
    await eventually(() => s.alice.ws.status === 'failed', 5000);
    await expect(s.alice.client.call('bob', { audio: false })).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' });
    expect(s.alice.client.activeCalls).toEqual([]);
  }, 30_000);

  /** Both connected and every signaling message so far delivered (nothing left in flight to fail). */
  async function quietConnectedCall(s: Setup, audio = false) {
    const { aliceCall, bobCall } = await callAndAnswer(s, audio);
    await Promise.all([reach(aliceCall, 'connected'), eventually(() => bobCall()?.state === 'connected', T.connectTimeoutMs)]);
    // The last messages of a setup are the media-state announcements; then nothing is in flight.
    const quiet = () =>
      aliceCall.remoteMedia !== undefined && bobCall()!.remoteMedia !== undefined && s.relay().stats.bytesQueued === 0 && s.alice.net.pending === 0 && s.bob.net.pending === 0;
    await eventually(quiet, 5000, 'signaling quiet');
    return { aliceCall, bobCall: bobCall()! };
  }

  it('relay gone for good mid-call: the call stays up (media is peer to peer); hang-up ends both sides once the transport gives up', async () => {
    const s = await setup({ ws: { maxReconnectAttempts: 3 } });
    const { aliceCall, bobCall } = await quietConnectedCall(s);
    await s.stop();
    await eventually(() => s.alice.ws.status === 'failed' && s.bob.ws.status === 'failed', 10_000, 'transports failed');
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
    const data = new Promise<Uint8Array>((resolve) => bobCall.once('data', resolve));
    aliceCall.send('relay is gone, we are not');
    expect(Buffer.from(await data).toString()).toBe('relay is gone, we are not');
    await hangUpConnected(aliceCall, bobCall);
  }, 30_000);

  it('relay gone for good mid-call, then a signaling message must go out (mute): it is retried and warned, the call stays up, media still flows', async () => {
    const s = await setup({ ws: { maxReconnectAttempts: 3 } });
    const { aliceCall, bobCall } = await quietConnectedCall(s, true); // microphones, so mute is announced
    const warnings: string[] = [];
    s.alice.client.on('warning', (w) => warnings.push(w.code));
    await s.stop();
    await eventually(() => s.alice.ws.status === 'failed', 10_000, 'transport failed');
    expect(aliceCall.state).toBe('connected');
    // A failed send only informs the peer's UI late (or never): it never ends a connected call.
    expect(await aliceCall.setAudioMuted(true)).toBe(true);
    await eventually(() => warnings.includes('TRANSPORT_CLOSED') || warnings.includes('RELAY_UNREACHABLE'), 5000, 'the failed send is warned');
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
    const data = new Promise<Uint8Array>((resolve) => bobCall.once('data', resolve));
    aliceCall.send('still here');
    expect(Buffer.from(await data).toString()).toBe('still here');
    await hangUpConnected(aliceCall, bobCall);
  }, 30_000);
});

describe('a relay that stalls', () => {
  // ---- Bugs these suites found, fixed: kept as regression tests. ----------

  it('a send the relay never answers (pings still answered) times out, and the link reconnects and resends it', async () => {
    const s = await setup({ tap: true, ws: { connectTimeoutMs: 500, pingIntervalMs: 200, pingTimeoutMs: 200 } });
    let swallowed = 0;
    s.tap!.up = (frame) => (frame?.t === 'send' && swallowed++ === 0 ? 'drop' : 'pass');
    const sent = s.alice.ws.send('bob', new Uint8Array(256).fill(1));
    const settled = await Promise.race([sent.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 2000))]);
    // Expected: after a request timeout the frame is sent again (a fresh connection) or the send fails.
    expect(settled).toBe(true);
  }, 10_000);

  it('through such a relay the call still ends no-answer at its ring timeout', async () => {
    const s = await setup({ tap: true, calls: { ringTimeoutMs: 800 } });
    s.tap!.up = (frame) => (frame?.t === 'send' ? 'drop' : 'pass');
    // Not awaited: the test follows the call's own events.
    s.alice.client.call('bob', { audio: false }).catch(() => {});
    await eventually(() => s.alice.client.activeCalls.length === 1, 1000, 'the call exists');
    const [call] = s.alice.client.activeCalls;
    expect((await endedWithin(call!, 800 + SLACK)).reason).toBe('no-answer');
    s.tap!.up = () => 'pass';
  }, 10_000);

  it('through such a relay, call() still settles', async () => {
    const s = await setup({ tap: true, calls: { ringTimeoutMs: 800 } });
    s.tap!.up = (frame) => (frame?.t === 'send' ? 'drop' : 'pass');
    const placing = s.alice.client.call('bob', { audio: false });
    placing.catch(() => {}); // rejects (TRANSPORT_CLOSED) at cleanup, long after the call ended
    const settled = await Promise.race([placing.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 800 + 500))]);
    s.tap!.up = () => 'pass'; // let everything drain for the cleanup
    expect(settled).toBe(true);
  }, 10_000);
});
