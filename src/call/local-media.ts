import type { WebRtcImplementation } from '../session/types.js';
import { acquireLocalMedia, setTracksEnabled, stopStream } from '../session/media.js';

/** A side's microphone and camera state. */
export interface MediaState {
  audioMuted: boolean;
  videoEnabled: boolean;
}

/** What to send: the runtime is asked for devices unless `stream` is given. */
export interface MediaOptions {
  /** Send audio. Default true. */
  audio?: boolean;
  /** Send video. Default: true for a video call, false for an audio call. */
  video?: boolean;
  /** Tracks to send instead of asking the runtime; the app keeps ownership and stops them. */
  stream?: MediaStream;
}

/**
 * The tracks one call sends, and their confirmed state. Mute and camera changes report what the
 * tracks really are (never an optimistic guess); a choice made before the tracks exist, such as
 * muting while ringing, is applied when they arrive. Tracks sealcall captured itself are stopped
 * on release; an app's own stream is left to the app.
 */
export class LocalMedia {
  private tracks: MediaStream | undefined;
  private owned = false;
  private confirmed: MediaState = { audioMuted: false, videoEnabled: false };
  private readonly wanted: { audioMuted?: boolean; videoEnabled?: boolean } = {};

  /** @param changed - called when the confirmed state changes. */
  constructor(private readonly changed: (state: MediaState) => void) {}

  get stream(): MediaStream | undefined {
    return this.tracks;
  }

  get state(): MediaState {
    return { ...this.confirmed };
  }

  /** Takes the app's stream or captures one; rejects with the capture's typed error. */
  async obtain(options: MediaOptions, videoByDefault: boolean, wrtc?: WebRtcImplementation): Promise<void> {
    const audio = options.audio ?? true;
    const video = options.video ?? videoByDefault;
    if (options.stream) {
      this.tracks = options.stream;
    } else if (audio || video) {
      this.tracks = await acquireLocalMedia({ audio, video }, wrtc);
      this.owned = true;
    }
    this.confirm({
      audioMuted: !setTracksEnabled(this.tracks, 'audio', !(this.wanted.audioMuted ?? false)),
      videoEnabled: setTracksEnabled(this.tracks, 'video', this.wanted.videoEnabled ?? true),
    });
  }

  /** Mutes or unmutes; returns the confirmed state (muted while there is no audio track). */
  setAudioMuted(muted: boolean): boolean {
    this.wanted.audioMuted = muted;
    this.confirm({ ...this.confirmed, audioMuted: !setTracksEnabled(this.tracks, 'audio', !muted) });
    return this.confirmed.audioMuted;
  }

  /** Turns the camera on or off; returns the confirmed state (off while there is no video track). */
  setVideoEnabled(enabled: boolean): boolean {
    this.wanted.videoEnabled = enabled;
    this.confirm({ ...this.confirmed, videoEnabled: setTracksEnabled(this.tracks, 'video', enabled) });
    return this.confirmed.videoEnabled;
  }

  /** Stops the tracks sealcall captured. Idempotent. */
  release(): void {
    if (this.tracks && this.owned) stopStream(this.tracks);
    this.owned = false;
  }

  private confirm(next: MediaState): void {
    const changed = next.audioMuted !== this.confirmed.audioMuted || next.videoEnabled !== this.confirmed.videoEnabled;
    this.confirmed = next;
    if (changed) this.changed(this.state);
  }
}
