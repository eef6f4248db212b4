import type { Call, CallClient } from '../index.js';
import { levelBar, startMeter, startTone, type Meter, type NodeAudio, type Tone } from './audio.js';
import type { Output } from './output.js';
import type { PeerOptions } from './peer-command.js';

/** How often the level of the peer's audio is read. */
const METER_EVERY_MS = 500;

/**
 * Follows the peer's one call at a time: prints its events, sends the tone, meters the peer's
 * audio, and applies the scripted behaviour (auto-accept, hang up after a while).
 */
export class PeerSessionUi {
  onFinished: (() => void) | undefined;
  private current: Call | undefined;
  private tone: Tone | undefined;
  private meter: Meter | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly client: CallClient,
    private readonly out: Output,
    private readonly audio: NodeAudio,
    private readonly options: PeerOptions,
  ) {
    client.on('incoming', (call) => {
      out.emit({ event: 'incoming', peer: call.peer, media: call.media, ringTimeoutMs: client.ringTimeoutMs });
      this.follow(call, Date.now());
      if (options.autoAccept) void this.act('accept');
    });
    client.on('warning', (error) => out.emit({ event: 'error', code: error.code, message: error.message }));
  }

  async call(peer: string): Promise<void> {
    const startedAt = Date.now();
    this.tone ??= startTone(this.audio, this.options.tone);
    const call = await this.client.call(peer, { stream: this.tone.stream });
    this.out.emit({ event: 'outgoing', peer, callId: call.id });
    this.follow(call, startedAt);
  }

  async act(action: 'accept' | 'reject' | 'hangup' | 'mute' | 'unmute'): Promise<void> {
    const call = this.current;
    if (!call) throw new Error('no call');
    switch (action) {
      case 'accept':
        this.tone ??= startTone(this.audio, this.options.tone);
        return call.accept({ stream: this.tone.stream });
      case 'reject':
        return call.reject();
      case 'hangup':
        return call.hangup();
      case 'mute':
      case 'unmute':
        this.out.emit({ event: 'muted', muted: await call.setAudioMuted(action === 'mute') });
    }
  }

  async close(): Promise<void> {
    await this.current?.hangup();
    this.release();
  }

  /** Follows `call`, which started ringing (invitation sent or received) at `ringingSince`. */
  private follow(call: Call, ringingSince: number): void {
    this.current = call;
    const peer = call.peer;
    call.on('ringing', () => this.out.emit({ event: 'ringing', peer }));
    // Answered (the call moves on to joining): ringing ends and media setup starts.
    let answeredAt: number | undefined;
    call.on('state', (state) => {
      this.out.emit({ event: 'state', peer, state });
      if (state === 'joining') answeredAt = Date.now();
      if (state !== 'connected' || answeredAt === undefined) return;
      this.onConnected(call, answeredAt - ringingSince, Date.now() - answeredAt);
      answeredAt = undefined; // a reconnection is not a new setup
    });
    call.on('track', (track) => {
      if (track.kind !== 'audio' || this.meter) return;
      const meter = startMeter(this.audio, track);
      this.meter = meter;
      this.every(METER_EVERY_MS, () => {
        const r = meter.reading();
        this.out.emit({ event: 'audio', ...r, bar: levelBar(r.levelDb) });
      });
    });
    // What a peer sends at connect is normally this; only a difference is news.
    let known = { audioMuted: false, videoEnabled: call.media === 'video', held: false, screenSharing: false };
    call.on('remote-media', (media) => {
      const same =
        media.audioMuted === known.audioMuted &&
        media.videoEnabled === known.videoEnabled &&
        media.held === known.held &&
        media.screenSharing === known.screenSharing;
      if (same) return;
      known = media;
      this.out.emit({ event: 'remote-media', peer, ...media });
    });
    call.on('quality', (quality) => this.out.emit({ event: 'quality', peer, ...quality }));
    call.on('ended', ({ reason, error, startedAt, connectedAt, endedAt, durationMs }) => {
      const times = { startedAt, ...(connectedAt === undefined ? {} : { connectedAt }), endedAt, durationMs };
      this.out.emit({ event: 'ended', peer, reason, ...(error ? { code: error.code } : {}), ...times });
      this.release();
      this.current = undefined;
      if (this.options.exitAfterCall) this.onFinished?.();
    });
    this.countdown(call, ringingSince + this.client.ringTimeoutMs);
  }

  private onConnected(call: Call, ringMs: number, setupMs: number): void {
    void call.path().then((path) => {
      this.out.emit({ event: 'connected', peer: call.peer, e2ee: call.e2ee, path: path ?? 'unknown', ringMs, setupMs });
    });
    if (this.options.hangupAfterMs !== undefined) this.after(this.options.hangupAfterMs, () => void call.hangup());
  }

  /** Counts the seconds of ringing left down to `deadline`, on the caller's side and the callee's. */
  private countdown(call: Call, deadline: number): void {
    const tick = () => {
      const secondsLeft = Math.round((deadline - Date.now()) / 1000);
      if ((call.state !== 'incoming' && call.state !== 'outgoing') || secondsLeft <= 0) return;
      this.out.emit({ event: 'countdown', peer: call.peer, secondsLeft });
      // Aimed at the next whole second before the deadline, so no second is shown twice.
      this.after((deadline - Date.now()) % 1000 || 1000, tick);
    };
    tick();
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer as unknown as ReturnType<typeof setTimeout>);
  }

  private release(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.meter?.stop();
    this.meter = undefined;
    this.tone?.stop();
    this.tone = undefined;
  }
}
