import { EventEmitter } from 'eventemitter3';
import type { FrameCounters } from '../crypto/frame/types.js';
import type { CallMedia } from '../protocol/messages.js';
import type { MediaPath, StatsReport } from '../session/types.js';
import type { PeerId } from '../transport/chat-transport.js';
import type { CallContext } from './call-context.js';
import type { CallEnded, CallEvents, CallQuality, RemoteMediaState } from './call-events.js';
import { CallProtocol, type RejectOptions } from './call-protocol.js';
import type { CallState } from './call-state.js';
import type { CameraChoice, MediaOptions } from './local-media.js';

export type { CallEnded, CallEvents, RemoteMediaState } from './call-events.js';
export type { RejectOptions } from './call-protocol.js';
export type { CameraChoice, LocalMediaState, MediaOptions, MediaState } from './local-media.js';

/**
 * One call with one contact, from invitation to hang-up: the single source of truth for its
 * state. Created by `CallClient.call()` (outgoing) or delivered by the client's `incoming` event.
 */
export class Call extends EventEmitter<CallEvents> {
  /** The contact's peer id as the app named it. */
  readonly peer: PeerId;
  /** Whether this user placed the call. */
  readonly direction: 'outgoing' | 'incoming';
  /** @internal Audio or video, as the caller asked (`media` follows the call as it changes). */
  readonly askedMedia: CallMedia;
  /** @internal The state machine the `CallClient` drives; this class is the app's view of it. */
  readonly protocol: CallProtocol;

  /** @internal Use `CallClient.call()`; incoming calls come from the client's `incoming` event. */
  constructor(context: CallContext, init: { peer: PeerId; direction: 'outgoing' | 'incoming'; callId: string; media: CallMedia }) {
    super();
    this.peer = init.peer;
    this.direction = init.direction;
    this.askedMedia = init.media;
    this.protocol = new CallProtocol(context, this, init.callId);
  }

  /**
   * Audio or video: as the caller asked until the peer's first media state arrives (once
   * connected), then `'video'` while either side's camera is on and `'audio'` while both are off.
   * It changes with {@link addVideo} / {@link removeVideo} on either side (and with the camera
   * choice); each change is a `media` event. The call history (`ended`) keeps what the caller asked.
   */
  get media(): CallMedia {
    return this.protocol.media;
  }

  /** Whether this side holds the call ({@link setOnHold}); the peer's hold is `remoteMedia.held`. */
  get onHold(): boolean {
    return this.protocol.onHold;
  }

  /** The call id (32 hex digits). It changes once if glare resolution adopts the peer's call. */
  get id(): string {
    return this.protocol.id;
  }

  get state(): CallState {
    return this.protocol.state;
  }

  /**
   * How media is protected end to end. `'frame'`: every encoded frame is encrypted with keys
   * from this call's handshake (SFrame), on top of DTLS-SRTP. `'transport'`: DTLS-SRTP alone,
   * still end to end because its fingerprints travel in the authenticated signaling. Known once
   * both sides' capabilities are (the callee's ringing reply; the invitation for the callee).
   */
  get e2ee(): 'frame' | 'transport' {
    return this.protocol.plane.suite ? 'frame' : 'transport';
  }

  /** Frames encrypted, decrypted and dropped (by reason) so far; undefined without frame encryption. */
  async frameCounters(): Promise<{ send: FrameCounters; receive: FrameCounters } | undefined> {
    return this.protocol.plane.frameCounters();
  }

  /**
   * Switches this side's frame key to the next one (a one-way ratchet, new key id) and tells
   * the peer, who keeps the old key for a grace period. Resolves with the new key id; rejects
   * with `INVALID_STATE` unless connected with frame encryption.
   */
  async rotateFrameKey(): Promise<number> {
    return this.protocol.rotateFrameKey();
  }

  /** Tracks this side sends, once known. */
  get localStream(): MediaStream | undefined {
    return this.protocol.plane.local.stream;
  }

  /** Tracks the peer sends, once they arrived. */
  get remoteStream(): MediaStream | undefined {
    return this.protocol.plane.remoteStream;
  }

  /** The confirmed microphone state. */
  get audioMuted(): boolean {
    return this.protocol.plane.local.state.audioMuted;
  }

  /** The confirmed camera state. */
  get videoEnabled(): boolean {
    return this.protocol.plane.local.state.videoEnabled;
  }

  /**
   * The peer's last reported media state (microphone, camera, hold, screen sharing); undefined
   * until the first report, which the peer sends when the call connects.
   */
  get remoteMedia(): RemoteMediaState | undefined {
    return this.protocol.plane.remoteMedia;
  }

  /**
   * The network quality of the last sampled interval: what the last `quality` event carried.
   * Undefined until the first, one `qualityIntervalMs` after the call connects (and always with
   * `qualityIntervalMs: 0`); the last figures stay once the call has ended.
   */
  get quality(): CallQuality | undefined {
    return this.protocol.lastQuality;
  }

  /** How the call ended, once it has. */
  get endedWith(): CallEnded | undefined {
    return this.protocol.endedWith;
  }

  /**
   * Answers an incoming call: gets local media, then sends the offer. Rejects with
   * `INVALID_STATE` unless ringing, or with the media error (the call then ends `media-failed`).
   */
  async accept(options: MediaOptions = {}): Promise<void> {
    return this.protocol.accept(options);
  }

  /**
   * Declines an incoming call; the caller's call ends `rejected`, and the callee's other devices
   * stop ringing (`declined-elsewhere`). With `{ silent: true }` the caller is sent nothing: its
   * call rings until its ring timeout and ends `no-answer`, as if nobody had been there. Then, with
   * the client's `ownDevices` option, this user's other devices alone are told (a cancel sealed
   * with the user's own identity key) and stop ringing at once (`declined-elsewhere`); without it
   * nothing at all is sent, and they ring on until then unless the app stops them (see
   * `CallEnded.silent`). Rejects with `INVALID_STATE` unless ringing.
   */
  async reject(options: RejectOptions = {}): Promise<void> {
    return this.protocol.reject(options);
  }

  /**
   * Puts a connected call on hold (true) or takes it off (false). On hold, media pauses both ways:
   * this side's tracks are disabled (nothing is sent) and the peer's are disabled (nothing plays),
   * and the peer is told (`remote-media` with `held: true`), whose side pauses likewise until the
   * hold ends. The mute and camera choices are kept and apply again after. CallKit's hold action
   * calls it. Throws `INVALID_STATE` unless connected or reconnecting.
   */
  setOnHold(held: boolean): void {
    this.protocol.setOnHold(held);
  }

  /**
   * Turns an audio call into a video call: sends the video track of `stream` (the app's, which the
   * app stops) or a camera captured now (stopped by sealcall when removed or at the end), added to
   * `localStream`, and renegotiates over the sealed signaling channel. The peer gets a `track`
   * event and `remote-media` with `videoEnabled: true`; `media` becomes `'video'` on both sides.
   * Resolves once the track is being sent (at once if a camera is sent already). Rejects with
   * `INVALID_STATE` unless connected, `INVALID_ARGUMENT` for a stream without a live video track,
   * or the capture's error (`CAMERA_PERMISSION_DENIED`, `MEDIA_UNAVAILABLE`).
   */
  async addVideo(stream?: MediaStream): Promise<void> {
    return this.protocol.addVideo(stream);
  }

  /**
   * Stops sending video (the camera, or the screen while shared) and renegotiates; the track
   * leaves `localStream` and is stopped if sealcall captured it. The peer sees `videoEnabled:
   * false`; `media` becomes `'audio'` once neither side's camera is on. Rejects with
   * `INVALID_STATE` unless connected; resolves at once when no video is sent.
   */
  async removeVideo(): Promise<void> {
    return this.protocol.removeVideo();
  }

  /**
   * Ends the call from this side (an incoming call that is still ringing is rejected). The peer's
   * call ends `remote-hangup`, or `cancelled` if it had not been answered.
   */
  async hangup(): Promise<void> {
    return this.protocol.hangup();
  }

  /**
   * Mutes or unmutes the microphone; resolves with the state the tracks confirm (muted while
   * there is no track yet). A choice made before media exists, e.g. muting while ringing, is
   * applied to the tracks when they arrive.
   */
  async setAudioMuted(muted: boolean): Promise<boolean> {
    return this.protocol.plane.local.setAudioMuted(muted);
  }

  /** Turns the camera on or off; resolves with the state the tracks confirm. */
  async setVideoEnabled(enabled: boolean): Promise<boolean> {
    return this.protocol.plane.local.setVideoEnabled(enabled);
  }

  /**
   * Whether the OS's call audio session is active. While false the microphone's tracks stay
   * disabled, so no audio is sent, and `audioMuted` keeps the user's choice; true restores them.
   * Default true. `CallKitCoordinator` drives it for the calls CallKit shows, which must not
   * start audio before CallKit activated the session; apps without CallKit never need it.
   */
  setAudioSessionActive(active: boolean): void {
    this.protocol.plane.local.setAudioSessionActive(active);
  }

  /**
   * Whether this side shares its screen (sent instead of the camera, or as the video of an audio
   * call); the peer's is `remoteMedia.screenSharing`.
   */
  get screenSharing(): boolean {
    return this.protocol.plane.local.screenSharing;
  }

  /**
   * Sends another microphone, without renegotiating (the sender's track is replaced, and its frames
   * stay encrypted): a device id from `enumerateDevices()` (captured, exactly that device), or the
   * app's own audio track (which the app stops; with it, `localStream` swaps the app's stream's
   * track). The mute choice holds; the old track is stopped if sealcall captured it.
   * Rejects with `INVALID_ARGUMENT`, `INVALID_STATE` (no microphone sent, or the call ended), or
   * the capture's error (`MIC_PERMISSION_DENIED`, `MEDIA_UNAVAILABLE`): the old track is then still sent.
   */
  async switchMicrophone(device: string | MediaStreamTrack): Promise<void> {
    return this.protocol.plane.local.switchMicrophone(device);
  }

  /**
   * Sends another camera, without renegotiating, like {@link switchMicrophone}: `{ deviceId }`,
   * `{ facingMode: 'user' | 'environment' }` to flip between front and back (the best match: a
   * device with one camera keeps it), or the app's video track. The camera choice
   * (`setVideoEnabled`) holds. While the screen is shared, it picks the camera sent after sharing.
   */
  async switchCamera(camera: CameraChoice | MediaStreamTrack): Promise<void> {
    return this.protocol.plane.local.switchCamera(camera);
  }

  /**
   * Browsers: sends a screen, window or tab the user picks (`getDisplayMedia`) instead of the
   * camera, frame-encrypted like it, without renegotiating; `local-media` reports
   * `screenSharing: true`, and the peer is told (its `remote-media` and `remoteMedia` carry
   * `screenSharing: true` until sharing stops). The camera stays captured and is sent again on
   * {@link stopScreenShare} or when the user stops sharing in the browser's UI. On a call without a camera (audio) the screen
   * is added as video, renegotiating like {@link addVideo}, and removed when sharing stops.
   * `setVideoEnabled` applies to the screen too. Resolves at once if already sharing. Rejects with
   * `SCREEN_PERMISSION_DENIED` when the user cancels or refuses, `MEDIA_UNAVAILABLE` outside
   * browsers, or `INVALID_STATE` before local media (unanswered) or after the end: nothing changed then.
   */
  async startScreenShare(): Promise<void> {
    return this.protocol.plane.local.startScreenShare();
  }

  /**
   * Sends the camera again and stops the screen capture; the peer is told (`screenSharing: false`).
   * Resolves at once when not sharing.
   */
  async stopScreenShare(): Promise<void> {
    return this.protocol.plane.local.stopScreenShare();
  }

  /** Sends an app message over the call's data channel. `INVALID_STATE` before connected. */
  send(data: Uint8Array | string): void {
    this.protocol.send(data);
  }

  /** WebRTC statistics of the peer connection (empty before media setup and after the end). */
  async getStats(): Promise<StatsReport[]> {
    return this.protocol.plane.getStats();
  }

  /** Whether media flows directly or through a TURN relay (undefined before connected). */
  async path(): Promise<MediaPath | undefined> {
    return this.protocol.plane.path();
  }
}
