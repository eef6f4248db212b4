import { SealcallError } from '../errors.js';
import type { FrameBaseKeys } from '../signaling/session.js';
import { nextBaseKey } from '../crypto/frame/index.js';
import { sodium } from '../crypto/sodium.js';
import type { FrameProtector } from '../session/types.js';

/** Most ratchet steps a key update may ask for at once: a peer cannot make us loop. */
const MAX_RATCHET_STEPS = 16;
/** Most key updates followed per {@link UPDATE_WINDOW_MS}; more are refused with `RATE_LIMITED`. */
const MAX_UPDATES = 8;
const UPDATE_WINDOW_MS = 10_000;

/**
 * The frame keys of one call: installs the per-direction base keys from the handshake into the
 * protector, and rotates them (a one-way ratchet, new key id) on request or when the peer says
 * it rotated. Base keys are wiped as soon as they are superseded or the call ends.
 */
export class FrameKeys {
  private send: { kid: number; base: Uint8Array };
  private receive: { kid: number; base: Uint8Array };
  /** When the last key updates were followed, oldest first. */
  private readonly followed: number[] = [];

  constructor(
    private readonly protector: FrameProtector,
    keys: FrameBaseKeys,
    private readonly now: () => number = Date.now,
  ) {
    this.send = { kid: 0, base: keys.send };
    this.receive = { kid: 0, base: keys.receive };
  }

  /** Installs key id 0 in both directions. */
  install(): Promise<void> {
    return Promise.all([
      this.protector.setSendKey(this.send.kid, this.send.base),
      this.protector.setReceiveKey(this.receive.kid, this.receive.base),
    ]).then(() => undefined);
  }

  /** Moves this side's sending key one step; returns the new key id to announce. */
  async rotateSend(): Promise<number> {
    this.send = this.step(this.send);
    await this.protector.setSendKey(this.send.kid, this.send.base);
    return this.send.kid;
  }

  /**
   * The peer announced key id `kid`: follow its ratchet to there. Throws `BAD_MESSAGE` for a jump
   * too far ahead, `RATE_LIMITED` for more than 8 updates in 10 s (each one costs a key
   * derivation and a key held by the frame worker).
   */
  async followReceive(kid: number): Promise<void> {
    if (kid <= this.receive.kid) return; // late or repeated announcement
    if (kid - this.receive.kid > MAX_RATCHET_STEPS) {
      throw new SealcallError('BAD_MESSAGE', 'key update jumps too far ahead');
    }
    const now = this.now();
    while (this.followed.length > 0 && this.followed[0]! <= now - UPDATE_WINDOW_MS) this.followed.shift();
    if (this.followed.length >= MAX_UPDATES) throw new SealcallError('RATE_LIMITED', 'the peer updates its frame key too often');
    this.followed.push(now);
    while (this.receive.kid < kid) this.receive = this.step(this.receive);
    await this.protector.setReceiveKey(this.receive.kid, this.receive.base);
  }

  /** Wipes the base keys still held. */
  dispose(): void {
    sodium().memzero(this.send.base);
    sodium().memzero(this.receive.base);
  }

  private step(current: { kid: number; base: Uint8Array }): { kid: number; base: Uint8Array } {
    const next = { kid: current.kid + 1, base: nextBaseKey(current.base) };
    sodium().memzero(current.base);
    return next;
  }
}
