import { SealcallError } from '../errors.js';

/**
 * Restores the sender's order of one direction's messages by their `seq`, because the chat
 * transport may reorder. Messages already passed are dropped; a gap holds later messages back
 * until it fills. The buffer is bounded: a peer cannot make us hold unbounded state.
 */
export class MessageOrderer<T extends { seq: number }> {
  private readonly held = new Map<number, T>();

  /**
   * @param next - the first seq expected.
   * @param capacity - most messages held while waiting for a gap to fill.
   */
  constructor(
    private next: number,
    private readonly capacity = 256,
  ) {}

  /** Adds a message; returns the messages now deliverable, in order (possibly none). */
  push(message: T): T[] {
    if (message.seq < this.next || this.held.has(message.seq)) return [];
    // The message that fills the gap is always taken: it drains the buffer instead of growing it.
    if (message.seq !== this.next && this.held.size >= this.capacity) {
      throw new SealcallError('MESSAGE_TOO_LARGE', 'too many signaling messages held out of order');
    }
    this.held.set(message.seq, message);
    const ready: T[] = [];
    for (let m = this.held.get(this.next); m; m = this.held.get(this.next)) {
      this.held.delete(this.next);
      ready.push(m);
      this.next++;
    }
    return ready;
  }
}
