/*
 * The CallKeep bridge against react-native-callkeep 4.3.16's real JavaScript (index.js,
 * actions.js), over a stand-in of its native module written from RNCallKeep.m (iOS) and
 * RNCallKeepModule.java / VoiceConnection.java / VoiceConnectionService.java (Android), with real
 * CallClients on a MemoryNetwork. Every flow runs on both platforms unless it exists on one only.
 */
import type RNCallKeepDeclared from 'react-native-callkeep';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import type { Call } from '../src/call/call.js';
import { CallKeepBridge, type CallKeepBridgeOptions } from '../src/callkit/callkeep-bridge.js';
import type { CallKeep, CallKeepSetupOptions } from '../src/callkit/callkeep-types.js';
import { CALLKEEP_ANDROID_END_REASONS, CALLKEEP_END_REASONS } from '../src/callkit/end-reasons.js';
import { buildCallPush, CALL_PUSH_KEY, generatePushKey } from '../src/callkit/push-payload.js';
import type { SealcallError } from '../src/errors.js';
import { MemoryNetwork, type ObservedMessage } from '../src/testing/memory-network.js';
import type { ChatTransport } from '../src/transport/chat-transport.js';
import { CallKeepNativeStandIn, type NativeStandInOptions } from './helpers/callkeep-native-stand-in.js';
import { ended, Harness, once, reach } from './helpers/call-harness.js';
import { loadCallKeep } from './helpers/react-native-stand-in.js';

vi.mock('react-native', () => import('./helpers/react-native-stand-in.js'));

type Platform = 'ios' | 'android';

/** An invitation a caller's transport held back (see {@link withholdInvites}). */
type Held = ObservedMessage & { release(): void };

const SETUP: CallKeepSetupOptions = {
  ios: { appName: 'Chat' },
  android: { alertTitle: 'Calls', alertDescription: 'Allow calls', cancelButton: 'Cancel', okButton: 'OK', additionalPermissions: [] },
};
const SELF_MANAGED: CallKeepSetupOptions = { ...SETUP, android: { ...SETUP.android, selfManaged: true } };

let harness: Harness | undefined;
const bridges: CallKeepBridge[] = [];

afterEach(async () => {
  for (const b of bridges.splice(0)) b.dispose();
  await harness?.close();
  harness = undefined;
});

function network(defaults = {}): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 5 }), defaults);
  return harness;
}

interface Rig {
  native: CallKeepNativeStandIn;
  RNCallKeep: CallKeep & Record<string, (...args: never[]) => unknown>;
  bridge: CallKeepBridge;
  errors: SealcallError[];
  audio: boolean[];
}

/**
 * One device: a fresh copy of callkeep's JavaScript over a native stand-in, and a bridge that
 * calls `setup()` itself. Waits for setup unless it is expected to fail.
 */
async function device(
  platform: Platform,
  client: CallClient | PromiseLike<CallClient>,
  options: { native?: Partial<NativeStandInOptions>; bridge?: Partial<CallKeepBridgeOptions>; before?: (native: CallKeepNativeStandIn) => void } = {},
): Promise<Rig> {
  const native = new CallKeepNativeStandIn({ platform, ...options.native });
  options.before?.(native);
  const { RNCallKeep } = await loadCallKeep(native);
  const bridge = new CallKeepBridge({ client, callKeep: RNCallKeep, setup: SETUP, ...options.bridge });
  bridges.push(bridge);
  const errors: SealcallError[] = [];
  const audio: boolean[] = [];
  bridge.coordinator.on('error', (e) => errors.push(e));
  bridge.coordinator.on('audio-session', (active) => audio.push(active));
  // Callkeep's Alert (Android's phone-account prompt) asks the stand-in loaded last: settle
  // setup before another device loads.
  await bridge.coordinator.ready().catch(() => {});
  await native.flushed();
  return { native, RNCallKeep, bridge, errors, audio };
}

/** Resolves once `done()` holds, checking now and after each `event` (listeners added earlier run first). */
function until(emitter: { on(event: string, fn: () => void): unknown; off(event: string, fn: () => void): unknown }, event: string, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!done()) return;
      emitter.off(event, check);
      resolve();
    };
    emitter.on(event, check);
  });
}

/** The native end reason the bridge must use for `reason` on `platform`. */
function endCode(platform: Platform, reason: keyof typeof CALLKEEP_END_REASONS): number {
  return (platform === 'ios' ? CALLKEEP_END_REASONS : CALLKEEP_ANDROID_END_REASONS)[reason];
}

/** How the OS records an end reported with `reason` (CXCallEndedReason / DisconnectCause). */
const OS_ENDED: Record<Platform, Record<string, string>> = {
  ios: { remoteEnded: 'remoteEnded', unanswered: 'unanswered', failed: 'failed' },
  android: { remoteEnded: 'REMOTE', unanswered: 'MISSED', failed: 'ERROR' },
};

/** The state a connected call has in the OS. */
const CONNECTED: Record<Platform, string> = { ios: 'connected', android: 'active' };

it("react-native-callkeep's declared RNCallKeep is a CallKeep", () => {
  expectTypeOf<typeof RNCallKeepDeclared>().toMatchTypeOf<CallKeep>();
});

describe.each(['ios', 'android'] as const)('CallKeepBridge on %s, driving react-native-callkeep 4.3.16', (platform) => {
  it('tells the platform apart from callkeep itself and sets callkeep up after listening', async () => {
    const h = network();
    const bob = await h.user('bob');
    const { bridge, native } = await device(platform, bob.client);
    expect(bridge.platform).toBe(platform);
    // setup() came after every listener: nothing native code sends at setup can be missed.
    expect(native.calls.findIndex((c) => c.method === 'setup')).toBeGreaterThan(native.calls.findIndex((c) => c.method === 'setReachable'));
    expect(native.jsListeners()).toBe(15);
    bridge.dispose();
    expect(native.jsListeners()).toBe(0);
  });

  it('shows a call from the chat transport, answers it in the system UI, marks it connected and reports the remote end', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge, audio } = await device(platform, bob.client, { bridge: { displayName: (p) => p.toUpperCase() } });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob', { media: 'video' });
    const [bobCall] = await incoming;
    const uuid = bridge.coordinator.uuidOf(bobCall)!;
    await native.flushed();
    expect(native.call(uuid)).toMatchObject({ state: 'ringing', name: 'ALICE', handle: 'alice', hasVideo: true });

    native.userAnswers(uuid);
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    expect(native.call(uuid)?.state).toBe(CONNECTED[platform]); // Android: setCurrentCallActive
    expect(native.callsTo('backToForeground')).toHaveLength(platform === 'android' ? 1 : 0);

    await aliceCall.hangup();
    await ended(bobCall);
    await native.flushed();
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([[uuid, endCode(platform, 'remoteEnded')]]);
    expect(native.call(uuid)?.endedAs).toBe(OS_ENDED[platform].remoteEnded);
    expect(audio).toEqual([true, false]); // Android has no deactivation event: the bridge says it
  });

  it('an unanswered incoming call shows as missed, never busy', async () => {
    const h = network({ ringTimeoutMs: 300 });
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge } = await device(platform, bob.client);
    const incoming = once(bob.client, 'incoming');
    await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = bridge.coordinator.uuidOf(bobCall)!;
    expect((await ended(bobCall)).reason).toBe('no-answer');
    await native.flushed();
    expect(native.call(uuid)?.endedAs).toBe(OS_ENDED[platform].unanswered);
  });

  it('a decline in the system UI rejects the call and reports nothing more', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge } = await device(platform, bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await native.flushed();
    native.userDeclines(bridge.coordinator.uuidOf(bobCall)!);
    expect((await ended(aliceCall)).reason).toBe('rejected');
    await native.flushed();
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([]);
    expect(native.callsTo('endCall')).toEqual([]);
  });

  it('places a call, shows it connected only once the callee joined, and ends it from the app', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge, audio } = await device(platform, alice.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await bridge.startCall('bob');
    const uuid = bridge.coordinator.uuidOf(aliceCall)!;
    const [bobCall] = await incoming;
    await once(aliceCall, 'ringing');
    expect(native.call(uuid)).toMatchObject({ outgoing: true, state: 'dialing', handle: 'bob' });
    await bobCall.accept();
    await reach(aliceCall, 'connected');
    expect(native.call(uuid)?.state).toBe(CONNECTED[platform]);
    // iOS: connecting then connected; Android has neither (callkeep's JS drops them) but setCurrentCallActive.
    expect(native.callsTo('reportConnectedOutgoingCallWithUUID')).toEqual(platform === 'ios' ? [[uuid]] : []);
    expect(native.callsTo('setCurrentCallActive')).toEqual(platform === 'android' ? [[uuid]] : []);

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await bobEnded).reason).toBe('remote-hangup');
    await native.flushed();
    expect(native.callsTo('endCall')).toEqual([[uuid]]);
    expect(native.call(uuid)?.endedAs).toBe(platform === 'ios' ? 'local' : 'LOCAL');
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([]);
    expect(audio).toEqual([true, false]);
  });

  it('keeps mute in sync both ways without echo loops, and holds and resumes from the OS', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge } = await device(platform, bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob', { media: 'video' });
    const [bobCall] = await incoming;
    const uuid = bridge.coordinator.uuidOf(bobCall)!;
    await bobCall.accept(); // in the app: the OS learns it through answerIncomingCall
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    expect(native.callsTo('answerIncomingCall')).toEqual([[uuid]]);
    await native.flushed();
    expect(native.call(uuid)?.state).toBe(CONNECTED[platform]);
    expect(native.callsTo('backToForeground')).toEqual([]); // answered in the app: it is in front

    await bobCall.setAudioMuted(true);
    await native.flushed();
    expect(native.callsTo('setMutedCall')).toEqual([[uuid, true]]);
    expect(native.call(uuid)?.muted).toBe(true);
    expect(bobCall.audioMuted).toBe(true);

    native.userMutes(uuid, false);
    await native.flushed();
    await until(bobCall, 'local-media', () => !bobCall.audioMuted);
    expect(native.callsTo('setMutedCall')).toEqual([[uuid, true]]);

    native.osHolds(uuid, true);
    await native.flushed();
    await until(aliceCall, 'remote-media', () => aliceCall.remoteMedia?.held === true);
    expect([bobCall.onHold, bobCall.audioMuted, bobCall.videoEnabled]).toEqual([true, false, true]); // held, not muted
    native.osHolds(uuid, false);
    await native.flushed();
    await until(aliceCall, 'remote-media', () => aliceCall.remoteMedia?.held === false);
    expect([bobCall.onHold, bobCall.audioMuted, bobCall.videoEnabled]).toEqual([false, false, true]);
    expect(native.call(uuid)?.state).toBe(CONNECTED[platform]);
    expect(native.callsTo('setMutedCall')).toEqual([[uuid, true]]); // hold is not a mute
  });

  it('refuses a start the OS never performs with CALLKIT_REPORT_FAILED within startTimeoutMs', async () => {
    const h = network();
    const alice = await h.user('alice');
    await h.user('bob');
    // iOS: CallKit refuses the transaction, which callkeep only logs. Android: the app made the
    // service unavailable behind the bridge's back; ConnectionService fails the connection silently.
    const { native, RNCallKeep, bridge } = await device(platform, alice.client, {
      native: { refuseStart: true },
      bridge: { startTimeoutMs: 200 },
    });
    if (platform === 'android') RNCallKeep.setAvailable!(false);
    await expect(bridge.startCall('bob')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED' });
    expect(native.callsTo('startCall')).toHaveLength(1);
    expect(native.log.join('\n')).toMatch(platform === 'ios' ? /Error requesting transaction/ : /not available/);
    // A start action that comes after all is failed (ended as failed), never placed.
    const [uuid] = native.callsTo('startCall')[0] as [string];
    const ends = native.callsTo('reportEndCallWithUUID').length;
    native.emitJs('RNCallKeepDidReceiveStartCallAction', { callUUID: uuid, handle: 'bob' });
    expect(native.callsTo('reportEndCallWithUUID').slice(ends)).toEqual([[uuid, endCode(platform, 'failed')]]);
    await alice.client.close(); // a call placed by the late action would have been in flight
    expect(alice.client.activeCalls).toEqual([]);
  });

  it('sign-out: setAvailable(false) refuses starts at once, and tells Android', async () => {
    const h = network();
    const alice = await h.user('alice');
    const { native, bridge } = await device(platform, alice.client, { bridge: { startTimeoutMs: 60_000 } });
    bridge.setAvailable(false);
    await expect(bridge.startCall('bob')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED' });
    expect(native.callsTo('startCall')).toEqual([]);
    expect(native.callsTo('setAvailable').at(-1)).toEqual(platform === 'android' ? [false] : undefined);
  });

  it('reports a call the OS refuses to show as CALLKIT_REPORT_FAILED and leaves it to the app', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    // iOS: Do Not Disturb. Android: Telecom cannot create the connection.
    const { native, bridge, errors } = await device(platform, bob.client, {
      native: { refuseIncoming: () => 'FilteredByDoNotDisturb', failIncoming: () => true },
    });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await native.flushed();
    await until(bridge.coordinator, 'error', () => errors.length > 0);
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([
      ['CALLKIT_REPORT_FAILED', platform === 'ios' ? 'FilteredByDoNotDisturb' : 'IncomingConnectionFailed'],
    ]);
    expect(bobCall.state).toBe('incoming');
    await aliceCall.hangup();
    await ended(bobCall);
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([]);
  });

  it('tracks a call native code reported from a push (warm start) and shows the authenticated contact', async () => {
    const h = network();
    const held: Held[] = [];
    const alice = await h.user('alice', { transport: withholdInvites(h, 'alice', held, 'withhold'), retransmitMs: 600_000, retransmitMaxMs: 600_000 });
    const bob = await h.user('bob');
    const pushKey = generatePushKey();
    const { native, bridge, errors } = await device(platform, bob.client, { bridge: { pushKey } });
    const aliceCall = await alice.client.call('bob', { media: 'video' });
    const push = buildCallPush({ envelope: held[0]!.payload, callerHint: 'alice', pushKey: pushKey.publicKey });
    const uuid = push.uuid.toUpperCase(); // what native code may use; Android matches it exactly

    native.nativeReportsIncoming(uuid, 'unknown', 'Incoming call', false, { [CALL_PUSH_KEY]: push });
    await native.flushed();
    const bobCall = bridge.coordinator.callOf(uuid)!;
    expect(bobCall.id).toBe(aliceCall.id);
    expect(native.callsTo('displayIncomingCall')).toEqual([]); // shown once, by native code
    // The placeholder becomes the authenticated contact; iOS also learns it is a video call.
    expect(native.call(uuid)).toMatchObject({ name: 'alice', handle: 'alice', hasVideo: platform === 'ios' });

    native.userAnswers(uuid);
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    expect(native.call(uuid)?.state).toBe(CONNECTED[platform]);
    await bobCall.hangup();
    await native.flushed();
    expect(native.callsTo('endCall')).toEqual([[uuid]]);
    expect(native.call(uuid)?.state).toBe('ended');
    expect(errors).toEqual([]);
  });

  it('cold start: replays a push shown and answered before JavaScript ran, once, and the relay copy does not ring twice', async () => {
    const h = network();
    const held: Held[] = [];
    const aliceTransport = withholdInvites(h, 'alice', held, 'delay');
    const alice = await h.user('alice', { transport: aliceTransport, retransmitMs: 600_000, retransmitMaxMs: 600_000 });
    const bob = await h.user('bob');
    const pushKey = generatePushKey();
    const aliceCall = await alice.client.call('bob');
    const push = buildCallPush({ envelope: held[0]!.payload, callerHint: 'alice', pushKey: pushKey.publicKey });
    let resolveClient!: (client: CallClient) => void;
    const client = new Promise<CallClient>((resolve) => (resolveClient = resolve));

    const { native, bridge, errors, audio } = await device(platform, client, {
      bridge: { pushKey },
      // Before JavaScript listens: native code shows the push and the user answers on the lock screen.
      before: (n) => {
        n.nativeReportsIncoming(push.uuid, 'unknown', 'Incoming call', false, { [CALL_PUSH_KEY]: push });
        n.userAnswers(push.uuid);
      },
    });
    // Android delivered its queue once, at setup, and forgot it; iOS keeps it for getInitialEvents.
    expect(native.deliveredAs('RNCallKeepDidLoadWithEvents')).toHaveLength(1);
    expect(native.queued).toEqual([]);
    expect(await bridge.processInitialEvents()).toBe(0); // nothing twice
    expect(bridge.coordinator.pendingInvitations()).toMatchObject([{ uuid: push.uuid, answered: true }]);

    resolveClient(bob.client);
    await reach(aliceCall, 'connected');
    held[0]!.release(); // the relay's copy of the invitation, late
    const bobCall = bridge.coordinator.callOf(push.uuid)!;
    expect(bobCall.state).toBe('connected');
    await native.flushed();
    expect(native.call(push.uuid)?.state).toBe(CONNECTED[platform]);
    await aliceCall.hangup();
    await ended(bobCall);
    expect(native.callsTo('displayIncomingCall')).toEqual([]); // one system call only
    expect(bob.client.activeCalls).toEqual([]);
    expect(audio).toEqual([true, false]);
    expect(errors).toEqual([]);
  });

  it('a payload that is not callkeep’s never throws: BAD_MESSAGE, nothing changed', async () => {
    const h = network();
    const bob = await h.user('bob');
    const { native, bridge, errors } = await device(platform, bob.client);
    native.emitJs('RNCallKeepPerformAnswerCallAction', null);
    native.emitJs('RNCallKeepDidLoadWithEvents', [null, { name: 'RNCallKeepPerformEndCallAction', data: { callUUID: 'nope' } }, 7]);
    native.emitJs('RNCallKeepDidDisplayIncomingCall', { callUUID: 'not-a-uuid', handle: 'x', payload: '{' });
    expect(errors.map((e) => e.code)).toEqual(['BAD_MESSAGE']);
    expect(bridge.coordinator.pendingInvitations()).toEqual([]);
    expect(() => new CallKeepBridge({ client: bob.client, callKeep: {} as CallKeep })).toThrowSealcallError();
  });
});

describe('CallKeepBridge on iOS only', () => {
  it('a provider reset ends every call without reporting to the reset provider, and new calls work', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge } = await device('ios', bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await native.flushed();
    native.userAnswers(bridge.coordinator.uuidOf(bobCall)!);
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    native.resetProvider();
    expect((await ended(aliceCall)).reason).toBe('remote-hangup');
    await ended(bobCall);
    await native.flushed();
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([]);
    expect(native.callsTo('endCall')).toEqual([]);

    const next = once(bob.client, 'incoming');
    await alice.client.call('bob');
    const [again] = await next;
    await bridge.coordinator.ready();
    await native.flushed();
    expect(native.call(bridge.coordinator.uuidOf(again)!)?.state).toBe('ringing');
  });

  it('cold start: getInitialEvents racing didLoadWithEvents (iOS keeps its queue) replays each event once', async () => {
    const h = network();
    const held: Held[] = [];
    const alice = await h.user('alice', { transport: withholdInvites(h, 'alice', held, 'withhold'), retransmitMs: 600_000, retransmitMaxMs: 600_000 });
    const bob = await h.user('bob');
    const pushKey = generatePushKey();
    const aliceCall = await alice.client.call('bob');
    const push = buildCallPush({ envelope: held[0]!.payload, callerHint: 'alice', pushKey: pushKey.publicKey });
    const native = new CallKeepNativeStandIn({ platform: 'ios' });
    native.nativeReportsIncoming(push.uuid, 'unknown', 'Incoming call', false, { [CALL_PUSH_KEY]: push });
    native.userAnswers(push.uuid);
    const { RNCallKeep } = await loadCallKeep(native);
    const bridge = new CallKeepBridge({ client: bob.client, callKeep: RNCallKeep, setup: SETUP, pushKey });
    bridges.push(bridge);
    // As the example does, at once: the snapshot is taken before didLoadWithEvents arrives.
    expect(await bridge.processInitialEvents()).toBe(0);
    expect(native.deliveredAs('RNCallKeepDidLoadWithEvents')).toHaveLength(1);
    expect(native.callsTo('getInitialEvents')).toHaveLength(1);
    await reach(aliceCall, 'connected');
    expect(native.callsTo('reportEndCallWithUUID')).toEqual([]);
  });

  it('a refused start (CallKit only logs it) rejects within the default timeout, with fake timers', async () => {
    const native = new CallKeepNativeStandIn({ platform: 'ios', refuseStart: true });
    const { RNCallKeep } = await loadCallKeep(native);
    vi.useFakeTimers();
    try {
      const client = new Promise<CallClient>(() => {}); // the start is refused before the client matters
      const bridge = new CallKeepBridge({ client, callKeep: RNCallKeep, setup: SETUP });
      bridges.push(bridge);
      await vi.advanceTimersByTimeAsync(0);
      const started = bridge.startCall('bob');
      const outcome = started.then(
        () => 'resolved',
        (e: SealcallError) => e.code,
      );
      await vi.advanceTimersByTimeAsync(4_999);
      expect(native.callsTo('startCall')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(await outcome).toBe('CALLKIT_REPORT_FAILED');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('CallKeepBridge on Android only', () => {
  it('without phone account or permission: no call is shown, CALLKIT_REPORT_FAILED at once, and starts refused at once', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge, errors } = await device('android', bob.client, {
      native: { permissions: false, grantPermissions: false },
      bridge: { startTimeoutMs: 60_000 },
    });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await until(bridge.coordinator, 'error', () => errors.length > 0);
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['CALLKIT_REPORT_FAILED', 'NoPhoneAccount']]);
    expect(native.liveCalls()).toEqual([]);
    expect(bobCall.state).toBe('incoming'); // for the app's own UI
    await aliceCall.hangup();
    await expect(bridge.startCall('alice')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED' });
    expect(native.callsTo('startCall')).toEqual([]);
  });

  it('a cancelled phone-account prompt fails setup: CALLKIT_NOT_READY', async () => {
    const h = network();
    const alice = await h.user('alice');
    const { bridge, errors } = await device('android', alice.client, { native: { accountEnabled: false, alertChoice: 'cancel' } });
    await expect(bridge.coordinator.ready()).rejects.toMatchObject({ code: 'CALLKIT_NOT_READY' });
    await expect(bridge.startCall('bob')).rejects.toMatchObject({ code: 'CALLKIT_NOT_READY' });
    expect(errors.map((e) => e.code)).toEqual(['CALLKIT_NOT_READY']);
  });

  it('self-managed: asks the app to show its own incoming screen and to silence its ringer', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge } = await device('android', bob.client, { native: { permissions: false, grantPermissions: false }, bridge: { setup: SELF_MANAGED } });
    const shown: [string, Call | undefined][] = [];
    const silenced: string[] = [];
    bridge.coordinator.on('show-incoming-ui', (uuid, call) => shown.push([uuid, call]));
    bridge.coordinator.on('silence-ringer', (uuid) => silenced.push(uuid));
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = bridge.coordinator.uuidOf(bobCall)!;
    await until(bridge.coordinator, 'show-incoming-ui', () => shown.length > 0);
    expect(shown).toEqual([[uuid, bobCall]]); // self-managed needs no phone permission
    native.userSilences(uuid);
    await native.flushed();
    expect(silenced).toEqual([uuid]);
    native.userAnswers(uuid);
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    expect(native.call(uuid)?.state).toBe('active');
  });

  it('answers checkReachability with setReachable', async () => {
    const h = network();
    const bob = await h.user('bob');
    const { native } = await device('android', bob.client);
    const before = native.callsTo('setReachable').length;
    native.emitJs('RNCallKeepCheckReachability', undefined);
    expect(native.callsTo('setReachable')).toHaveLength(before + 1);
  });
});

/**
 * A caller's endpoint that holds its invitations (the send with `hints.wake`) in `held`, so a
 * push brings them: 'withhold' never sends them, 'delay' sends one on `release()`. Give the
 * caller a long `retransmitMs`: the resends carry no hint.
 */
function withholdInvites(
  h: Harness,
  name: string,
  held: Held[],
  mode: 'withhold' | 'delay',
): ChatTransport {
  const inner = h.network.endpoint(name);
  return {
    send(to, payload, hints) {
      if (!hints?.wake) return inner.send(to, payload, hints);
      const copy = payload.slice();
      held.push({ from: name, to, payload: copy, wake: true, release: () => void (mode === 'delay' && inner.send(to, copy, hints)) });
      return Promise.resolve();
    },
    onMessage: (handler) => inner.onMessage(handler),
  };
}

