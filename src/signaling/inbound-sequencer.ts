import { SealcallError } from '../errors.js';
import { MAX_SACKS, type Message } from '../protocol/messages.js';
import { MessageOrderer } from './message-orderer.js';

/** How far past the acknowledged point a seq may be before it is refused (a bound on held state). */
const WINDOW = 1024;

/** What the receiving side reports back: every seq ≤ `ack` arrived, and the `sacks` above it. */
export interface AckState {
  ack: number;
  sacks: number[];
}

/**
 * The receiving half of one direction of a signaling channel: drops duplicates by `seq`, knows
 * what to acknowledge, and hands on messages as they become due. Messages whose order matters
 * (those with an `order`) wait for the ones before them; everything else is due on arrival.
 */
export class InboundSequencer {
  private cumulative = 0;
  private readonly above = new Set<number>();
  private readonly ordered = new MessageOrderer<Message>(1, (m) => m.order ?? 0);

  /** True when `seq` arrived before (its message was handled then). */
  isDuplicate(seq: number): boolean {
    return seq <= this.cumulative || this.above.has(seq);
  }

  /**
   * Checks that `seq` may be taken: `MESSAGE_TOO_LARGE` when the sender runs too far ahead of
   * what arrived (a bound on what we hold for it). Nothing is recorded.
   */
  check(seq: number): void {
    if (seq > this.cumulative + WINDOW) throw new SealcallError('MESSAGE_TOO_LARGE', 'signaling message too far ahead of the acknowledged ones');
  }

  /** Records `seq` as received (it will be acknowledged). */
  record(seq: number): void {
    this.above.add(seq);
    while (this.above.delete(this.cumulative + 1)) this.cumulative++;
  }

  /** Returns the messages now due after `message`, in order (ordered ones wait for their turn). */
  release(message: Message): Message[] {
    return message.order === undefined ? [message] : this.ordered.push(message);
  }

  /** What to acknowledge now. */
  ackState(): AckState {
    const sacks = [...this.above].sort((a, b) => a - b).slice(0, MAX_SACKS);
    return { ack: this.cumulative, sacks };
  }
}
