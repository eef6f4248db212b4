import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Call, CallEnded } from '../src/call/call.js';
import type { CallState } from '../src/call/call-state.js';
import { CallClient } from '../src/call/call-client.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import type { WebRtcImplementation } from '../src/session/types.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { tone, type Tone } from './helpers/audio.js';
import { connectedPair, ended, Harness, nodeWrtc, once, reach, ringingPair, type User } from './helpers/call-harness.js';

// Call ids the next invitations get, to steer glare resolution (the lower id wins); random otherwise.
const nextCallIds: string[] = [];
vi.mock('../src/signaling/envelope.js', async (original) => {
  const actual = await original<typeof import('../src/signaling/envelope.js')>();
  return { ...actual, randomCallId: () => nextCallIds.shift() ?? actual.randomCallId() };
});

let harness: Harness;
const tones: Tone[] = [];
afterEach(async () => {
  nextCallIds.length = 0;
  for (const t of tones.splice(0)) t.stop();
  await harness?.close();
});

function setup(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 11 }), defaults);
  return harness;
}

/** A clock the test moves by hand, so the times `ended` carries are exact. */
function clock(start = 1_800_000_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** A microphone whose permission prompt is still open until the test answers it. */
function pendingMicrophone() {
  const asked: { stateThen: CallState | undefined }[] = [];
  let answer: { allow: () => Tone; deny: () => void } | undefined;
  let watched: Call | undefined;
  const wrtc: WebRtcImplementation = {
    ...nodeWrtc,
    mediaDevices: {
      getUserMedia: () => {
        asked.push({ stateThen: watched?.state });
        return new Promise<MediaStream>((resolve, reject) => {
          answer = {
            allow: () => {
              const t = tone(440);
              tones.push(t);
              resolve(t.stream);
              return t;
            },
            deny: () => reject(Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' })),
          };
        });
      },
    },
  };
  return {
    wrtc,
    asked,
    watch: (call: Call) => (watched = call),
    allow: () => answer!.allow(),
    deny: () => answer!.deny(),
  };
}

/** Every state a user's next outgoing call goes through, from the client's `outgoing` event on. */
function recordOutgoing(user: User) {
  const seen: { call?: Call; states: CallState[]; ended?: CallEnded } = { states: [] };
  user.client.once('outgoing', (call) => {
    seen.call = call;
    seen.states.push(call.state);
    call.on('state', (state) => seen.states.push(state));
    call.on('ended', (e) => (seen.ended = e));
  });
  return seen;
}

describe('the outgoing state at once', () => {
  it('is entered inside call(), before the microphone is asked for; nothing is sent until it is granted', async () => {
    const h = setup();
    const mic = pendingMicrophone();
    const alice = await h.user('alice', { wrtc: mic.wrtc });
    const bob = await h.user('bob');
    const seen = recordOutgoing(alice);
    alice.client.once('outgoing', (call) => mic.watch(call));
    const placing = alice.client.call('bob');
    // Synchronously, before any await: the call is outgoing, and the prompt was opened after that.
    expect(seen.states).toEqual(['idle', 'outgoing']);
    expect(seen.call!.state).toBe('outgoing');
    expect(mic.asked).toEqual([{ stateThen: 'outgoing' }]);
    expect(alice.client.activeCalls).toEqual([seen.call]);
    // While the prompt is open, the call is live: a second call is refused.
    await expect(alice.client.call('bob')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await h.network.settled();
    expect(h.network.observed).toEqual([]);

    const incoming = once(bob.client, 'incoming');
    mic.allow();
    expect(await placing).toBe(seen.call);
    const [bobCall] = await incoming;
    await bobCall.accept({ stream: tones[0]!.stream });
    await reach(seen.call!, 'connected');
    expect(seen.states).toEqual(['idle', 'outgoing', 'joining', 'connected']);
  });

  it('is entered before ICE servers are fetched', async () => {
    const h = setup();
    let release: (servers: RTCIceServer[]) => void = () => {};
    const asked: CallState[] = [];
    let watched: Call | undefined;
    const alice = await h.user('alice', {
      iceServers: () => {
        asked.push(watched!.state);
        return new Promise((resolve) => (release = (servers) => resolve({ servers, expiresAt: Date.now() + 3_600_000 })));
      },
    });
    const bob = await h.user('bob');
    alice.client.once('outgoing', (call) => (watched = call));
    const t = tone(440);
    tones.push(t);
    const placing = alice.client.call('bob', { stream: t.stream });
    expect(watched!.state).toBe('outgoing');
    // The app's own stream needs no prompt; the provider is asked right after, in the same turn.
    await vi.waitFor(() => expect(asked).toEqual(['outgoing']));
    await h.network.settled();
    expect(h.network.observed).toEqual([]);
    const incoming = once(bob.client, 'incoming');
    release([]);
    await placing;
    await incoming;
  });
});

describe('a failure before the invitation leaves', () => {
  it('ends the outgoing call media-failed with MIC_PERMISSION_DENIED and its times, and sends nothing', async () => {
    const h = setup();
    const mic = pendingMicrophone();
    const time = clock();
    const alice = await h.user('alice', { wrtc: mic.wrtc, now: time.now });
    await h.user('bob');
    const seen = recordOutgoing(alice);
    const placing = alice.client.call('bob');
    time.t += 1500; // the user looks at the prompt, then refuses
    mic.deny();
    await expect(placing).rejects.toMatchObject({ code: 'MIC_PERMISSION_DENIED' });
    expect(seen.states).toEqual(['idle', 'outgoing', 'disconnected']);
    expect(seen.ended).toEqual({
      reason: 'media-failed',
      error: expect.objectContaining({ name: 'SealcallError', code: 'MIC_PERMISSION_DENIED' }),
      direction: 'outgoing',
      media: 'audio',
      startedAt: 1_800_000_000_000,
      endedAt: 1_800_000_001_500,
      durationMs: 0,
    });
    expect(seen.ended).not.toHaveProperty('connectedAt');
    expect(seen.call!.endedWith).toBe(seen.ended);
    expect(alice.client.activeCalls).toEqual([]);
    await h.network.settled();
    expect(h.network.observed).toEqual([]);
  });

  it("ends it the same way with the ICE server provider's typed error", async () => {
    const h = setup();
    const alice = await h.user('alice', {
      iceServers: () => Promise.reject(new Error('TURN credentials service is down')),
    });
    await h.user('bob');
    const seen = recordOutgoing(alice);
    const t = tone(440);
    tones.push(t);
    await expect(alice.client.call('bob', { stream: t.stream, media: 'video' })).rejects.toMatchObject({ code: 'ICE_SERVERS_UNAVAILABLE' });
    expect(seen.states).toEqual(['idle', 'outgoing', 'disconnected']);
    expect(seen.ended).toMatchObject({ reason: 'media-failed', error: { code: 'ICE_SERVERS_UNAVAILABLE' }, direction: 'outgoing', media: 'video', durationMs: 0 });
    await h.network.settled();
    expect(h.network.observed).toEqual([]);
  });

  it('hanging up while the prompt is open ends the call at once, tells the peer nothing, and releases the microphone it then gets', async () => {
    const h = setup();
    const mic = pendingMicrophone();
    const alice = await h.user('alice', { wrtc: mic.wrtc });
    await h.user('bob');
    const seen = recordOutgoing(alice);
    const placing = alice.client.call('bob');
    await seen.call!.hangup();
    expect(seen.states).toEqual(['idle', 'outgoing', 'disconnecting', 'disconnected']);
    expect(seen.ended).toMatchObject({ reason: 'hangup', durationMs: 0 });
    const granted = mic.allow();
    expect(await placing).toBe(seen.call);
    expect(granted.stream.getTracks().map((track) => track.readyState)).toEqual(['ended']);
    await h.network.settled();
    expect(h.network.observed).toEqual([]); // no invitation, and no cancel for one never sent
  });

  it('glare while the prompt is open: the peer’s call is taken, answered once the microphone is granted', async () => {
    const h = setup();
    const mic = pendingMicrophone();
    const alice = await h.user('alice', { wrtc: mic.wrtc });
    const bob = await h.user('bob');
    // Alice's call gets the higher id, so hers yields to Bob's.
    nextCallIds.push('f'.repeat(32), '0'.repeat(32));
    const seen = recordOutgoing(alice);
    const placing = alice.client.call('bob');
    const bobTone = tone(880);
    tones.push(bobTone);
    const bobCall = await bob.client.call('alice', { stream: bobTone.stream });
    const aliceCall = seen.call!;
    // Alice's client takes Bob's call while her own is still waiting for the microphone.
    await reach(aliceCall, 'joining');
    expect(aliceCall.id).toBe('0'.repeat(32));
    expect(bobCall.state).toBe('outgoing');
    mic.allow();
    await placing;
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    expect(bobCall.id).toBe(aliceCall.id);
    expect(alice.client.activeCalls).toEqual([aliceCall]);
    expect(bob.client.activeCalls).toEqual([bobCall]);
  });
});

describe('call history on ended', () => {
  it('an unanswered or rejected call has no connectedAt and lasted 0 ms, on both sides', async () => {
    const aliceClock = clock(1_800_000_000_000);
    const bobClock = clock(1_800_000_000_250); // another device's clock need not agree
    const h = setup();
    const { aliceCall, bobCall, rang } = await ringingPair(h, { alice: { now: aliceClock.now }, bob: { now: bobClock.now } });
    await rang;
    aliceClock.t += 4000;
    bobClock.t += 4000;
    const aliceEnded = ended(aliceCall);
    await bobCall.reject();
    expect(await ended(bobCall)).toEqual({
      reason: 'rejected',
      direction: 'incoming',
      media: 'audio',
      startedAt: 1_800_000_000_250, // the invitation arrived
      endedAt: 1_800_000_004_250,
      durationMs: 0,
    });
    expect(await aliceEnded).toEqual({
      reason: 'rejected',
      direction: 'outgoing',
      media: 'audio',
      startedAt: 1_800_000_000_000, // call() was called
      endedAt: 1_800_000_004_000,
      durationMs: 0,
    });
  });

  it('a connected call carries when it connected and for how long, on both sides', async () => {
    const time = clock();
    const h = setup({ now: time.now });
    const connectedAt = new Map<Call, number>();
    const pair = ringingPair(h);
    const { aliceCall, bobCall, rang } = await pair;
    for (const call of [aliceCall, bobCall]) call.on('state', (s) => s === 'connected' && connectedAt.set(call, time.t));
    await rang;
    time.t += 3000; // rings for 3 s
    await bobCall.accept();
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    time.t += 65_000; // talks for 65 s
    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    for (const [call, e] of [
      [aliceCall, await ended(aliceCall)],
      [bobCall, await bobEnded],
    ] as const) {
      expect(e).toMatchObject({
        direction: call.direction,
        media: 'audio',
        startedAt: 1_800_000_000_000,
        connectedAt: 1_800_000_003_000,
        endedAt: 1_800_000_068_000,
        durationMs: 65_000,
      });
      expect(connectedAt.get(call)).toBe(e.connectedAt);
    }
  });

  it('connectedAt is when media connected, with the real clock too', async () => {
    const h = setup();
    const before = Date.now();
    const { aliceCall } = await connectedPair(h);
    const afterConnected = Date.now();
    await aliceCall.hangup();
    const e = aliceCall.endedWith!;
    expect(e.startedAt).toBeGreaterThanOrEqual(before);
    expect(e.connectedAt).toBeGreaterThanOrEqual(e.startedAt);
    expect(e.connectedAt).toBeLessThanOrEqual(afterConnected);
    expect(e.durationMs).toBe(e.endedAt - e.connectedAt!);
  });
});

describe('qualityIntervalMs', () => {
  it('is refused unless a number of milliseconds, 0 or more', async () => {
    await ready();
    const network = new MemoryNetwork();
    const base = { identity: generateIdentity(), transport: network.endpoint('x'), contacts: {}, wrtc: nodeWrtc };
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '2000']) {
      await expect(CallClient.create({ ...base, qualityIntervalMs: bad as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    const client = await CallClient.create({ ...base, qualityIntervalMs: 0 });
    await client.close();
    network.close();
  });
});
