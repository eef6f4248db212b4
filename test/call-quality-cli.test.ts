import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import type { CallQuality } from '../src/call/call-quality.js';
import type { CallEvents, RemoteMediaState } from '../src/call/call-events.js';
import type { NodeAudio } from '../src/cli/audio.js';
import { qualityText } from '../src/cli/format.js';
import { Output, type CliEvent } from '../src/cli/output.js';
import type { PeerOptions } from '../src/cli/peer-command.js';
import { PeerSessionUi } from '../src/cli/peer-session-ui.js';
import { StatusLine } from '../src/cli/status-line.js';
import type { Call, CallClient } from '../src/index.js';

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

describe('the CLI shows the peer’s hold and screen sharing', () => {
  const media = (state: Partial<RemoteMediaState>): CliEvent => ({
    event: 'remote-media',
    peer: 'bob',
    ...{ audioMuted: false, videoEnabled: false, held: false, screenSharing: false, ...state },
  });
  const ended: CliEvent = { event: 'ended', peer: 'bob', reason: 'hangup', startedAt: 0, endedAt: 1, durationMs: 1 };

  it('prints a line when the peer puts the call on hold or resumes, the microphone line otherwise', () => {
    expect(
      lines(false, [
        media({ held: true }),
        media({ held: false }),
        media({ audioMuted: true }),
        media({ audioMuted: true, held: true }),
        media({ audioMuted: false, held: true }), // unmuted while holding: about the microphone
        ended,
        media({ audioMuted: true }), // the next call starts off hold
      ]),
    ).toEqual([
      'bob put the call on hold',
      'bob resumed',
      'bob now has the microphone muted, the camera off',
      'bob put the call on hold',
      'bob now has the microphone on, the camera off',
      'call with bob ended: hangup after 0:00',
      'bob now has the microphone muted, the camera off',
    ]);
    expect(lines(true, [media({ held: true })]).map((line) => JSON.parse(line) as unknown)).toEqual([
      { event: 'remote-media', peer: 'bob', audioMuted: false, videoEnabled: false, held: true, screenSharing: false },
    ]);
  });

  it('prints a line when the peer starts or stops sharing its screen', () => {
    expect(
      lines(false, [
        media({ videoEnabled: true, screenSharing: true }),
        media({ videoEnabled: false, screenSharing: true }), // its video turned off while sharing
        media({ videoEnabled: true, screenSharing: false }),
        media({ videoEnabled: true, screenSharing: true, held: true }), // both at once: two lines
        ended,
        media({ videoEnabled: true, screenSharing: true }), // the next call starts not sharing
      ]),
    ).toEqual([
      'bob is sharing their screen',
      'bob now has the microphone on, the shared screen off',
      'bob stopped sharing their screen',
      'bob put the call on hold\nbob is sharing their screen',
      'call with bob ended: hangup after 0:00',
      'bob is sharing their screen',
    ]);
    expect(lines(true, [media({ videoEnabled: true, screenSharing: true })]).map((line) => JSON.parse(line) as unknown)).toEqual([
      { event: 'remote-media', peer: 'bob', audioMuted: false, videoEnabled: true, held: false, screenSharing: true },
    ]);
  });

  it('shows "held" in the status line while the peer holds the call', () => {
    const status = new StatusLine();
    status.apply({ event: 'outgoing', peer: 'bob', callId: 'c' });
    status.apply({ event: 'state', peer: 'bob', state: 'connected' });
    status.apply(media({ held: true }));
    expect(status.text()).toBe('bob: connected · held by bob');
    status.apply(media({ held: false }));
    expect(status.text()).toBe('bob: connected');
  });

  it('shows "sharing screen" in the status line while the peer shares its screen', () => {
    const status = new StatusLine();
    status.apply({ event: 'outgoing', peer: 'bob', callId: 'c' });
    status.apply({ event: 'state', peer: 'bob', state: 'connected' });
    status.apply(media({ videoEnabled: true, screenSharing: true }));
    expect(status.text()).toBe('bob: connected · bob sharing screen');
    status.apply(media({ videoEnabled: true, screenSharing: false }));
    expect(status.text()).toBe('bob: connected');
  });

  it('reports a change of hold or screen sharing alone as a remote-media event, both included', () => {
    const client = Object.assign(new EventEmitter(), { ringTimeoutMs: 30_000 }) as unknown as CallClient;
    const call = Object.assign(new EventEmitter<CallEvents>(), { peer: 'bob', media: 'audio', state: 'connected' }) as unknown as Call;
    const written: string[] = [];
    const options = { autoAccept: false, exitAfterCall: false, tone: 440 } as PeerOptions;
    new PeerSessionUi(client, new Output(true, (line) => written.push(line)), {} as NodeAudio, options);
    (client as unknown as EventEmitter).emit('incoming', call);
    const remote = (state: RemoteMediaState) => call.emit('remote-media', state);
    const state = { audioMuted: false, videoEnabled: false, held: false, screenSharing: false };
    remote(state); // as at connect: no news
    remote({ ...state, held: true });
    remote(state);
    remote({ ...state, screenSharing: true });
    remote(state);
    const events = written.map((line) => JSON.parse(line) as CliEvent).filter((e) => e.event === 'remote-media');
    expect(events).toEqual([
      { event: 'remote-media', peer: 'bob', ...state, held: true },
      { event: 'remote-media', peer: 'bob', ...state },
      { event: 'remote-media', peer: 'bob', ...state, screenSharing: true },
      { event: 'remote-media', peer: 'bob', ...state },
    ]);
  });
});
