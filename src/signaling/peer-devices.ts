import type { PeerId } from '../transport/chat-transport.js';
import type { SignalingChannel } from './channel.js';

/** Most envelopes held per device, and most devices held for, before their reply arrives. */
const HOLD_LIMIT = 64;

/**
 * The devices of the peer taking part in one call, each with its own signaling channel (one
 * invitation can reach several devices of the same contact). Holds transport envelopes that
 * overtook their device's reply, and knows which device was chosen once one answered.
 */
export class PeerDevices {
  private readonly channels = new Map<string, SignalingChannel>();
  private readonly held = new Map<string, { from: PeerId; envelope: Uint8Array }[]>();
  private chosen: SignalingChannel | undefined;

  /** The device the call is with, once chosen. */
  get selected(): SignalingChannel | undefined {
    return this.chosen;
  }

  /** Devices known (that replied "ringing"). */
  get size(): number {
    return this.channels.size;
  }

  get(tag: string): SignalingChannel | undefined {
    return this.channels.get(tag);
  }

  /** Adds a device; returns the envelopes held for it, to be processed now. */
  add(channel: SignalingChannel): { from: PeerId; envelope: Uint8Array }[] {
    this.channels.set(channel.tag, channel);
    const held = this.held.get(channel.tag) ?? [];
    this.held.delete(channel.tag);
    return held;
  }

  /** Keeps an envelope for a device whose reply has not arrived yet (bounded; extras dropped). */
  hold(tag: string, from: PeerId, envelope: Uint8Array): void {
    const list = this.held.get(tag) ?? [];
    if (list.length >= HOLD_LIMIT || (!this.held.has(tag) && this.held.size >= HOLD_LIMIT)) return;
    list.push({ from, envelope });
    this.held.set(tag, list);
  }

  /** Chooses `channel` and forgets every other device. */
  select(channel: SignalingChannel): void {
    this.chosen = channel;
    for (const other of [...this.channels.values()]) if (other !== channel) this.drop(other);
    this.held.clear();
  }

  /** Forgets one device and wipes its keys. */
  drop(channel: SignalingChannel): void {
    this.channels.delete(channel.tag);
    channel.dispose();
    if (this.chosen === channel) this.chosen = undefined;
  }

  /** Forgets every device and wipes all keys. */
  clear(): void {
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
    this.held.clear();
    this.chosen = undefined;
  }
}
