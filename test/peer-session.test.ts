/**
 * PeerSession against real WebRTC (@roamhq/wrtc) on loopback: two sessions wired back to back,
 * each one's signals applied on the other as the call layer would, plus unit tests of the
 * candidate batching with fake timers and of media acquisition.
 */
import wrtcModule from '@roamhq/wrtc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSealcallError, type SealcallError } from '../src/errors.js';
import type { IceCandidate } from '../src/protocol/messages.js';
import { CandidateBatcher } from '../src/session/candidate-batcher.js';
import { acquireLocalMedia, setTracksEnabled, stopStream } from '../src/session/media.js';
import { PeerSession, type PeerSessionEvents, type PeerSessionOptions } from '../src/session/peer-session.js';
import type { SessionSignal, WebRtcImplementation } from '../src/session/types.js';

// ---- @roamhq/wrtc as the tests use it (its own typings only re-export the DOM's) ----------------

interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}
interface AudioSource {
  createTrack(): MediaStreamTrack;
  onData(data: AudioData): void;
}
interface AudioSink {
  ondata: ((data: AudioData) => void) | null;
  stop(): void;
}
interface NodeWebRtc extends WebRtcImplementation {
  MediaStream: new (tracks?: MediaStreamTrack[]) => MediaStream;
  nonstandard: {
    RTCAudioSource: new () => AudioSource;
    RTCAudioSink: new (track: MediaStreamTrack) => AudioSink;
  };
}
const wrtc = wrtcModule as unknown as NodeWebRtc;

// ---- cleanup: everything a test creates is registered here and released after it --------------

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// ---- sessions under observation ---------------------------------------------------------------

interface Probe {
  session: PeerSession;
  /** Every signal the session emitted, in order. */
  signals: SessionSignal[];
  /** Resolves with closed's argument. */
  closed: Promise<SealcallError | undefined>;
  closedCount(): number;
  /** Events seen after `closed` (must stay empty). */
  lateEvents: string[];
}

const TIMING = { gatherWindowMs: 300, batchMs: 40 };

function open(options: Partial<PeerSessionOptions> & Pick<PeerSessionOptions, 'role'>): Probe {
  const session = new PeerSession({ ...TIMING, wrtc, ...options });
  const signals: SessionSignal[] = [];
  const lateEvents: string[] = [];
  let closedCount = 0;
  session.on('signal', (signal) => signals.push(signal));
  for (const event of ['signal', 'connected', 'ice', 'track', 'data'] as const) {
    session.on(event, () => {
      if (closedCount > 0) lateEvents.push(event);
    });
  }
  const closed = new Promise<SealcallError | undefined>((resolve) =>
    session.on('closed', (error) => {
      closedCount += 1;
      resolve(error);
    }),
  );
  cleanups.push(async () => {
    session.destroy();
    await closed;
  });
  return { session, signals, closed, closedCount: () => closedCount, lateEvents };
}

/** Applies a signal as the call layer does on the receiving side. */
function deliver(to: PeerSession, signal: SessionSignal): void {
  switch (signal.kind) {
    case 'description':
      to.applyDescription(signal.type, signal.sdp, signal.candidates);
      return;
    case 'candidates':
      to.addCandidates(signal.candidates, signal.end);
      return;
    case 'renegotiate-request':
      to.handleRenegotiateRequest(signal);
  }
}

/** Carries `from`'s signals to `to`, asynchronously and in order, like a (fast) network. */
function wire(from: Probe, to: Probe): void {
  from.session.on('signal', (signal) => queueMicrotask(() => deliver(to.session, signal)));
}

/** The next `event` of `session` whose arguments pass `accept`. Register before acting. */
function next<E extends keyof PeerSessionEvents>(
  session: PeerSession,
  event: E,
  accept: (...args: Parameters<PeerSessionEvents[E]>) => boolean = () => true,
): Promise<Parameters<PeerSessionEvents[E]>> {
  return new Promise((resolve) => {
    const listener = (...args: Parameters<PeerSessionEvents[E]>): void => {
      if (!accept(...args)) return;
      session.off(event, listener as never);
      resolve(args);
    };
    session.on(event, listener as never);
  });
}

const nextSignal = async (probe: Probe, accept: (signal: SessionSignal) => boolean): Promise<SessionSignal> =>
  (await next(probe.session, 'signal', accept))[0];

async function connectedPair(
  offererOptions: Partial<PeerSessionOptions> = {},
  answererOptions: Partial<PeerSessionOptions> = {},
): Promise<{ offerer: Probe; answerer: Probe; gathered: Promise<unknown> }> {
  const offerer = open({ role: 'offerer', ...offererOptions });
  const answerer = open({ role: 'answerer', ...answererOptions });
  const connected = Promise.all([next(offerer.session, 'connected'), next(answerer.session, 'connected')]);
  // Both sides' end-of-candidates (gathering may finish after the connection is up).
  const gathered = Promise.all([offerer, answerer].map((p) => nextSignal(p, (s) => s.kind === 'candidates' && s.end)));
  wire(offerer, answerer);
  wire(answerer, offerer);
  await connected;
  return { offerer, answerer, gathered };
}

// ---- helpers ----------------------------------------------------------------------------------

const ufrag = (sdp: string): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function description(signals: SessionSignal[], initial: boolean): Extract<SessionSignal, { kind: 'description' }> {
  const found = signals.find((s): s is Extract<SessionSignal, { kind: 'description' }> => s.kind === 'description' && s.initial === initial);
  if (!found) throw new Error(`no ${initial ? 'initial' : 'renegotiation'} description`);
  return found;
}

/** A live track playing a 440 Hz sine: 10 ms chunks of 48 kHz Int16 samples. */
function sineTrack(): MediaStreamTrack {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  const sampleRate = 48_000;
  const frames = sampleRate / 100;
  let n = 0;
  const timer = setInterval(() => {
    const samples = new Int16Array(frames);
    for (let i = 0; i < frames; i++, n++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * n) / sampleRate));
    source.onData({ samples, sampleRate, bitsPerSample: 16, channelCount: 1, numberOfFrames: frames });
  }, 10);
  cleanups.push(() => {
    clearInterval(timer);
    track.stop();
  });
  return track;
}

/** Resolves with the first loud chunk the sink hears (the sample rate may change per chunk). */
function hear(track: MediaStreamTrack): Promise<{ peak: number; sampleRate: number }> {
  const sink = new wrtc.nonstandard.RTCAudioSink(track);
  cleanups.push(() => {
    sink.ondata = null;
    sink.stop();
  });
  return new Promise((resolve) => {
    sink.ondata = ({ samples, sampleRate }) => {
      let peak = 0;
      for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
      if (peak > 1000) resolve({ peak, sampleRate });
    };
  });
}

function ownedStream(tracks: MediaStreamTrack[]): MediaStream {
  const stream = new wrtc.MediaStream(tracks);
  cleanups.push(() => stopStream(stream));
  return stream;
}

// ---- tests ------------------------------------------------------------------------------------

describe('PeerSession over real WebRTC', () => {
  it('connects, sending the initial description with the candidates gathered in the window', async () => {
    const window = { gatherWindowMs: 5_000 };
    const started = Date.now();
    const { offerer, answerer, gathered } = await connectedPair(window, window);
    await gathered;
    for (const probe of [offerer, answerer]) {
      const [first, ...rest] = probe.signals;
      expect(first).toMatchObject({ kind: 'description', initial: true, type: probe === offerer ? 'offer' : 'answer' });
      // Loopback gathering completes well within the window: the description carries every
      // candidate and does not wait out the window; then an empty end-of-candidates follows.
      expect(first?.kind === 'description' && first.candidates.length).toBeGreaterThan(0);
      expect(rest).toEqual([{ kind: 'candidates', candidates: [], end: true }]);
    }
    expect(offerer.session.iceHealth).toBe('connected');
    expect(Date.now() - started).toBeLessThan(window.gatherWindowMs);
  });

  it('with no gathering window, trickles the rest in batches that end with end: true', async () => {
    const { offerer, answerer, gathered } = await connectedPair({ gatherWindowMs: 0 }, { gatherWindowMs: 0 });
    await gathered;
    for (const { signals } of [offerer, answerer]) {
      expect(signals[0]).toMatchObject({ kind: 'description', initial: true });
      const batches = signals.slice(1).filter((s) => s.kind === 'candidates');
      expect(batches.length).toBe(signals.length - 1);
      expect(batches.at(-1)).toMatchObject({ end: true });
      expect(batches.filter((b) => b.end)).toHaveLength(1);
      for (const batch of batches.slice(0, -1)) expect(batch.candidates.length).toBeGreaterThan(0);
      const all = signals.flatMap((s) => (s.kind === 'renegotiate-request' ? [] : s.candidates));
      expect(all.length).toBeGreaterThan(0);
      expect(new Set(all.map((c) => c.candidate)).size).toBe(all.length);
    }
  });

  it('carries audio from an RTCAudioSource to the remote track', async () => {
    const stream = ownedStream([sineTrack()]);
    const offerer = open({ role: 'offerer', stream });
    const answerer = open({ role: 'answerer' });
    const remoteTrack = next(answerer.session, 'track');
    wire(offerer, answerer);
    wire(answerer, offerer);
    const [track, remoteStream] = await remoteTrack;
    expect(remoteStream.getTracks()).toContain(track);
    expect(track.kind).toBe('audio');
    const heard = await hear(track);
    expect(heard.peak).toBeGreaterThan(1000);
    expect(heard.sampleRate).toBeGreaterThan(0);
  });

  it('sends data channel messages both ways, as bytes', async () => {
    const { offerer, answerer } = await connectedPair();
    const toAnswerer = next(answerer.session, 'data');
    const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    offerer.session.send(view);
    expect([...(await toAnswerer)[0]]).toEqual([1, 2, 3]);

    const toOfferer = next(offerer.session, 'data');
    answerer.session.send('héllo');
    const [received] = await toOfferer;
    expect(received).toBeInstanceOf(Uint8Array);
    expect(text(received)).toBe('héllo');
  });

  it('refuses to send before the data channel is open', () => {
    const offerer = open({ role: 'offerer' });
    expect(() => offerer.session.send('early')).toThrowSealcallError();
    try {
      offerer.session.send('early');
    } catch (error) {
      expect(isSealcallError(error, 'INVALID_STATE')).toBe(true);
    }
  });

  it('reports the confirmed track state', () => {
    const track = sineTrack();
    const stream = ownedStream([track]);
    expect(setTracksEnabled(stream, 'audio', false)).toBe(false);
    expect(track.enabled).toBe(false);
    expect(setTracksEnabled(stream, 'audio', true)).toBe(true);
    expect(track.enabled).toBe(true);
    expect(setTracksEnabled(stream, 'video', true)).toBe(false); // no video track
    expect(setTracksEnabled(undefined, 'audio', true)).toBe(false);
  });

  for (const from of ['offerer', 'answerer'] as const) {
    it(`restarts ICE when the ${from} asks, with new credentials, and stays connected`, async () => {
      const pair = await connectedPair();
      const { offerer, answerer } = pair;
      const oldOffer = description(offerer.signals, true);
      const oldAnswer = description(answerer.signals, true);
      const transportUfrag = async (): Promise<unknown> =>
        (await offerer.session.getStats()).find((r) => r.type === 'transport')?.['iceLocalUsernameFragment'];
      expect(await transportUfrag()).toBe(ufrag(oldOffer.sdp));

      const request = from === 'answerer' ? nextSignal(answerer, (s) => s.kind === 'renegotiate-request') : undefined;
      const offer = nextSignal(offerer, (s) => s.kind === 'description');
      const answer = nextSignal(answerer, (s) => s.kind === 'description');
      // Gathering-complete detection works again after the restart (simple-peer's does not).
      const ends = Promise.all([offerer, answerer].map((p) => nextSignal(p, (s) => s.kind === 'candidates' && s.end)));
      pair[from].session.restartIce();

      if (request) expect(await request).toEqual({ kind: 'renegotiate-request', iceRestart: true });
      const newOffer = await offer;
      const newAnswer = await answer;
      expect(newOffer).toMatchObject({ kind: 'description', initial: false, type: 'offer' });
      expect(newAnswer).toMatchObject({ kind: 'description', initial: false, type: 'answer' });
      const newUfrag = newOffer.kind === 'description' ? ufrag(newOffer.sdp) : undefined;
      expect(newUfrag).toBeDefined();
      expect(newUfrag).not.toBe(ufrag(oldOffer.sdp));
      expect(newAnswer.kind === 'description' && ufrag(newAnswer.sdp)).not.toBe(ufrag(oldAnswer.sdp));
      await ends;

      // The transport switches to the new credentials; the connection never dropped.
      await vi.waitFor(async () => expect(await transportUfrag()).toBe(newUfrag), { timeout: 10_000, interval: 25 });
      expect(offerer.session.iceHealth).toBe('connected');
      expect(answerer.session.iceHealth).toBe('connected');
      const echoed = next(answerer.session, 'data');
      offerer.session.send('after restart');
      expect(text((await echoed)[0])).toBe('after restart');

      // A later restart works too: the iceRestart offer option was reset and set again.
      const again = nextSignal(offerer, (s) => s.kind === 'description');
      offerer.session.restartIce();
      const third = await again;
      expect(third.kind === 'description' && ufrag(third.sdp)).not.toBe(newUfrag);
    });
  }

  it('renegotiates without an ICE restart when none is asked for', async () => {
    const { offerer, answerer } = await connectedPair();
    const restarted = nextSignal(offerer, (s) => s.kind === 'description');
    offerer.session.restartIce();
    const restartOffer = await restarted;
    await nextSignal(answerer, (s) => s.kind === 'description');

    const plain = nextSignal(offerer, (s) => s.kind === 'description');
    offerer.session.handleRenegotiateRequest({ iceRestart: false });
    const plainOffer = await plain;
    expect(plainOffer.kind === 'description' && ufrag(plainOffer.sdp)).toBe(
      restartOffer.kind === 'description' && ufrag(restartOffer.sdp),
    );
  });

  it("gets the answerer's media through simple-peer's transceiver request", async () => {
    // The offer has no audio section: the answerer must ask the offerer to add one.
    const offerer = open({ role: 'offerer' });
    const answerer = open({ role: 'answerer', stream: ownedStream([sineTrack()]) });
    const request = nextSignal(answerer, (s) => s.kind === 'renegotiate-request');
    const remoteTrack = next(offerer.session, 'track');
    wire(offerer, answerer);
    wire(answerer, offerer);
    expect(await request).toEqual({ kind: 'renegotiate-request', iceRestart: false, addTransceiver: 'audio' });
    const [track] = await remoteTrack;
    expect(track.kind).toBe('audio');
    expect((await hear(track)).peak).toBeGreaterThan(1000);
  });

  it('reports ICE failed instead of closing, and recovers through a restart', async () => {
    const { offerer } = await connectedPair();
    // Loopback ICE does not fail on demand: make simple-peer observe a failed connection.
    const peer = (offerer.session as unknown as { peer: Record<string, unknown> }).peer;
    const realPc = peer['_pc'];
    const failed = next(offerer.session, 'ice', (health) => health === 'failed');
    peer['_pc'] = { iceConnectionState: 'failed', iceGatheringState: 'complete', connectionState: 'failed' };
    (peer['_onIceStateChange'] as () => void).call(peer);
    (peer['_onConnectionStateChange'] as () => void).call(peer);
    peer['_pc'] = realPc;
    await failed;
    expect(offerer.session.destroyed).toBe(false);
    expect(offerer.session.iceHealth).toBe('failed');

    const recovered = next(offerer.session, 'ice', (health) => health === 'connected');
    offerer.session.restartIce();
    await recovered;
    expect(offerer.session.destroyed).toBe(false);
  });

  it('resolves the media path as direct on loopback', async () => {
    const { offerer, answerer } = await connectedPair();
    expect(await offerer.session.path()).toBe('direct');
    expect(await answerer.session.path()).toBe('direct');
    const stats = await offerer.session.getStats();
    expect(stats.some((r) => r.type === 'candidate-pair')).toBe(true);
  });

  it('closes exactly once on destroy, tells the other side, and emits nothing afterwards', async () => {
    const { offerer, answerer } = await connectedPair();
    offerer.session.destroy();
    offerer.session.destroy();
    expect(offerer.session.destroyed).toBe(true);
    expect(offerer.closedCount()).toBe(0); // asynchronous, so listeners never re-enter destroy()
    expect(await offerer.closed).toBeUndefined();

    // The peer sees its data channel close: that is fatal for it.
    const remote = await answerer.closed;
    expect(isSealcallError(remote, 'PEER_CONNECTION_FAILED')).toBe(true);
    expect(answerer.session.closedByPeer).toBe(true);
    expect(offerer.session.closedByPeer).toBe(false);
    answerer.session.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // let any straggling event show up
    expect(offerer.closedCount()).toBe(1);
    expect(answerer.closedCount()).toBe(1);
    expect([...offerer.lateEvents, ...answerer.lateEvents]).toEqual([]);
    await expect(offerer.session.getStats()).rejects.toSatisfy((e) => isSealcallError(e, 'INVALID_STATE'));
    expect(() => offerer.session.send('x')).toThrowSealcallError();
  });

  it('closes with PEER_CONNECTION_FAILED when the remote description is garbage', async () => {
    const answerer = open({ role: 'answerer' });
    answerer.session.applyDescription('offer', 'garbage', []);
    const error = await answerer.closed;
    expect(isSealcallError(error, 'PEER_CONNECTION_FAILED')).toBe(true);
    expect(error?.message).not.toContain('garbage');
    expect(answerer.session.closedByPeer).toBe(false);
    expect(answerer.closedCount()).toBe(1);
  });

  it('rejects a description that does not fit the role', () => {
    const offerer = open({ role: 'offerer' });
    expect(() => offerer.session.applyDescription('offer', 'v=0', [])).toThrowSealcallError();
  });

  it('needs a WebRTC implementation', () => {
    try {
      new PeerSession({ role: 'offerer', ...TIMING });
      expect.unreachable('constructed without WebRTC');
    } catch (error) {
      expect(isSealcallError(error, 'WEBRTC_UNAVAILABLE')).toBe(true);
    }
  });
});

// -----------------------------------------------------------------------------------------------

describe('CandidateBatcher', () => {
  const candidate = (n: number): IceCandidate => ({ candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 });

  function batcher(): { signals: SessionSignal[]; b: CandidateBatcher } {
    vi.useFakeTimers();
    cleanups.push(() => void vi.useRealTimers());
    const signals: SessionSignal[] = [];
    return { signals, b: new CandidateBatcher({ gatherWindowMs: 500, batchMs: 100 }, (s) => signals.push(s)) };
  }

  it('holds the initial description for the window, then batches later candidates', () => {
    const { signals, b } = batcher();
    b.gatheringStarted();
    b.description('offer', 'sdp');
    b.candidate(candidate(1));
    vi.advanceTimersByTime(499);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([{ kind: 'description', initial: true, type: 'offer', sdp: 'sdp', candidates: [candidate(1)] }]);

    b.candidate(candidate(2));
    vi.advanceTimersByTime(50);
    b.candidate(candidate(3));
    vi.advanceTimersByTime(50); // 100 ms after the first of the batch
    expect(signals[1]).toEqual({ kind: 'candidates', candidates: [candidate(2), candidate(3)], end: false });
    b.candidate(candidate(4));
    b.gatheringFinished();
    expect(signals[2]).toEqual({ kind: 'candidates', candidates: [candidate(4)], end: true });
    vi.advanceTimersByTime(1000);
    expect(signals).toHaveLength(3);
  });

  it('releases the description early when gathering completes, then an empty end', () => {
    const { signals, b } = batcher();
    b.description('answer', 'sdp');
    b.candidate(candidate(1));
    b.gatheringFinished();
    expect(signals).toEqual([
      { kind: 'description', initial: true, type: 'answer', sdp: 'sdp', candidates: [candidate(1)] },
      { kind: 'candidates', candidates: [], end: true },
    ]);
  });

  it('sends renegotiation descriptions at once and ends each gathering cycle', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp1');
    b.gatheringFinished();
    signals.length = 0;
    b.gatheringStarted(); // ICE restart
    b.candidate(candidate(5));
    b.description('offer', 'sdp2');
    b.candidate(candidate(6));
    b.gatheringFinished();
    expect(signals).toEqual([
      { kind: 'description', initial: false, type: 'offer', sdp: 'sdp2', candidates: [candidate(5)] },
      { kind: 'candidates', candidates: [candidate(6)], end: true },
    ]);
  });

  it('emits nothing after dispose', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    b.dispose();
    b.candidate(candidate(1));
    b.gatheringFinished();
    vi.advanceTimersByTime(1000);
    expect(signals).toEqual([]);
  });
});

// -----------------------------------------------------------------------------------------------

describe('acquireLocalMedia', () => {
  it('returns a live audio track from wrtc', async () => {
    const stream = await acquireLocalMedia({ audio: true, video: false }, wrtc);
    cleanups.push(() => stopStream(stream));
    const tracks = stream.getTracks();
    expect(tracks.map((t) => t.kind)).toEqual(['audio']);
    expect(tracks[0]?.readyState).toBe('live');
    stopStream(stream);
    expect(tracks[0]?.readyState).toBe('ended');
  });

  it('rejects MEDIA_UNAVAILABLE with no implementation at all', async () => {
    await expect(acquireLocalMedia({ audio: true, video: false })).rejects.toSatisfy((e) =>
      isSealcallError(e, 'MEDIA_UNAVAILABLE'),
    );
  });

  const failing = (name: string, message = 'refused'): WebRtcImplementation =>
    ({
      getUserMedia: () => Promise.reject(Object.assign(new Error(message), { name })),
    }) as unknown as WebRtcImplementation;

  it.each([
    ['NotAllowedError', { audio: true, video: false }, 'refused', 'MIC_PERMISSION_DENIED'],
    ['SecurityError', { audio: true, video: true }, 'refused', 'MIC_PERMISSION_DENIED'],
    ['NotAllowedError', { audio: false, video: true }, 'refused', 'CAMERA_PERMISSION_DENIED'],
    ['NotAllowedError', { audio: true, video: true }, 'Permission denied for camera', 'CAMERA_PERMISSION_DENIED'],
    ['NotFoundError', { audio: true, video: false }, 'none', 'MEDIA_UNAVAILABLE'],
    ['NotReadableError', { audio: true, video: false }, 'busy', 'MEDIA_UNAVAILABLE'],
    ['OverconstrainedError', { audio: true, video: true }, 'no', 'MEDIA_UNAVAILABLE'],
    ['TypeError', { audio: true, video: false }, 'odd', 'MEDIA_UNAVAILABLE'],
  ] as const)('maps %s (%o, "%s") to %s', async (name, request, message, code) => {
    await expect(acquireLocalMedia(request, failing(name, message))).rejects.toSatisfy((e) => isSealcallError(e, code));
  });
});
