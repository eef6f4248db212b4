import { afterEach, describe, expect, it } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from '../src/callkit/coordinator.js';
import type { SealcallError } from '../src/errors.js';
import { FakeCallKitProvider, type FakeCallKitProviderOptions } from '../src/testing/fake-callkit-provider.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, once, peerMedia, reach } from './helpers/call-harness.js';

let harness: Harness | undefined;
const kits: Kit[] = [];

interface Kit {
  provider: FakeCallKitProvider;
  coordinator: CallKitCoordinator;
  errors: SealcallError[];
}

function setup(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 7 }), defaults);
  return harness;
}

/** A fake CallKit and a coordinator for one device. */
function kit(
  client: CallClient | PromiseLike<CallClient>,
  options: Partial<CallKitCoordinatorOptions> = {},
  providerOptions: FakeCallKitProviderOptions = {},
): Kit {
  const provider = new FakeCallKitProvider(providerOptions);
  const coordinator = new CallKitCoordinator({ client, reporter: provider, ...options });
  const errors: SealcallError[] = [];
  coordinator.on('error', (e) => errors.push(e));
  const made = { provider, coordinator, errors };
  kits.push(made);
  return made;
}

afterEach(async () => {
  for (const { provider, coordinator } of kits.splice(0)) {
    // Every action the OS performed was settled, and only once.
    expect(provider.unsettled()).toEqual([]);
    expect(provider.settledTwice()).toEqual([]);
    coordinator.dispose();
  }
  await harness?.close();
  harness = undefined;
});

const types = (provider: FakeCallKitProvider, uuid: string) => provider.reportsFor(uuid).map((r) => r.type);

describe('CallKitCoordinator with real calls', () => {
  it('reports an incoming call and fulfils the answer only once media is connected', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client, { displayName: (peer) => `Contact ${peer}` });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const report = await provider.report({ type: 'incoming' });
    expect(report).toEqual({ type: 'incoming', uuid: report.uuid, info: { handle: 'alice', displayName: 'Contact alice', hasVideo: false } });
    expect(coordinator.uuidOf(bobCall)).toBe(report.uuid);
    expect(coordinator.callOf(report.uuid.toUpperCase())).toBe(bobCall);

    let stateAtFulfil: string | undefined;
    const answered = provider.answer(report.uuid).then((outcome) => {
      stateAtFulfil = bobCall.state;
      return outcome;
    });
    expect(await answered).toBe('fulfilled');
    expect(stateAtFulfil).toBe('connected');
    expect(provider.calls.get(report.uuid)?.status).toBe('active');
    await reach(aliceCall, 'connected');

    // The remote side hangs up: reported with CallKit's reason, no end action involved.
    const endedReport = provider.report({ type: 'ended', uuid: report.uuid });
    await aliceCall.hangup();
    expect(await endedReport).toMatchObject({ reason: 'remoteEnded' });
    expect(types(provider, report.uuid)).toEqual(['incoming', 'ended']);
  });

  it('places a call through CallKit and reports connected only once the callee joined', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(alice.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await coordinator.startCall('bob', { media: 'audio' });
    const uuid = coordinator.uuidOf(aliceCall)!;
    expect((await provider.action({ kind: 'start', uuid })).outcome).toBe('fulfilled');
    const [bobCall] = await incoming;
    await once(aliceCall, 'ringing');
    expect(types(provider, uuid)).toEqual(['start-requested']); // still "Calling…"

    await bobCall.accept();
    await reach(aliceCall, 'connected');
    await provider.report({ type: 'connected', uuid });
    expect(types(provider, uuid)).toEqual(['start-requested', 'connecting', 'connected']);

    // Hang up from the system UI: the Call hangs up, the action is fulfilled, nothing is reported.
    const bobEnded = ended(bobCall);
    expect(await provider.end(uuid)).toBe('fulfilled');
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await bobEnded).reason).toBe('remote-hangup');
    expect(types(provider, uuid)).toEqual(['start-requested', 'connecting', 'connected']);
    expect(provider.calls.get(uuid)).toMatchObject({ status: 'ended', endedBy: 'end-action' });
  });

  it('shows an unanswered outgoing call as unanswered, never connected, on both sides', async () => {
    const h = setup({ ringTimeoutMs: 400 });
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceKit = kit(alice.client);
    const bobKit = kit(bob.client);
    const aliceCall = await aliceKit.coordinator.startCall('bob');
    const uuid = aliceKit.coordinator.uuidOf(aliceCall)!;
    const bobIncoming = await bobKit.provider.report({ type: 'incoming' });

    expect(await aliceKit.provider.report({ type: 'ended', uuid })).toMatchObject({ reason: 'unanswered' });
    expect(await bobKit.provider.report({ type: 'ended', uuid: bobIncoming.uuid })).toMatchObject({ reason: 'unanswered' });
    expect(types(aliceKit.provider, uuid)).toEqual(['start-requested', 'ended']);
    expect(aliceCall.endedWith?.reason).toBe('no-answer');
  });

  it('hanging up before the callee answers ends through an end action (a cancelled call)', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceKit = kit(alice.client);
    const bobKit = kit(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await aliceKit.coordinator.startCall('bob');
    const uuid = aliceKit.coordinator.uuidOf(aliceCall)!;
    const [bobCall] = await incoming;
    const bobUuid = bobKit.coordinator.uuidOf(bobCall)!;

    await aliceCall.hangup(); // the app's own hang-up button
    const echo = await aliceKit.provider.action({ kind: 'end', uuid, origin: 'echo' });
    expect(await echo.settled).toBe('fulfilled');
    expect(types(aliceKit.provider, uuid)).toEqual(['start-requested', 'end-requested']);
    expect(await bobKit.provider.report({ type: 'ended', uuid: bobUuid })).toMatchObject({ reason: 'remoteEnded' });
    expect(bobCall.endedWith?.reason).toBe('cancelled');
  });

  it('declining from CallKit rejects the call', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceKit = kit(alice.client);
    const bobKit = kit(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await aliceKit.coordinator.startCall('bob');
    const [bobCall] = await incoming;
    const bobUuid = bobKit.coordinator.uuidOf(bobCall)!;
    expect(await bobKit.provider.end(bobUuid)).toBe('fulfilled');
    expect(bobCall.endedWith?.reason).toBe('rejected');
    expect((await ended(aliceCall)).reason).toBe('rejected');
    expect(await aliceKit.provider.report({ type: 'ended' })).toMatchObject({ reason: 'remoteEnded' });
    expect(types(bobKit.provider, bobUuid)).toEqual(['incoming']);
  });

  it('an answer in the app is mirrored to CallKit and fulfilled when connected', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = coordinator.uuidOf(bobCall)!;
    await bobCall.accept();
    const echo = await provider.action({ kind: 'answer', uuid, origin: 'echo' });
    expect(await echo.settled).toBe('fulfilled');
    expect(bobCall.state).toBe('connected');
    await reach(aliceCall, 'connected');
    expect(types(provider, uuid)).toEqual(['incoming', 'answer-requested']);

    // A hang-up in the app: one end request, its echo fulfilled, no double end.
    await bobCall.hangup();
    const endEcho = await provider.action({ kind: 'end', uuid, origin: 'echo' });
    expect(await endEcho.settled).toBe('fulfilled');
    expect(provider.actions.filter((a) => a.kind === 'end')).toHaveLength(1);
    expect(types(provider, uuid)).toEqual(['incoming', 'answer-requested', 'end-requested']);
  });

  it('keeps mute in sync both ways without echo loops', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(alice.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await coordinator.startCall('bob');
    const [bobCall] = await incoming;
    await bobCall.accept();
    await reach(aliceCall, 'connected');
    const uuid = coordinator.uuidOf(aliceCall)!;

    // From CallKit: the call mutes, the peer hears of it, nothing is requested back.
    const peerSees = new Promise((resolve) => bobCall.on('remote-media', (m) => m.audioMuted && resolve(m)));
    expect(await provider.setMuted(uuid, true)).toBe('fulfilled');
    expect(aliceCall.audioMuted).toBe(true);
    await peerSees;
    expect(provider.reports.filter((r) => r.type === 'mute-requested')).toEqual([]);
    expect(provider.calls.get(uuid)?.muted).toBe(true);

    // From the app: one request to CallKit, whose echo is fulfilled and requests nothing more.
    expect(await aliceCall.setAudioMuted(false)).toBe(false);
    const echo = await provider.action({ kind: 'set-muted', uuid, origin: 'echo' });
    expect(await echo.settled).toBe('fulfilled');
    expect(provider.reports.filter((r) => r.type === 'mute-requested')).toEqual([{ type: 'mute-requested', uuid, muted: false }]);
    expect(provider.calls.get(uuid)?.muted).toBe(false);
    expect(aliceCall.audioMuted).toBe(false);
    expect(provider.actions.filter((a) => a.kind === 'set-muted')).toHaveLength(2);
  });

  it('hold puts the call on hold (media paused both ways, the peer told), without touching the mute state CallKit shows', async () => {
    const h = setup();
    const { aliceCall, bobCall } = await connectedPairWithKit(h);
    const { provider, coordinator } = kits[0]!;
    const uuid = coordinator.uuidOf(aliceCall)!;
    const sending = () => aliceCall.localStream!.getTracks().filter((t) => t.enabled).length;
    provider.activateAudioSession();
    expect(sending()).toBeGreaterThan(0);

    const bobSeesHold = peerMedia(bobCall, (media) => media.held);
    expect(await provider.setHeld(uuid, true)).toBe('fulfilled');
    expect(aliceCall.onHold).toBe(true);
    expect(aliceCall.audioMuted).toBe(false); // hold is not a mute
    expect(sending()).toBe(0);
    await bobSeesHold;
    // Muting while held is the user's choice; it outlasts the hold.
    expect(await provider.setMuted(uuid, true)).toBe('fulfilled');
    expect(await provider.setMuted(uuid, false)).toBe('fulfilled');
    expect(aliceCall.audioMuted).toBe(false);
    expect(sending()).toBe(0);
    const bobSeesResume = peerMedia(bobCall, (media) => !media.held);
    expect(await provider.setHeld(uuid, false)).toBe('fulfilled');
    expect(aliceCall.onHold).toBe(false);
    expect(sending()).toBeGreaterThan(0);
    await bobSeesResume;
    expect(provider.reports.filter((r) => r.type === 'mute-requested')).toEqual([]);
    expect(provider.calls.get(uuid)).toMatchObject({ muted: false, held: false });
  });

  it('a provider reset mid-call ends every call, fails pending actions, and recovers', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(bob.client);
    const resets: number[] = [];
    coordinator.on('reset', () => resets.push(Date.now()));
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = coordinator.uuidOf(bobCall)!;

    const answer = provider.answer(uuid); // pending until media connects…
    provider.reset(); // …but the provider resets first
    expect(await answer).toBe('failed');
    expect(resets).toHaveLength(1);
    // The answer had already accepted the call, so the reset hangs it up.
    expect((await ended(aliceCall)).reason).toBe('remote-hangup');
    expect(bobCall.endedWith?.reason).toBe('hangup');
    expect(types(provider, uuid)).toEqual(['incoming']); // CallKit already dropped it: nothing reported

    // The next call works as before, under a new UUID.
    const next = once(bob.client, 'incoming');
    const aliceAgain = await alice.client.call('bob');
    const [bobAgain] = await next;
    const uuid2 = coordinator.uuidOf(bobAgain)!;
    expect(uuid2).not.toBe(uuid);
    expect(await provider.answer(uuid2)).toBe('fulfilled');
    await reach(aliceAgain, 'connected');

    // And a reset during a connected call hangs it up.
    const aliceEnded = ended(aliceAgain);
    provider.reset();
    expect((await aliceEnded).reason).toBe('remote-hangup');
    expect(bobAgain.endedWith?.reason).toBe('hangup');
    expect(types(provider, uuid2)).toEqual(['incoming']);
  });

  it('places a call started from Recents or Siri, and refuses a handle that names no contact', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator } = kit(alice.client, { peerFromHandle: (handle) => (handle === 'Bob' ? 'bob' : undefined) });
    const incoming = once(bob.client, 'incoming');
    const uuid = '5e5e5e5e-5e5e-4e5e-8e5e-5e5e5e5e5e5e';
    expect(await provider.start(uuid.toUpperCase(), 'Bob', true)).toBe('fulfilled');
    const aliceCall = coordinator.callOf(uuid)!;
    expect(aliceCall.media).toBe('video');
    const [bobCall] = await incoming;
    expect(bobCall.peer).toBe('alice');
    expect(await provider.start('6e6e6e6e-6e6e-4e6e-8e6e-6e6e6e6e6e6e', 'Mallory')).toBe('failed');
    const endEcho = provider.action({ kind: 'end', uuid, origin: 'echo' });
    await aliceCall.hangup();
    await (await endEcho).settled;
  });

  it('glare: both call each other at once and each CallKit shows one connected outgoing call', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceKit = kit(alice.client);
    const bobKit = kit(bob.client);
    const [aliceCall, bobCall] = await Promise.all([aliceKit.coordinator.startCall('bob'), bobKit.coordinator.startCall('alice')]);
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    expect(aliceCall.id).toBe(bobCall.id);
    for (const [{ provider, coordinator }, call] of [[aliceKit, aliceCall], [bobKit, bobCall]] as const) {
      const uuid = coordinator.uuidOf(call)!;
      await provider.report({ type: 'connected', uuid });
      expect(provider.reports.map((r) => r.type)).toEqual(['start-requested', 'connecting', 'connected']);
      expect(provider.liveCalls().map((c) => c.uuid)).toEqual([uuid]);
    }
  });

  it('gives every call session a fresh UUID', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceKit = kit(alice.client);
    const bobKit = kit(bob.client);
    const uuids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const incoming = once(bob.client, 'incoming');
      const aliceCall = await aliceKit.coordinator.startCall('bob');
      const [bobCall] = await incoming;
      uuids.push(aliceKit.coordinator.uuidOf(aliceCall)!, bobKit.coordinator.uuidOf(bobCall)!);
      const endEcho = aliceKit.provider.action({ kind: 'end', uuid: uuids.at(-2)!, origin: 'echo' });
      await aliceCall.hangup();
      await (await endEcho).settled;
      await ended(bobCall);
    }
    expect(new Set(uuids).size).toBe(4);
  });

  it('ends the other devices as answered elsewhere and declined elsewhere', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const phone = await h.user('bob');
    const tablet = await h.user('bob');
    const phoneKit = kit(phone.client);
    const tabletKit = kit(tablet.client);

    // Answered on the phone: the tablet's CallKit call ends "answered elsewhere".
    const aliceCall = await alice.client.call('bob');
    const phoneIncoming = await phoneKit.provider.report({ type: 'incoming' });
    const tabletIncoming = await tabletKit.provider.report({ type: 'incoming' });
    expect(await phoneKit.provider.answer(phoneIncoming.uuid)).toBe('fulfilled');
    expect(await tabletKit.provider.report({ type: 'ended', uuid: tabletIncoming.uuid })).toMatchObject({ reason: 'answeredElsewhere' });
    await aliceCall.hangup();
    expect(await phoneKit.provider.report({ type: 'ended', uuid: phoneIncoming.uuid })).toMatchObject({ reason: 'remoteEnded' });

    // Declined on the phone: the tablet's ends "declined elsewhere".
    const second = await alice.client.call('bob');
    const phone2 = await phoneKit.provider.report((r) => r.type === 'incoming' && r.uuid !== phoneIncoming.uuid);
    const tablet2 = await tabletKit.provider.report((r) => r.type === 'incoming' && r.uuid !== tabletIncoming.uuid);
    expect(await phoneKit.provider.end(phone2.uuid)).toBe('fulfilled');
    expect(await tabletKit.provider.report({ type: 'ended', uuid: tablet2.uuid })).toMatchObject({ reason: 'declinedElsewhere' });
    expect((await ended(second)).reason).toBe('rejected');
  });

  it('reports a refused incoming call as CALLKIT_REPORT_FAILED and leaves the call to the app', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { provider, coordinator, errors } = kit(bob.client, {}, { refuseIncoming: () => new Error('FilteredByDoNotDisturb') });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = coordinator.uuidOf(bobCall)!;
    if (errors.length === 0) await new Promise<void>((resolve) => coordinator.once('error', () => resolve()));
    expect(errors.map((e) => e.code)).toEqual(['CALLKIT_REPORT_FAILED']);
    expect(bobCall.state).toBe('incoming');
    expect(await provider.answer(uuid)).toBe('failed'); // not shown: no answer via CallKit
    await aliceCall.hangup();
    await ended(bobCall);
    expect(types(provider, uuid)).toEqual(['incoming']);
  });
});

/** Alice (with a CallKit kit) calls Bob through the coordinator; Bob accepts. */
async function connectedPairWithKit(h: Harness) {
  const alice = await h.user('alice');
  const bob = await h.user('bob');
  const aliceKit = kit(alice.client);
  const incoming = once(bob.client, 'incoming');
  const aliceCall = await aliceKit.coordinator.startCall('bob');
  const [bobCall] = await incoming;
  await bobCall.accept();
  await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
  return { alice, bob, aliceCall, bobCall };
}


