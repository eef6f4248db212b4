import type { CallQuality } from '../index.js';
import { levelBar } from './audio.js';
import { minutes, qualityText } from './format.js';
import type { CliEvent } from './output.js';

/** The call as the status line shows it. */
interface CallView {
  peer: string;
  state: string;
  /** Caller side: the callee's device rings (until then the invitation is on its way). */
  ringing: boolean;
  secondsLeft?: number;
  path?: string;
  e2ee?: string;
  connectedAt?: number;
  audio?: { levelDb: number; audible: boolean; frequencyHz: number };
  quality?: CallQuality;
  muted: boolean;
  peerMuted: boolean;
  /** The peer put the call on hold. */
  peerHeld: boolean;
  /** The peer shares its screen. */
  peerSharing: boolean;
}

/**
 * The one-line summary at the bottom of a terminal, e.g.
 * `bob: connected 0:42 · direct · e2ee transport · ▮▮▮▮▮▮▮▯▯▯ -15 dB 880 Hz · good: rtt 1 ms, loss 0%, ↑62 ↓57 kbps`.
 * It is kept up to date from the same events the other outputs print, so it cannot disagree
 * with them; the meter's readings, twice a second, keep the call's duration current.
 */
export class StatusLine {
  private name = '';
  private relay = 'connected';
  private call: CallView | undefined;

  apply(e: CliEvent): void {
    const call = this.call;
    switch (e.event) {
      case 'ready':
        this.name = e.name;
        return;
      case 'transport':
        this.relay = e.status;
        return;
      case 'outgoing':
        this.call = { peer: e.peer, state: 'outgoing', ringing: false, muted: false, peerMuted: false, peerHeld: false, peerSharing: false };
        return;
      case 'incoming':
        this.call = { peer: e.peer, state: 'incoming', ringing: true, muted: false, peerMuted: false, peerHeld: false, peerSharing: false };
        this.call.secondsLeft = Math.round(e.ringTimeoutMs / 1000);
        return;
      case 'ended':
        this.call = undefined;
        return;
    }
    if (!call) return;
    switch (e.event) {
      case 'ringing':
        call.ringing = true;
        return;
      case 'countdown':
        call.secondsLeft = e.secondsLeft;
        return;
      case 'state':
        call.state = e.state;
        return;
      case 'connected':
        call.connectedAt = Date.now();
        call.path = e.path;
        call.e2ee = e.e2ee;
        return;
      case 'muted':
        call.muted = e.muted;
        return;
      case 'remote-media':
        call.peerMuted = e.audioMuted;
        call.peerHeld = e.held;
        call.peerSharing = e.screenSharing;
        return;
      case 'audio':
        call.audio = e;
        return;
      case 'quality':
        call.quality = e;
    }
  }

  text(): string {
    const call = this.call;
    // Who this peer is matters between calls; during one, the row is needed for the call.
    const parts = call ? [] : [this.name || 'sealcall', 'no call'];
    if (this.relay !== 'connected') parts.push(`relay ${this.relay}`);
    if (!call) return parts.join(' · ');
    const live = call.state === 'connected' || call.state === 'reconnecting';
    const duration = live && call.connectedAt !== undefined ? ` ${minutes(Date.now() - call.connectedAt)}` : '';
    parts.push(`${call.peer}: ${describeState(call)}${duration}`);
    const ringing = call.state === 'outgoing' || call.state === 'incoming';
    if (ringing && call.secondsLeft !== undefined) parts.push(`${call.secondsLeft} s left`);
    if (call.path) parts.push(call.path);
    if (call.e2ee) parts.push(`e2ee ${call.e2ee}`);
    if (call.muted) parts.push('mic off');
    if (call.peerHeld) parts.push(`held by ${call.peer}`);
    if (call.peerSharing) parts.push(`${call.peer} sharing screen`);
    if (call.peerMuted) parts.push(`${call.peer}'s mic off`);
    // Last the live readings, the meter's twice a second, then the widest, quality (its level
    // first): a narrow terminal cuts the end of the row.
    if (live && call.audio) {
      const { levelDb, audible, frequencyHz } = call.audio;
      parts.push(audible ? `${levelBar(levelDb, 8)} ${frequencyHz.toFixed(0)} Hz` : 'silent');
    }
    if (live && call.quality) parts.push(qualityText(call.quality, { brief: true }));
    return parts.join(' · ');
  }
}

function describeState(call: CallView): string {
  switch (call.state) {
    case 'outgoing':
      return call.ringing ? 'ringing' : 'calling';
    case 'incoming':
      return 'incoming call, "accept" or "reject"';
    case 'joining':
      return 'connecting';
    default:
      return call.state;
  }
}
