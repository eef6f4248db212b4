import type { SealcallError } from '../errors.js';
import type { Message } from '../protocol/messages.js';
import type { ChannelMessage, SignalingChannel } from './channel.js';

/** Where a call's device channels report: each message due, and failed sends (being retried). */
export interface DeviceSink {
  message(channel: SignalingChannel, message: Message): void;
  warn(error: SealcallError): void;
}

/**
 * The devices of the peer taking part in one call, each with its own signaling channel (one
 * invitation can reach several devices of the same contact), and which one was chosen once one
 * answered.
 */
export class PeerDevices {
  private readonly channels = new Map<string, SignalingChannel>();
  private chosen: SignalingChannel | undefined;

  constructor(private readonly sink: DeviceSink) {}

  /** The device the call is with, once chosen. */
  get selected(): SignalingChannel | undefined {
    return this.chosen;
  }

  /** Devices known (that replied "ringing"). */
  get size(): number {
    return this.channels.size;
  }

  /** Takes a device's channel; its messages and warnings go to the sink from now on. */
  add(channel: SignalingChannel): void {
    channel.attach({
      messages: (messages) => {
        for (const message of messages) this.sink.message(channel, message);
      },
      warn: (error) => this.sink.warn(error),
    });
    this.channels.set(channel.tag, channel);
  }

  /**
   * Sends on the chosen device's channel, which retransmits until acknowledged; nothing when no
   * device is chosen or its channel closed. Returns the channel used.
   * @throws SealcallError when the message cannot be encoded (e.g. `MESSAGE_TOO_LARGE`).
   */
  send(message: ChannelMessage): SignalingChannel | undefined {
    const channel = this.chosen;
    if (!channel?.open) return undefined;
    channel.send(message);
    return channel;
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
