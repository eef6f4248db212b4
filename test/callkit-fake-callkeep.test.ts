/*
 * FakeCallKeep (the public test kit's react-native-callkeep) against the real thing: the same
 * method calls on FakeCallKeep and on react-native-callkeep 4.3.16's JavaScript over the iOS
 * native stand-in must deliver the same events, so tests written against the fake hold on a phone.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CallKeep, CallKeepEvent } from '../src/callkit/callkeep-types.js';
import { FakeCallKeep } from '../src/testing/fake-callkeep.js';
import { CallKeepNativeStandIn } from './helpers/callkeep-native-stand-in.js';
import { loadCallKeep } from './helpers/react-native-stand-in.js';

vi.mock('react-native', () => import('./helpers/react-native-stand-in.js'));

const EVENTS: CallKeepEvent[] = [
  'didReceiveStartCallAction',
  'answerCall',
  'endCall',
  'didPerformSetMutedCallAction',
  'didToggleHoldCallAction',
  'didDisplayIncomingCall',
  'didActivateAudioSession',
  'didDeactivateAudioSession',
  'didResetProvider',
  'didLoadWithEvents',
  'didChangeAudioRoute',
];

const INCOMING = '5A0C1E9E-6B0B-4F5A-9D2E-3C1B2A4D5E6F'; // NSUUID's uppercase, as native code passes it
const OUTGOING = '0f3b6a2c-8d4e-4b1a-a2c3-d4e5f6a7b8c9';
const REFUSED = '11111111-2222-4333-8444-555555555555';
const UNKNOWN = '99999999-8888-4777-8666-555555555555';

/** Listens to every event; returns what arrived, normalised where only the wording may differ. */
function record(callKeep: CallKeep): { name: string; data: unknown }[] {
  const seen: { name: string; data: unknown }[] = [];
  for (const name of EVENTS) {
    (callKeep.addEventListener as (type: string, fn: (data: unknown) => void) => void)(name, (data) => seen.push({ name, data: normalise(data) }));
  }
  return seen;
}

/** CallKit's error text is localised: compare whether there is one. callkeep's extra capability flags are not read. */
function normalise(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data ?? undefined;
  const { supportsHolding, supportsDTMF, supportsGrouping, supportsUngrouping, error, ...rest } = data as Record<string, unknown>;
  void [supportsHolding, supportsDTMF, supportsGrouping, supportsUngrouping];
  return error === undefined ? rest : { ...rest, error: error !== '' };
}

/** The app's side of a session: display, answer, mute, a second call, ends, mistakes. */
function script(callKeep: CallKeep): void {
  callKeep.displayIncomingCall(INCOMING, 'alice', 'Alice', 'generic', true);
  callKeep.displayIncomingCall(INCOMING, 'alice', 'Alice', 'generic', true); // CallUUIDAlreadyExists
  callKeep.displayIncomingCall(REFUSED, 'carol', 'Carol', 'generic', false); // Do Not Disturb
  callKeep.answerIncomingCall(INCOMING);
  callKeep.setMutedCall(INCOMING, true);
  callKeep.startCall(OUTGOING, 'bob', 'Bob', 'generic', false);
  callKeep.reportConnectingOutgoingCallWithUUID(OUTGOING);
  callKeep.reportEndCallWithUUID(OUTGOING, 2);
  callKeep.setMutedCall(OUTGOING, true); // ended: the transaction fails, no event
  callKeep.endCall(INCOMING);
  callKeep.endCall(UNKNOWN);
}

async function real(options: { refuseStart?: boolean } = {}) {
  const native = new CallKeepNativeStandIn({ platform: 'ios', refuseIncoming: (uuid) => (uuid === REFUSED ? 'FilteredByDoNotDisturb' : undefined), ...options });
  const { RNCallKeep } = await loadCallKeep(native);
  return { native, RNCallKeep };
}

describe('FakeCallKeep is faithful to react-native-callkeep on iOS', () => {
  it('delivers the same events, with the same UUID spelling, for the same calls', async () => {
    const { native, RNCallKeep } = await real();
    const fromReal = record(RNCallKeep);
    script(RNCallKeep);
    await native.flushed();

    const fake = new FakeCallKeep({ refuseDisplay: (uuid) => (uuid === REFUSED ? 'FilteredByDoNotDisturb' : undefined) });
    const fromFake = record(fake);
    script(fake);
    await fake.flushed();

    expect(fromFake).toEqual(fromReal);
    expect(fromReal.map((e) => e.name)).toEqual([
      'didDisplayIncomingCall',
      'didDisplayIncomingCall',
      'didDisplayIncomingCall',
      'answerCall',
      'didActivateAudioSession',
      'didPerformSetMutedCallAction',
      'didReceiveStartCallAction',
      'endCall',
      'didDeactivateAudioSession',
    ]);
  });

  it('lists, changes and reports audio routes alike', async () => {
    type Routed = CallKeep & Pick<FakeCallKeep, 'plugAudioDevice' | 'unplugAudioDevice'>;
    const session = async (callKeep: Routed, flushed: () => Promise<void>) => {
      const seen = record(callKeep);
      const lists: unknown[] = [await callKeep.getAudioRoutes!()];
      callKeep.plugAudioDevice('bluetooth');
      callKeep.plugAudioDevice('wired');
      lists.push(await callKeep.getAudioRoutes!());
      const answers = [await callKeep.setAudioRoute!(INCOMING, 'Speaker'), await callKeep.setAudioRoute!(INCOMING, 'AirPods')];
      callKeep.unplugAudioDevice('bluetooth');
      await flushed();
      return { seen, lists, answers };
    };
    const { native, RNCallKeep } = await real();
    const fromReal = await session(
      Object.assign(RNCallKeep, { plugAudioDevice: native.plugAudioDevice.bind(native), unplugAudioDevice: native.unplugAudioDevice.bind(native) }),
      () => native.flushed(),
    );
    const fake = new FakeCallKeep();
    const fromFake = await session(fake, () => fake.flushed());
    expect(fromFake).toEqual(fromReal);
    expect(fromReal.seen.map((e) => e.data)).toEqual([
      { output: 'BluetoothHFP', reason: 1 },
      { output: 'Headphones', reason: 1 },
      { output: 'Speaker', reason: 4 },
      { output: 'BluetoothHFP', reason: 8 },
      { output: 'Headphones', reason: 2 },
    ]);
  });

  it('a refused route change rejects on both, and sends nothing', async () => {
    const native = new CallKeepNativeStandIn({ platform: 'ios', refuseAudioRoute: true });
    const { RNCallKeep } = await loadCallKeep(native);
    const fromReal = record(RNCallKeep);
    await expect(RNCallKeep.setAudioRoute!(INCOMING, 'Speaker')).rejects.toThrow();
    await native.flushed();
    const fake = new FakeCallKeep({ refuseAudioRoute: true });
    const fromFake = record(fake);
    await expect(fake.setAudioRoute(INCOMING, 'Speaker')).rejects.toThrow();
    await fake.flushed();
    expect(fromReal).toEqual([]);
    expect(fromFake).toEqual([]);
  });

  it('a refused start sends nothing on either', async () => {
    const { native, RNCallKeep } = await real({ refuseStart: true });
    const fromReal = record(RNCallKeep);
    RNCallKeep.startCall(OUTGOING, 'bob', 'Bob', 'generic', false);
    await native.flushed();
    const fake = new FakeCallKeep({ refuseStart: true });
    const fromFake = record(fake);
    fake.startCall(OUTGOING, 'bob', 'Bob', 'generic', false);
    await fake.flushed();
    expect(fromReal).toEqual([]);
    expect(fromFake).toEqual([]);
  });

  it('hands events queued before JavaScript listened to the first listener, and keeps them for getInitialEvents', async () => {
    const native = new CallKeepNativeStandIn({ platform: 'ios' });
    native.nativeReportsIncoming(INCOMING, 'unknown', 'Incoming call', false, { aps: {} });
    native.userAnswers(INCOMING);
    const { RNCallKeep } = await loadCallKeep(native);
    const fromReal = record(RNCallKeep);
    await native.flushed();

    const fake = new FakeCallKeep();
    fake.initialEvents = [...native.queued];
    const fromFake = record(fake);
    await fake.flushed();

    expect(fromFake).toEqual(fromReal);
    expect(fromReal).toHaveLength(1);
    expect(await fake.getInitialEvents()).toEqual(await RNCallKeep.getInitialEvents!());
  });
});
