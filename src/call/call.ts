import { EventEmitter } from 'eventemitter3';
import type { FrameCounters } from '../crypto/frame/types.js';
import type { CallMedia } from '../protocol/messages.js';
import type { MediaPath, StatsReport } from '../session/types.js';
import type { PeerId } from '../transport/chat-transport.js';
import type { CallContext } from './call-context.js';
import type { CallEnded, CallEvents, RemoteMediaState } from './call-events.js';
import { CallProtocol } from './call-protocol.js';
import type { CallState } from './call-state.js';
import type { MediaOptions } from './local-media.js';

export type { CallEnded, CallEvents, RemoteMediaState } from './call-events.js';
export type { MediaOptions, MediaState } from './local-media.js';

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
  /** @internal The state machine the `CallClient` drives; this class is the app's view of it. */
  readonly protocol: CallProtocol;

  /** @internal Use `CallClient.call()`; incoming calls come from the client's `incoming` event. */
  constructor(context: CallContext, init: { peer: PeerId; direction: 'outgoing' | 'incoming'; callId: string; media: CallMedia }) {
    super();
    this.peer = init.peer;
    this.direction = init.direction;
    this.media = init.media;
    this.protocol = new CallProtocol(context, this, init.callId);
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

  /** The peer's last reported media state. */
  get remoteMedia(): RemoteMediaState | undefined {
    return this.protocol.plane.remoteMedia;
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

  /** Declines an incoming call; the caller's call ends `rejected`. */
  async reject(): Promise<void> {
    return this.protocol.reject();
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
