import { SealcallError } from '../errors.js';

/**
 * Restores the sender's order of messages by a number (their `order`), because the chat
 * transport may reorder. Numbers already passed are dropped; a gap holds later messages back
 * until it fills (retransmission fills it). The buffer is bounded: a peer cannot make us hold
 * unbounded state.
 */
export class MessageOrderer<T> {
  private readonly held = new Map<number, T>();

  /**
   * @param next - the first number expected.
   * @param numberOf - reads a message's number.
   * @param capacity - most messages held while waiting for a gap to fill.
   */
  constructor(
    private next: number,
    private readonly numberOf: (message: T) => number,
    private readonly capacity = 256,
  ) {}

  /** Adds a message; returns the messages now deliverable, in order (possibly none). */
  push(message: T): T[] {
    const n = this.numberOf(message);
    if (n < this.next || this.held.has(n)) return [];
    // The message that fills the gap is always taken: it drains the buffer instead of growing it.
    if (n !== this.next && this.held.size >= this.capacity) {
      throw new SealcallError('MESSAGE_TOO_LARGE', 'too many signaling messages held out of order');
    }
    this.held.set(n, message);
    const ready: T[] = [];
    for (let m = this.held.get(this.next); m !== undefined; m = this.held.get(this.next)) {
      this.held.delete(this.next);
      ready.push(m);
      this.next++;
    }
    return ready;
  }
}
