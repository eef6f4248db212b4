import { afterEach, describe, expect, it } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from '../src/callkit/coordinator.js';
import { buildCallPush, isCallInvite, type CallPushPayload } from '../src/callkit/push-payload.js';
import type { SealcallError } from '../src/errors.js';
import { FakeCallKitProvider } from '../src/testing/fake-callkit-provider.js';
import type { ChatTransport, PeerId } from '../src/transport/chat-transport.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, once, reach, type User } from './helpers/call-harness.js';

let harness: Harness | undefined;
const kits: { provider: FakeCallKitProvider; coordinator: CallKitCoordinator }[] = [];

function setup(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 11 }), defaults);
  return harness;
}

function kit(client: CallClient | PromiseLike<CallClient>, options: Partial<CallKitCoordinatorOptions> = {}) {
  const provider = new FakeCallKitProvider();
  const coordinator = new CallKitCoordinator({ client, reporter: provider, ...options });
  const errors: SealcallError[] = [];
  coordinator.on('error', (e) => errors.push(e));
  kits.push({ provider, coordinator });
  return { provider, coordinator, errors };
}

afterEach(async () => {
  for (const { provider, coordinator } of kits.splice(0)) {
    expect(provider.unsettled()).toEqual([]);
    expect(provider.settledTwice()).toEqual([]);
    coordinator.dispose();
  }
  await harness?.close();
  harness = undefined;
});

/** A transport that holds back invitations (the push is faster) until `release()`. */
function holdInvites(inner: ChatTransport) {
  let holding = true;
  const held: [PeerId, Uint8Array][] = [];
  const handlers = new Set<(from: PeerId, payload: Uint8Array) => void>();
  const transport: ChatTransport = {
    send: (to, payload) => inner.send(to, payload),
    onMessage(handler) {
      handlers.add(handler);
      const off = inner.onMessage((from, payload) => {
        if (holding && isCallInvite(payload)) held.push([from, payload]);
        else handler(from, payload);
      });
      return () => {
        handlers.delete(handler);
        off();
      };
    },
  };
  const release = () => {
    holding = false;
    for (const [from, payload] of held.splice(0)) for (const handler of handlers) handler(from, payload);
  };
  return { transport, release };
}

/** The push the app server would send for the invitation `from` sent to `to`. */
function pushFor(h: Harness, from: string, to: string, media: 'audio' | 'video' = 'audio'): CallPushPayload {
  const invite = [...h.network.observed].reverse().find((m) => m.from === from && m.to === to && isCallInvite(m.payload));
  if (!invite) throw new Error('no invitation on the network');
  // Through JSON, as APNs delivers it.
  return JSON.parse(JSON.stringify(buildCallPush({ envelope: invite.payload, callerHint: from, media }))) as CallPushPayload;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function bobWithHeldInvites(h: Harness, options: { ringTimeoutMs?: number } = {}): Promise<{ bob: User; release: () => void }> {
  const gate = holdInvites(h.network.endpoint('bob'));
  const bob = await h.user('bob', { ...options, transport: gate.transport });
  return { bob, release: gate.release };
}

describe('VoIP push flow with real calls', () => {
  it('answers from the lock screen before the client has opened the invitation (cold start)', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const { bob, release } = await bobWithHeldInvites(h);
    const client = deferred<CallClient>(); // CallClient.create() still loading libsodium
    const { provider, coordinator } = kit(client.promise);
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice', 'bob');

    // Reported to CallKit synchronously: iOS's few-second rule holds even before the client exists.
    const invitation = coordinator.handlePush(push);
    expect(provider.reports).toEqual([{ type: 'incoming', uuid: push.uuid, info: { handle: 'alice', displayName: 'alice', hasVideo: false } }]);
    expect(invitation).toMatchObject({ uuid: push.uuid, callId: push.callId, callerHint: 'alice', answered: false });
    expect(coordinator.pendingInvitations()).toEqual([invitation]);

    const answered = provider.answer(push.uuid); // held: there is no call to accept yet
    expect(coordinator.pendingInvitations()[0]?.answered).toBe(true);
    expect(provider.unsettled()).toHaveLength(1);

    client.resolve(bob.client); // the client is up: it opens the pushed invitation and accepts it
    expect(await answered).toBe('fulfilled');
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('connected');
    expect(bobCall.id).toBe(push.callId);
    await reach(aliceCall, 'connected');
    expect(coordinator.pendingInvitations()).toEqual([]);

    // The transport's own copy arrives late: a replay, dropped; CallKit still shows one call.
    release();
    expect(bob.client.activeCalls).toEqual([bobCall]);
    expect(provider.reports.map((r) => r.type)).toEqual(['incoming']);

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await bobEnded).reason).toBe('remote-hangup');
    expect(await provider.report({ type: 'ended', uuid: push.uuid })).toMatchObject({ reason: 'remoteEnded' });
  });

  it('binds a push opened at once to its UUID and corrects the untrusted media hint', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const { bob } = await bobWithHeldInvites(h);
    const { provider, coordinator } = kit(bob.client);
    await alice.client.call('bob', { media: 'audio' });
    const push = pushFor(h, 'alice', 'bob', 'video'); // the hint lies about the media

    coordinator.handlePush(push);
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('incoming');
    expect(coordinator.pendingInvitations()).toEqual([]);
    expect(provider.reports).toEqual([
      { type: 'incoming', uuid: push.uuid, info: { handle: 'alice', displayName: 'alice', hasVideo: true } },
      { type: 'updated', uuid: push.uuid, update: { hasVideo: false } },
    ]);
    // The same push delivered twice changes nothing.
    expect(coordinator.handlePush(push)).toBeUndefined();
    expect(provider.reports).toHaveLength(2);
    expect(await provider.end(push.uuid)).toBe('fulfilled');
    expect(bobCall.endedWith?.reason).toBe('rejected');
  });

  it('shows a push for a call the transport delivered first only briefly', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const shown = coordinator.uuidOf(bobCall)!;
    const push = pushFor(h, 'alice', 'bob');

    expect(coordinator.handlePush(push)).toBeUndefined();
    expect(provider.reportsFor(push.uuid)).toEqual([
      { type: 'incoming', uuid: push.uuid, info: { handle: 'alice', displayName: 'alice', hasVideo: false } },
      { type: 'ended', uuid: push.uuid, reason: 'answeredElsewhere' },
    ]);
    expect(provider.liveCalls().map((c) => c.uuid)).toEqual([shown]);

    // Once the call is over, a late push for it does not ring either.
    await aliceCall.hangup();
    await ended(bobCall);
    const late = { ...push, uuid: '0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f' };
    expect(coordinator.handlePush(late)).toBeUndefined();
    expect(provider.reportsFor(late.uuid).map((r) => r.type)).toEqual(['incoming', 'ended']);
    expect(provider.liveCalls()).toEqual([]);
  });

  it('ends the CallKit call as failed when the sealed invitation is forged, mislabelled or replayed', async () => {
    const h = setup();
    const alice = await h.user('alice');
    await h.user('carol');
    const { bob } = await bobWithHeldInvites(h);
    const { provider, coordinator, errors } = kit(bob.client, { inviteOpenTimeoutMs: 100 });
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice', 'bob');

    // A tampered body does not authenticate.
    const bytes = Buffer.from(push.envelope, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    const forged = { ...push, uuid: '11111111-1111-4111-8111-111111111111', envelope: bytes.toString('base64') };
    coordinator.handlePush(forged);
    expect(provider.reportsFor(forged.uuid).map((r) => [r.type, 'reason' in r ? r.reason : undefined])).toEqual([
      ['incoming', undefined],
      ['ended', 'failed'],
    ]);
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED']);

    // A hint naming another contact: the invitation does not open with carol's key.
    const mislabelled = { ...push, uuid: '22222222-2222-4222-8222-222222222222', callerHint: 'carol' };
    coordinator.handlePush(mislabelled);
    expect(provider.reportsFor(mislabelled.uuid).at(-1)).toMatchObject({ type: 'ended', reason: 'failed' });

    // The genuine push rings.
    coordinator.handlePush(push);
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('incoming');
    await aliceCall.hangup();
    await ended(bobCall);

    // Pushed again later to a coordinator that never saw it (an app restart): the client drops
    // the replay without a word, so after a moment the CallKit call ends as failed.
    const restarted = kit(bob.client, { inviteOpenTimeoutMs: 100 });
    const replay = { ...push, uuid: '33333333-3333-4333-8333-333333333333' };
    restarted.coordinator.handlePush(replay);
    expect(restarted.coordinator.pendingInvitations()).toHaveLength(1);
    expect(await restarted.provider.report({ type: 'ended', uuid: replay.uuid })).toMatchObject({ reason: 'failed' });
    expect(restarted.coordinator.pendingInvitations()).toEqual([]);
    expect(bob.client.activeCalls).toEqual([]);
  });

  it('reports and ends a placeholder for an invalid payload, unless native code reported it', () => {
    setup();
    const { provider, coordinator, errors } = kit(new Promise<CallClient>(() => {}));
    expect(coordinator.handlePush({ v: 1, uuid: '44444444-4444-4444-8444-444444444444', media: 'audio' })).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['BAD_MESSAGE']);
    expect(provider.reports).toEqual([
      { type: 'incoming', uuid: '44444444-4444-4444-8444-444444444444', info: { handle: 'unknown', displayName: 'Unknown caller', hasVideo: false } },
      { type: 'ended', uuid: '44444444-4444-4444-8444-444444444444', reason: 'failed' },
    ]);
    expect(coordinator.handlePush('garbage', { reported: true })).toBeUndefined();
    expect(provider.reports).toHaveLength(2);
  });

  it('restores pushes native code reported before a cold start, and a decline before opening rejects the call', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const { bob } = await bobWithHeldInvites(h);
    const client = deferred<CallClient>();
    const { provider, coordinator } = kit(client.promise);
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice', 'bob');

    const restored = coordinator.restorePushes([push, { nonsense: true }]);
    expect(restored.map((i) => i.uuid)).toEqual([push.uuid]);
    expect(coordinator.pendingInvitations().map((i) => i.uuid)).toEqual([push.uuid]);
    expect(provider.reports).toEqual([]); // native code already showed it

    expect(await provider.end(push.uuid)).toBe('fulfilled'); // declined on the lock screen
    expect(coordinator.pendingInvitations()).toEqual([]);
    client.resolve(bob.client);
    expect((await ended(aliceCall)).reason).toBe('rejected');
    expect(provider.reports).toEqual([]);
  });

  it('ends a pushed call that never opens when the ring timeout passes, failing a held answer', async () => {
    setup();
    const { provider, coordinator } = kit(new Promise<CallClient>(() => {}), { ringTimeoutMs: 150 });
    const push = buildCallPush({ envelope: fakeInvite(), callerHint: 'alice', media: 'audio' });
    coordinator.handlePush(push);
    const answer = provider.answer(push.uuid);
    expect(await answer).toBe('failed');
    expect(provider.reportsFor(push.uuid).at(-1)).toEqual({ type: 'ended', uuid: push.uuid, reason: 'unanswered' });
    expect(coordinator.pendingInvitations()).toEqual([]);
  });

  it('rings a push the client drops (the caller cancelled first) no longer than the call would ring', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const { bob } = await bobWithHeldInvites(h, { ringTimeoutMs: 200 });
    const { provider, coordinator } = kit(bob.client, { inviteOpenTimeoutMs: 60_000 });
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice', 'bob');
    await aliceCall.hangup(); // the caller's cancel reaches bob's client before the push does
    await h.network.settled();

    coordinator.handlePush(push);
    expect(coordinator.pendingInvitations()).toHaveLength(1);
    expect(await provider.report({ type: 'ended', uuid: push.uuid })).toMatchObject({ reason: 'unanswered' });
    expect(bob.client.activeCalls).toEqual([]);
  });

  it('ends a pushed call as unanswered when the client is busy with another call', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const carol = await h.user('carol');
    const { bob } = await bobWithHeldInvites(h);
    const { provider, coordinator } = kit(bob.client);
    await carol.client.call('bob');
    coordinator.handlePush(pushFor(h, 'carol', 'bob')); // bob is ringing for carol…
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice', 'bob');
    coordinator.handlePush(push); // …when alice's push arrives
    expect(provider.reportsFor(push.uuid).at(-1)).toEqual({ type: 'ended', uuid: push.uuid, reason: 'unanswered' });
    expect((await ended(aliceCall)).reason).toBe('busy');
    expect(coordinator.pendingInvitations()).toEqual([]);
  });
});

/** An invitation-shaped envelope nobody can open. */
function fakeInvite(): Uint8Array {
  const bytes = new Uint8Array(256);
  globalThis.crypto.getRandomValues(bytes.subarray(2, 18));
  globalThis.crypto.getRandomValues(bytes.subarray(34));
  bytes[0] = 1;
  bytes[1] = 1;
  return bytes;
}
