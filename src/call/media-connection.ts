import { isSealcallError, SealcallError } from '../errors.js';
import type { FrameCounters } from '../crypto/frame/types.js';
import type { FrameBaseKeys } from '../signaling/session.js';
import { candidateBatches } from '../protocol/limits.js';
import type { EndReason, Message } from '../protocol/messages.js';
import { PeerSession } from '../session/peer-session.js';
import type { FrameProtector, IceHealth, MediaPath, SessionSignal, StatsReport } from '../session/types.js';
import { FrameKeys } from './frame-keys.js';
import type { ResolvedOptions } from './options.js';
import type { ChannelMessage } from '../signaling/channel.js';
import { Timers } from './timers.js';

/** What a {@link MediaConnection} tells its call. The call decides what each means for its state. */
export interface MediaConnectionHooks {
  /** Sends a message to the peer over the encrypted signaling channel. */
  send(message: ChannelMessage): void;
  /** Media and data channel are up for the first time. */
  connected(): void;
  /** ICE lost the path (the call is reconnecting). */
  iceLost(): void;
  /** ICE found a path again. */
  iceRecovered(): void;
  /** The connection is over for good: end the call with this reason (and tell the peer). */
  failed(reason: EndReason, error?: SealcallError): void;
  /** The peer closed its connection and its `end` never came: it is gone. */
  peerLeft(): void;
  track(track: MediaStreamTrack, stream: MediaStream): void;
  data(data: Uint8Array): void;
  /** Something went wrong that does not end the call. */
  warn(error: SealcallError): void;
}

/** Frame encryption for a connection: the protector and this session's base keys. */
export interface FrameSetup {
  protector: FrameProtector;
  baseKeys: FrameBaseKeys;
}

/** The signaling messages that drive a media connection. */
export type MediaMessage = Extract<Message, { type: 'offer' | 'answer' | 'ice' | 'renegotiate' }>;

type TimerName = 'connect' | 'ice-restart' | 'ice-fail' | 'remote-close';

/**
 * The WebRTC side of one call: a {@link PeerSession}, the mapping between its signals and
 * protocol messages, and the recovery policy (connect timeout, ICE restart after a grace, give up
 * after a longer one, waiting for the peer's `end` when its connection closes first).
 */
export class MediaConnection {
  private readonly session: PeerSession;
  private readonly timers = new Timers<TimerName>();
  private readonly frame: { protector: FrameProtector; keys: FrameKeys } | undefined;
  private closed = false;

  /** @throws SealcallError when no peer connection can be made. */
  constructor(
    role: 'offerer' | 'answerer',
    stream: MediaStream | undefined,
    iceServers: RTCIceServer[],
    private readonly options: ResolvedOptions,
    private readonly hooks: MediaConnectionHooks,
    frame?: FrameSetup,
  ) {
    if (frame) {
      const keys = new FrameKeys(frame.protector, frame.baseKeys, options.now);
      this.frame = { protector: frame.protector, keys };
      // Frames that come before the key lands wait for it in the worker, never leaving in clear;
      // a key that fails to install ends the call.
      keys.install().catch((error: unknown) => hooks.failed('media-failed', asE2eeError(error)));
    }
    this.session = new PeerSession({
      role,
      ...(options.wrtc ? { wrtc: options.wrtc } : {}),
      iceServers,
      iceTransportPolicy: options.iceTransportPolicy,
      ...(stream ? { stream } : {}),
      gatherWindowMs: options.gatherWindowMs,
      batchMs: options.candidateBatchMs,
      ...(frame ? { frameProtector: frame.protector } : {}),
    });
    this.timers.set('connect', options.connectTimeoutMs, () => hooks.failed('connect-timeout'));
    this.session.on('signal', (signal) => this.onSignal(signal));
    this.session.on('connected', () => {
      this.timers.clear('connect');
      hooks.connected();
      this.verifyFrames();
    });
    this.session.on('ice', (health) => this.onIce(health));
    this.session.on('track', (track, s) => hooks.track(track, s));
    this.session.on('data', (data) => hooks.data(data));
    this.session.on('closed', (error) => {
      if (this.closed) return; // our own close(): the call already knows
      // The peer closed its connection: its `end` (with the real reason) is normally on its way
      // over the slower chat transport. Wait for it a little before concluding. A data-channel
      // error may be that same close (see closedOnChannelError): the `end` gets the same grace,
      // and without one it is a failure.
      if (error && this.session.closedOnChannelError) {
        this.timers.set('remote-close', options.remoteEndGraceMs, () => hooks.failed('media-failed', error));
        return;
      }
      if (error && !this.session.closedByPeer) return hooks.failed('media-failed', error);
      this.timers.set('remote-close', options.remoteEndGraceMs, () => hooks.peerLeft());
    });
  }

  /** Applies a message from the peer. */
  handle(message: MediaMessage): void {
    try {
      this.apply(message);
    } catch (error) {
      // A description that does not fit (wrong type for this side, …): the peer's mistake or
      // hostility, not ours to crash on.
      this.hooks.warn(error instanceof SealcallError ? error : new SealcallError('BAD_MESSAGE', 'unusable media message', { cause: error }));
    }
  }

  private apply(message: MediaMessage): void {
    switch (message.type) {
      case 'offer':
      case 'answer':
        this.session.applyDescription(message.type, message.sdp, message.candidates);
        return;
      case 'ice':
        this.session.addCandidates(message.candidates, message.end);
        return;
      case 'renegotiate':
        if (message.description) this.session.applyDescription(message.description.type, message.description.sdp, []);
        if (message.request) this.session.handleRenegotiateRequest(message.request);
    }
  }

  /** Sends on the data channel. */
  send(data: Uint8Array | string): void {
    this.session.send(data);
  }

  getStats(): Promise<StatsReport[]> {
    return this.session.getStats();
  }

  path(): Promise<MediaPath | undefined> {
    return this.session.path();
  }

  /**
   * Switches to new ICE servers (refreshed TURN credentials). A relayed call restarts ICE so its
   * allocations move to the new credentials before the old ones expire.
   */
  updateIceServers(servers: RTCIceServer[]): void {
    if (this.closed) return;
    this.session.setIceServers(servers);
    void this.session.path().then(
      (path) => path === 'relayed' && !this.closed && this.session.restartIce(),
      () => undefined, // closed meanwhile
    );
  }

  /** Sends `next` instead of `previous` without renegotiating (see {@link PeerSession.replaceTrack}). */
  replaceTrack(previous: MediaStreamTrack, next: MediaStreamTrack): Promise<void> {
    return this.session.replaceTrack(previous, next);
  }

  /** Starts sending `track` mid-call, renegotiating (see {@link PeerSession.addTrack}). */
  addTrack(track: MediaStreamTrack, stream: MediaStream): void {
    this.session.addTrack(track, stream);
  }

  /** Stops sending `track`, renegotiating (see {@link PeerSession.removeTrack}). */
  removeTrack(track: MediaStreamTrack): void {
    this.session.removeTrack(track);
  }

  /** Frame counters of both directions, or undefined without frame encryption. */
  async frameCounters(): Promise<{ send: FrameCounters; receive: FrameCounters } | undefined> {
    return this.frame?.protector.counters();
  }

  /** Moves the sending frame key one step; resolves with the key id to announce. */
  rotateFrameKey(): Promise<number> {
    if (!this.frame) return Promise.reject(new SealcallError('INVALID_STATE', 'no frame encryption on this call'));
    return this.frame.keys.rotateSend();
  }

  /** Follows the peer's key rotation to key id `kid`. */
  async followFrameKey(kid: number): Promise<void> {
    await this.frame?.keys.followReceive(kid);
  }

  /** Stops every timer, closes the peer connection and wipes frame keys. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    this.session.destroy();
    this.frame?.keys.dispose();
    this.frame?.protector.close();
  }

  /**
   * Once connected, checks that frames really pass the receiving transform. With frame
   * encryption required, a call whose frames never decrypt ends; otherwise the app is warned.
   */
  private verifyFrames(): void {
    this.frame?.protector.verified(this.options.frameVerifyTimeoutMs).catch((error: unknown) => {
      if (this.closed) return;
      const failure = asE2eeError(error);
      if (this.options.frameEncryption === 'required') this.hooks.failed('media-failed', failure);
      else this.hooks.warn(failure);
    });
  }

  private onSignal(signal: SessionSignal): void {
    // A host with many addresses gathers more candidates than one message may carry: the first
    // batch rides in the offer/answer, the rest follow as `ice` messages of the allowed size.
    const [first = [], ...rest] = candidateBatches(signal.kind === 'renegotiate-request' ? [] : signal.candidates);
    switch (signal.kind) {
      case 'description':
        if (signal.initial) {
          this.hooks.send({ type: signal.type, sdp: signal.sdp, candidates: first });
        } else {
          this.hooks.send({ type: 'renegotiate', description: { type: signal.type, sdp: signal.sdp } });
          if (first.length > 0) rest.unshift(first);
        }
        rest.forEach((batch) => this.hooks.send({ type: 'ice', candidates: batch, end: false }));
        return;
      case 'candidates':
        [first, ...rest].forEach((batch, i, all) =>
          this.hooks.send({ type: 'ice', candidates: batch, end: signal.end && i === all.length - 1 }),
        );
        return;
      case 'renegotiate-request':
        this.hooks.send({
          type: 'renegotiate',
          request: { iceRestart: signal.iceRestart, ...(signal.addTransceiver ? { addTransceiver: signal.addTransceiver } : {}) },
        });
    }
  }

  private onIce(health: IceHealth): void {
    if (health === 'connected') {
      this.timers.clear('ice-restart');
      this.timers.clear('ice-fail');
      this.hooks.iceRecovered();
      return;
    }
    if (health !== 'disconnected' && health !== 'failed') return;
    if (this.timers.has('connect')) {
      // Never connected: a failure now is final; a disconnect is left to the connect timeout.
      if (health === 'failed') this.hooks.failed('ice-failed');
      return;
    }
    this.hooks.iceLost();
    if (!this.timers.has('ice-fail')) {
      this.timers.set('ice-fail', this.options.iceFailTimeoutMs, () => this.hooks.failed('ice-failed'));
    }
    // Failed: restart now. Disconnected: give ICE a short grace to recover on its own first.
    this.timers.set('ice-restart', health === 'failed' ? 0 : this.options.iceRestartDelayMs, () => this.session.restartIce());
  }
}

function asE2eeError(error: unknown): SealcallError {
  return isSealcallError(error) ? error : new SealcallError('E2EE_UNAVAILABLE', 'frame encryption failed', { cause: error });
}

