import type { Call } from '../call/call.js';
import type { CallState } from '../call/call-state.js';

/** How long an answered call's audio waits for the OS's audio session (`audioSessionTimeoutMs`). */
export const DEFAULT_AUDIO_SESSION_TIMEOUT_MS = 2_000;

interface Followed {
  off: () => void;
  timer?: ReturnType<typeof setTimeout>;
  /** The fallback ran or was armed already: it runs once per call. */
  armed: boolean;
}

/**
 * Keeps the audio of the calls CallKit shows off until the OS activated the call audio session:
 * CallKit owns that session, and audio started before it is active is lost. The session belongs
 * to the app, not to a call, so one activation starts every call's audio and a deactivation (hold,
 * interruption) stops it. So that an OS that never says a word cannot leave a call silent, an
 * answered call (from `joining` on) starts its audio after `timeoutMs` anyway.
 */
export class AudioSessionGate {
  private active = false;
  private readonly calls = new Map<Call, Followed>();

  constructor(private readonly timeoutMs: number) {}

  /** Holds `call`'s audio until the session is active (at once if it is). */
  follow(call: Call): void {
    if (this.calls.has(call) || call.state === 'disconnected') return;
    const followed: Followed = { off: () => {}, armed: false };
    const onState = (state: CallState) => answered(state) && this.arm(call, followed);
    const onEnded = () => this.unfollow(call);
    call.on('state', onState);
    call.once('ended', onEnded);
    followed.off = () => {
      call.off('state', onState);
      call.off('ended', onEnded);
    };
    this.calls.set(call, followed);
    call.setAudioSessionActive(this.active);
    if (answered(call.state)) this.arm(call, followed);
  }

  /** The OS activated (true) or deactivated (false) the call audio session. */
  setActive(active: boolean): void {
    this.active = active;
    for (const [call, followed] of this.calls) {
      clearTimeout(followed.timer);
      call.setAudioSessionActive(active);
    }
  }

  /** Stops following every call and gives them their audio back: they carry on without CallKit. */
  dispose(): void {
    for (const call of [...this.calls.keys()]) {
      this.unfollow(call);
      call.setAudioSessionActive(true);
    }
  }

  private arm(call: Call, followed: Followed): void {
    if (followed.armed || this.active) return;
    followed.armed = true;
    followed.timer = setTimeout(() => call.setAudioSessionActive(true), this.timeoutMs);
  }

  private unfollow(call: Call): void {
    const followed = this.calls.get(call);
    if (!followed) return;
    this.calls.delete(call);
    clearTimeout(followed.timer);
    followed.off();
  }
}

function answered(state: CallState): boolean {
  return state === 'joining' || state === 'connected' || state === 'reconnecting';
}
