import type { CallQuality } from '../index.js';

// How the CLI writes a call's figures.

/**
 * A call's quality in a few words, level first (a narrow terminal cuts the end), e.g.
 * `good: rtt 12 ms, jitter 3 ms, loss 0%, ↑38 ↓41 kbps`. Loss and jitter are the worse direction;
 * figures the runtime did not report are left out. `brief` leaves out jitter, for the status line.
 */
export function qualityText(q: CallQuality, { brief = false } = {}): string {
  const worse = (d: { send: number | undefined; receive: number | undefined }) =>
    d.send === undefined ? d.receive : d.receive === undefined ? d.send : Math.max(d.send, d.receive);
  const loss = worse(q.lossPercent);
  const jitter = worse(q.jitterMs);
  const { send, receive } = q.bitrateKbps;
  const figures = [
    q.rttMs === undefined ? '' : `rtt ${Math.round(q.rttMs)} ms`,
    jitter === undefined || brief ? '' : `jitter ${Math.round(jitter)} ms`,
    loss === undefined ? '' : `loss ${loss.toFixed(loss < 10 && loss % 1 !== 0 ? 1 : 0)}%`,
    send === undefined && receive === undefined ? '' : `↑${kbps(send)} ↓${kbps(receive)} kbps`,
  ].filter(Boolean);
  return figures.length > 0 ? `${q.level}: ${figures.join(', ')}` : q.level;
}

function kbps(value: number | undefined): string {
  return value === undefined ? '–' : Math.round(value).toString();
}

/** `m:ss`. */
export function minutes(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
