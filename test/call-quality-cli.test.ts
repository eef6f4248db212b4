import { describe, expect, it } from 'vitest';
import type { CallQuality } from '../src/call/call-quality.js';
import { qualityText } from '../src/cli/format.js';
import { Output, type CliEvent } from '../src/cli/output.js';
import { StatusLine } from '../src/cli/status-line.js';

const good: CallQuality = {
  level: 'good',
  rttMs: 12.4,
  lossPercent: { send: 0.4, receive: 1.5 },
  jitterMs: { send: 3.6, receive: 2 },
  bitrateKbps: { send: 38.2, receive: 41 },
};
const fair: CallQuality = { ...good, level: 'fair', lossPercent: { send: 0, receive: 3 } };

/** Text lines an Output writes (no terminal). */
function lines(json: boolean, events: CliEvent[]): string[] {
  const written: string[] = [];
  const out = new Output(json, (line) => written.push(line));
  for (const e of events) out.emit(e);
  return written;
}

describe('the CLI shows call quality and history', () => {
  it('writes the level first, the worse direction of loss and jitter, and leaves out what is unknown', () => {
    expect(qualityText(good)).toBe('good: rtt 12 ms, jitter 4 ms, loss 1.5%, ↑38 ↓41 kbps');
    expect(qualityText({ ...good, lossPercent: { send: 12.25, receive: undefined } })).toBe('good: rtt 12 ms, jitter 4 ms, loss 12%, ↑38 ↓41 kbps');
    const unknown = { send: undefined, receive: undefined };
    expect(qualityText({ level: 'poor', rttMs: undefined, lossPercent: unknown, jitterMs: unknown, bitrateKbps: { send: 20, receive: undefined } })).toBe(
      'poor: ↑20 ↓– kbps',
    );
    expect(qualityText(good, { brief: true })).toBe('good: rtt 12 ms, loss 1.5%, ↑38 ↓41 kbps');
    expect(qualityText({ level: 'good', rttMs: undefined, lossPercent: unknown, jitterMs: unknown, bitrateKbps: unknown })).toBe('good');
  });

  it('prints a text line when the level changes, and every reading as JSON', () => {
    const q = (quality: CallQuality): CliEvent => ({ event: 'quality', peer: 'bob', ...quality });
    expect(lines(false, [q(good), q(good), q(fair), q(fair), q(good)])).toEqual([
      'call quality good: rtt 12 ms, jitter 4 ms, loss 1.5%, ↑38 ↓41 kbps',
      'call quality fair: rtt 12 ms, jitter 4 ms, loss 3%, ↑38 ↓41 kbps',
      'call quality good: rtt 12 ms, jitter 4 ms, loss 1.5%, ↑38 ↓41 kbps',
    ]);
    const json = lines(true, [q(good), q(good)]).map((line) => JSON.parse(line) as unknown);
    expect(json).toEqual([
      { event: 'quality', peer: 'bob', ...good },
      { event: 'quality', peer: 'bob', ...good },
    ]);
  });

  it('says how long an ended call was connected', () => {
    const times = { startedAt: 1_000, endedAt: 80_000 };
    expect(
      lines(false, [
        { event: 'ended', peer: 'bob', reason: 'hangup', ...times, connectedAt: 5_000, durationMs: 75_000 },
        { event: 'ended', peer: 'bob', reason: 'media-failed', code: 'MIC_PERMISSION_DENIED', ...times, durationMs: 0 },
      ]),
    ).toEqual(['call with bob ended: hangup after 1:15', 'call with bob ended: media-failed (MIC_PERMISSION_DENIED)']);
  });

  it('ends the status line of a live call with its quality', () => {
    const status = new StatusLine();
    status.apply({ event: 'outgoing', peer: 'bob', callId: 'c' });
    status.apply({ event: 'quality', peer: 'bob', ...good });
    expect(status.text()).not.toContain('good'); // not live yet: nothing measured is shown
    status.apply({ event: 'state', peer: 'bob', state: 'connected' });
    status.apply({ event: 'connected', peer: 'bob', e2ee: 'transport', path: 'direct', ringMs: 1, setupMs: 1 });
    status.apply({ event: 'audio', levelDb: -15, audible: true, frequencyHz: 880, audibleSeconds: 1, bar: '' });
    expect(status.text()).toMatch(/^bob: connected 0:00 · direct · e2ee transport · [▮▯]+ +-15 dB 880 Hz · good: rtt 12 ms, loss 1.5%, ↑38 ↓41 kbps$/);
    status.apply({ event: 'ended', peer: 'bob', reason: 'hangup', startedAt: 0, endedAt: 1, durationMs: 1 });
    expect(status.text()).not.toContain('good');
  });
});
