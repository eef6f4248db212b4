import { toSealcallError } from '../errors.js';
import type { FrameCounters, FrameSuiteName } from '../crypto/frame/types.js';
import type { MediaStateMessage } from '../protocol/messages.js';
import type { FrameBaseKeys } from '../signaling/session.js';
import type { FrameProtector, MediaPath, StatsReport } from '../session/types.js';
import type { CallContext } from './call-context.js';
import type { RemoteMediaState } from './call-events.js';
import { e2eeUnavailable, negotiateSuite } from './frame-policy.js';
import { LocalMedia, type LocalMediaState, type MediaOptions } from './local-media.js';
import { MediaConnection, type MediaConnectionHooks, type MediaMessage } from './media-connection.js';

/**
 * Everything one call holds for its media, apart from signaling: the local tracks, its lease on
 * the client's ICE servers, the frame-encryption suite and a protector warmed up while ringing,
 * the peer connection, and the peer's reported microphone and camera state. {@link Call}
 * decides when each step happens; this class does it and releases it all on {@link close}.
 */
export class MediaPlane {
  readonly local: LocalMedia;
  /** The frame-encryption suite agreed with the chosen device (undefined: DTLS-SRTP only). */
  suite: FrameSuiteName | undefined;
  private connection: MediaConnection | undefined;
  private remote: MediaStream | undefined;
  private iceServers: RTCIceServer[] = [];
  private holdsIceServers = false;
  /**
   * A frame protector made while ringing, so its worker has loaded (libsodium, WebAssembly) before
   * media starts: frames wait for the key to be in place, never leaving in clear.
   */
  private warm: { suite: FrameSuiteName; protector: FrameProtector } | undefined;
  /** The seq of the peer's media state shown, so an older one arriving late is ignored. */
  private remoteSeq = 0;
  private remoteState: RemoteMediaState | undefined;
  /** Every track the peer sent, so a hold can silence them all (and one arriving during it). */
  private readonly remoteTracks = new Set<MediaStreamTrack>();
  private paused = false;
  private closed = false;

  /** @param localChanged - this side's confirmed microphone/camera/screen state changed. */
  constructor(
    private readonly context: CallContext,
    localChanged: (state: LocalMediaState) => void,
  ) {
    this.local = new LocalMedia({
      changed: localChanged,
      // Before the connection exists there is no sender: it will send the stream's tracks as they are then.
      replace: async (previous, next) => this.connection?.replaceTrack(previous, next),
      add: (track, stream) => this.connection?.addTrack(track, stream),
      remove: (track) => this.connection?.removeTrack(track),
      warn: (error) => context.warn(error),
      wrtc: context.options.wrtc,
    });
  }

  get remoteStream(): MediaStream | undefined {
    return this.remote;
  }

  get remoteMedia(): RemoteMediaState | undefined {
    return this.remoteState;
  }

  /** Whether a peer connection exists (from the offer or answer until the end). */
  get hasConnection(): boolean {
    return this.connection !== undefined;
  }

  /**
   * Gets the local tracks, then the ICE servers, and keeps those fresh until {@link close}.
   * Rejects with a typed error (`PEER_CONNECTION_FAILED` unless the runtime's error had a code).
   * Closed meanwhile, it releases what it got.
   */
  async prepare(options: MediaOptions, video: boolean): Promise<void> {
    try {
      await this.local.obtain(options, video);
      if (this.closed) return this.local.release();
      this.iceServers = await this.context.iceServers.get();
    } catch (error) {
      throw toSealcallError(error, 'PEER_CONNECTION_FAILED');
    }
    if (this.closed || this.holdsIceServers) return;
    this.holdsIceServers = true;
    this.context.iceServers.hold();
  }

  /**
   * Agrees the frame-encryption suite from the caller's and the callee's lists. False when the
   * policy requires frame encryption and the lists share no suite.
   */
  agree(callerSuites: readonly string[], calleeSuites: readonly string[]): boolean {
    this.suite = negotiateSuite(callerSuites, calleeSuites);
    return this.suite !== undefined || this.context.options.frameEncryption !== 'required';
  }

  /**
   * Caller, while a device rings: starts loading the protector the suite agreed with it would
   * need. False, loading nothing, when that device cannot meet a `required` policy.
   */
  warmUpFor(callerSuites: readonly string[], calleeSuites: readonly string[]): boolean {
    const suite = negotiateSuite(callerSuites, calleeSuites);
    if (!suite && this.context.options.frameEncryption === 'required') return false;
    this.warmUp(suite);
    return true;
  }

  /** Starts loading a frame protector for `suite` while the call rings (once). */
  warmUp(suite: FrameSuiteName | undefined): void {
    if (!suite || this.warm || this.closed) return;
    const protector = this.context.createFrameProtector(suite);
    if (protector) this.warm = { suite, protector };
  }

  /**
   * Opens the peer connection, with frame encryption when a suite was agreed (`baseKeys` from
   * the chosen device's signaling session).
   * @throws SealcallError `E2EE_UNAVAILABLE` when the frame worker cannot start (the peer
   * encrypts its frames either way: failing closed is the only safe answer), or
   * `PEER_CONNECTION_FAILED`.
   */
  connect(role: 'offerer' | 'answerer', baseKeys: () => FrameBaseKeys, hooks: MediaConnectionHooks): void {
    let frame: { protector: FrameProtector; baseKeys: FrameBaseKeys } | undefined;
    if (this.suite) {
      const warm = this.warm;
      this.warm = undefined;
      if (warm && warm.suite !== this.suite) warm.protector.close();
      const protector = warm?.suite === this.suite ? warm.protector : this.context.createFrameProtector(this.suite);
      if (!protector) throw e2eeUnavailable('the frame worker could not start');
      frame = { protector, baseKeys: baseKeys() };
    }
    const track = (t: MediaStreamTrack, stream: MediaStream) => {
      this.remote = stream;
      this.remoteTracks.add(t);
      if (this.paused) t.enabled = false;
      hooks.track(t, stream);
    };
    try {
      this.connection = new MediaConnection(role, this.local.stream, this.iceServers, this.context.options, { ...hooks, track }, frame);
    } catch (error) {
      frame?.protector.close();
      throw toSealcallError(error, 'PEER_CONNECTION_FAILED');
    }
  }

  /** Hands an offer, answer, candidate batch or renegotiation to the peer connection. */
  handle(message: MediaMessage): void {
    this.connection?.handle(message);
  }

  /** The peer's media state, if newer than the one shown (it carries the whole state). */
  remoteMediaChanged(message: MediaStateMessage): RemoteMediaState | undefined {
    if (message.seq < this.remoteSeq) return undefined;
    this.remoteSeq = message.seq;
    this.remoteState = {
      audioMuted: message.audioMuted,
      videoEnabled: message.videoEnabled,
      held: message.held === true,
      screenSharing: message.screenSharing === true,
    };
    return this.remoteState;
  }

  /**
   * Pauses media both ways while the call is on hold: nothing is sent (the tracks are disabled,
   * the mute and camera choices kept) and the peer's tracks are disabled, so nothing plays.
   */
  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    this.local.setPaused(paused);
    for (const track of this.remoteTracks) track.enabled = !paused;
  }

  /** The client's ICE servers were refreshed. */
  updateIceServers(servers: RTCIceServer[]): void {
    this.iceServers = servers;
    this.connection?.updateIceServers(servers);
  }

  /** Switches to the next send key; resolves with its id. Only with a connection and a suite. */
  async rotateFrameKey(): Promise<number | undefined> {
    return this.suite ? this.connection?.rotateFrameKey() : undefined;
  }

  /** The peer moved to key `kid`. */
  followFrameKey(kid: number): Promise<void> {
    return this.connection?.followFrameKey(kid) ?? Promise.resolve();
  }

  async frameCounters(): Promise<{ send: FrameCounters; receive: FrameCounters } | undefined> {
    return this.connection?.frameCounters();
  }

  /** Sends over the data channel; false when there is no connection. */
  send(data: Uint8Array | string): boolean {
    if (!this.connection) return false;
    this.connection.send(data);
    return true;
  }

  async getStats(): Promise<StatsReport[]> {
    return this.connection ? this.connection.getStats() : [];
  }

  async path(): Promise<MediaPath | undefined> {
    return this.connection?.path();
  }

  /** Releases the peer connection, frame worker, ICE server lease and captured tracks. Idempotent. */
  close(): void {
    this.closed = true;
    this.connection?.close();
    this.connection = undefined;
    this.warm?.protector.close();
    this.warm = undefined;
    if (this.holdsIceServers) this.context.iceServers.release();
    this.holdsIceServers = false;
    this.local.release();
  }
}
