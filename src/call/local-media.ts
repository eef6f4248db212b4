import { SealcallError } from '../errors.js';
import type { WebRtcImplementation } from '../session/types.js';
import { acquireDisplayTrack, acquireLocalMedia, acquireTrack, setTracksEnabled } from '../session/media.js';

/** A side's microphone and camera state. */
export interface MediaState {
  audioMuted: boolean;
  videoEnabled: boolean;
}

/** This side's media state, and what its video shows. */
export interface LocalMediaState extends MediaState {
  /** The shared screen is sent instead of the camera (see `Call.startScreenShare`). */
  screenSharing: boolean;
}

/**
 * A camera to switch to: a device (from `enumerateDevices()`), or the one facing the user
 * (`'user'`, front) or away from them (`'environment'`, back).
 */
export type CameraChoice = { deviceId: string } | { facingMode: 'user' | 'environment' };

/** What to send: the runtime is asked for devices unless `stream` is given. */
export interface MediaOptions {
  /** Send audio. Default true. */
  audio?: boolean;
  /** Send video. Default: true for a video call, false for an audio call. */
  video?: boolean;
  /** Tracks to send instead of asking the runtime; the app keeps ownership and stops them. */
  stream?: MediaStream;
}

/** What {@link LocalMedia} needs from its call. */
export interface LocalMediaHooks {
  /** The confirmed state changed. */
  changed(state: LocalMediaState): void;
  /** Puts `next` on the sender of `previous` (resolves at once before there is a connection). */
  replace(previous: MediaStreamTrack, next: MediaStreamTrack): Promise<void>;
  /** Starts sending `track` as part of `stream`, renegotiating (mid-call video). */
  add(track: MediaStreamTrack, stream: MediaStream): void;
  /** Stops sending `track`, renegotiating. */
  remove(track: MediaStreamTrack): void;
  /** A change nobody awaits failed (going back to the camera when the browser ended sharing). */
  warn(error: unknown): void;
  wrtc?: WebRtcImplementation | undefined;
}

/**
 * The tracks one call sends, and their confirmed state. Mute and camera changes report what the
 * tracks really are (never an optimistic guess); a choice made before the tracks exist, such as
 * muting while ringing, is applied when they arrive, and a choice holds for a track switched in
 * later. Tracks sealcall captured itself are stopped when replaced or released; an app's own
 * tracks are left to the app. Switches and screen sharing run one at a time, in call order.
 */
export class LocalMedia {
  private tracks: MediaStream | undefined;
  /** The tracks sealcall captured: it stops them. */
  private readonly owned = new Set<MediaStreamTrack>();
  private confirmed: MediaState = { audioMuted: false, videoEnabled: false };
  private sharingReported = false;
  private readonly wanted: { audioMuted?: boolean; videoEnabled?: boolean } = {};
  /** False while the OS's call audio session is inactive (CallKit): audio tracks stay disabled. */
  private audioSession = true;
  /** True while the call is on hold (either side): every track stays disabled, choices unchanged. */
  private paused = false;
  /**
   * While sharing: the screen track sent, and the camera track it replaced (sent again after);
   * no camera when the screen was added to an audio call (and is taken out again after).
   */
  private screen: { track: MediaStreamTrack; camera: MediaStreamTrack | undefined } | undefined;
  /** The switch or screen-share change in progress; the next waits for it. */
  private busy: Promise<void> = Promise.resolve();
  private released = false;

  constructor(private readonly hooks: LocalMediaHooks) {}

  get stream(): MediaStream | undefined {
    return this.tracks;
  }

  /** What the peer is told (`media-state`). */
  get state(): MediaState {
    return { ...this.confirmed };
  }

  get screenSharing(): boolean {
    return this.screen !== undefined;
  }

  /** Takes the app's stream or captures one; rejects with the capture's typed error. */
  async obtain(options: MediaOptions, videoByDefault: boolean): Promise<void> {
    const audio = options.audio ?? true;
    const video = options.video ?? videoByDefault;
    if (options.stream) {
      this.tracks = options.stream;
    } else if (audio || video) {
      this.tracks = await acquireLocalMedia({ audio, video }, this.hooks.wrtc);
      for (const track of this.tracks.getTracks()) this.owned.add(track);
    }
    this.refresh();
  }

  /** Mutes or unmutes; returns the confirmed state (muted while there is no audio track). */
  setAudioMuted(muted: boolean): boolean {
    this.wanted.audioMuted = muted;
    this.confirm({ ...this.confirmed, audioMuted: this.applyAudio() });
    return this.confirmed.audioMuted;
  }

  /**
   * While the OS's call audio session is inactive, audio tracks stay disabled (nothing is sent)
   * without that counting as muted; once active, they follow the mute choice again.
   */
  setAudioSessionActive(active: boolean): void {
    this.audioSession = active;
    if (this.tracks) this.confirm({ ...this.confirmed, audioMuted: this.applyAudio() }); // else applied by obtain()
  }

  /** Turns the camera on or off; returns the confirmed state (off while there is no video track). */
  setVideoEnabled(enabled: boolean): boolean {
    this.wanted.videoEnabled = enabled;
    this.confirm({ ...this.confirmed, videoEnabled: this.applyVideo() });
    return this.confirmed.videoEnabled;
  }

  /**
   * On hold every track stays disabled (nothing is sent) without changing the mute and camera
   * choices, which apply again when the hold ends.
   */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (this.tracks) this.refresh(); // else applied by obtain()
  }

  /**
   * Starts sending a camera mid-call (an audio call turning into a video call): the video track
   * of the app's `stream`, or one captured, added to the local stream; turns the camera choice on.
   * Resolves at once when a camera is sent already.
   * @throws SealcallError `INVALID_ARGUMENT` for a stream without a live video track, or the
   * capture's error (`CAMERA_PERMISSION_DENIED`, `MEDIA_UNAVAILABLE`).
   */
  addVideo(stream?: MediaStream): Promise<void> {
    return this.serially(async () => {
      if (this.sent('video')) return;
      const source = stream ?? (await acquireLocalMedia({ audio: false, video: true }, this.hooks.wrtc));
      const track = stream ? trackOf('video', stream.getVideoTracks()[0]!) : this.own(source.getVideoTracks()[0]!);
      this.wanted.videoEnabled = true;
      track.enabled = !this.paused;
      const local = this.tracks ?? source;
      if (local !== source) local.addTrack(track);
      this.tracks = local;
      try {
        this.hooks.add(track, local);
      } catch (error) {
        local.removeTrack(track);
        this.drop(track);
        throw error;
      }
      this.refresh();
    });
  }

  /**
   * Stops sending video (the camera, or the screen while shared) and takes it out of the local
   * stream; stops what sealcall captured. Resolves at once when no video is sent.
   */
  removeVideo(): Promise<void> {
    return this.serially(async () => {
      const sent = this.sent('video');
      if (!sent) return;
      const screen = this.screen;
      this.screen = undefined;
      this.tracks!.removeTrack(sent);
      this.hooks.remove(sent);
      this.drop(sent);
      if (screen?.camera) this.drop(screen.camera);
      this.refresh();
    });
  }

  /**
   * Sends another microphone: a device id (captured, exactly that device) or the app's track.
   * @throws SealcallError `INVALID_ARGUMENT`, `INVALID_STATE` without a microphone track, or
   * the capture's error; the old track is then still sent.
   */
  async switchMicrophone(device: string | MediaStreamTrack): Promise<void> {
    if (typeof device === 'string') {
      if (device === '') throw new SealcallError('INVALID_ARGUMENT', 'a device id is a non-empty string');
      return this.switchTrack('audio', { deviceId: { exact: device } });
    }
    return this.switchTrack('audio', trackOf('audio', device));
  }

  /**
   * Sends another camera: a device id (exactly that device), a facing mode (the camera that best
   * matches: a device with one camera keeps using it), or the app's track. While the screen is
   * shared, the new camera is the one sent again when sharing stops.
   * @throws SealcallError as {@link switchMicrophone}.
   */
  async switchCamera(camera: CameraChoice | MediaStreamTrack): Promise<void> {
    if (isTrack(camera)) return this.switchTrack('video', trackOf('video', camera));
    const choice = camera as Partial<{ deviceId: unknown; facingMode: unknown }> | null;
    if (typeof choice?.deviceId === 'string' && choice.deviceId !== '' && choice.facingMode === undefined) {
      return this.switchTrack('video', { deviceId: { exact: choice.deviceId } });
    }
    if ((choice?.facingMode === 'user' || choice?.facingMode === 'environment') && choice.deviceId === undefined) {
      return this.switchTrack('video', { facingMode: { ideal: choice.facingMode } });
    }
    throw new SealcallError('INVALID_ARGUMENT', "pick a camera by { deviceId }, { facingMode: 'user' | 'environment' } or a video track");
  }

  /**
   * Sends a screen, window or tab the user picks instead of the camera, which stays captured to
   * be sent again when sharing stops (by {@link stopScreenShare}, or the browser's own "stop
   * sharing"). Without a camera (an audio call) the screen is added, renegotiating, and taken
   * out again after. The video-enabled choice holds for the screen too. Resolves at once when sharing.
   * @throws SealcallError `INVALID_STATE` before there is local media (an unanswered incoming
   * call), or `SCREEN_PERMISSION_DENIED` / `MEDIA_UNAVAILABLE` from the capture; nothing changed then.
   */
  startScreenShare(): Promise<void> {
    return this.serially(async () => {
      if (this.screen) return;
      const local = this.tracks;
      if (!local) throw new SealcallError('INVALID_STATE', 'this call has no local media yet');
      const camera = this.sent('video');
      const track = this.own(await acquireDisplayTrack());
      track.contentHint = 'detail'; // encode for legible text and slides rather than motion
      try {
        if (camera) {
          await this.put(camera, track);
        } else {
          track.enabled = this.videoOn() && !this.paused;
          local.addTrack(track);
          try {
            this.hooks.add(track, local);
          } catch (error) {
            local.removeTrack(track);
            throw error;
          }
        }
      } catch (error) {
        this.drop(track);
        throw error;
      }
      this.screen = { track, camera };
      track.addEventListener('ended', () => this.browserEndedSharing(track), { once: true });
      // The user may have ended it in the browser's UI while the track was being put in place.
      if (track.readyState === 'ended') this.browserEndedSharing(track);
      this.refresh();
    });
  }

  /** Sends the camera again and stops the screen capture. Resolves at once when not sharing. */
  stopScreenShare(): Promise<void> {
    return this.serially(async () => {
      const screen = this.screen;
      if (!screen) return;
      if (screen.camera) {
        await this.put(screen.track, screen.camera);
      } else {
        this.tracks!.removeTrack(screen.track);
        this.hooks.remove(screen.track);
      }
      this.screen = undefined;
      this.drop(screen.track);
      this.refresh();
    });
  }

  /** Stops the tracks sealcall captured. Idempotent; switches fail with `INVALID_STATE` after. */
  release(): void {
    this.released = true;
    for (const track of this.owned) track.stop();
    this.owned.clear();
  }

  /**
   * Captures (or takes the app's) `next`, gives it the current mute or camera choice before it
   * can send anything, swaps it in for the sent track, then stops the old one if sealcall made it.
   */
  private switchTrack(kind: 'audio' | 'video', source: MediaStreamTrack | MediaTrackConstraints): Promise<void> {
    return this.serially(async () => {
      const sharing = kind === 'video' ? this.screen : undefined;
      const previous = sharing ? sharing.camera : this.sent(kind);
      if (!previous) throw new SealcallError('INVALID_STATE', `this call sends no ${kind === 'audio' ? 'microphone' : 'camera'}`);
      if (source === previous) return;
      const next = isTrack(source) ? source : this.own(await acquireTrack(kind, source, this.hooks.wrtc));
      if (sharing) {
        sharing.camera = next; // not sent until sharing stops
      } else {
        await this.put(previous, next).catch((error: unknown) => {
          this.drop(next);
          throw error;
        });
      }
      this.drop(previous);
      this.refresh();
    });
  }

  /** Swaps `next` in for `previous`, in the stream and on the sender; undone if the sender refuses. */
  private async put(previous: MediaStreamTrack, next: MediaStreamTrack): Promise<void> {
    if (this.released) throw ended();
    next.enabled = next.kind === 'audio' ? this.audioEnabled() : this.videoOn() && !this.paused;
    const stream = this.tracks!;
    stream.removeTrack(previous);
    stream.addTrack(next);
    try {
      await this.hooks.replace(previous, next);
    } catch (error) {
      stream.removeTrack(next);
      stream.addTrack(previous);
      throw error;
    }
  }

  /** Records a track sealcall captured; stops it at once if the call ended meanwhile. */
  private own(track: MediaStreamTrack): MediaStreamTrack {
    if (this.released) {
      track.stop();
      throw ended();
    }
    this.owned.add(track);
    return track;
  }

  /** Stops `track` if sealcall captured it. */
  private drop(track: MediaStreamTrack): void {
    if (this.owned.delete(track)) track.stop();
  }

  private browserEndedSharing(track: MediaStreamTrack): void {
    if (this.released || this.screen?.track !== track) return;
    this.stopScreenShare().catch((error: unknown) => this.hooks.warn(error));
  }

  /** The first track of `kind` being sent. */
  private sent(kind: 'audio' | 'video'): MediaStreamTrack | undefined {
    return this.tracks?.getTracks().find((track) => track.kind === kind);
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.busy.then(() => {
      if (this.released) throw ended();
      return task();
    });
    this.busy = run.catch(() => undefined); // a failed change does not block the next
    return run;
  }

  /** Applies the choices to every track and confirms the result. */
  private refresh(): void {
    this.confirm({ audioMuted: this.applyAudio(), videoEnabled: this.applyVideo() });
  }

  private audioEnabled(): boolean {
    return !(this.wanted.audioMuted ?? false) && this.audioSession && !this.paused;
  }

  private videoOn(): boolean {
    return this.wanted.videoEnabled ?? true;
  }

  /** Enables the video tracks if the camera is on and the call not held; returns the confirmed camera state. */
  private applyVideo(): boolean {
    const enabled = setTracksEnabled(this.tracks, 'video', this.videoOn() && !this.paused);
    // On hold the camera choice stands (off without a track).
    return this.paused ? this.videoOn() && this.sent('video') !== undefined : enabled;
  }

  /** Enables the audio tracks unless muted or the audio session is inactive; returns the confirmed mute state. */
  private applyAudio(): boolean {
    const muted = this.wanted.audioMuted ?? false;
    const enabled = setTracksEnabled(this.tracks, 'audio', this.audioEnabled());
    if (this.audioSession && !this.paused) return !enabled;
    // Waiting for the audio session, or on hold, is not muting: the user's choice stands (muted without a track).
    return muted || !this.tracks?.getTracks().some((track) => track.kind === 'audio');
  }

  private confirm(next: MediaState): void {
    const sharing = this.screenSharing;
    const changed =
      next.audioMuted !== this.confirmed.audioMuted ||
      next.videoEnabled !== this.confirmed.videoEnabled ||
      sharing !== this.sharingReported;
    this.confirmed = next;
    this.sharingReported = sharing;
    if (changed) this.hooks.changed({ ...this.state, screenSharing: sharing });
  }
}

function isTrack(value: unknown): value is MediaStreamTrack {
  return typeof value === 'object' && value !== null && typeof (value as MediaStreamTrack).stop === 'function' && 'kind' in value;
}

/** The app's track, if it is a live track of `kind`. */
function trackOf(kind: 'audio' | 'video', track: MediaStreamTrack): MediaStreamTrack {
  if (!isTrack(track) || track.kind !== kind || track.readyState === 'ended') {
    throw new SealcallError('INVALID_ARGUMENT', `expected a live ${kind} track`);
  }
  return track;
}

function ended(): SealcallError {
  return new SealcallError('INVALID_STATE', 'the call has ended');
}
