import type { Call, CallEnded, MediaOptions, MediaState } from '../call/call.js';
import type { CallState } from '../call/call-state.js';
import type { CallPush } from './push-payload.js';
import type { PendingActions } from './pending-actions.js';
import type { CallKitCallInfo, CallKitReporter } from './types.js';

/** What a session needs from its coordinator. */
export interface SessionHost {
  readonly actions: PendingActions;
  /** Sends a report once the provider is ready (dropped if it never is). */
  report(session: CallSession, send: (reporter: CallKitReporter) => void): void;
  /** Media options for a call answered from the OS. */
  answerMedia(call: Call): MediaOptions;
  /** The bound call ended. */
  ended(session: CallSession, ended: CallEnded): void;
}

/** A pushed invitation known to CallKit before the CallClient opened it. */
export interface PushedInvitation extends CallPush {
  /** When the push was handled (ms since epoch). */
  receivedAt: number;
  /** The invitation's call id, once the client opened the push and its pair seal. */
  callId?: string;
}

/**
 * One CallKit call: a fresh UUID for one call session and, once known, the `Call` it shows.
 * Mirrors the Call's state into reports and applies OS actions to the Call, which stays the
 * single source of truth: the session never changes call state on its own.
 */
export class CallSession {
  /** The Call this UUID shows; undefined while a pushed invitation is still sealed. */
  call: Call | undefined;
  /** What the OS shows. */
  shown: CallKitCallInfo;
  /** The mute state the OS shows; compared with the Call's to report only real changes (no echo loops). */
  osMuted = false;
  /** An answer action arrived before the pushed invitation was opened: accept it once it is. */
  answerWanted = false;
  /** The user ended the call in the OS before the pushed invitation was opened: reject it once it is. */
  declined = false;
  /** The OS no longer shows this call (reset, refused report, declined): nothing more is reported. */
  osGone = false;
  /** A pushed invitation's ring timeout (the call's own, counted from the push). */
  ringTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long a delivered push may take to open before it counts as invalid. */
  openTimer: ReturnType<typeof setTimeout> | undefined;
  private connectingReported = false;
  private connectedReported = false;
  private unbind: (() => void) | undefined;

  constructor(
    readonly uuid: string,
    readonly direction: 'incoming' | 'outgoing',
    info: CallKitCallInfo,
    private readonly host: SessionHost,
    readonly push?: PushedInvitation,
  ) {
    this.shown = info;
  }

  /** Follows `call` from now on. */
  bind(call: Call): void {
    this.call = call;
    const onState = (state: CallState) => this.onState(call, state);
    const onLocalMedia = (media: MediaState) => this.onLocalMedia(media);
    const onEnded = (ended: CallEnded) => this.host.ended(this, ended);
    call.on('state', onState);
    call.on('local-media', onLocalMedia);
    call.once('ended', onEnded);
    this.unbind = () => {
      call.off('state', onState);
      call.off('local-media', onLocalMedia);
      call.off('ended', onEnded);
    };
    if (this.answerWanted) this.answer();
  }

  /** Stops following the call and its timers. */
  forget(): void {
    clearTimeout(this.ringTimer);
    clearTimeout(this.openTimer);
    this.ringTimer = this.openTimer = undefined;
    this.unbind?.();
    this.unbind = undefined;
  }

  /** The OS answered (an answer action is pending): accept, then fulfil once media is connected. */
  answer(): void {
    const call = this.call;
    if (!call) {
      this.answerWanted = true; // lock-screen answer before the invitation was opened
      return;
    }
    this.answerWanted = false;
    switch (call.state) {
      case 'incoming':
        call.accept(this.host.answerMedia(call)).catch(() => this.host.actions.fail(this.uuid, 'answer'));
        return;
      case 'joining':
        return; // answered in the app a moment ago; fulfilled on 'connected'
      case 'connected':
      case 'reconnecting':
        this.host.actions.fulfill(this.uuid, 'answer');
        return;
      default:
        this.host.actions.fail(this.uuid, 'answer');
    }
  }

  /** The OS muted or unmuted (a set-muted action is pending). */
  setMuted(muted: boolean): void {
    this.osMuted = muted;
    const call = this.call;
    if (!call || !hasMedia(call.state)) {
      this.host.actions.fulfill(this.uuid, 'set-muted'); // applied once connected
      return;
    }
    this.applyMute(call, true);
  }

  /**
   * The OS put the call on hold or took it off (a set-held action is pending): `Call.setOnHold`,
   * which pauses media both ways, tells the peer, and keeps the mute choice (hold is not a mute).
   */
  setHeld(onHold: boolean): void {
    try {
      if (!this.call) throw new Error('no call yet');
      this.call.setOnHold(onHold);
    } catch {
      this.host.actions.fail(this.uuid, 'set-held'); // not connected: nothing to hold
      return;
    }
    this.host.actions.fulfill(this.uuid, 'set-held');
  }

  private onState(call: Call, state: CallState): void {
    if (state === 'joining') {
      if (this.direction === 'outgoing' && !this.connectingReported) {
        // The callee answered: media setup begins ("started connecting").
        this.connectingReported = true;
        this.host.report(this, (r) => r.reportOutgoingConnecting(this.uuid));
      } else if (this.direction === 'incoming' && !this.host.actions.has(this.uuid, 'answer')) {
        // Answered in the app's own UI: CallKit must learn it through an answer action.
        this.host.report(this, (r) => r.requestAnswerCall(this.uuid));
      }
    }
    if (state === 'connected') {
      if (this.direction === 'outgoing' && !this.connectedReported) {
        // Only now did the remote peer really join: the call timer starts, and a call that ends
        // before this point shows as cancelled in Recents.
        this.connectedReported = true;
        this.host.report(this, (r) => r.reportOutgoingConnected(this.uuid));
      }
      this.host.actions.fulfill(this.uuid, 'answer');
      if (call.audioMuted !== this.osMuted) this.applyMute(call, false);
    }
  }

  private onLocalMedia(media: MediaState): void {
    if (media.audioMuted === this.osMuted) return;
    this.osMuted = media.audioMuted;
    this.host.report(this, (r) => r.requestSetMuted(this.uuid, media.audioMuted));
  }

  /** Applies `osMuted` to the call; if the tracks disagree, tells the OS what really happened. */
  private applyMute(call: Call, settle: boolean): void {
    const wanted = this.osMuted;
    call.setAudioMuted(wanted).then(
      (confirmed) => {
        if (settle) {
          if (confirmed === wanted) this.host.actions.fulfill(this.uuid, 'set-muted');
          else this.host.actions.fail(this.uuid, 'set-muted');
        }
        if (confirmed !== this.osMuted) {
          this.osMuted = confirmed;
          this.host.report(this, (r) => r.requestSetMuted(this.uuid, confirmed));
        }
      },
      () => settle && this.host.actions.fail(this.uuid, 'set-muted'),
    );
  }
}

function hasMedia(state: CallState): boolean {
  return state === 'connected' || state === 'reconnecting';
}
