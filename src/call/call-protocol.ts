import { SealcallError, toSealcallError } from '../errors.js';
import type { CallMedia, CancelMessage, CancelReason, EndReason, Message } from '../protocol/messages.js';
import type { ChannelMessage, SignalingChannel } from '../signaling/channel.js';
import type { IncomingInvitation, InvitationReply, OutgoingInvitation } from '../signaling/invitation.js';
import { PeerDevices } from '../signaling/peer-devices.js';
import { isPermanentFailure } from '../transport/chat-transport.js';
import type { Call } from './call.js';
import type { CallContext } from './call-context.js';
import type { CallEnded, CallQuality } from './call-events.js';
import { nextState, type CallEvent, type CallState } from './call-state.js';
import { e2eeUnavailable } from './frame-policy.js';
import type { MediaOptions } from './local-media.js';
import { MediaPlane } from './media-plane.js';
import { QualitySampler } from './quality-sampler.js';
import { RateWindow } from './rate-window.js';
import { Timers } from './timers.js';

/**
 * Most renegotiation messages (offers and requests: added or removed video, ICE restarts) taken
 * from the peer per {@link RENEGOTIATION_WINDOW_MS}; more are dropped with `RATE_LIMITED`. An
 * honest peer sends two or three per change.
 */
const MAX_RENEGOTIATIONS = 24;
const RENEGOTIATION_WINDOW_MS = 10_000;

/** How {@link Call.reject} declines. */
export interface RejectOptions {
  /**
   * Tell the caller nothing: its call rings on until its ring timeout and ends `no-answer`, as
   * if this device had not answered. The `ended` event then carries `silent: true`. With the
   * client's `ownDevices` option, this user's other devices are told (and stop ringing); without
   * it, nothing is sent at all.
   */
  silent?: boolean;
}

/**
 * The state machine behind one {@link Call}: its signaling (the invitation, the callee's devices
 * and the chosen one's channel), its timers, and when its {@link MediaPlane} does what. The
 * `CallClient` drives it with what arrives for the call; the `Call` it belongs to is the app's
 * view of it and carries its events.
 */
export class CallProtocol {
  /** The call's media: tracks, ICE servers, frame encryption, the peer connection. */
  readonly plane: MediaPlane;
  private callId: string;
  private current: CallState = 'idle';
  private ended: CallEnded | undefined;
  /** Who signals as the inviter. Differs from the call's direction after glare resolution adopted the peer's call. */
  private role: 'caller' | 'callee';
  private invitation: OutgoingInvitation | undefined;
  private readonly devices = new PeerDevices({
    message: (channel, message) => this.onMessage(channel, message),
    warn: (error) => this.sendFailed(error),
  });
  private readonly timers = new Timers<'ring'>();
  private readonly quality: QualitySampler;
  /** Whether the peer may know of this call: it invited us, or our invitation has left. */
  private peerKnows: boolean;
  /** Whether local media and ICE servers are in hand (a caller gets them after placing the call). */
  private mediaReady = false;
  /** For the call history that `ended` carries. */
  private readonly startedAt: number;
  private connectedAt: number | undefined;
  /** What the call carries now (see {@link Call.media}); the history keeps what the caller asked. */
  private currentMedia: CallMedia;
  /** This side put the call on hold. */
  private held = false;
  private readonly renegotiations: RateWindow;

  constructor(
    private readonly context: CallContext,
    private readonly call: Call,
    callId: string,
  ) {
    this.role = call.direction === 'outgoing' ? 'caller' : 'callee';
    this.peerKnows = this.role === 'callee';
    this.callId = callId;
    this.startedAt = context.options.now();
    this.currentMedia = call.askedMedia;
    this.renegotiations = new RateWindow(MAX_RENEGOTIATIONS, RENEGOTIATION_WINDOW_MS, context.options.now);
    this.plane = new MediaPlane(context, (state) => {
      this.announceMedia();
      call.emit('local-media', state);
      this.updateMedia();
    });
    this.quality = new QualitySampler({
      intervalMs: context.options.qualityIntervalMs,
      stats: () => this.plane.getStats(),
      reconnecting: () => this.current === 'reconnecting',
      report: (quality) => call.emit('quality', quality),
    });
  }

  get id(): string {
    return this.callId;
  }

  get state(): CallState {
    return this.current;
  }

  get endedWith(): CallEnded | undefined {
    return this.ended;
  }

  /** {@link Call.quality}. */
  get lastQuality(): CallQuality | undefined {
    return this.quality.latest;
  }

  /** {@link Call.media}. */
  get media(): CallMedia {
    return this.currentMedia;
  }

  /** {@link Call.onHold}. */
  get onHold(): boolean {
    return this.held;
  }

  /** {@link Call.accept}. */
  async accept(options: MediaOptions = {}): Promise<void> {
    if (this.current !== 'incoming') throw new SealcallError('INVALID_STATE', `cannot accept a call that is ${this.current}`);
    this.timers.clear('ring');
    this.move('accepted');
    await this.prepareMedia(options);
    if (this.hasEnded()) throw new SealcallError('INVALID_STATE', 'the call ended while accepting');
    this.startSession('offerer');
  }

  /** {@link Call.reject}. */
  async reject(options: RejectOptions = {}): Promise<void> {
    if (this.current !== 'incoming') throw new SealcallError('INVALID_STATE', `cannot reject a call that is ${this.current}`);
    if (!options.silent) return this.endByUser('rejected');
    this.move('hangup-started');
    this.finish('rejected', { silent: true });
    // Sent once ended here, so that this device's own echo of it finds nothing to end.
    this.context.declinedSilently(this.call);
  }

  /** {@link Call.setOnHold}. */
  setOnHold(held: boolean): void {
    if (!this.live()) throw new SealcallError('INVALID_STATE', `cannot hold a call that is ${this.current}`);
    if (held === this.held) return;
    this.held = held;
    this.pauseMedia();
    this.announceMedia();
  }

  /** {@link Call.addVideo}. */
  async addVideo(stream?: MediaStream): Promise<void> {
    if (!this.live()) throw new SealcallError('INVALID_STATE', `cannot add video to a call that is ${this.current}`);
    await this.plane.local.addVideo(stream);
  }

  /** {@link Call.removeVideo}. */
  async removeVideo(): Promise<void> {
    if (!this.live()) throw new SealcallError('INVALID_STATE', `cannot remove video from a call that is ${this.current}`);
    await this.plane.local.removeVideo();
  }

  /** {@link Call.hangup}. */
  async hangup(): Promise<void> {
    if (this.current === 'disconnected' || this.current === 'disconnecting') return;
    if (this.current === 'incoming') return this.reject();
    await this.endByUser('hangup');
  }

  /** {@link Call.rotateFrameKey}. */
  async rotateFrameKey(): Promise<number> {
    const kid = this.live() ? await this.plane.rotateFrameKey() : undefined;
    if (kid === undefined) throw new SealcallError('INVALID_STATE', 'frame keys rotate during a connected call with frame encryption');
    this.sendSignal({ type: 'key-update', kid });
    return kid;
  }

  /** {@link Call.send}. */
  send(data: Uint8Array | string): void {
    if (!this.live() || !this.plane.send(data)) {
      throw new SealcallError('INVALID_STATE', 'the data channel opens when the call is connected');
    }
  }

  /**
   * Caller: outgoing at once, before anything is awaited (the user sees the call the moment they
   * place it, as CallKit expects), then get media and ICE servers, send the invitation, ring.
   */
  async start(invitation: OutgoingInvitation, options: MediaOptions): Promise<void> {
    this.invitation = invitation;
    invitation.replies((reply) => this.onReply(reply));
    this.move('placed');
    await this.prepareMedia(options);
    if (this.hasEnded()) return;
    // Glare adopted the peer's call while media was being prepared: answer it, invite nobody.
    if (this.invitation !== invitation) {
      this.startSession('offerer');
      return;
    }
    const sending = invitation.send(this.context.options.sendTimeoutMs);
    this.peerKnows = true;
    this.timers.set('ring', this.context.options.ringTimeoutMs, () => this.finish('no-answer', { cancel: 'no-answer' }));
    // Settle when the transport takes the invitation (or sendTimeoutMs passed), or when the call
    // ends meanwhile (it rang out). A refused send is retried with the invitation's resends.
    const ended = new Promise<void>((resolve) => this.call.once('ended', () => resolve()));
    try {
      await Promise.race([sending, ended]);
    } catch (error) {
      const failure = toSealcallError(error, 'TRANSPORT_FAILED');
      this.sendFailed(failure);
      if (this.hasEnded()) throw failure;
    }
  }

  /**
   * A send failed; it is being retried. A transport that says it will never deliver (closed,
   * relay gone for good, queue deleted) ends a call that has not connected yet, at once, rather
   * than at its timeout; a connected call lives on, its media is peer to peer.
   */
  private sendFailed(error: SealcallError): void {
    const connected = this.current === 'connected' || this.current === 'reconnecting' || this.current === 'disconnecting';
    if (!connected && isPermanentFailure(error)) this.finish('transport-failed', { error });
    else this.warn(error);
  }

  /**
   * Callee: a fresh invitation from the contact; reply "ringing" and ring. Returns false when
   * the call cannot be taken (frame encryption required but impossible): it then ended at once.
   */
  ring(incoming: IncomingInvitation): boolean {
    const channel = this.useChannel(incoming.ring({ frameEncryption: [...this.context.frameSuites] }));
    const agreed = this.plane.agree(incoming.invite.capabilities.frameEncryption, this.context.frameSuites);
    this.move('invite-received');
    if (!agreed) {
      this.finish('media-failed', { error: e2eeUnavailable('the caller cannot encrypt frames'), notify: channel });
      return false;
    }
    const ringMs = Math.min(this.context.options.ringTimeoutMs, incoming.invite.lifetimeMs);
    this.timers.set('ring', ringMs, () => this.finish('no-answer'));
    this.plane.warmUp(this.plane.suite);
    return true;
  }

  /**
   * Glare: both called each other and the peer's call id won. This outgoing call turns into the
   * answering side of the peer's call and accepts it with the media already acquired.
   */
  adopt(incoming: IncomingInvitation): void {
    const previousId = this.callId;
    if (this.peerKnows) this.context.cancel(this.call.peer, previousId, { reason: 'cancelled' });
    this.invitation?.dispose();
    this.invitation = undefined;
    this.devices.clear();
    this.role = 'callee';
    this.callId = incoming.invite.callId;
    this.context.renamed(this.call, previousId);
    this.useChannel(incoming.ring({ frameEncryption: [...this.context.frameSuites] }));
    this.plane.agree(incoming.invite.capabilities.frameEncryption, this.context.frameSuites);
    this.timers.clear('ring');
    this.move('accepted');
    // Placed a moment ago, its media may still be on its way: start() answers once it is here.
    if (this.mediaReady) this.startSession('offerer');
  }

  /**
   * A newer invitation from the same contact replaces this call, which never connected or lost
   * its connection: the peer's side of it is gone (its `end` was overtaken or lost).
   */
  supersede(): void {
    this.finish(this.current === 'incoming' ? 'cancelled' : 'remote-hangup');
  }

  /** Whether a newer invitation from the same contact may replace this call. */
  get supersedable(): boolean {
    return this.current === 'incoming' || this.current === 'joining' || this.current === 'reconnecting';
  }

  /** True while this is an unanswered outgoing call (glare can still resolve it). */
  get awaitingAnswer(): boolean {
    return this.role === 'caller' && this.current === 'outgoing' && !this.devices.selected;
  }

  /** A device replied to the invitation (ringing, reject or busy). */
  private onReply(reply: InvitationReply): void {
    if (this.hasEnded() || this.devices.selected) {
      if (reply.type === 'ringing') reply.channel.close();
      return;
    }
    switch (reply.type) {
      case 'ringing': {
        const { channel } = reply;
        if (!this.plane.warmUpFor(this.context.frameSuites, channel.capabilities.frameEncryption)) {
          channel.close();
          this.finish('media-failed', { error: e2eeUnavailable('the callee cannot encrypt frames'), cancel: 'cancelled' });
          return;
        }
        this.devices.add(channel);
        if (this.devices.size === 1) this.call.emit('ringing');
        return;
      }
      case 'reject':
        this.finish('rejected', { cancel: 'declined-elsewhere' });
        return;
      case 'busy':
        if (this.devices.size === 0) this.finish('busy', { cancel: 'cancelled' });
    }
  }

  /** Callee: the caller withdrew the invitation (one-shot). */
  handleCancel(message: CancelMessage): void {
    // Only the caller withdraws an invitation: a cancel sent to the caller's side is not one.
    if (this.role !== 'callee') return;
    if (message.keepSession !== undefined && message.keepSession === this.devices.selected?.tag) return;
    this.finish(message.reason);
  }

  /**
   * Callee: another device of this user declined the call silently. Ends it `declined-elsewhere`
   * while it still rings here (not once answered); the caller is told nothing, and the channel
   * closes without a last acknowledgement.
   */
  declinedElsewhere(): void {
    if (this.role !== 'callee' || this.current !== 'incoming') return;
    this.finish('declined-elsewhere', { quiet: true });
  }

  private onMessage(channel: SignalingChannel, message: Message): void {
    if (this.hasEnded()) return;
    // Once a device is chosen the others are forgotten (their envelopes find no channel), and
    // the one-shot cancel sent at that moment ends them `answered-elsewhere`.
    switch (message.type) {
      case 'offer':
        if (this.role !== 'caller' || this.current !== 'outgoing') break;
        this.devices.select(channel);
        this.invitation?.stop();
        this.plane.agree(this.context.frameSuites, channel.capabilities.frameEncryption);
        this.timers.clear('ring');
        this.move('accepted');
        this.startSession('answerer');
        this.plane.handle(message);
        // Every other device of the peer stops ringing; the chosen one ignores this. Sealed after
        // the answer is on its way: it is not on the path to connected.
        this.context.cancel(this.call.peer, this.callId, { reason: 'answered-elsewhere', keepSession: channel.tag });
        return;
      case 'answer':
        if (this.role !== 'callee' || !this.plane.hasConnection) break;
        this.plane.handle(message);
        return;
      case 'renegotiate':
        if (!this.renegotiations.take()) {
          this.warn(new SealcallError('RATE_LIMITED', 'the peer renegotiates too often'));
          return;
        }
        this.plane.handle(message);
        return;
      case 'ice':
        this.plane.handle(message);
        return;
      case 'media-state': {
        const remote = this.plane.remoteMediaChanged(message);
        if (!remote) return;
        this.pauseMedia();
        this.call.emit('remote-media', remote);
        this.updateMedia();
        return;
      }
      case 'end':
        this.onRemoteEnd(channel, message.reason);
        return;
      case 'key-update':
        this.plane.followFrameKey(message.kid).catch((error: unknown) => this.warn(error));
        return;
      default:
        break;
    }
    this.warn(new SealcallError('BAD_MESSAGE', `unexpected ${message.type} while ${this.current}`));
  }

  private onRemoteEnd(channel: SignalingChannel, reason: EndReason): void {
    if (!this.devices.selected && this.role === 'caller') {
      // A device declined: every other device stops ringing.
      if (reason === 'rejected') return this.finish('rejected', { cancel: 'declined-elsewhere', keepSession: channel.tag });
      // A device failed (no microphone, …): others may still answer, unless it was the last.
      this.devices.drop(channel);
      if (this.devices.size === 0) this.finish(reason === 'hangup' ? 'remote-hangup' : reason, { cancel: 'cancelled' });
      return;
    }
    this.finish(reason === 'hangup' ? 'remote-hangup' : reason);
  }

  private startSession(role: 'offerer' | 'answerer'): void {
    const channel = this.devices.selected;
    if (!channel) return;
    try {
      this.plane.connect(role, () => channel.frameBaseKeys(), {
        send: (message) => this.sendSignal(message),
        connected: () => {
          this.move('media-connected');
          if (this.current !== 'connected') return;
          this.connectedAt ??= this.context.options.now();
          this.announceMedia();
          this.quality.start();
        },
        iceLost: () => this.move('ice-disconnected'),
        iceRecovered: () => this.move('ice-recovered'),
        failed: (reason, error) => this.finish(reason, { ...(error ? { error } : {}), notify: this.devices.selected }),
        peerLeft: () => this.finish('remote-hangup'),
        track: (track, stream) => this.call.emit('track', track, stream),
        data: (data) => this.call.emit('data', data),
        warn: (error) => this.warn(error),
      });
    } catch (error) {
      this.finish('media-failed', { error: toSealcallError(error, 'PEER_CONNECTION_FAILED'), notify: channel });
    }
  }

  /**
   * Sends to the chosen device: a failed or lost send delays the message (it is retransmitted
   * until acknowledged), never ends the call. Only a message that cannot be encoded does.
   */
  private sendSignal(message: ChannelMessage): void {
    try {
      this.devices.send(message);
    } catch (error) {
      this.finish('protocol-error', { error: toSealcallError(error, 'BAD_MESSAGE'), notify: this.devices.selected });
    }
  }

  /**
   * Tells the peer this side's whole media state: at connect, and at every change of the
   * microphone, camera, hold or screen sharing (the local side's `changed` hook fires on each).
   * The optional flags are sent only when true, so older peers read what they know.
   */
  private announceMedia(): void {
    if (!this.live()) return;
    const sharing = this.plane.local.screenSharing;
    this.sendSignal({ type: 'media-state', ...this.plane.local.state, ...(this.held ? { held: true } : {}), ...(sharing ? { screenSharing: true } : {}) });
  }

  /** Media pauses both ways while either side holds the call. */
  private pauseMedia(): void {
    this.plane.setPaused(this.held || this.plane.remoteMedia?.held === true);
  }

  /** `'video'` while either side's camera is on, once the peer's state is known. */
  private updateMedia(): void {
    const remote = this.plane.remoteMedia;
    if (!remote || this.hasEnded()) return;
    const media: CallMedia = this.plane.local.state.videoEnabled || remote.videoEnabled ? 'video' : 'audio';
    if (media === this.currentMedia) return;
    this.currentMedia = media;
    this.call.emit('media', media);
  }

  /**
   * Gets local media and ICE servers; a failure ends the call `media-failed` and is rethrown
   * (unless the call had already ended meanwhile: then it no longer matters).
   */
  private async prepareMedia(options: MediaOptions): Promise<void> {
    try {
      await this.plane.prepare(options, this.call.askedMedia === 'video');
      this.mediaReady = true;
    } catch (error) {
      if (this.hasEnded()) return;
      const failure = toSealcallError(error, 'PEER_CONNECTION_FAILED');
      this.finish('media-failed', { error: failure, notify: this.devices.selected });
      throw failure;
    }
  }

  private useChannel(channel: SignalingChannel): SignalingChannel {
    this.devices.add(channel);
    this.devices.select(channel);
    return channel;
  }

  private async endByUser(reason: 'hangup' | 'rejected'): Promise<void> {
    this.move('hangup-started');
    const channel = this.devices.selected;
    // The channel hands `end` to the transport at once and resends it until acknowledged; a
    // transport that never settles cannot keep the call (and its peer connection) open.
    if (channel) this.finish(reason, { notify: channel });
    else this.finish(reason, { cancel: 'cancelled' });
  }

  /** Reports a problem that does not end the call, naming it. */
  private warn(error: unknown): void {
    this.context.warn(error, this.callId);
  }

  /** A method, not a field read, so TypeScript does not narrow it across awaits and calls. */
  private hasEnded(): boolean {
    return this.current === 'disconnected';
  }

  /** Connected, or reconnecting after a connection: media and the data channel exist. */
  private live(): boolean {
    return this.current === 'connected' || this.current === 'reconnecting';
  }

  /** How the call ended, with its times. */
  private history(reason: EndReason, error: SealcallError | undefined, silent: boolean): CallEnded {
    const endedAt = this.context.options.now();
    const connectedAt = this.connectedAt;
    return {
      reason,
      ...(error ? { error } : {}),
      direction: this.call.direction,
      media: this.call.askedMedia,
      startedAt: this.startedAt,
      ...(connectedAt === undefined ? {} : { connectedAt }),
      endedAt,
      durationMs: connectedAt === undefined ? 0 : Math.max(0, endedAt - connectedAt),
      ...(silent ? { silent: true as const } : {}),
    };
  }

  private move(event: CallEvent): void {
    const next = nextState(this.current, event);
    if (next === undefined) return;
    const previous = this.current;
    this.current = next;
    this.call.emit('state', next, previous);
  }

  /**
   * Ends the call once: tells the peer if asked (an `end` on the chosen channel, or a one-shot
   * cancel to all its devices), then releases every timer, key, track and peer connection.
   * `silent`: the peer is told nothing, and the channel does not linger to acknowledge it either;
   * `ended` says so. `quiet`: the same, without the `silent` mark (this device did not decline).
   */
  private finish(
    reason: EndReason,
    how: {
      error?: SealcallError;
      notify?: SignalingChannel | undefined;
      cancel?: CancelReason;
      keepSession?: string;
      silent?: boolean;
      quiet?: boolean;
    } = {},
  ): void {
    if (this.current === 'disconnected') return;
    if (how.notify?.open) {
      try {
        how.notify.send({ type: 'end', reason });
      } catch {
        // Nothing more to say to a peer we cannot encode for; its own timers end its side.
      }
    }
    const { cancel, keepSession } = how;
    // A call the peer never heard of (it ended while getting media) needs no cancel.
    if (cancel && this.peerKnows) {
      this.context.cancel(this.call.peer, this.callId, { reason: cancel, ...(keepSession ? { keepSession } : {}) });
    }
    this.ended = this.history(reason, how.error, how.silent === true);
    this.quality.stop();
    this.timers.clearAll();
    this.plane.close();
    // The chosen device's channel lingers to deliver our `end` and acknowledge the peer's.
    this.devices.clear({ linger: !how.silent && !how.quiet });
    this.invitation?.dispose();
    this.invitation = undefined;
    this.move('ended');
    this.context.ended(this.call);
    this.call.emit('ended', this.ended);
    this.call.removeAllListeners();
  }
}
