import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { measureQuality, QUALITY_THRESHOLDS, qualityLevel, type CallQuality } from '../src/call/call-quality.js';
import { QualitySampler, type QualitySource } from '../src/call/quality-sampler.js';
import type { StatsReport } from '../src/session/types.js';

/** Two snapshots recorded from a real @roamhq/wrtc audio+video call, 2 s apart (see `source` in the file). */
const recorded = JSON.parse(readFileSync(new URL('./fixtures/stats/wrtc-audio-video.json', import.meta.url), 'utf8')) as {
  snapshots: [StatsReport[], StatsReport[]];
};

/** A snapshot taken at `timestamp` ms holding `reports`. */
function snapshot(timestamp: number, ...reports: ({ id: string; type: string } & Record<string, unknown>)[]): StatsReport[] {
  return reports.map((report) => ({ timestamp, ...report }));
}

const figures = (overrides: Partial<Omit<CallQuality, 'level'>> = {}): Omit<CallQuality, 'level'> => ({
  rttMs: undefined,
  lossPercent: { send: undefined, receive: undefined },
  jitterMs: { send: undefined, receive: undefined },
  bitrateKbps: { send: undefined, receive: undefined },
  ...overrides,
});

describe('measureQuality: two getStats() snapshots into figures', () => {
  it('reads a recorded @roamhq/wrtc audio+video call: both directions, audio jitter, pair RTT', () => {
    const [before, after] = recorded.snapshots;
    // 2,002.982 ms apart. Sent: audio 7,987→16,963 and video 6,610→13,024 bytes = 15,390 bytes;
    // received: audio 7,987→15,698 and video 6,629→13,151 = 14,233 bytes.
    expect(measureQuality(before, after)).toEqual({
      level: 'good',
      rttMs: 0, // loopback: the selected pair's currentRoundTripTime is 0 s
      lossPercent: { send: 0, receive: 0 },
      jitterMs: { send: 3.6, receive: 1 }, // audio's, though video's are larger (7 ms, 2 ms)
      bitrateKbps: { send: 61.5, receive: 56.8 },
    });
  });

  it('adds up loss over audio and video received, takes the peer-reported loss of what is sent', () => {
    const before = snapshot(
      1000,
      { id: 'in-a', type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, packetsLost: 0, bytesReceived: 10_000 },
      { id: 'in-v', type: 'inbound-rtp', kind: 'video', packetsReceived: 1000, packetsLost: 5, bytesReceived: 500_000 },
    );
    const after = snapshot(
      2000,
      { id: 'in-a', type: 'inbound-rtp', kind: 'audio', packetsReceived: 190, packetsLost: 10, bytesReceived: 19_000 },
      { id: 'in-v', type: 'inbound-rtp', kind: 'video', packetsReceived: 1400, packetsLost: 5, bytesReceived: 600_000 },
      { id: 'out-a', type: 'outbound-rtp', kind: 'audio', packetsSent: 50, bytesSent: 5_000 },
      { id: 'rin-a', type: 'remote-inbound-rtp', kind: 'audio', fractionLost: 0.03, roundTripTime: 0.12, jitter: 0.004 },
      { id: 'rin-v', type: 'remote-inbound-rtp', kind: 'video', fractionLost: 0.1, roundTripTime: 0.25, jitter: 0.05 },
    );
    const q = measureQuality(before, after);
    // 10 lost of 500 expected (90 + 10 audio, 400 video) = 2 %; sent: the worst stream's 10 %.
    expect(q.lossPercent).toEqual({ send: 10, receive: 2 });
    expect(q.rttMs).toBe(250); // no candidate pair: the longest RTCP round trip
    expect(q.jitterMs.send).toBe(4); // audio's, not video's 50 ms
    // 9,000 + 100,000 bytes in 1 s; the outbound stream is new since `before`: all of it counts.
    expect(q.bitrateKbps).toEqual({ receive: 872, send: 40 });
    expect(q.level).toBe('poor');
  });

  it('leaves out what the runtime does not report, and ignores values that are not finite numbers', () => {
    const before = snapshot(0, { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 10 });
    const after = snapshot(
      1000,
      { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 60, jitter: 'high' },
      { id: 'pair', type: 'candidate-pair', selected: true, currentRoundTripTime: Number.NaN },
      { id: 'rin', type: 'remote-inbound-rtp', kind: 'audio' },
    );
    expect(measureQuality(before, after)).toEqual({ level: 'good', ...figures() });
    expect(measureQuality([], [])).toEqual({ level: 'good', ...figures() });
  });

  it('counts a stream whose counters went back (it restarted) from zero, never as negative', () => {
    const before = snapshot(0, { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 5000, packetsLost: 40, bytesReceived: 400_000 });
    const after = snapshot(1000, { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 48, packetsLost: 2, bytesReceived: 4_000 });
    const q = measureQuality(before, after);
    expect(q.bitrateKbps.receive).toBe(32);
    expect(q.lossPercent.receive).toBe(4); // 2 of 50 since the restart
  });

  it('clamps a shrinking packetsLost (duplicates) to no loss', () => {
    const before = snapshot(0, { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, packetsLost: 5, bytesReceived: 1000 });
    const after = snapshot(1000, { id: 'in', type: 'inbound-rtp', kind: 'audio', packetsReceived: 150, packetsLost: 3, bytesReceived: 2000 });
    expect(measureQuality(before, after).lossPercent.receive).toBe(0);
  });

  it("finds the pair Firefox flags as selected, and the video's jitter when nothing else is received", () => {
    const after = snapshot(
      1000,
      { id: 'p1', type: 'candidate-pair', nominated: true, state: 'in-progress', currentRoundTripTime: 0.9 },
      { id: 'p2', type: 'candidate-pair', selected: true, currentRoundTripTime: 0.0421 },
      { id: 'in-v', type: 'inbound-rtp', kind: 'video', jitter: 0.035 },
    );
    const q = measureQuality([], after);
    expect(q.rttMs).toBe(42.1);
    expect(q.jitterMs.receive).toBe(35);
    expect(q.level).toBe('fair');
  });

  it('gives no bitrate for two snapshots of the same moment', () => {
    const same = snapshot(1000, { id: 'out', type: 'outbound-rtp', kind: 'audio', packetsSent: 10, bytesSent: 1000 });
    expect(measureQuality(same, same).bitrateKbps).toEqual({ send: undefined, receive: undefined });
  });
});

describe('qualityLevel thresholds', () => {
  it('is good below every fair threshold, fair from one, poor from one poor threshold', () => {
    const { fair, poor } = QUALITY_THRESHOLDS;
    expect(fair).toEqual({ rttMs: 300, lossPercent: 2, jitterMs: 30 });
    expect(poor).toEqual({ rttMs: 600, lossPercent: 8, jitterMs: 60 });
    expect(qualityLevel(figures())).toBe('good');
    expect(qualityLevel(figures({ rttMs: 299.9, lossPercent: { send: 1.9, receive: 1.9 }, jitterMs: { send: 29.9, receive: 29.9 } }))).toBe('good');
    for (const [limits, level] of [
      [fair, 'fair'],
      [poor, 'poor'],
    ] as const) {
      expect(qualityLevel(figures({ rttMs: limits.rttMs }))).toBe(level);
      // The worse direction counts.
      expect(qualityLevel(figures({ lossPercent: { send: limits.lossPercent, receive: 0 } }))).toBe(level);
      expect(qualityLevel(figures({ lossPercent: { send: undefined, receive: limits.lossPercent } }))).toBe(level);
      expect(qualityLevel(figures({ jitterMs: { send: 0, receive: limits.jitterMs } }))).toBe(level);
    }
  });
});

describe('QualitySampler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Snapshots whose bytes grow by `bytesPerSecond` each second of fake time. */
  function source(intervalMs: number, options: { bytesPerSecond?: number; reconnecting?: () => boolean } = {}) {
    const reports: CallQuality[] = [];
    const stats = vi.fn(async (): Promise<StatsReport[]> => {
      const now = Date.now();
      return snapshot(now, { id: 'out', type: 'outbound-rtp', kind: 'audio', packetsSent: now, bytesSent: (now / 1000) * (options.bytesPerSecond ?? 4000) });
    });
    const s: QualitySource = { intervalMs, stats, reconnecting: options.reconnecting ?? (() => false), report: (q) => reports.push(q) };
    return { source: s, stats, reports };
  }

  it('reports every interval after a first snapshot, and nothing once stopped', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { source: s, stats, reports } = source(2000);
    const sampler = new QualitySampler(s);
    sampler.start();
    sampler.start(); // once only
    await vi.advanceTimersByTimeAsync(0);
    expect(stats).toHaveBeenCalledTimes(1);
    expect(reports).toEqual([]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ level: 'good', bitrateKbps: { send: 32 } });
    await vi.advanceTimersByTimeAsync(4000);
    expect(reports).toHaveLength(3);
    sampler.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stats).toHaveBeenCalledTimes(4);
    expect(reports).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is poor while the call reconnects', async () => {
    vi.useFakeTimers({ now: 0 });
    let reconnecting = false;
    const { source: s, reports } = source(1000, { reconnecting: () => reconnecting });
    const sampler = new QualitySampler(s);
    sampler.start();
    await vi.advanceTimersByTimeAsync(1000);
    reconnecting = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports.map((r) => r.level)).toEqual(['good', 'poor']);
    sampler.stop();
  });

  it('reports nothing from a snapshot that was in flight when it stopped', async () => {
    vi.useFakeTimers({ now: 0 });
    const { source: s, stats, reports } = source(1000);
    let release: (reports: StatsReport[]) => void = () => {};
    const sampler = new QualitySampler(s);
    sampler.start();
    await vi.advanceTimersByTimeAsync(0);
    stats.mockImplementationOnce(() => new Promise((resolve) => (release = resolve)));
    await vi.advanceTimersByTimeAsync(1000);
    sampler.stop();
    release(snapshot(1000, { id: 'out', type: 'outbound-rtp', kind: 'audio', packetsSent: 9, bytesSent: 9000 }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(reports).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('skips a snapshot that fails or is empty, and samples on', async () => {
    vi.useFakeTimers({ now: 0 });
    const { source: s, stats, reports } = source(1000);
    stats.mockRejectedValueOnce(new Error('closed')).mockResolvedValueOnce([]);
    const sampler = new QualitySampler(s);
    sampler.start();
    await vi.advanceTimersByTimeAsync(2000);
    expect(reports).toEqual([]); // two skipped, the third is the first baseline
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports).toHaveLength(1);
    sampler.stop();
  });

  it('never samples with an interval of 0', async () => {
    vi.useFakeTimers({ now: 0 });
    const { source: s, stats } = source(0);
    new QualitySampler(s).start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stats).not.toHaveBeenCalled();
  });

  it('does not keep a Node process alive while it waits for the next sample', async () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const { source: s, reports } = source(30);
    const second = new Promise<void>((resolve) => (s.report = (q) => (reports.push(q), resolve())));
    const sampler = new QualitySampler(s);
    sampler.start();
    await second; // its timer does fire
    // Counted just before and just after stopping, in one synchronous stretch (no other timer can
    // come or go in between): its pending timer holds no reference, so stopping removes none.
    const pending = timeouts();
    sampler.stop();
    expect(timeouts()).toBe(pending);
  });
});
