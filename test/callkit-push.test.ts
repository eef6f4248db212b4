import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import type { Call } from '../src/call/call.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from '../src/callkit/coordinator.js';
import { buildCallPush, generatePushKey, parseCallPush, type CallPushPayload, type PushKeyPair } from '../src/callkit/push-payload.js';
import { ready } from '../src/crypto/sodium.js';
import type { SealcallError } from '../src/errors.js';
import { fromBase64 } from '../src/protocol/base64.js';
import type { ReplayStore } from '../src/signaling/replay-guard.js';
import { FakeCallKitProvider } from '../src/testing/fake-callkit-provider.js';
import type { ChatTransport, PeerId } from '../src/transport/chat-transport.js';
import { MemoryNetwork, type ObservedMessage } from '../src/testing/memory-network.js';
import type { CallClientOptions } from '../src/call/options.js';
import { ended, Harness, once, reach, type User } from './helpers/call-harness.js';

let harness: Harness | undefined;
const kits: { provider: FakeCallKitProvider; coordinator: CallKitCoordinator }[] = [];
/** Invitations a caller's transport withheld (see {@link heldCaller}), in send order. */
const withheld: ObservedMessage[] = [];
/** Bob's device push key: pushes for Bob are sealed to its public key. */
let bobDevice: PushKeyPair;

/** What CallKit shows for a push until its invitation is authenticated. */
const PLACEHOLDER = { handle: 'unknown', displayName: 'Incoming call', hasVideo: false };

beforeAll(async () => {
  await ready();
  bobDevice = generatePushKey();
});

function setup(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 11 }), defaults);
  return harness;
}

/** A coordinator for Bob's device (with Bob's push key unless `pushKey` is given, even undefined). */
function kit(client: CallClient | PromiseLike<CallClient>, options: Partial<CallKitCoordinatorOptions> = {}) {
  const provider = new FakeCallKitProvider();
  const coordinator = new CallKitCoordinator({ client, reporter: provider, pushKey: bobDevice, ...options });
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
  withheld.length = 0;
  await harness?.close();
  harness = undefined;
});

/**
 * A caller whose transport withholds its invitations (the send with `hints.wake`), as if only
 * the VoIP push brought them, until `release()`. Its invitation is not resent within a test
 * (a resend would reach the callee over the transport: the wrapper cannot tell it apart).
 */
async function heldCaller(h: Harness, name: string, options: Partial<CallClientOptions> = {}): Promise<{ user: User; release: () => void }> {
  const inner = h.network.endpoint(name);
  let holding = true;
  const held: ObservedMessage[] = [];
  const transport: ChatTransport = {
    send(to, payload, hints) {
      if (!holding || !hints?.wake) return inner.send(to, payload, hints);
      const copy = { from: name, to, payload: payload.slice(), wake: true as const };
      held.push(copy);
      withheld.push(copy);
      return Promise.resolve();
    },
    onMessage: (handler) => inner.onMessage(handler),
  };
  const user = await h.user(name, { retransmitMs: 600_000, retransmitMaxMs: 600_000, ...options, transport });
  const release = () => {
    holding = false;
    for (const { to, payload } of held.splice(0)) void inner.send(to, payload);
  };
  return { user, release };
}

/** The last invitation `from` handed its transport for `to` (the copy to push). */
function invitationFor(h: Harness, from: PeerId, to: PeerId): Uint8Array {
  const match = (m: ObservedMessage) => m.from === from && m.to === to && m.wake;
  const invite = withheld.findLast(match) ?? h.network.observed.findLast(match);
  if (!invite) throw new Error('no invitation on the network');
  return invite.payload;
}

/** The push the caller's app or app server would send to Bob's device for `from`'s invitation. */
function pushFor(h: Harness, from: PeerId, options: { to?: PeerId; hint?: string; pushKey?: Uint8Array; uuid?: string } = {}): CallPushPayload {
  const envelope = invitationFor(h, from, options.to ?? 'bob');
  const push = buildCallPush({
    envelope,
    callerHint: options.hint ?? from,
    pushKey: options.pushKey ?? bobDevice.publicKey,
    ...(options.uuid ? { uuid: options.uuid } : {}),
  });
  return json(push);
}

/** Through JSON, as APNs delivers it. */
function json(push: CallPushPayload): CallPushPayload {
  return JSON.parse(JSON.stringify(push)) as CallPushPayload;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A macrotask: every microtask queued so far (a resolved client, a save started) has run. */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The reports about `uuid` as [type, end reason]. */
function lifecycle(provider: FakeCallKitProvider, uuid: string): [string, string | undefined][] {
  return provider.reportsFor(uuid).map((r) => [r.type, 'reason' in r ? r.reason : undefined]);
}

describe('what the push provider sees', () => {
  it('a push is exactly v, uuid and one fixed-length sealed part that shows no caller, call id or media', async () => {
    const h = setup();
    const callers = [
      { user: (await h.user('alice')).client, name: 'alice' },
      { user: (await h.user('carol.from.accounting@example.org')).client, name: 'carol.from.accounting@example.org' },
    ];
    await h.user('bob');
    const pushes: { payload: CallPushPayload; callId: string; hint: string }[] = [];
    for (const { user, name } of callers) {
      for (const media of ['audio', 'video'] as const) {
        const call = await user.call('bob', { media });
        pushes.push({ payload: pushFor(h, name), callId: call.id, hint: name });
        await call.hangup();
        await h.network.settled();
      }
    }
    const utf8 = (text: string) => Buffer.from(text, 'utf8');
    const sealedLengths = new Set<number>();
    for (const { payload, callId, hint } of pushes) {
      expect(Object.keys(payload).sort()).toEqual(['sealed', 'uuid', 'v']);
      expect(payload.v).toBe(2);
      const { uuid, sealed, ...rest } = payload;
      expect(rest).toEqual({ v: 2 });
      expect(uuid).not.toContain(callId.slice(0, 8));
      sealedLengths.add(sealed.length);
      const bytes = Buffer.from(fromBase64(sealed, 'standard')!);
      const text = JSON.stringify(payload);
      // Nothing readable in the JSON text, nor in the sealed bytes in any plain encoding.
      for (const secret of [callId, callId.toUpperCase(), hint]) {
        expect(text).not.toContain(secret);
        expect(bytes.includes(utf8(secret))).toBe(false);
      }
      expect(bytes.includes(Buffer.from(callId, 'hex'))).toBe(false);
      expect(text.replace(sealed, '')).not.toMatch(/audio|video/);
      for (const word of ['audio', 'video']) expect(bytes.includes(utf8(word))).toBe(false);
      // The sealed part still carries it all, for Bob's device only.
      expect(parseCallPush(payload).sealed).toEqual(new Uint8Array(bytes));
    }
    // One length for a short and a long caller, for audio and video.
    expect(sealedLengths.size).toBe(1);
  });
});

describe('VoIP push flow with real calls', () => {
  it('answers from the lock screen before the client has opened the invitation (cold start)', async () => {
    const h = setup();
    const { user: alice, release } = await heldCaller(h, 'alice');
    const bob = await h.user('bob');
    const client = deferred<CallClient>(); // CallClient.create() still loading libsodium
    const { provider, coordinator } = kit(client.promise);
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice');

    // Reported to CallKit synchronously: iOS's few-second rule holds even before the client exists.
    const invitation = coordinator.handlePush(push);
    expect(provider.reports).toEqual([{ type: 'incoming', uuid: push.uuid, info: PLACEHOLDER }]);
    expect(invitation).toEqual({ uuid: push.uuid, receivedAt: expect.any(Number), answered: false });
    expect(coordinator.pendingInvitations()).toEqual([invitation]);

    const answered = provider.answer(push.uuid); // held: there is no call to accept yet
    expect(coordinator.pendingInvitations()[0]?.answered).toBe(true);
    expect(provider.unsettled()).toHaveLength(1);

    client.resolve(bob.client); // the client is up: it opens the pushed invitation and accepts it
    expect(await answered).toBe('fulfilled');
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('connected');
    expect(bobCall.id).toBe(aliceCall.id);
    await reach(aliceCall, 'connected');
    expect(coordinator.pendingInvitations()).toEqual([]);

    // The transport's own copy arrives late: a replay, dropped; CallKit still shows one call.
    release();
    await h.network.settled();
    expect(bob.client.activeCalls).toEqual([bobCall]);
    expect(provider.reports).toEqual([
      { type: 'incoming', uuid: push.uuid, info: PLACEHOLDER },
      { type: 'updated', uuid: push.uuid, update: { displayName: 'alice', handle: 'alice' } },
    ]);
    expect(provider.liveCalls().map((c) => c.uuid)).toEqual([push.uuid]);

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await bobEnded).reason).toBe('remote-hangup');
    expect(await provider.report({ type: 'ended', uuid: push.uuid })).toMatchObject({ reason: 'remoteEnded' });
  });

  it.each([false, true])(
    'shows a neutral placeholder before libsodium is ready, then the authenticated contact and media (replay store: %s)',
    async (withStore) => {
      const h = setup();
      const { user: alice } = await heldCaller(h, 'alice');
      // With a replay store, the invitation rings only once its replay state is saved.
      const saves: Uint8Array[] = [];
      const saved = deferred<void>();
      const replayStore: ReplayStore = {
        load: () => undefined,
        save: (state) => {
          saves.push(state);
          return saved.promise;
        },
      };
      const bob = await h.user('bob', withStore ? { replayStore } : {});
      const client = deferred<CallClient>(); // CallClient.create() has not resolved: no libsodium yet
      const { provider, coordinator } = kit(client.promise, { displayName: (peer) => (peer === 'alice' ? 'Alice Liddell' : peer) });
      const shown = new Promise<[Call, string]>((resolve) => coordinator.once('call', (call, uuid) => resolve([call, uuid])));
      const aliceCall = await alice.client.call('bob', { media: 'video' });
      const push = pushFor(h, 'alice');

      coordinator.handlePush(push);
      // At once and before anything could be opened: nothing the push could lie about.
      expect(provider.reports).toEqual([{ type: 'incoming', uuid: push.uuid, info: PLACEHOLDER }]);
      expect(coordinator.pendingInvitations()).toEqual([{ uuid: push.uuid, receivedAt: expect.any(Number), answered: false }]);

      client.resolve(bob.client);
      if (withStore) {
        await tick();
        // Opened and authenticated (so its call id is known), not ringing until the state is saved.
        expect(saves).toHaveLength(1);
        expect(coordinator.pendingInvitations()).toEqual([{ uuid: push.uuid, callId: aliceCall.id, receivedAt: expect.any(Number), answered: false }]);
        expect(bob.client.activeCalls).toEqual([]);
        expect(provider.reports).toHaveLength(1);
        saved.resolve();
      }
      const [bobCall, uuid] = await shown;
      expect(uuid).toBe(push.uuid); // the push's own CallKit call, not a second one
      expect([bobCall.id, bobCall.media, bobCall.state]).toEqual([aliceCall.id, 'video', 'incoming']);
      expect(provider.reports).toEqual([
        { type: 'incoming', uuid: push.uuid, info: PLACEHOLDER },
        { type: 'updated', uuid: push.uuid, update: { displayName: 'Alice Liddell', handle: 'alice', hasVideo: true } },
      ]);
      expect(provider.liveCalls()).toMatchObject([{ uuid: push.uuid, info: { handle: 'alice', displayName: 'Alice Liddell', hasVideo: true } }]);
      expect(coordinator.pendingInvitations()).toEqual([]);

      expect(await provider.end(push.uuid)).toBe('fulfilled');
      expect((await ended(aliceCall)).reason).toBe('rejected');
    },
  );

  it('binds a push opened at once to its UUID and shows the authenticated contact', async () => {
    const h = setup();
    const { user: alice } = await heldCaller(h, 'alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client);
    await alice.client.call('bob', { media: 'audio' });
    const push = pushFor(h, 'alice');

    coordinator.handlePush(push);
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('incoming');
    expect(coordinator.pendingInvitations()).toEqual([]);
    expect(provider.reports).toEqual([
      { type: 'incoming', uuid: push.uuid, info: PLACEHOLDER },
      { type: 'updated', uuid: push.uuid, update: { displayName: 'alice', handle: 'alice' } }, // still audio
    ]);
    // The same push delivered twice changes nothing.
    expect(coordinator.handlePush(push)).toBeUndefined();
    expect(provider.reports).toHaveLength(2);
    expect(await provider.end(push.uuid)).toBe('fulfilled');
    expect(bobCall.endedWith?.reason).toBe('rejected');
  });

  it('ends a push for a call the transport delivered first as answered elsewhere: CallKit shows one call', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator, errors } = kit(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const shown = coordinator.uuidOf(bobCall)!;
    const push = pushFor(h, 'alice');

    coordinator.handlePush(push);
    expect(coordinator.pendingInvitations()).toEqual([]);
    expect(provider.reportsFor(push.uuid)).toEqual([
      { type: 'incoming', uuid: push.uuid, info: PLACEHOLDER },
      { type: 'ended', uuid: push.uuid, reason: 'answeredElsewhere' },
    ]);
    expect(provider.liveCalls().map((c) => c.uuid)).toEqual([shown]);
    expect(coordinator.callOf(shown)).toBe(bobCall);
    expect(bob.client.activeCalls).toEqual([bobCall]);

    // Once the call is over, a late push for it does not ring either.
    await aliceCall.hangup();
    await ended(bobCall);
    const late = { ...push, uuid: '0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f' };
    coordinator.handlePush(late);
    expect(lifecycle(provider, late.uuid)).toEqual([
      ['incoming', undefined],
      ['ended', 'answeredElsewhere'],
    ]);
    expect(provider.liveCalls()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('ends the CallKit call as failed, without ringing, when the push is not for this device, its hint lies or its invitation is forged or replayed', async () => {
    const h = setup();
    const { user: alice } = await heldCaller(h, 'alice');
    await h.user('carol');
    const bob = await h.user('bob');
    const rang: Call[] = [];
    bob.client.on('incoming', (call) => rang.push(call));
    const { provider, coordinator, errors } = kit(bob.client, { inviteOpenTimeoutMs: 100 });
    const aliceCall = await alice.client.call('bob');
    const envelope = invitationFor(h, 'alice', 'bob');
    const failed = [
      ['incoming', undefined],
      ['ended', 'failed'],
    ];

    // Sealed to another device's push key: this device cannot open it.
    const elsewhere = pushFor(h, 'alice', { pushKey: generatePushKey().publicKey, uuid: '11111111-1111-4111-8111-111111111111' });
    coordinator.handlePush(elsewhere);
    expect(lifecycle(provider, elsewhere.uuid)).toEqual(failed);
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED']);

    // A hint that lies (names carol, alice sent it): the invitation does not open as carol's.
    const lying = pushFor(h, 'alice', { hint: 'carol', uuid: '22222222-2222-4222-8222-222222222222' });
    coordinator.handlePush(lying);
    expect(lifecycle(provider, lying.uuid)).toEqual(failed);
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED', 'DECRYPT_FAILED']);

    // An invitation changed in transit, sealed honestly to this device: it does not authenticate.
    const tampered = envelope.slice();
    tampered[tampered.length - 1]! ^= 1;
    const forged = json(buildCallPush({ envelope: tampered, callerHint: 'alice', pushKey: bobDevice.publicKey, uuid: '33333333-3333-4333-8333-333333333333' }));
    coordinator.handlePush(forged);
    expect(lifecycle(provider, forged.uuid)).toEqual(failed);

    // A hint naming nobody this device knows.
    const stranger = pushFor(h, 'alice', { hint: 'mallory', uuid: '44444444-4444-4444-8444-444444444444' });
    coordinator.handlePush(stranger);
    expect(lifecycle(provider, stranger.uuid)).toEqual(failed);
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED', 'DECRYPT_FAILED', 'DECRYPT_FAILED', 'UNKNOWN_CONTACT']);

    // A coordinator given no push key cannot open any push.
    const keyless = kit(bob.client, { pushKey: undefined });
    const unopened = pushFor(h, 'alice', { uuid: '55555555-5555-4555-8555-555555555555' });
    keyless.coordinator.handlePush(unopened);
    expect(lifecycle(keyless.provider, unopened.uuid)).toEqual(failed);
    expect(keyless.errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED']);
    keyless.coordinator.dispose(); // so it does not show the genuine call below too

    expect(rang).toEqual([]);
    expect(bob.client.activeCalls).toEqual([]);
    expect(provider.liveCalls()).toEqual([]);

    // The genuine push rings.
    const push = pushFor(h, 'alice');
    coordinator.handlePush(push);
    const bobCall = coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('incoming');
    expect(rang).toEqual([bobCall]);
    await aliceCall.hangup();
    await ended(bobCall);

    // Pushed again later to a coordinator that never saw it (an app restart): the client drops
    // the replay without a word, so after a moment the CallKit call ends as failed.
    const restarted = kit(bob.client, { inviteOpenTimeoutMs: 100 });
    const replay = { ...push, uuid: '66666666-6666-4666-8666-666666666666' };
    restarted.coordinator.handlePush(replay);
    expect(restarted.coordinator.pendingInvitations()).toEqual([{ uuid: replay.uuid, callId: aliceCall.id, receivedAt: expect.any(Number), answered: false }]);
    expect(await restarted.provider.report({ type: 'ended', uuid: replay.uuid })).toMatchObject({ reason: 'failed' });
    expect(restarted.coordinator.pendingInvitations()).toEqual([]);
    expect(bob.client.activeCalls).toEqual([]);
    expect(rang).toEqual([bobCall]);
  });

  it('reports and ends a placeholder for an invalid payload, unless native code reported it', () => {
    setup();
    const { provider, coordinator, errors } = kit(new Promise<CallClient>(() => {}));
    const uuid = '44444444-4444-4444-8444-444444444444';
    expect(coordinator.handlePush({ v: 2, uuid, sealed: 'not base64' })).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['BAD_MESSAGE']);
    expect(provider.reports).toEqual([
      { type: 'incoming', uuid, info: PLACEHOLDER },
      { type: 'ended', uuid, reason: 'failed' },
    ]);
    expect(coordinator.handlePush('garbage', { reported: true })).toBeUndefined();
    expect(provider.reports).toHaveLength(2);
    // A readable push from an app server that was not updated: another version.
    const old = '77777777-7777-4777-8777-777777777777';
    expect(coordinator.handlePush({ v: 1, uuid: old, callId: '00'.repeat(16), callerHint: 'alice', media: 'audio', envelope: 'AAAA' })).toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE', 'UNSUPPORTED_VERSION']);
    expect(lifecycle(provider, old)).toEqual([
      ['incoming', undefined],
      ['ended', 'failed'],
    ]);
  });

  it('restores pushes native code reported before a cold start, and a decline before opening rejects the call', async () => {
    const h = setup();
    const { user: alice } = await heldCaller(h, 'alice');
    const bob = await h.user('bob');
    const client = deferred<CallClient>();
    const { provider, coordinator } = kit(client.promise);
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice');

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
    const push = buildCallPush({ envelope: fakeEnvelope(), callerHint: 'alice', pushKey: bobDevice.publicKey });
    coordinator.handlePush(push);
    const answer = provider.answer(push.uuid);
    expect(await answer).toBe('failed');
    expect(provider.reportsFor(push.uuid).at(-1)).toEqual({ type: 'ended', uuid: push.uuid, reason: 'unanswered' });
    expect(coordinator.pendingInvitations()).toEqual([]);
  });

  it('rings a push the client drops (the caller cancelled first) no longer than the call would ring', async () => {
    const h = setup();
    const { user: alice } = await heldCaller(h, 'alice');
    const bob = await h.user('bob', { ringTimeoutMs: 200 });
    const { provider, coordinator } = kit(bob.client, { inviteOpenTimeoutMs: 60_000 });
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice');
    await aliceCall.hangup(); // the caller's cancel reaches bob's client before the push does
    await h.network.settled();

    coordinator.handlePush(push);
    expect(coordinator.pendingInvitations()).toHaveLength(1);
    expect(await provider.report({ type: 'ended', uuid: push.uuid })).toMatchObject({ reason: 'unanswered' });
    expect(bob.client.activeCalls).toEqual([]);
  });

  it('ends a pushed call as unanswered when the client is busy with another call', async () => {
    const h = setup();
    const { user: alice } = await heldCaller(h, 'alice');
    const { user: carol } = await heldCaller(h, 'carol');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client);
    await carol.client.call('bob');
    coordinator.handlePush(pushFor(h, 'carol')); // bob is ringing for carol…
    const aliceCall = await alice.client.call('bob');
    const push = pushFor(h, 'alice');
    coordinator.handlePush(push); // …when alice's push arrives
    expect(provider.reportsFor(push.uuid).at(-1)).toEqual({ type: 'ended', uuid: push.uuid, reason: 'unanswered' });
    expect((await ended(aliceCall)).reason).toBe('busy');
    expect(coordinator.pendingInvitations()).toEqual([]);
  });
});

/** An envelope-sized byte string nobody can open. */
function fakeEnvelope(): Uint8Array {
  const bytes = new Uint8Array(3072);
  globalThis.crypto.getRandomValues(bytes.subarray(0, 65_536));
  return bytes;
}
