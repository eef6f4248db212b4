import { afterEach, describe, expect, it } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import { CallKeepBridge, type CallKeepBridgeOptions } from '../src/callkit/callkeep-bridge.js';
import { buildCallPush, CALL_PUSH_KEY, generatePushKey } from '../src/callkit/push-payload.js';
import type { SealcallError } from '../src/errors.js';
import { FakeCallKeep, type FakeCallKeepOptions } from '../src/testing/fake-callkeep.js';
import { MemoryNetwork, type ObservedMessage } from '../src/testing/memory-network.js';
import type { ChatTransport } from '../src/transport/chat-transport.js';
import { ended, Harness, once, reach } from './helpers/call-harness.js';

let harness: Harness | undefined;
const bridges: CallKeepBridge[] = [];

function setup(): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 3 }));
  return harness;
}

function bridge(client: CallClient | PromiseLike<CallClient>, options: Partial<CallKeepBridgeOptions> = {}, fake: FakeCallKeepOptions = {}) {
  const callKeep = new FakeCallKeep(fake);
  const made = new CallKeepBridge({ client, callKeep, ...options });
  const errors: SealcallError[] = [];
  made.coordinator.on('error', (e) => errors.push(e));
  bridges.push(made);
  return { bridge: made, callKeep, errors };
}

afterEach(async () => {
  for (const b of bridges.splice(0)) b.dispose();
  await harness?.close();
  harness = undefined;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('CallKeepBridge against a fake react-native-callkeep', () => {
  it('displays an incoming call, answers it from CallKit and reports the remote end with code 2', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { bridge: b, callKeep } = bridge(bob.client, { displayName: (peer) => peer.toUpperCase() });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob', { media: 'video' });
    const [bobCall] = await incoming;
    const [uuid, ...rest] = callKeep.callsTo('displayIncomingCall')[0] as [string, ...unknown[]];
    expect(uuid).toMatch(UUID);
    expect(rest).toEqual(['alice', 'ALICE', 'generic', true]);
    expect(b.coordinator.uuidOf(bobCall)).toBe(uuid);

    callKeep.answer(uuid.toUpperCase()); // whatever the case, it is the same call
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    await aliceCall.hangup();
    await ended(bobCall);
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([[uuid, 2]]);
    expect(callKeep.callsTo('endCall')).toEqual([]);
  });

  it('keeps mute in sync both ways although callkeep echoes setMutedCall back', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { bridge: b, callKeep } = bridge(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = b.coordinator.uuidOf(bobCall)!;
    await bobCall.accept(); // in the app: callkeep is told, and echoes an answer event
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);
    expect(callKeep.callsTo('answerIncomingCall')).toEqual([[uuid]]);

    await bobCall.setAudioMuted(true);
    await callKeep.flushed();
    expect(callKeep.callsTo('setMutedCall')).toEqual([[uuid, true]]); // once: the echo is absorbed
    expect(bobCall.audioMuted).toBe(true);

    callKeep.mute(uuid, false); // from the system UI
    await callKeep.flushed();
    expect(bobCall.audioMuted).toBe(false);
    expect(callKeep.callsTo('setMutedCall')).toEqual([[uuid, true]]);
  });

  it('a hang-up in the app calls endCall once; its echo does not end anything twice', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { bridge: b, callKeep } = bridge(bob.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = b.coordinator.uuidOf(bobCall)!;
    callKeep.answer(uuid);
    await Promise.all([reach(bobCall, 'connected'), reach(aliceCall, 'connected')]);

    const aliceEnded = ended(aliceCall);
    await bobCall.hangup();
    await callKeep.flushed();
    expect(callKeep.callsTo('endCall')).toEqual([[uuid]]);
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([]);
    expect((await aliceEnded).reason).toBe('remote-hangup');

    // A second call, hung up from the system UI: no endCall from us, nothing reported.
    const next = once(bob.client, 'incoming');
    const aliceAgain = await alice.client.call('bob');
    const [bobAgain] = await next;
    const uuid2 = b.coordinator.uuidOf(bobAgain)!;
    callKeep.end(uuid2);
    expect((await ended(aliceAgain)).reason).toBe('rejected');
    await callKeep.flushed();
    expect(callKeep.callsTo('endCall')).toEqual([[uuid]]);
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([]);
  });

  it('places a call with startCall and reports connecting and connected only once the callee joined', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { bridge: b, callKeep } = bridge(alice.client);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await b.startCall('bob');
    const uuid = b.coordinator.uuidOf(aliceCall)!;
    expect(callKeep.callsTo('startCall')).toEqual([[uuid, 'bob', 'bob', 'generic', false]]);
    const [bobCall] = await incoming;
    await once(aliceCall, 'ringing');
    expect(callKeep.callsTo('reportConnectingOutgoingCallWithUUID')).toEqual([]);
    expect(callKeep.callsTo('reportConnectedOutgoingCallWithUUID')).toEqual([]);
    await bobCall.accept();
    await reach(aliceCall, 'connected');
    expect(callKeep.callsTo('reportConnectingOutgoingCallWithUUID')).toEqual([[uuid]]);
    expect(callKeep.callsTo('reportConnectedOutgoingCallWithUUID')).toEqual([[uuid]]);

    // Provider reset: every call ends, nothing is reported to the reset provider.
    const bobEnded = ended(bobCall);
    callKeep.resetProvider();
    expect((await bobEnded).reason).toBe('remote-hangup');
    await callKeep.flushed();
    expect(callKeep.callsTo('endCall')).toEqual([]);
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([]);
  });

  it('tracks a call native code reported from PushKit and answers it once the client opens it (cold start)', async () => {
    const h = setup();
    const held: ObservedMessage[] = [];
    const alice = await h.user('alice', { transport: withholdInvites(h, 'alice', held), retransmitMs: 600_000, retransmitMaxMs: 600_000 });
    const bob = await h.user('bob');
    const device = generatePushKey(); // bob's device; h.user() loaded libsodium
    let resolveClient!: (client: CallClient) => void;
    const client = new Promise<CallClient>((resolve) => (resolveClient = resolve));
    const { bridge: b, callKeep, errors } = bridge(client, { pushKey: device });
    const aliceCall = await alice.client.call('bob');
    const invite = held.find((m) => m.to === 'bob')!;
    const push = buildCallPush({ envelope: invite.payload, callerHint: 'alice', pushKey: device.publicKey });
    const uuid = push.uuid.toUpperCase(); // NSUUID's uuidString is uppercase

    // What native code queued before JavaScript listened: the PushKit report (a placeholder: the
    // push is sealed, native code cannot tell who calls) and a lock-screen answer.
    callKeep.initialEvents = [
      {
        name: 'RNCallKeepDidDisplayIncomingCall',
        data: { error: '', callUUID: uuid.toLowerCase(), handle: 'unknown', fromPushKit: '1', payload: { aps: {}, [CALL_PUSH_KEY]: push } },
      },
      { name: 'RNCallKeepPerformAnswerCallAction', data: { callUUID: uuid.toLowerCase() } },
    ];
    expect(await b.processInitialEvents()).toBe(2);
    expect(b.coordinator.pendingInvitations()).toMatchObject([{ uuid: push.uuid, answered: true }]);
    expect(callKeep.callsTo('clearInitialEvents')).toHaveLength(1);

    resolveClient(bob.client);
    await reach(aliceCall, 'connected');
    const bobCall = b.coordinator.callOf(uuid)!;
    expect(bobCall.state).toBe('connected');
    expect(bobCall.id).toBe(aliceCall.id);
    expect(callKeep.callsTo('displayIncomingCall')).toEqual([]); // native code showed it already
    // Native code's placeholder is replaced by the authenticated contact.
    expect(callKeep.callsTo('updateDisplay')).toEqual([[uuid.toLowerCase(), 'alice', 'alice']]);

    // A live PushKit report for a second call works the same way without initial events.
    await aliceCall.hangup();
    await ended(bobCall);
    const second = await alice.client.call('bob');
    const invite2 = held.findLast((m) => m.to === 'bob')!;
    expect(invite2).not.toBe(invite);
    const push2 = buildCallPush({ envelope: invite2.payload, callerHint: 'alice', pushKey: device.publicKey });
    callKeep.pushKitIncoming(push2.uuid.toUpperCase(), push2, { handle: 'unknown', localizedCallerName: 'Incoming call' });
    expect(b.coordinator.callOf(push2.uuid)?.state).toBe('incoming');
    expect(b.coordinator.callOf(push2.uuid)?.id).toBe(second.id);
    callKeep.end(push2.uuid);
    expect((await ended(second)).reason).toBe('rejected');
    expect(callKeep.callsTo('displayIncomingCall')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('ends a PushKit call as failed when the push was sealed to another device', async () => {
    const h = setup();
    const held: ObservedMessage[] = [];
    const alice = await h.user('alice', { transport: withholdInvites(h, 'alice', held), retransmitMs: 600_000, retransmitMaxMs: 600_000 });
    const bob = await h.user('bob');
    const { bridge: b, callKeep, errors } = bridge(bob.client, { pushKey: generatePushKey() });
    await alice.client.call('bob');
    const push = buildCallPush({ envelope: held[0]!.payload, callerHint: 'alice', pushKey: generatePushKey().publicKey });
    callKeep.pushKitIncoming(push.uuid.toUpperCase(), push, { handle: 'unknown' });
    await callKeep.flushed();
    // 1: failed; under the UUID as native code spelled it (Android matches UUIDs exactly).
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([[push.uuid.toUpperCase(), 1]]);
    expect(errors.map((e) => e.code)).toEqual(['DECRYPT_FAILED']);
    expect(b.coordinator.pendingInvitations()).toEqual([]);
    expect(bob.client.activeCalls).toEqual([]);
  });

  it('reports a refused display as CALLKIT_REPORT_FAILED', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { callKeep, errors } = bridge(bob.client, {}, { refuseDisplay: () => 'FilteredByDoNotDisturb' });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await callKeep.flushed();
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([['CALLKIT_REPORT_FAILED', 'FilteredByDoNotDisturb']]);
    expect(bobCall.state).toBe('incoming'); // the app may still ring in its own UI
    await aliceCall.hangup();
    await ended(bobCall);
    expect(callKeep.callsTo('reportEndCallWithUUID')).toEqual([]);
  });

  it('waits for setup() before showing calls', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    let finishSetup!: () => void;
    const ready = new Promise<void>((resolve) => (finishSetup = resolve));
    const { bridge: b, callKeep } = bridge(bob.client, { ready });
    const incoming = once(bob.client, 'incoming');
    await alice.client.call('bob');
    await incoming;
    expect(callKeep.callsTo('displayIncomingCall')).toEqual([]);
    finishSetup();
    await b.coordinator.ready();
    expect(callKeep.callsTo('displayIncomingCall')).toHaveLength(1);
  });

  it.each([false, true])('dispose removes every listener it added (legacy callkeep: %s)', async (legacyListeners) => {
    const h = setup();
    const bob = await h.user('bob');
    const { bridge: b, callKeep } = bridge(bob.client, {}, { legacyListeners });
    expect(callKeep.listenerCount()).toBe(15);
    b.dispose();
    expect(callKeep.listenerCount()).toBe(0);
  });

  it('in CallKit-free mode touches no callkeep method and adds no listener, and calls still work', async () => {
    const h = setup();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { bridge: aliceBridge, callKeep } = bridge(alice.client, { enabled: false });
    const bobBridge = bridge(bob.client, { enabled: false });
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await aliceBridge.startCall('bob');
    const [bobCall] = await incoming;
    expect(bobBridge.bridge.coordinator.uuidOf(bobCall)).toMatch(UUID);
    await bobCall.accept();
    await reach(aliceCall, 'connected');
    await aliceCall.hangup();
    await ended(bobCall);
    expect(callKeep.calls).toEqual([]);
    expect(callKeep.listenerCount()).toBe(0);
    expect(bobBridge.callKeep.calls).toEqual([]);
  });
});

/**
 * A caller's endpoint that withholds its invitations (the send with `hints.wake`) into `held`, so
 * only the push brings them. Give the caller a long `retransmitMs`: the resends carry no hint.
 */
function withholdInvites(h: Harness, name: string, held: ObservedMessage[]): ChatTransport {
  const inner = h.network.endpoint(name);
  return {
    send(to, payload, hints) {
      if (!hints?.wake) return inner.send(to, payload, hints);
      held.push({ from: name, to, payload: payload.slice(), wake: true });
      return Promise.resolve();
    },
    onMessage: (handler) => inner.onMessage(handler),
  };
}
