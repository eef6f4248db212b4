import { EventEmitter } from 'eventemitter3';
import { SealcallError, toSealcallError, type ErrorCode } from '../errors.js';
import type { FrameCounters, FrameSuiteName } from '../crypto/frame/types.js';
import type { CallMedia, CancelMessage, CancelReason, EndReason, Message } from '../protocol/messages.js';
import type { ChannelMessage, SignalingChannel } from '../signaling/channel.js';
import type { IncomingInvitation, InvitationReply, OutgoingInvitation } from '../signaling/invitation.js';
import type { PeerId } from '../transport/chat-transport.js';
import type { FrameProtector, MediaPath, StatsReport } from '../session/types.js';
import { nextState, type CallEvent, type CallState } from './call-state.js';
import type { CallContext } from './call-context.js';
import { e2eeUnavailable, negotiateSuite } from './frame-policy.js';
import { LocalMedia, type MediaOptions, type MediaState } from './local-media.js';
import { MediaConnection, type FrameSetup } from './media-connection.js';
import { PeerDevices } from '../signaling/peer-devices.js';
import { Timers } from './timers.js';

/** How a call ended. */
export interface CallEnded {
  reason: EndReason;
  /** Set when the end was caused by a failure. */
  error?: SealcallError;
}

export type { MediaOptions, MediaState } from './local-media.js';

/** The peer's camera and microphone as it last reported them. */
export type RemoteMediaState = MediaState;

/** Events of a {@link Call}. */
export interface CallEvents {
  /** The call moved from `previous` to `state`. */
  state: (state: CallState, previous: CallState) => void;
  /** Caller side: one of the callee's devices is ringing. */
  ringing: () => void;
  /** A remote media track arrived. */
  track: (track: MediaStreamTrack, stream: MediaStream) => void;
  /** A data channel message from the peer. */
  data: (data: Uint8Array) => void;
  /** The peer muted, unmuted, or switched its camera. */
  'remote-media': (media: RemoteMediaState) => void;
  /** This side's confirmed microphone/camera state changed (after `setAudioMuted`/`setVideoEnabled`). */
  'local-media': (media: MediaState) => void;
  /** The call is over; emitted once, last. */
  ended: (ended: CallEnded) => void;
}

/**
 * One call with one contact, from invitation to hang-up: the single source of truth for its
 * state. Created by `CallClient.call()` (outgoing) or delivered by the client's `incoming` event.
 */
export class Call extends EventEmitter<CallEvents> {
  /** The contact's peer id as the app named it. */
  readonly peer: PeerId;
  /** Whether this user placed the call. */
  readonly direction: 'outgoing' | 'incoming';
  /** Audio or video, as the caller asked. */
  readonly media: CallMedia;

  private callId: string;
  private current: CallState = 'idle';
  private ended: CallEnded | undefined;
  /** Who signals as the inviter. Differs from `direction` after glare resolution adopted the peer's call. */
  private role: 'caller' | 'callee';
  private invitation: OutgoingInvitation | undefined;
  /** The seq of the peer's media state shown, so an older one arriving late is ignored. */
  private remoteMediaSeq = 0;
  private readonly devices = new PeerDevices();
  private connection: MediaConnection | undefined;
  private remote: MediaStream | undefined;
  private remoteMediaState: RemoteMediaState | undefined;
  private readonly local = new LocalMedia((state) => {
    this.announceMedia();
    this.emit('local-media', state);
  });
  /** STUN/TURN servers for this call's peer connection, and whether we keep them fresh. */
  private iceServers: RTCIceServer[] = [];
  private holdsIceServers = false;
  /** The frame-encryption suite agreed with the chosen device (undefined: DTLS-SRTP only). */
  private suite: FrameSuiteName | undefined;
  /**
   * A frame protector made while ringing, so its worker has loaded (libsodium, WebAssembly) before
   * media starts: frames sent before the key is in place are dropped (fail closed).
   */
  private warmProtector: { suite: FrameSuiteName; protector: FrameProtector } | undefined;
  private readonly timers = new Timers<'ring'>();

  /** @internal Use `CallClient.call()`; incoming calls come from the client's `incoming` event. */
  constructor(
    private readonly context: CallContext,
    init: { peer: PeerId; direction: 'outgoing' | 'incoming'; callId: string; media: CallMedia },
  ) {
    super();
    this.peer = init.peer;
    this.direction = init.direction;
    this.role = init.direction === 'outgoing' ? 'caller' : 'callee';
    this.callId = init.callId;
    this.media = init.media;
  }

  /** The call id (32 hex digits). It changes once if glare resolution adopts the peer's call. */
  get id(): string {
    return this.callId;
  }

  get state(): CallState {
    return this.current;
  }

  /**
   * How media is protected end to end. `'frame'`: every encoded frame is encrypted with keys
   * from this call's handshake (SFrame), on top of DTLS-SRTP. `'transport'`: DTLS-SRTP alone,
   * still end to end because its fingerprints travel in the authenticated signaling. Known once
   * both sides' capabilities are (the callee's ringing reply; the invitation for the callee).
   */
  get e2ee(): 'frame' | 'transport' {
    return this.suite ? 'frame' : 'transport';
  }

  /** Frames encrypted, decrypted and dropped (by reason) so far; undefined without frame encryption. */
  async frameCounters(): Promise<{ send: FrameCounters; receive: FrameCounters } | undefined> {
    return this.connection?.frameCounters();
  }

  /**
   * Switches this side's frame key to the next one (a one-way ratchet, new key id) and tells
   * the peer, who keeps the old key for a grace period. Resolves with the new key id.
   */
  async rotateFrameKey(): Promise<number> {
    const connection = this.connection;
    if (!connection || !this.suite || (this.current !== 'connected' && this.current !== 'reconnecting')) {
      throw new SealcallError('INVALID_STATE', 'frame keys rotate during a connected call with frame encryption');
    }
    const kid = await connection.rotateFrameKey();
    this.sendSignal({ type: 'key-update', kid });
    return kid;
  }

  /** Tracks this side sends, once known. */
  get localStream(): MediaStream | undefined {
    return this.local.stream;
  }

  /** Tracks the peer sends, once they arrived. */
  get remoteStream(): MediaStream | undefined {
    return this.remote;
  }

  /** The confirmed microphone state. */
  get audioMuted(): boolean {
    return this.local.state.audioMuted;
  }

  /** The confirmed camera state. */
  get videoEnabled(): boolean {
    return this.local.state.videoEnabled;
  }

  /** The peer's last reported media state. */
  get remoteMedia(): RemoteMediaState | undefined {
    return this.remoteMediaState;
  }

  /** How the call ended, once it has. */
  get endedWith(): CallEnded | undefined {
    return this.ended;
  }

  /**
   * Answers an incoming call: gets local media, then sends the offer. Rejects with
   * `INVALID_STATE` unless ringing, or with the media error (the call then ends `media-failed`).
   */
  async accept(options: MediaOptions = {}): Promise<void> {
    if (this.current !== 'incoming') throw new SealcallError('INVALID_STATE', `cannot accept a call that is ${this.current}`);
    this.timers.clear('ring');
    this.move('accepted');
    await this.obtainMedia(options);
    await this.loadIceServers();
    if (this.hasEnded()) throw new SealcallError('INVALID_STATE', 'the call ended while accepting');
    this.startSession('offerer');
  }

  /** Declines an incoming call; the caller's call ends `rejected`. */
  async reject(): Promise<void> {
    if (this.current !== 'incoming') throw new SealcallError('INVALID_STATE', `cannot reject a call that is ${this.current}`);
    await this.endByUser('rejected');
  }

  /**
   * Ends the call from this side (an incoming call that is still ringing is rejected). The peer's
   * call ends `remote-hangup`, or `cancelled` if it had not been answered.
   */
  async hangup(): Promise<void> {
    if (this.current === 'disconnected' || this.current === 'disconnecting') return;
    if (this.current === 'incoming') return this.reject();
    await this.endByUser('hangup');
  }

  /**
   * Mutes or unmutes the microphone; resolves with the state the tracks confirm (muted while
   * there is no track yet). A choice made before media exists, e.g. muting while ringing, is
   * applied to the tracks when they arrive.
   */
  async setAudioMuted(muted: boolean): Promise<boolean> {
    return this.local.setAudioMuted(muted);
  }

  /** Turns the camera on or off; resolves with the state the tracks confirm. */
  async setVideoEnabled(enabled: boolean): Promise<boolean> {
    return this.local.setVideoEnabled(enabled);
  }

  /** Sends an app message over the call's data channel. `INVALID_STATE` before connected. */
  send(data: Uint8Array | string): void {
    if (!this.connection || (this.current !== 'connected' && this.current !== 'reconnecting')) {
      throw new SealcallError('INVALID_STATE', 'the data channel opens when the call is connected');
    }
    this.connection.send(data);
  }

  /** WebRTC statistics of the peer connection (empty before media setup and after the end). */
  async getStats(): Promise<StatsReport[]> {
    return this.connection ? this.connection.getStats() : [];
  }

  /** Whether media flows directly or through a TURN relay (undefined before connected). */
  async path(): Promise<MediaPath | undefined> {
    return this.connection?.path();
  }

  // ---------------------------------------------------------------------------------------------
  // Called by the CallClient.

  /** @internal Caller: get media, send the invitation, start ringing. */
  async start(invitation: OutgoingInvitation, options: MediaOptions): Promise<void> {
    this.invitation = invitation;
    invitation.replies((reply) => this.onReply(reply));
    await this.obtainMedia(options);
    await this.loadIceServers();
    if (this.hasEnded()) return;
    // Outgoing from the moment the invitation is handed over: a transport whose send resolves
    // late (a slow server ack) may deliver the reply and the offer before it does.
    const sending = invitation.send();
    this.move('invite-sent');
    this.timers.set('ring', this.context.options.ringTimeoutMs, () => this.finish('no-answer', { cancel: 'no-answer' }));
    // Settle when the transport takes the invitation, when the call ends meanwhile (it rang out),
    // or after sendTimeoutMs: a transport that never settles must not hang `client.call()`. A
    // refused send is retried with the invitation's resends, so it only warns.
    const ended = new Promise<void>((resolve) => this.once('ended', () => resolve()));
    try {
      await Promise.race([bounded(sending, this.context.options.sendTimeoutMs), ended]);
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
    if (!connected && PERMANENT_FAILURES.has(error.code)) this.finish('transport-failed', { error });
    else this.warn(error);
  }

  /**
   * @internal Callee: a fresh invitation from the contact; reply "ringing" and ring. Returns
   * false when the call cannot be taken (frame encryption required but impossible): it then
   * ended at once.
   */
  ring(incoming: IncomingInvitation): boolean {
    const channel = this.useChannel(incoming.ring({ frameEncryption: [...this.context.frameSuites] }));
    this.suite = negotiateSuite(incoming.invite.capabilities.frameEncryption, this.context.frameSuites);
    this.move('invite-received');
    if (this.context.options.frameEncryption === 'required' && !this.suite) {
      this.finish('media-failed', { error: e2eeUnavailable('the caller cannot encrypt frames'), notify: channel });
      return false;
    }
    const ringMs = Math.min(this.context.options.ringTimeoutMs, incoming.invite.lifetimeMs);
    this.timers.set('ring', ringMs, () => this.finish('no-answer'));
    this.warmUpFrames(this.suite);
    return true;
  }

  /**
   * @internal Glare: both called each other and the peer's call id won. This outgoing call turns
   * into the answering side of the peer's call and accepts it with the media already acquired.
   */
  adopt(incoming: IncomingInvitation): void {
    const previousId = this.callId;
    this.context.cancel(this.peer, previousId, { reason: 'cancelled' });
    this.invitation?.dispose();
    this.invitation = undefined;
    this.devices.clear();
    this.role = 'callee';
    this.callId = incoming.invite.callId;
    this.context.renamed(this, previousId);
    this.useChannel(incoming.ring({ frameEncryption: [...this.context.frameSuites] }));
    this.suite = negotiateSuite(incoming.invite.capabilities.frameEncryption, this.context.frameSuites);
    this.timers.clear('ring');
    this.move('accepted');
    this.startSession('offerer');
  }

  /**
   * @internal A newer invitation from the same contact replaces this call, which never connected
   * or lost its connection: the peer's side of it is gone (its `end` was overtaken or lost).
   */
  supersede(): void {
    this.finish(this.current === 'incoming' ? 'cancelled' : 'remote-hangup');
  }

  /** @internal Whether a newer invitation from the same contact may replace this call. */
  get supersedable(): boolean {
    return this.current === 'incoming' || this.current === 'joining' || this.current === 'reconnecting';
  }

  /** @internal The client's ICE servers were refreshed. */
  updateIceServers(servers: RTCIceServer[]): void {
    this.iceServers = servers;
    this.connection?.updateIceServers(servers);
  }

  /** @internal True while this is an unanswered outgoing call (glare can still resolve it). */
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
        const suite = negotiateSuite(this.context.frameSuites, channel.capabilities.frameEncryption);
        if (this.context.options.frameEncryption === 'required' && !suite) {
          channel.close();
          this.finish('media-failed', { error: e2eeUnavailable('the callee cannot encrypt frames'), cancel: 'cancelled' });
          return;
        }
        this.listen(channel);
        this.devices.add(channel);
        if (this.devices.size === 1) this.emit('ringing');
        this.warmUpFrames(suite);
        return;
      }
      case 'reject':
        this.finish('rejected', { cancel: 'declined-elsewhere' });
        return;
      case 'busy':
        if (this.devices.size === 0) this.finish('busy', { cancel: 'cancelled' });
    }
  }

  /** @internal Callee: the caller withdrew the invitation (one-shot). */
  handleCancel(message: CancelMessage): void {
    // Only the caller withdraws an invitation: a cancel sent to the caller's side is not one.
    if (this.role !== 'callee') return;
    if (message.keepSession !== undefined && message.keepSession === this.devices.selected?.tag) return;
    this.finish(message.reason);
  }

  // ---------------------------------------------------------------------------------------------

  private onMessage(channel: SignalingChannel, message: Message): void {
    // Once a device is chosen the others are forgotten (their envelopes find no channel), and
    // the one-shot cancel sent at that moment ends them `answered-elsewhere`.
    switch (message.type) {
      case 'offer':
        if (this.role !== 'caller' || this.current !== 'outgoing') break;
        this.devices.select(channel);
        this.invitation?.stop();
        this.suite = negotiateSuite(this.context.frameSuites, channel.capabilities.frameEncryption);
        this.timers.clear('ring');
        this.move('accepted');
        this.startSession('answerer');
        this.connection?.handle(message);
        // Every other device of the peer stops ringing; the chosen one ignores this. Sealed after
        // the answer is on its way: it is not on the path to connected.
        this.context.cancel(this.peer, this.callId, { reason: 'answered-elsewhere', keepSession: channel.tag });
        return;
      case 'answer':
        if (this.role !== 'callee' || !this.connection) break;
        this.connection.handle(message);
        return;
      case 'ice':
      case 'renegotiate':
        this.connection?.handle(message);
        return;
      case 'media-state':
        // It carries the whole state: the newest wins, an older one arriving late changes nothing.
        if (message.seq < this.remoteMediaSeq) return;
        this.remoteMediaSeq = message.seq;
        this.remoteMediaState = { audioMuted: message.audioMuted, videoEnabled: message.videoEnabled };
        this.emit('remote-media', this.remoteMediaState);
        return;
      case 'end':
        this.onRemoteEnd(channel, message.reason);
        return;
      case 'key-update':
        this.connection?.followFrameKey(message.kid).catch((error: unknown) => this.warn(error));
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
    const notify = () => this.devices.selected;
    const channel = this.devices.selected;
    let frame: FrameSetup | undefined;
    if (this.suite && channel) {
      const warm = this.warmProtector;
      this.warmProtector = undefined;
      if (warm && warm.suite !== this.suite) warm.protector.close();
      const protector = warm?.suite === this.suite ? warm.protector : this.context.createFrameProtector(this.suite);
      if (!protector) {
        // The peer will encrypt its frames either way: failing closed is the only safe answer.
        this.finish('media-failed', { error: e2eeUnavailable('the frame worker could not start'), notify: channel });
        return;
      }
      frame = { protector, baseKeys: channel.frameBaseKeys() };
    }
    try {
      this.connection = new MediaConnection(role, this.local.stream, this.iceServers, this.context.options, {
        send: (message) => this.sendSignal(message),
        connected: () => {
          this.move('media-connected');
          this.announceMedia();
        },
        iceLost: () => this.move('ice-disconnected'),
        iceRecovered: () => this.move('ice-recovered'),
        failed: (reason, error) => this.finish(reason, { ...(error ? { error } : {}), notify: notify() }),
        peerLeft: () => this.finish('remote-hangup'),
        track: (track, stream) => {
          this.remote = stream;
          this.emit('track', track, stream);
        },
        data: (data) => this.emit('data', data),
        warn: (error) => this.warn(error),
      }, frame);
    } catch (error) {
      this.finish('media-failed', { error: toSealcallError(error, 'PEER_CONNECTION_FAILED'), notify: notify() });
    }
  }

  /**
   * Sends on the chosen device's channel, which retransmits until acknowledged: a failed or lost
   * send delays the message, never ends the call. Only a message that cannot be encoded does.
   */
  private sendSignal(message: ChannelMessage): void {
    const channel = this.devices.selected;
    if (!channel?.open) return;
    try {
      channel.send(message);
    } catch (error) {
      this.finish('protocol-error', { error: toSealcallError(error, 'BAD_MESSAGE'), notify: channel });
    }
  }

  /** Routes a device channel's messages and warnings to this call. */
  private listen(channel: SignalingChannel): void {
    channel.attach({
      messages: (messages) => {
        for (const message of messages) {
          if (this.hasEnded()) return;
          this.onMessage(channel, message);
        }
      },
      warn: (error) => this.sendFailed(error),
    });
  }

  private announceMedia(): void {
    if (this.current !== 'connected' && this.current !== 'reconnecting') return;
    this.sendSignal({ type: 'media-state', ...this.local.state });
  }

  private async obtainMedia(options: MediaOptions): Promise<void> {
    try {
      await this.local.obtain(options, this.media === 'video', this.context.options.wrtc);
    } catch (error) {
      const failure = toSealcallError(error, 'PEER_CONNECTION_FAILED');
      this.finish('media-failed', { error: failure, notify: this.devices.selected });
      throw failure;
    }
    if (this.hasEnded()) this.local.release();
  }

  private warmUpFrames(suite: FrameSuiteName | undefined): void {
    if (!suite || this.warmProtector || this.hasEnded()) return;
    const protector = this.context.createFrameProtector(suite);
    if (protector) this.warmProtector = { suite, protector };
  }

  /** Fetches the ICE servers this call will use, and keeps them fresh while it lives. */
  private async loadIceServers(): Promise<void> {
    try {
      this.iceServers = await this.context.iceServers.get();
    } catch (error) {
      const failure = toSealcallError(error, 'PEER_CONNECTION_FAILED');
      this.finish('media-failed', { error: failure, notify: this.devices.selected });
      throw failure;
    }
    if (this.hasEnded() || this.holdsIceServers) return;
    this.holdsIceServers = true;
    this.context.iceServers.hold();
  }

  private useChannel(channel: SignalingChannel): SignalingChannel {
    this.listen(channel);
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

  private move(event: CallEvent): void {
    const next = nextState(this.current, event);
    if (next === undefined) return;
    const previous = this.current;
    this.current = next;
    this.emit('state', next, previous);
  }

  /**
   * Ends the call once: tells the peer if asked (an `end` on the chosen channel, or a one-shot
   * cancel to all its devices), then releases every timer, key, track and peer connection.
   */
  private finish(
    reason: EndReason,
    how: { error?: SealcallError; notify?: SignalingChannel | undefined; cancel?: CancelReason; keepSession?: string } = {},
  ): void {
    if (this.current === 'disconnected') return;
    if (how.notify?.open) {
      try {
        how.notify.send({ type: 'end', reason });
      } catch {
        // Nothing more to say to a peer we cannot encode for; its own timers end its side.
      }
    }
    if (how.cancel) {
      this.context.cancel(this.peer, this.callId, {
        reason: how.cancel,
        ...(how.keepSession ? { keepSession: how.keepSession } : {}),
      });
    }
    this.ended = { reason, ...(how.error ? { error: how.error } : {}) };
    this.timers.clearAll();
    this.connection?.close();
    this.connection = undefined;
    this.warmProtector?.protector.close();
    this.warmProtector = undefined;
    if (this.holdsIceServers) this.context.iceServers.release();
    this.holdsIceServers = false;
    this.local.release();
    // The chosen device's channel lingers to deliver our `end` and acknowledge the peer's.
    this.devices.clear({ linger: true });
    this.invitation?.dispose();
    this.invitation = undefined;
    this.move('ended');
    this.context.ended(this);
    this.emit('ended', this.ended);
    this.removeAllListeners();
  }

}

/** Transport errors after which retrying cannot help. */
const PERMANENT_FAILURES = new Set<ErrorCode>(['TRANSPORT_CLOSED', 'RELAY_UNREACHABLE', 'QUEUE_NOT_FOUND', 'UNKNOWN_CONTACT']);

/** `promise`, or a `TRANSPORT_FAILED` rejection if it has not settled within `ms`. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SealcallError('TRANSPORT_FAILED', `the transport did not take the message within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
