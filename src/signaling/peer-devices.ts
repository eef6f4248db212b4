import type { SignalingChannel } from './channel.js';

/**
 * The devices of the peer taking part in one call, each with its own signaling channel (one
 * invitation can reach several devices of the same contact), and which one was chosen once one
 * answered.
 */
export class PeerDevices {
  private readonly channels = new Map<string, SignalingChannel>();
  private chosen: SignalingChannel | undefined;

  /** The device the call is with, once chosen. */
  get selected(): SignalingChannel | undefined {
    return this.chosen;
  }

  /** Devices known (that replied "ringing"). */
  get size(): number {
    return this.channels.size;
  }

  add(channel: SignalingChannel): void {
    this.channels.set(channel.tag, channel);
  }

  /** Chooses `channel` and closes every other device's channel. */
  select(channel: SignalingChannel): void {
    this.chosen = channel;
    for (const other of [...this.channels.values()]) if (other !== channel) this.drop(other);
  }

  /** Forgets one device and closes its channel. */
  drop(channel: SignalingChannel): void {
    this.channels.delete(channel.tag);
    channel.close();
    if (this.chosen === channel) this.chosen = undefined;
  }

  /**
   * Forgets every device. The chosen channel lingers when asked (to deliver a last `end` and
   * acknowledge the peer's), the others close at once.
   */
  clear(options: { linger: boolean } = { linger: false }): void {
    for (const channel of this.channels.values()) channel.close(channel === this.chosen ? options : { linger: false });
    this.channels.clear();
    this.chosen = undefined;
  }
}
