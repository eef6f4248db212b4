/**
 * The candidate batcher's release rule with fake timers (host quiet period, server candidates,
 * gathering complete, the window as upper bound, ICE restart cycles), then once against real
 * libwebrtc (@roamhq/wrtc): the offer leaves with the host candidates, long before gathering ends.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IceCandidate } from '../src/protocol/messages.js';
import { CandidateBatcher, candidateType, DEFAULT_HOST_QUIET_MS, type CandidateBatcherOptions } from '../src/session/candidate-batcher.js';
import { PeerSession } from '../src/session/peer-session.js';
import type { SessionSignal, WebRtcImplementation } from '../src/session/types.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

let port = 50_000;
/** A candidate line of the given type, as libwebrtc writes them. */
function cand(typ: 'host' | 'srflx' | 'relay' | 'prflx', transport: 'udp' | 'tcp' = 'udp'): IceCandidate {
  port++;
  const related = typ === 'host' ? '' : ' raddr 0.0.0.0 rport 0';
  const tcp = transport === 'tcp' ? ' tcptype passive' : '';
  return { candidate: `candidate:${port} 1 ${transport} 2122194687 192.0.2.2 ${port} typ ${typ}${related}${tcp} generation 0 ufrag abcd`, sdpMid: '0', sdpMLineIndex: 0 };
}

const WINDOW = 200;
const BATCH = 300;

function batcher(options: Partial<CandidateBatcherOptions> = {}): { signals: SessionSignal[]; b: CandidateBatcher } {
  vi.useFakeTimers();
  cleanups.push(() => void vi.useRealTimers());
  const signals: SessionSignal[] = [];
  const b = new CandidateBatcher({ gatherWindowMs: WINDOW, batchMs: BATCH, ...options }, (s) => signals.push(s));
  cleanups.push(() => b.dispose());
  b.gatheringStarted();
  return { signals, b };
}

const initial = (type: 'offer' | 'answer', candidates: IceCandidate[], sdp = 'sdp'): SessionSignal => ({
  kind: 'description',
  initial: true,
  type,
  sdp,
  candidates,
});

describe('CandidateBatcher: when the first offer/answer goes out', () => {
  it('the host quiet period: the candidates of one burst ride in it, 1 ms after the last', () => {
    expect(DEFAULT_HOST_QUIET_MS).toBe(1);
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    const burst = [cand('host'), cand('host'), cand('host')];
    for (const c of burst) b.candidate(c); // libwebrtc's burst: all at once
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([initial('offer', burst)]);

    // The next phase (TCP host candidates, ~100 ms later) is batched, and ends with gathering.
    vi.advanceTimersByTime(100);
    const tcp = [cand('host', 'tcp'), cand('host', 'tcp')];
    for (const c of tcp) b.candidate(c);
    vi.advanceTimersByTime(BATCH - 1);
    expect(signals).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(signals[1]).toEqual({ kind: 'candidates', candidates: tcp, end: false });
    b.gatheringFinished();
    expect(signals[2]).toEqual({ kind: 'candidates', candidates: [], end: true });
    vi.advanceTimersByTime(10_000);
    expect(signals).toHaveLength(3);
  });

  it('each new candidate restarts the quiet period', () => {
    const { signals, b } = batcher({ hostQuietMs: 5 });
    b.description('offer', 'sdp');
    const spread = [cand('host'), cand('host'), cand('host')];
    for (const c of spread) {
      b.candidate(c);
      vi.advanceTimersByTime(4);
      expect(signals).toEqual([]);
    }
    vi.advanceTimersByTime(1); // 5 ms after the last candidate
    expect(signals).toEqual([initial('offer', spread)]);
  });

  it('a configurable quiet period; a trickle that never pauses is cut off by the window', () => {
    const { signals, b } = batcher({ hostQuietMs: 20 });
    b.description('answer', 'sdp');
    const all: IceCandidate[] = [];
    for (let t = 0; t < WINDOW; t += 10) {
      const c = cand('host');
      all.push(c);
      b.candidate(c);
      vi.advanceTimersByTime(10);
      if (t + 10 < WINDOW) expect(signals).toEqual([]);
    }
    expect(signals).toEqual([initial('answer', all)]);
  });

  it('host candidates gathered before the description: the quiet period starts with it', () => {
    const { signals, b } = batcher();
    const early = [cand('host'), cand('host')];
    for (const c of early) b.candidate(c);
    vi.advanceTimersByTime(50);
    expect(signals).toEqual([]);
    b.description('offer', 'sdp');
    vi.advanceTimersByTime(DEFAULT_HOST_QUIET_MS - 1);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([initial('offer', early)]);
  });

  it('a server candidate releases it at once, with the host candidates before it', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    const host = cand('host');
    const srflx = cand('srflx');
    b.candidate(host);
    vi.advanceTimersByTime(DEFAULT_HOST_QUIET_MS - 1);
    b.candidate(srflx);
    expect(signals).toEqual([initial('offer', [host, srflx])]);
    const relay = cand('relay');
    b.candidate(relay);
    vi.advanceTimersByTime(BATCH);
    expect(signals[1]).toEqual({ kind: 'candidates', candidates: [relay], end: false });
  });

  it('with STUN/TURN servers, host candidates do not release it: the first server candidate does', () => {
    const { signals, b } = batcher({ serverCandidates: true });
    b.description('offer', 'sdp');
    const hosts = [cand('host'), cand('host')];
    for (const c of hosts) b.candidate(c);
    vi.advanceTimersByTime(40); // a STUN round trip
    expect(signals).toEqual([]);
    const srflx = cand('srflx');
    b.candidate(srflx);
    expect(signals).toEqual([initial('offer', [...hosts, srflx])]);
  });

  it('with STUN/TURN servers that never answer, the window is the upper bound', () => {
    const { signals, b } = batcher({ serverCandidates: true });
    b.description('offer', 'sdp');
    const host = cand('host');
    b.candidate(host);
    vi.advanceTimersByTime(WINDOW - 1);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([initial('offer', [host])]);
  });

  it('relay-only gathering: the first candidate is a relay one and releases it at once', () => {
    const { signals, b } = batcher({ serverCandidates: true });
    b.description('answer', 'sdp');
    const relay = cand('relay');
    b.candidate(relay);
    expect(signals).toEqual([initial('answer', [relay])]);
  });

  it('a server candidate gathered before the description: it goes out at once', () => {
    const { signals, b } = batcher({ serverCandidates: true });
    const prflx = cand('prflx');
    b.candidate(prflx);
    b.description('answer', 'sdp');
    expect(signals).toEqual([initial('answer', [prflx])]);
  });

  it('candidates of no recognisable type wait for the window', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    const odd = { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 };
    b.candidate(odd);
    vi.advanceTimersByTime(WINDOW - 1);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([initial('offer', [odd])]);
  });

  it('no candidate at all: the window is the upper bound', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    vi.advanceTimersByTime(WINDOW - 1);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([initial('offer', [])]);
  });

  it('gathering complete releases it at once, then an empty end-of-candidates', () => {
    const { signals, b } = batcher({ serverCandidates: true });
    b.description('answer', 'sdp');
    const host = cand('host');
    b.candidate(host);
    b.gatheringFinished();
    expect(signals).toEqual([initial('answer', [host]), { kind: 'candidates', candidates: [], end: true }]);
    vi.advanceTimersByTime(10_000);
    expect(signals).toHaveLength(2);
  });

  it('gathering complete before the description: both go out together with it', () => {
    const { signals, b } = batcher();
    const host = cand('host');
    b.candidate(host);
    b.gatheringFinished();
    expect(signals).toEqual([]);
    b.description('answer', 'sdp');
    expect(signals).toEqual([initial('answer', [host]), { kind: 'candidates', candidates: [], end: true }]);
  });

  it('gatherWindowMs 0 sends it on the next tick, before the quiet period ends', () => {
    const { signals, b } = batcher({ gatherWindowMs: 0 });
    b.description('offer', 'sdp');
    const host = cand('host');
    b.candidate(host);
    vi.advanceTimersByTime(0);
    expect(signals).toEqual([initial('offer', [host])]);
  });

  it('an ICE restart cycle: the renegotiation goes at once, its candidates in batches, one end per cycle', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp1');
    b.candidate(cand('host'));
    vi.advanceTimersByTime(DEFAULT_HOST_QUIET_MS);
    b.gatheringFinished();
    expect(signals.map((s) => s.kind)).toEqual(['description', 'candidates']);
    b.gatheringFinished(); // the same cycle again: nothing
    expect(signals).toHaveLength(2);
    signals.length = 0;

    b.gatheringStarted(); // ICE restart: new credentials
    const early = cand('host');
    b.candidate(early);
    vi.advanceTimersByTime(DEFAULT_HOST_QUIET_MS); // no quiet period after the first description
    expect(signals).toEqual([]);
    b.description('offer', 'sdp2');
    expect(signals).toEqual([{ kind: 'description', initial: false, type: 'offer', sdp: 'sdp2', candidates: [early] }]);
    const later = [cand('host'), cand('srflx')];
    for (const c of later) b.candidate(c);
    vi.advanceTimersByTime(BATCH);
    expect(signals[1]).toEqual({ kind: 'candidates', candidates: later, end: false });
    b.gatheringFinished();
    expect(signals[2]).toEqual({ kind: 'candidates', candidates: [], end: true });

    b.gatheringStarted(); // and another
    b.description('offer', 'sdp3');
    const last = cand('host');
    b.candidate(last);
    b.gatheringFinished();
    expect(signals.slice(3)).toEqual([
      { kind: 'description', initial: false, type: 'offer', sdp: 'sdp3', candidates: [] },
      { kind: 'candidates', candidates: [last], end: true },
    ]);
  });

  it('emits nothing after dispose, whichever timer was running', () => {
    const { signals, b } = batcher();
    b.description('offer', 'sdp');
    b.candidate(cand('host'));
    b.dispose();
    b.candidate(cand('srflx'));
    b.gatheringFinished();
    vi.advanceTimersByTime(10_000);
    expect(signals).toEqual([]);
  });

  it('reads candidate types', () => {
    expect(candidateType(cand('host').candidate)).toBe('host');
    expect(candidateType(cand('srflx').candidate)).toBe('srflx');
    expect(candidateType(cand('relay', 'tcp').candidate)).toBe('relay');
    expect(candidateType('candidate:1 1 UDP 1 10.0.0.1 9 TYP HOST')).toBe('host');
    expect(candidateType('candidate:1')).toBeUndefined();
  });
});

describe('CandidateBatcher with libwebrtc (@roamhq/wrtc)', () => {
  /** A lone offerer's signals until its end-of-candidates (or its offer), timed from its creation. */
  async function loneOfferer(
    { iceServers = [], gatherWindowMs = 10_000, untilOffer = false }: { iceServers?: RTCIceServer[]; gatherWindowMs?: number; untilOffer?: boolean } = {},
  ): Promise<{ at: number; signal: SessionSignal }[]> {
    const stream = await (wrtc as unknown as Required<WebRtcImplementation>).getUserMedia({ audio: true });
    cleanups.push(() => stream.getTracks().forEach((t) => t.stop()));
    // Alone (no answer comes), gathering goes on to its TCP phase (~100 ms) before it completes.
    const session = new PeerSession({
      role: 'offerer',
      wrtc: wrtc as unknown as WebRtcImplementation,
      stream,
      iceServers,
      gatherWindowMs,
      batchMs: 30_000,
    });
    cleanups.push(() => session.destroy());
    const signals: { at: number; signal: SessionSignal }[] = [];
    const started = performance.now();
    await new Promise<void>((resolve) =>
      session.on('signal', (signal) => {
        signals.push({ at: performance.now() - started, signal });
        if ((signal.kind === 'candidates' && signal.end) || untilOffer) resolve();
      }),
    );
    return signals;
  }

  it('with STUN servers, the offer waits for a server candidate: here none comes, so the window', async () => {
    // Nothing answers on the discard port: no srflx candidate, and gathering goes on for seconds
    // (libwebrtc retries STUN), so the window is what sends the offer, with the host candidates.
    const [offer] = await loneOfferer({ iceServers: [{ urls: 'stun:127.0.0.1:9' }], gatherWindowMs: 300, untilOffer: true });
    expect(offer?.signal).toMatchObject({ kind: 'description', initial: true, type: 'offer' });
    expect(offer!.at).toBeGreaterThan(290);
    expect(offer!.at).toBeLessThan(5_000);
    const inOffer = offer?.signal.kind === 'description' ? offer.signal.candidates : [];
    expect(inOffer.some((c) => candidateType(c.candidate) === 'host' && / udp /i.test(c.candidate))).toBe(true);
  });

  it('sends the offer with the UDP host candidates, not waiting for the later gathering phases', async () => {
    const [offer, ...rest] = await loneOfferer();
    expect(offer?.signal).toMatchObject({ kind: 'description', initial: true, type: 'offer' });
    const inOffer = offer?.signal.kind === 'description' ? offer.signal.candidates : [];
    expect(inOffer.length).toBeGreaterThan(0);
    expect(inOffer.every((c) => candidateType(c.candidate) === 'host' && / udp /i.test(c.candidate))).toBe(true);
    // Long before the 10 s window, and before gathering ended (with the TCP candidates, if any).
    expect(offer!.at).toBeLessThan(1_000);
    expect(rest.at(-1)!.at).toBeGreaterThan(offer!.at);
    expect(rest.map((r) => r.signal.kind)).toEqual(rest.map(() => 'candidates'));
  });
});
