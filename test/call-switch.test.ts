/*
 * Switching the microphone mid-call with real @roamhq/wrtc media (a tone from wrtc's nonstandard
 * RTCAudioSource as the new microphone), the typed errors of the switch and screen-share API, and
 * what is left unchanged when a switch fails. Camera switches, facingMode and screen sharing need
 * a browser: test/browser/call-switch.test.ts.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { PeerSession } from '../src/session/peer-session.js';
import type { FrameProtector, WebRtcImplementation } from '../src/session/types.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { listen, tone, type Listener, type Tone } from './helpers/audio.js';
import { connectedPair, Harness, nodeWrtc, ringingPair } from './helpers/call-harness.js';
import { eventually } from './helpers/call-watch.js';

let harness: Harness | undefined;
const tones: Tone[] = [];
const listeners: Listener[] = [];
const sessions: PeerSession[] = [];

afterEach(async () => {
  for (const l of listeners.splice(0)) l.stop();
  for (const s of sessions.splice(0)) s.destroy();
  await harness?.close();
  harness = undefined;
  for (const t of tones.splice(0)) t.stop();
});

function microphone(frequency: number): MediaStreamTrack {
  const t = tone(frequency);
  tones.push(t);
  return t.stream.getAudioTracks()[0]!;
}

function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  return promise.then(
    () => expect.fail(`resolved; expected ${code}`),
    (error: unknown) => expect(isSealcallError(error, code), String(error)).toBe(true),
  );
}

/** Waits until the peer hears `frequency` (±10 %) on what it receives. */
async function hears(ear: Listener, frequency: number): Promise<void> {
  await eventually(() => Math.abs(ear.frequency() - frequency) < frequency / 10, 8_000, `the peer hears ${frequency} Hz (now ${ear.frequency()})`);
}

/** Alice (microphone captured by sealcall through wrtc) calls Bob; Bob listens to what arrives. */
async function audioCall(aliceOptions: Parameters<Harness['user']>[1] = {}) {
  harness = new Harness(new MemoryNetwork({ seed: 15 }));
  const pair = await connectedPair(harness, { alice: aliceOptions, accept: { stream: new MediaStreamOf([microphone(330)]) } });
  const remote = pair.bobCall.remoteStream?.getAudioTracks()[0];
  expect(remote).toBeDefined();
  const ear = listen(remote!);
  listeners.push(ear);
  return { ...pair, ear };
}

const MediaStreamOf = (wrtc as unknown as { MediaStream: new (tracks: MediaStreamTrack[]) => MediaStream }).MediaStream;

describe('switching the microphone of a real call', () => {
  it('sends the new track on the same sender: the peer hears it, the captured track is stopped, the app’s is not', async () => {
    const { aliceCall, bobCall, ear } = await audioCall();
    const captured = aliceCall.localStream!.getAudioTracks()[0]!;
    let tracksAtBob = 0;
    bobCall.on('track', () => tracksAtBob++);

    const first = microphone(880);
    await aliceCall.switchMicrophone(first);
    expect(captured.readyState).toBe('ended'); // sealcall captured it: released with the switch
    expect(aliceCall.localStream!.getAudioTracks()).toEqual([first]);
    await hears(ear, 880);

    const second = microphone(440);
    await aliceCall.switchMicrophone(second);
    expect(first.readyState).toBe('live'); // the app's own track: the app stops it
    await hears(ear, 440);

    // No renegotiation: the same remote track carried both, no new one arrived.
    expect(tracksAtBob).toBe(0);
    expect(aliceCall.state).toBe('connected');
  });

  it('keeps the mute choice on the new track', async () => {
    const { aliceCall } = await audioCall();
    expect(await aliceCall.setAudioMuted(true)).toBe(true);
    const next = microphone(550);
    await aliceCall.switchMicrophone(next);
    expect(next.enabled).toBe(false);
    expect(aliceCall.audioMuted).toBe(true);
    expect(await aliceCall.setAudioMuted(false)).toBe(false);
    expect(next.enabled).toBe(true);
  });

  it('captures a microphone by device id and stops it when the call ends', async () => {
    const { aliceCall, ear } = await audioCall();
    await aliceCall.switchMicrophone(microphone(700));
    await hears(ear, 700);
    await aliceCall.switchMicrophone('default');
    const captured = aliceCall.localStream!.getAudioTracks()[0]!;
    expect(captured.readyState).toBe('live');
    await aliceCall.hangup();
    expect(captured.readyState).toBe('ended');
    await rejectsWith(aliceCall.switchMicrophone(microphone(700)), 'INVALID_STATE');
  });

  it('keeps sending the old track when the new one cannot be captured', async () => {
    let refuse = false;
    const devices = (nodeWrtc as WebRtcImplementation & { mediaDevices: MediaDevices }).mediaDevices;
    const refusing: WebRtcImplementation = {
      ...nodeWrtc,
      mediaDevices: {
        getUserMedia: (constraints?: MediaStreamConstraints) =>
          refuse ? Promise.reject(Object.assign(new Error('denied'), { name: 'NotAllowedError' })) : devices.getUserMedia(constraints),
      } as MediaDevices,
    };
    const { aliceCall, ear } = await audioCall({ wrtc: refusing });
    await aliceCall.switchMicrophone(microphone(600));
    await hears(ear, 600);
    const sent = aliceCall.localStream!.getAudioTracks()[0]!;
    refuse = true;
    await rejectsWith(aliceCall.switchMicrophone('another-microphone'), 'MIC_PERMISSION_DENIED');
    expect(aliceCall.localStream!.getAudioTracks()).toEqual([sent]);
    expect(sent.readyState).toBe('live');
    await hears(ear, 600);
  });
});

describe('bad input and states', () => {
  it('rejects with typed errors and changes nothing', async () => {
    const { aliceCall } = await audioCall();
    const sent = aliceCall.localStream!.getAudioTracks()[0]!;
    const stopped = microphone(500);
    stopped.stop();
    await rejectsWith(aliceCall.switchMicrophone(''), 'INVALID_ARGUMENT');
    await rejectsWith(aliceCall.switchMicrophone(stopped), 'INVALID_ARGUMENT');
    await rejectsWith(aliceCall.switchMicrophone({} as MediaStreamTrack), 'INVALID_ARGUMENT');
    await rejectsWith(aliceCall.switchCamera({ facingMode: 'sideways' } as never), 'INVALID_ARGUMENT');
    await rejectsWith(aliceCall.switchCamera({ deviceId: 'x', facingMode: 'user' } as never), 'INVALID_ARGUMENT');
    await rejectsWith(aliceCall.switchCamera(microphone(500)), 'INVALID_ARGUMENT'); // an audio track
    // An audio call sends no camera to switch; a screen would be added, but Node has none.
    await rejectsWith(aliceCall.switchCamera({ facingMode: 'environment' }), 'INVALID_STATE');
    await rejectsWith(aliceCall.startScreenShare(), 'MEDIA_UNAVAILABLE');
    expect(aliceCall.screenSharing).toBe(false);
    await aliceCall.stopScreenShare(); // not sharing: nothing to do
    expect(aliceCall.localStream!.getTracks()).toEqual([sent]);
    expect(sent.readyState).toBe('live');
  });

  it('an incoming call has nothing to switch or share before it is accepted', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 17 }));
    const { bobCall } = await ringingPair(harness, { call: { stream: new MediaStreamOf([microphone(300)]) } });
    await rejectsWith(bobCall.switchMicrophone(microphone(400)), 'INVALID_STATE');
    await rejectsWith(bobCall.startScreenShare(), 'INVALID_STATE');
    expect(bobCall.localStream).toBeUndefined();
  });

  it('screen sharing needs a browser: MEDIA_UNAVAILABLE in Node, and the camera is still sent', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 16 }));
    const { RTCVideoSource } = (wrtc as unknown as { nonstandard: { RTCVideoSource: new () => { createTrack(): MediaStreamTrack } } }).nonstandard;
    const camera = new RTCVideoSource().createTrack();
    const stream = new MediaStreamOf([microphone(300), camera]);
    const { aliceCall } = await connectedPair(harness, { call: { media: 'video', stream }, accept: { stream: new MediaStreamOf([microphone(350)]) } });
    const changes: unknown[] = [];
    aliceCall.on('local-media', (state) => changes.push(state));
    await rejectsWith(aliceCall.startScreenShare(), 'MEDIA_UNAVAILABLE');
    expect(aliceCall.screenSharing).toBe(false);
    expect(aliceCall.localStream!.getVideoTracks()).toEqual([camera]);
    expect(changes).toEqual([]);
    camera.stop();
  });
});

describe('PeerSession.replaceTrack', () => {
  function session(stream: MediaStream, frameProtector?: FrameProtector): PeerSession {
    const s = new PeerSession({ role: 'offerer', wrtc: nodeWrtc, stream, gatherWindowMs: 0, batchMs: 0, ...(frameProtector ? { frameProtector } : {}) });
    sessions.push(s);
    return s;
  }

  it('refuses a track that is not sent, and a track of another kind', async () => {
    const sent = microphone(300);
    const s = session(new MediaStreamOf([sent]));
    await rejectsWith(s.replaceTrack(microphone(400), microphone(500)), 'INVALID_ARGUMENT');
    const { RTCVideoSource } = (wrtc as unknown as { nonstandard: { RTCVideoSource: new () => { createTrack(): MediaStreamTrack } } }).nonstandard;
    const video = new RTCVideoSource().createTrack();
    await rejectsWith(s.replaceTrack(sent, video), 'INVALID_ARGUMENT');
    video.stop();
    const next = microphone(600);
    await s.replaceTrack(sent, next);
    await rejectsWith(s.replaceTrack(sent, microphone(700)), 'INVALID_ARGUMENT'); // no longer sent
    await s.replaceTrack(next, sent); // found by its new track
    const closed = new Promise((resolve) => s.once('closed', resolve));
    s.destroy();
    await closed;
    await rejectsWith(s.replaceTrack(sent, next), 'INVALID_STATE');
  });

  it('never gives a track to a sender silenced because its frames could not be protected', async () => {
    const protector = new FakeFrameProtector();
    protector.protectSender = () => {
      throw new Error('no transform');
    };
    const sent = microphone(300);
    const s = session(new MediaStreamOf([sent]), protector);
    await rejectsWith(s.replaceTrack(sent, microphone(400)), 'E2EE_UNAVAILABLE');
  });
});
