import SimplePeer from 'simple-peer';
import type { WebRtcImplementation } from './types.js';

/** simple-peer methods that {@link PatchedPeer} overrides or calls (pinned to 9.11.1). */
interface SimplePeerInternals {
  _onIceStateChange(this: PatchedPeer): void;
  _onConnectionStateChange(this: PatchedPeer): void;
}
const simplePeer = SimplePeer.prototype as unknown as SimplePeerInternals;

/**
 * simple-peer with its quirks neutralised: ICE `failed` is reported, not fatal (an ICE restart
 * may recover it, and simple-peer has no restart of its own); offers can carry `iceRestart`;
 * remote descriptions are applied with a promise so their candidates can follow in order; an
 * offer or answer is signalled as created, never read back from the connection (see
 * setAndSignal). It reaches into simple-peer's internals, which is why simple-peer is pinned to
 * 9.11.1.
 */
export class PatchedPeer extends SimplePeer {
  declare _pc: RTCPeerConnection | null;
  declare _wrtc: WebRtcImplementation;
  declare _iceCompleteTimer: ReturnType<typeof setTimeout> | null;
  declare offerOptions: RTCOfferOptions;
  declare answerOptions: RTCAnswerOptions;
  declare sdpTransform: (sdp: string) => string;
  declare initiator: boolean;
  declare destroying: boolean;
  declare _needsNegotiation: () => void;
  declare _requestMissingTransceivers: () => void;
  /** simple-peer's record of what it sends: track → stream → sender (null once destroyed). */
  declare _senderMap: Map<MediaStreamTrack, Map<MediaStream, RTCRtpSender>> | null;
  /** The next offer restarts ICE. */
  iceRestartPending = false;
  /** Runs right before every offer and answer is created (frame protection, codec choice). */
  beforeLocalDescription: (() => void) | undefined;

  _onIceStateChange(): void {
    const pc = this._pc;
    if (!this.destroyed && pc?.iceConnectionState === 'failed') {
      // simple-peer would destroy itself here; report it like any other state instead.
      this.emit('iceStateChange', pc.iceConnectionState, pc.iceGatheringState);
      return;
    }
    simplePeer._onIceStateChange.call(this);
  }

  _onConnectionStateChange(): void {
    // connectionState is `failed` when ICE failed (recoverable by a restart) or DTLS failed (not).
    if (this._pc?.connectionState === 'failed' && this._pc.iceConnectionState === 'failed') return;
    simplePeer._onConnectionStateChange.call(this);
  }

  _createOffer(): void {
    const pc = this._pc;
    if (this.destroyed || !pc) return;
    this.beforeLocalDescription?.();
    const options = this.iceRestartPending ? { ...this.offerOptions, iceRestart: true } : this.offerOptions;
    this.iceRestartPending = false;
    this.setAndSignal(pc.createOffer(options), 'ERR_CREATE_OFFER');
  }

  _createAnswer(): void {
    const pc = this._pc;
    if (this.destroyed || !pc) return;
    this.setAndSignal(pc.createAnswer(this.answerOptions), 'ERR_CREATE_ANSWER');
  }

  /**
   * simple-peer's offer and answer steps, as sealcall uses them (trickle): set the description,
   * then signal it. simple-peer signals the connection's live `localDescription` instead, which
   * @roamhq/wrtc serializes on the JavaScript thread while its signaling thread adds the
   * candidates it gathers to it: that crashed the process (a segfault in `SdpSerialize`) in about
   * half of the 200-call runs of test/load/sequential.load.ts. The description created here is
   * the same less those candidates, and they are signalled on their own anyway.
   */
  private setAndSignal(created: Promise<RTCSessionDescriptionInit>, createError: string): void {
    created
      .then((description) => {
        const pc = this._pc;
        if (this.destroyed || !pc) return;
        description.sdp = this.sdpTransform(description.sdp ?? '');
        const signal = () => {
          if (this.destroyed) return;
          this.emit('signal', { type: description.type, sdp: description.sdp });
          if (description.type === 'answer' && !this.initiator) this._requestMissingTransceivers();
        };
        pc.setLocalDescription(description)
          .then(signal)
          .catch((error: unknown) => this.destroy(withCode(error, 'ERR_SET_LOCAL_DESCRIPTION')));
      })
      .catch((error: unknown) => this.destroy(withCode(error, createError)));
  }

  /** simple-peer's `signal({ sdp })`, but awaitable and rejecting instead of self-destroying. */
  async applyRemoteDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<void> {
    const pc = this._pc;
    if (!pc || this.destroyed || this.destroying) return;
    await pc.setRemoteDescription(new this._wrtc.RTCSessionDescription(description));
    if (this.destroyed || this.destroying) return;
    if (description.type !== 'offer') return;
    // Still in the task that applied the offer: its new transceivers get their frame transforms
    // before Chromium would short-circuit them (see FrameAttachment).
    this.beforeLocalDescription?.();
    this._createAnswer();
  }

  /** The sender that sends `track`, from simple-peer's own record of the senders it added. */
  senderOf(track: MediaStreamTrack): RTCRtpSender | undefined {
    const streams = this._senderMap?.get(track);
    return streams ? streams.values().next().value : undefined;
  }

  /**
   * Records that `previous`'s sender now sends `next`, as simple-peer's own replaceTrack does
   * (which cannot be awaited), so its removeTrack and replaceTrack find the sender by `next`.
   */
  senderMoved(previous: MediaStreamTrack, next: MediaStreamTrack): void {
    const streams = this._senderMap?.get(previous);
    if (!streams || !this._senderMap) return;
    this._senderMap.delete(previous);
    this._senderMap.set(next, streams);
  }

  /** simple-peer leaves its 5 s "ICE complete" timer running after destroy(). */
  clearIceCompleteTimer(): void {
    if (this._iceCompleteTimer) clearTimeout(this._iceCompleteTimer);
    this._iceCompleteTimer = null;
  }
}

/** simple-peer's error convention: an Error with a `code` (a frozen one is wrapped). */
function withCode(error: unknown, code: string): Error {
  const base = error instanceof Error ? error : new Error(String(error));
  try {
    Object.assign(base, { code });
    return base;
  } catch {
    return Object.assign(new Error(base.message, { cause: base }), { code });
  }
}
