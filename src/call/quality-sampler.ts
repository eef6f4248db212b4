import type { StatsReport } from '../session/types.js';
import { measureQuality, type CallQuality } from './call-quality.js';
import { Timers } from './timers.js';

/** What a {@link QualitySampler} samples and whom it tells. */
export interface QualitySource {
  /** Time between samples; 0 disables sampling. */
  intervalMs: number;
  /** A stats snapshot of the call's peer connection (empty while there is none). */
  stats(): Promise<StatsReport[]>;
  /** True while the call is reconnecting: whatever the figures say, it is `poor` then. */
  reconnecting(): boolean;
  report(quality: CallQuality): void;
}

/**
 * Samples one call's stats every `intervalMs` from when it connects until it ends, and reports
 * the quality of each interval. One snapshot at a time (the next waits for the previous), and its
 * timer never keeps a Node process alive.
 */
export class QualitySampler {
  private readonly timers = new Timers<'sample'>();
  private phase: 'idle' | 'running' | 'stopped' = 'idle';
  private last: StatsReport[] | undefined;
  /** The last interval's quality reported; kept once stopped. */
  latest: CallQuality | undefined;

  constructor(private readonly source: QualitySource) {}

  /** Takes the first snapshot now; the first report follows one interval later. Once only. */
  start(): void {
    if (this.phase !== 'idle' || this.source.intervalMs <= 0) return;
    this.phase = 'running';
    void this.sample();
  }

  /** Stops for good; a snapshot still in flight reports nothing. */
  stop(): void {
    this.phase = 'stopped';
    this.timers.clearAll();
    this.last = undefined;
  }

  private async sample(): Promise<void> {
    let snapshot: StatsReport[] = [];
    try {
      snapshot = await this.source.stats();
    } catch {
      // The connection closed under the snapshot (the call is ending): the next tick, if any, tries again.
    }
    if (this.phase !== 'running') return;
    // Scheduled first, so a listener that throws does not stop the sampling.
    this.timers.set('sample', this.source.intervalMs, () => void this.sample(), { unref: true });
    if (snapshot.length === 0) return;
    const previous = this.last;
    this.last = snapshot;
    if (!previous) return;
    const measured = measureQuality(previous, snapshot);
    const quality = this.source.reconnecting() ? { ...measured, level: 'poor' as const } : measured;
    this.latest = quality;
    this.source.report(quality);
  }
}
