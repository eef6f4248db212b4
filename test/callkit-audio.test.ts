/*
 * Audio session and audio routes with CallKit: real calls on a MemoryNetwork (real @roamhq/wrtc
 * media, a tone as the microphone), driven through FakeCallKitProvider, and through the
 * CallKeep bridge over react-native-callkeep 4.3.16's JavaScript and its native stand-in on both
 * platforms.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallClient } from '../src/call/call-client.js';
import type { Call } from '../src/call/call.js';
import { CallKeepBridge, type CallKeepBridgeOptions } from '../src/callkit/callkeep-bridge.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from '../src/callkit/coordinator.js';
import { NoopCallKitReporter } from '../src/callkit/noop-reporter.js';
import type { AudioRoute, CallKitReporter } from '../src/callkit/types.js';
import type { SealcallError } from '../src/errors.js';
import { FakeCallKeep } from '../src/testing/fake-callkeep.js';
import { FakeCallKitProvider, type FakeCallKitProviderOptions } from '../src/testing/fake-callkit-provider.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { tone } from './helpers/audio.js';
import { CallKeepNativeStandIn, type NativeStandInOptions } from './helpers/callkeep-native-stand-in.js';
import { Harness, once, reach } from './helpers/call-harness.js';
import { loadCallKeep } from './helpers/react-native-stand-in.js';

vi.mock('react-native', () => import('./helpers/react-native-stand-in.js'));

const { RTCAudioSink } = (wrtc as unknown as { nonstandard: { RTCAudioSink: new (track: MediaStreamTrack) => Sink } }).nonstandard;

interface Sink {
  ondata: (data: { samples: Int16Array }) => void;
  stop(): void;
}

let harness: Harness | undefined;
const disposers: (() => void)[] = [];

afterEach(async () => {
  for (const dispose of disposers.splice(0)) dispose();
  await harness?.close();
  harness = undefined;
});

function network(): Harness {
  harness = new Harness(new MemoryNetwork({ seed: 11 }));
  return harness;
}

/** A microphone playing a tone, stopped after the test. */
function microphone(h: Harness): MediaStream {
  const t = tone(660);
  h.onClose(() => t.stop());
  return t.stream;
}

/**
 * libwebrtc lets the first two or three 10 ms frames of a disabled track through when its sender
 * starts (a muted call's too): audibility is counted from the chunk after these.
 */
const SETTLING_CHUNKS = 10;

/** What a received audio track carries: every 10 ms chunk, and how many were audible (after settling). */
interface Ear {
  readonly chunks: number;
  readonly loud: number;
  /** Resolves once `done()` holds, checked on every chunk. */
  until(done: () => boolean): Promise<void>;
}

function ear(h: Harness, track: MediaStreamTrack): Ear {
  const sink = new RTCAudioSink(track);
  h.onClose(() => sink.stop());
  let chunks = 0;
  let loud = 0;
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  sink.ondata = ({ samples }) => {
    chunks++;
    if (chunks > SETTLING_CHUNKS && samples.some((s) => Math.abs(s) >= 500)) loud++;
    for (const w of waiters.filter((w) => w.done())) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  return {
    get chunks() {
      return chunks;
    },
    get loud() {
      return loud;
    },
    until: (done) => (done() ? Promise.resolve() : new Promise((resolve) => waiters.push({ done, resolve }))),
  };
}

/** Whether `call`'s microphone tracks are enabled (what it sends). */
function sending(call: Call): boolean {
  const tracks = call.localStream?.getAudioTracks() ?? [];
  return tracks.length > 0 && tracks.every((t) => t.enabled);
}

/** A coordinator over a FakeCallKitProvider (or another reporter), disposed after the test. */
function coordinatorFor(client: CallClient, reporter: CallKitReporter, options: Partial<CallKitCoordinatorOptions> = {}) {
  const coordinator = new CallKitCoordinator({ client, reporter, ...options });
  disposers.push(() => coordinator.dispose());
  const errors: SealcallError[] = [];
  const routes: AudioRoute[] = [];
  coordinator.on('error', (e) => errors.push(e));
  coordinator.on('audio-route', (r) => routes.push(r));
  return { coordinator, errors, routes };
}

/**
 * Alice (no CallKit) calls Bob, whose calls CallKit shows through `reporter`; Bob answers in the
 * system UI (`answer`) with a tone as his microphone. Resolves once both are connected, with
 * what Alice hears of Bob.
 */
async function bobAnswers(
  h: Harness,
  reporter: CallKitReporter,
  answer: (uuid: string, coordinator: CallKitCoordinator, stream: MediaStream) => void,
  options: Partial<CallKitCoordinatorOptions> = {},
) {
  const alice = await h.user('alice');
  const bob = await h.user('bob');
  const stream = microphone(h);
  const kit = coordinatorFor(bob.client, reporter, { answerMedia: () => ({ stream }), ...options });
  const incoming = once(bob.client, 'incoming');
  const aliceCall = await alice.client.call('bob');
  const heard = once(aliceCall, 'track');
  const [bobCall] = await incoming;
  answer(kit.coordinator.uuidOf(bobCall)!, kit.coordinator, stream);
  await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
  const [track] = await heard;
  return { ...kit, alice, bob, aliceCall, bobCall, atAlice: ear(h, track) };
}

describe('the audio session, with FakeCallKitProvider', () => {
  it('an answered call sends no audio until the OS activates the audio session, without counting as muted', async () => {
    const h = network();
    const provider = new FakeCallKitProvider();
    const { bobCall, aliceCall, atAlice } = await bobAnswers(h, provider, (uuid) => void provider.answer(uuid));

    expect(sending(bobCall)).toBe(false);
    expect(bobCall.audioMuted).toBe(false); // not a mute: the OS simply has not given the call audio yet
    await atAlice.until(() => atAlice.chunks >= 30);
    expect(atAlice.loud).toBe(0);
    expect(aliceCall.remoteMedia?.audioMuted ?? false).toBe(false);

    provider.activateAudioSession();
    expect(sending(bobCall)).toBe(true);
    await atAlice.until(() => atAlice.loud >= 10);

    // A mute chosen while the session is inactive holds once it is active again.
    provider.deactivateAudioSession();
    expect(sending(bobCall)).toBe(false);
    expect(await bobCall.setAudioMuted(true)).toBe(true);
    provider.activateAudioSession();
    expect(sending(bobCall)).toBe(false);
    expect(await bobCall.setAudioMuted(false)).toBe(false);
    expect(sending(bobCall)).toBe(true);
  });

  it('an answered call whose audio session the OS never activates starts its audio after audioSessionTimeoutMs', async () => {
    const h = network();
    const provider = new FakeCallKitProvider();
    const { bobCall, atAlice } = await bobAnswers(h, provider, (uuid) => void provider.answer(uuid), { audioSessionTimeoutMs: 1_000 });
    expect(sending(bobCall)).toBe(false);
    await atAlice.until(() => atAlice.loud >= 10);
    expect(sending(bobCall)).toBe(true);
  });

  it('the CallKit-free mode starts audio at once', async () => {
    const h = network();
    const { bobCall, atAlice } = await bobAnswers(h, new NoopCallKitReporter(), (uuid, coordinator, stream) => void coordinator.callOf(uuid)!.accept({ stream }));
    expect(sending(bobCall)).toBe(true);
    await atAlice.until(() => atAlice.loud >= 10);
  });

  it('a provider reset drops the audio session: the next call waits for its activation again', async () => {
    const h = network();
    const provider = new FakeCallKitProvider();
    const { bobCall, aliceCall, coordinator, alice, bob } = await bobAnswers(h, provider, (uuid) => void provider.answer(uuid));
    provider.activateAudioSession();
    expect(sending(bobCall)).toBe(true);
    provider.reset();
    await Promise.all([reach(aliceCall, 'disconnected'), reach(bobCall, 'disconnected')]);

    const incoming = once(bob.client, 'incoming');
    const again = await alice.client.call('bob');
    const [bobAgain] = await incoming;
    await provider.answer(coordinator.uuidOf(bobAgain)!);
    await reach(again, 'connected');
    expect(sending(bobAgain)).toBe(false);
  });

  it('disposing the coordinator gives calls their audio back', async () => {
    const h = network();
    const provider = new FakeCallKitProvider();
    const { bobCall, coordinator } = await bobAnswers(h, provider, (uuid) => void provider.answer(uuid));
    expect(sending(bobCall)).toBe(false);
    coordinator.dispose();
    expect(sending(bobCall)).toBe(true);
  });
});

describe('audio routes, with FakeCallKitProvider', () => {
  async function routed(providerOptions: FakeCallKitProviderOptions = {}, options: Partial<CallKitCoordinatorOptions> = {}) {
    const h = network();
    const provider = new FakeCallKitProvider(providerOptions);
    const rig = await bobAnswers(h, provider, (uuid) => void provider.answer(uuid), options);
    provider.activateAudioSession();
    return { ...rig, provider };
  }

  it('lists the routes, routes audio to a kind or a name, and announces each new route once', async () => {
    const { coordinator, provider, bobCall, routes } = await routed({
      audioRoutes: [
        { kind: 'earpiece', name: 'Earpiece', selected: true },
        { kind: 'speaker', name: 'Speaker', selected: false },
        { kind: 'bluetooth', name: 'AirPods', selected: false },
      ],
    });
    const uuid = coordinator.uuidOf(bobCall)!;
    expect(await coordinator.audioRoutes()).toEqual(provider.audioRoutes);

    expect(await coordinator.setAudioRoute('speaker')).toEqual({ kind: 'speaker', name: 'Speaker', selected: false });
    await until(coordinator, () => routes.length === 1);
    expect(routes).toEqual([{ kind: 'speaker', name: 'Speaker' }]);
    expect(await provider.report({ type: 'route-requested' })).toEqual({ type: 'route-requested', uuid, route: 'Speaker' });
    expect((await coordinator.audioRoutes()).find((r) => r.selected)?.name).toBe('Speaker');

    await coordinator.setAudioRoute('AirPods', bobCall);
    provider.changeAudioRoute({ kind: 'bluetooth', name: 'AirPods' }); // the OS repeats it: not announced again
    provider.changeAudioRoute({ kind: 'wired', name: 'Headphones' }); // plugged in
    await until(coordinator, () => routes.length === 3);
    expect(routes).toEqual([
      { kind: 'speaker', name: 'Speaker' },
      { kind: 'bluetooth', name: 'AirPods' },
      { kind: 'wired', name: 'Headphones' },
    ]);
  });

  it('refuses what cannot be done with a typed error, and never hangs', async () => {
    const { coordinator, provider, aliceCall } = await routed(
      { refuseAudioRoute: (route) => (route.kind === 'speaker' ? new Error('overrideOutputAudioPort failed') : route.kind === 'earpiece' ? 'no-answer' : undefined) },
      { audioRouteTimeoutMs: 100 },
    );
    await expect(coordinator.setAudioRoute('bluetooth')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(coordinator.setAudioRoute(42 as unknown as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(coordinator.setAudioRoute('speaker')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED' });
    await expect(coordinator.setAudioRoute('earpiece')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED', message: expect.stringContaining('100 ms') });
    await expect(coordinator.setAudioRoute('speaker', aliceCall)).rejects.toMatchObject({ code: 'INVALID_STATE' }); // not a call CallKit shows
    expect(provider.reports.filter((r) => r.type === 'route-requested')).toHaveLength(2);
  });

  it('without a call, or in the CallKit-free mode, there is nothing to route: INVALID_STATE', async () => {
    const h = network();
    const bob = await h.user('bob');
    const { coordinator } = coordinatorFor(bob.client, new FakeCallKitProvider());
    await expect(coordinator.setAudioRoute('speaker')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    const free = coordinatorFor(bob.client, new NoopCallKitReporter()).coordinator;
    await expect(free.audioRoutes()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(free.setAudioRoute('speaker')).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});

/** Resolves once `done()` holds, checked after each 'audio-route'. */
function until(coordinator: CallKitCoordinator, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!done()) return;
      coordinator.off('audio-route', check);
      resolve();
    };
    coordinator.on('audio-route', check);
  });
}

type Platform = 'ios' | 'android';

const SETUP = {
  ios: { appName: 'Chat' },
  android: { alertTitle: 'Calls', alertDescription: 'Allow calls', cancelButton: 'Cancel', okButton: 'OK', additionalPermissions: [] },
};

/** One device running react-native-callkeep's JavaScript over the native stand-in, with a bridge. */
async function device(platform: Platform, client: CallClient, native: Partial<NativeStandInOptions> = {}, options: Partial<CallKeepBridgeOptions> = {}) {
  const stand = new CallKeepNativeStandIn({ platform, ...native });
  const { RNCallKeep } = await loadCallKeep(stand);
  const bridge = new CallKeepBridge({ client, callKeep: RNCallKeep, setup: SETUP, ...options });
  disposers.push(() => bridge.dispose());
  const routes: AudioRoute[] = [];
  bridge.coordinator.on('audio-route', (r) => routes.push(r));
  await bridge.coordinator.ready();
  await stand.flushed();
  return { native: stand, RNCallKeep, bridge, routes };
}

/** How each platform names the routes a test uses: the route event's output, the route's name in getAudioRoutes. */
type Kind = 'earpiece' | 'speaker' | 'wired' | 'bluetooth';
const NAMES: Record<Platform, { output: Record<Kind, string>; route: Record<Kind, string> }> = {
  ios: {
    output: { earpiece: 'Receiver', speaker: 'Speaker', wired: 'Headphones', bluetooth: 'BluetoothHFP' },
    route: { earpiece: 'iPhone Microphone', speaker: 'Speaker', wired: 'Headset Microphone', bluetooth: 'AirPods' },
  },
  android: {
    output: { earpiece: 'EARPIECE', speaker: 'SPEAKER', wired: 'WIRED_HEADSET', bluetooth: 'BLUETOOTH' },
    route: { earpiece: 'Phone', speaker: 'Speaker', wired: 'Headset', bluetooth: 'Bluetooth' },
  },
};

describe.each(['ios', 'android'] as const)('audio session and routes through react-native-callkeep on %s', (platform) => {
  it('media starts only once callkeep reports didActivateAudioSession, on the callee and on the caller', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const aliceMic = microphone(h);
    const bobMic = microphone(h);
    const bobSide = await device(platform, bob.client, { deferAudioSession: true }, { answerMedia: () => ({ stream: bobMic }) });
    const aliceSide = await device(platform, alice.client, { deferAudioSession: true });

    const incoming = once(bob.client, 'incoming');
    const aliceCall = await aliceSide.bridge.startCall('bob', { stream: aliceMic });
    const heardAtAlice = once(aliceCall, 'track');
    const [bobCall] = await incoming;
    const heardAtBob = once(bobCall, 'track');
    await bobSide.native.flushed();
    bobSide.native.userAnswers(bobSide.bridge.coordinator.uuidOf(bobCall)!);
    await Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]);
    const [[atAliceTrack], [atBobTrack]] = await Promise.all([heardAtAlice, heardAtBob]);
    const atAlice = ear(h, atAliceTrack);
    const atBob = ear(h, atBobTrack);

    expect([sending(aliceCall), sending(bobCall)]).toEqual([false, false]);
    await Promise.all([atAlice.until(() => atAlice.chunks >= 30), atBob.until(() => atBob.chunks >= 30)]);
    expect([atAlice.loud, atBob.loud]).toEqual([0, 0]);

    bobSide.native.activateAudioSession();
    await bobSide.native.flushed();
    expect([sending(aliceCall), sending(bobCall)]).toEqual([false, true]);
    await atAlice.until(() => atAlice.loud >= 10);
    expect(atBob.loud).toBe(0);

    aliceSide.native.activateAudioSession();
    await aliceSide.native.flushed();
    expect(sending(aliceCall)).toBe(true);
    await atBob.until(() => atBob.loud >= 10);
  });

  it('maps the route callkeep reports to a kind, and lists and chooses routes through callkeep', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const { native, bridge, routes } = await device(platform, bob.client);
    const incoming = once(bob.client, 'incoming');
    await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = bridge.coordinator.uuidOf(bobCall)!;
    await native.flushed();
    native.userAnswers(uuid);
    await reach(bobCall, 'connected');
    const names = NAMES[platform];

    native.plugAudioDevice('bluetooth');
    native.unplugAudioDevice('bluetooth');
    native.plugAudioDevice('wired');
    await native.flushed();
    expect(routes).toEqual([
      { kind: 'bluetooth', name: names.output.bluetooth },
      { kind: 'earpiece', name: names.output.earpiece },
      { kind: 'wired', name: names.output.wired },
    ]);
    native.unplugAudioDevice('wired');
    native.plugAudioDevice('bluetooth');
    await native.flushed();

    expect(await bridge.audioRoutes()).toEqual([
      { kind: 'speaker', name: names.route.speaker, selected: false },
      { kind: 'earpiece', name: names.route.earpiece, selected: false },
      { kind: 'bluetooth', name: names.route.bluetooth, selected: true },
    ]);
    routes.length = 0;
    expect(await bridge.setAudioRoute('speaker')).toMatchObject({ kind: 'speaker', name: names.route.speaker });
    expect(await bridge.setAudioRoute('earpiece', bobCall)).toMatchObject({ kind: 'earpiece', name: names.route.earpiece });
    await bridge.setAudioRoute(names.route.bluetooth);
    await native.flushed();
    expect(native.callsTo('setAudioRoute')).toEqual([
      [uuid, names.route.speaker],
      [uuid, names.route.earpiece],
      [uuid, names.route.bluetooth],
    ]);
    expect(routes.map((r) => r.kind)).toEqual(['speaker', 'earpiece', 'bluetooth']);
    expect(native.audioOutput).toBe('bluetooth');
  });

  it('a route callkeep refuses, or never answers for, settles with CALLKIT_REPORT_FAILED', async () => {
    const h = network();
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const refusing = await device(platform, bob.client, { refuseAudioRoute: true }, { audioRouteTimeoutMs: 100 });
    const incoming = once(bob.client, 'incoming');
    await alice.client.call('bob');
    const [bobCall] = await incoming;
    const uuid = refusing.bridge.coordinator.uuidOf(bobCall)!;
    await refusing.native.flushed();
    refusing.native.userAnswers(uuid);
    await reach(bobCall, 'connected');

    await expect(refusing.bridge.setAudioRoute('speaker')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED' });
    await expect(refusing.bridge.setAudioRoute('bluetooth')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(refusing.native.callsTo('setAudioRoute')).toEqual([[uuid, 'Speaker']]);
    expect(refusing.native.audioOutput).toBe('earpiece');

    // Between listing and choosing, the headset goes (iOS then never settles for its name) or,
    // on Android, Telecom drops the connection (never settles without one).
    const { native, RNCallKeep } = refusing;
    const list = RNCallKeep.getAudioRoutes!.bind(RNCallKeep);
    native.plugAudioDevice('bluetooth');
    (RNCallKeep as { getAudioRoutes: () => Promise<unknown> }).getAudioRoutes = async () => {
      const listed = await list();
      if (platform === 'ios') native.unplugAudioDevice('bluetooth');
      else native.userEnds(uuid);
      return listed;
    };
    native.options.refuseAudioRoute = false;
    await expect(refusing.bridge.setAudioRoute('bluetooth')).rejects.toMatchObject({ code: 'CALLKIT_REPORT_FAILED', message: expect.stringContaining('100 ms') });
  });
});

describe.each(['ios', 'android'] as const)('CallKeepBridge route payloads on %s', (platform) => {
  it('maps what it does not know to unknown, keeping the name, and reads a payload without an output as BAD_MESSAGE', async () => {
    const h = network();
    const bob = await h.user('bob');
    const callKeep = new FakeCallKeep();
    const bridge = new CallKeepBridge({ client: bob.client, callKeep, platform });
    disposers.push(() => bridge.dispose());
    const routes: AudioRoute[] = [];
    const errors: SealcallError[] = [];
    bridge.coordinator.on('audio-route', (r) => routes.push(r));
    bridge.coordinator.on('error', (e) => errors.push(e));

    const other = platform === 'ios' ? 'CarAudio' : 'STREAMING';
    callKeep.emit('didChangeAudioRoute', { output: other, reason: 1 });
    callKeep.emit('didChangeAudioRoute', {} as { output: string });
    callKeep.emit('didChangeAudioRoute', { output: 'constructor' }); // a name, not a lookup into Object's prototype
    expect(routes).toEqual([
      { kind: 'unknown', name: other },
      { kind: 'unknown', name: 'constructor' },
    ]);
    expect(errors.map((e) => e.code)).toEqual(['BAD_MESSAGE']);

    callKeep.getAudioRoutes = () => Promise.resolve([{ name: 'Car', type: 'CarAudio' }, { type: 'Phone' }, null] as never);
    expect(await bridge.audioRoutes()).toEqual([{ kind: 'unknown', name: 'Car', selected: false }]);
  });
});
