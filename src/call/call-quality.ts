import { selectedCandidatePair } from '../session/stats.js';
import type { StatsReport } from '../session/types.js';

/** How a call is doing overall: the worst of its figures against {@link QUALITY_THRESHOLDS}. */
export type QualityLevel = 'good' | 'fair' | 'poor';

/** One figure for each direction of media: what this side sends, and what it receives. */
export interface DirectionalFigure {
  send: number | undefined;
  receive: number | undefined;
}

/**
 * A call's network quality over the last sampling interval, from two successive `getStats()`
 * snapshots. A figure the runtime does not report (or that nothing measured yet) is undefined and
 * does not count towards the level. Values are rounded to 0.1.
 */
export interface CallQuality {
  /** From the figures, against {@link QUALITY_THRESHOLDS}; `'poor'` while the call is reconnecting, whatever they say. */
  level: QualityLevel;
  /**
   * Round-trip time of the media path in ms: the selected ICE candidate pair's current RTT, or
   * else the longest RTT the peer's RTCP receiver reports give.
   */
  rttMs: number | undefined;
  /**
   * Packets lost, in percent. `receive`: of the packets the peer sent this side during the
   * interval (all received streams together). `send`: of this side's packets, as the peer's latest
   * RTCP receiver report says (the worst stream).
   */
  lossPercent: DirectionalFigure;
  /**
   * Packet arrival jitter in ms, of audio (of video when there is no audio stream). `receive`:
   * measured here; `send`: as the peer's receiver reports say of this side's packets.
   */
  jitterMs: DirectionalFigure;
  /** RTP payload bitrate in kbit/s over the interval, audio and video together. */
  bitrateKbps: DirectionalFigure;
}

/**
 * Where the levels change, in line with common VoIP guidance (ITU-T G.114's 150 ms one way is
 * ~300 ms round trip; Opus conceals a couple of percent of loss, not much more; jitter past a
 * typical 30–60 ms jitter buffer becomes audible). A call is `poor` when any figure reaches the
 * `poor` value, `fair` when any reaches the `fair` value, else `good`. Loss and jitter count the
 * worse direction.
 */
export const QUALITY_THRESHOLDS = {
  fair: { rttMs: 300, lossPercent: 2, jitterMs: 30 },
  poor: { rttMs: 600, lossPercent: 8, jitterMs: 60 },
} as const;

/** The figures and level of the interval between two snapshots of one peer connection's stats. */
export function measureQuality(previous: StatsReport[], current: StatsReport[]): CallQuality {
  const before = new Map(previous.map((report) => [report.id, report]));
  const spanMs = snapshotTime(current) - snapshotTime(previous);
  const inbound = ofType(current, 'inbound-rtp');
  const outbound = ofType(current, 'outbound-rtp');
  const reports = ofType(current, 'remote-inbound-rtp');

  // Only streams that count both: a runtime without packetsLost says nothing about loss.
  let received = 0;
  let lost = 0;
  for (const stream of inbound) {
    const grew = growth(stream, before.get(stream.id), ['packetsReceived', 'bytesReceived']);
    const [got, missed] = [grew('packetsReceived'), grew('packetsLost')];
    if (got === undefined || missed === undefined) continue;
    received += got;
    lost += missed;
  }
  // packetsLost may shrink (duplicates count against it): clamp, never a negative loss.
  const expected = received + lost;
  const receiveLoss = expected > 0 ? clamp((lost / expected) * 100, 0, 100) : undefined;
  const sendLoss = max(reports.map((r) => num(r, 'fractionLost')));

  const pairRtt = num(selectedCandidatePair(current), 'currentRoundTripTime');
  const rtt = pairRtt ?? max(reports.map((r) => num(r, 'roundTripTime')));

  const figures = {
    rttMs: seconds(rtt),
    lossPercent: { send: round(sendLoss === undefined ? undefined : clamp(sendLoss * 100, 0, 100)), receive: round(receiveLoss) },
    jitterMs: { send: seconds(audioFirst(reports, 'jitter')), receive: seconds(audioFirst(inbound, 'jitter')) },
    bitrateKbps: {
      send: bitrate(outbound, before, ['packetsSent', 'bytesSent'], spanMs),
      receive: bitrate(inbound, before, ['packetsReceived', 'bytesReceived'], spanMs),
    },
  };
  return { level: qualityLevel(figures), ...figures };
}

/** The level of a set of figures, against {@link QUALITY_THRESHOLDS}. */
export function qualityLevel(figures: Omit<CallQuality, 'level'>): QualityLevel {
  const loss = max([figures.lossPercent.send, figures.lossPercent.receive]);
  const jitter = max([figures.jitterMs.send, figures.jitterMs.receive]);
  const reaches = (limits: { rttMs: number; lossPercent: number; jitterMs: number }) =>
    (figures.rttMs ?? 0) >= limits.rttMs || (loss ?? 0) >= limits.lossPercent || (jitter ?? 0) >= limits.jitterMs;
  if (reaches(QUALITY_THRESHOLDS.poor)) return 'poor';
  return reaches(QUALITY_THRESHOLDS.fair) ? 'fair' : 'good';
}

/** Σ payload bytes the streams carried over the interval, in kbit/s (bits per ms). */
function bitrate(streams: StatsReport[], before: Map<string, StatsReport>, counters: [string, string], spanMs: number): number | undefined {
  if (!(Number.isFinite(spanMs) && spanMs > 0)) return undefined;
  let bytes: number | undefined;
  for (const stream of streams) {
    const grew = growth(stream, before.get(stream.id), counters)(counters[1]);
    if (grew !== undefined) bytes = (bytes ?? 0) + grew;
  }
  return bytes === undefined ? undefined : round((bytes * 8) / spanMs);
}

/**
 * How much each counter of `now` grew since `then`. A stream that is new since then, or whose
 * `resetOn` counters went backwards (it restarted: a new sender, a renegotiation), started
 * within the interval: all it counted is growth.
 */
function growth(now: StatsReport, then: StatsReport | undefined, resetOn: string[]): (field: string) => number | undefined {
  const restarted = then?.type !== now.type || resetOn.some((field) => (num(now, field) ?? 0) < (num(then, field) ?? 0));
  return (field) => {
    const value = num(now, field);
    if (value === undefined) return undefined;
    return restarted ? value : value - (num(then, field) ?? 0);
  };
}

/** When a snapshot was taken: its newest local report (remote reports carry the RTCP's time). */
function snapshotTime(reports: StatsReport[]): number {
  let latest = -Infinity;
  for (const r of reports) if (!r.type.startsWith('remote-') && Number.isFinite(r.timestamp)) latest = Math.max(latest, r.timestamp);
  return latest;
}

function ofType(reports: StatsReport[], type: string): StatsReport[] {
  return reports.filter((r) => r.type === type);
}

/** The largest `field` of the audio streams, or of the others when no audio stream has it. */
function audioFirst(streams: StatsReport[], field: string): number | undefined {
  const audio = max(streams.filter((s) => (s['kind'] ?? s['mediaType']) === 'audio').map((s) => num(s, field)));
  return audio ?? max(streams.map((s) => num(s, field)));
}

function num(report: StatsReport | undefined, field: string): number | undefined {
  const value = report?.[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function max(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Seconds, as the stats give them, to ms. */
function seconds(value: number | undefined): number | undefined {
  return value === undefined ? undefined : round(value * 1000);
}

function round(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 10) / 10;
}
