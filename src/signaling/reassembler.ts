import { SealcallError } from '../errors.js';
import { LIMITS } from '../protocol/limits.js';
import type { PartMessage } from '../protocol/messages.js';

/** Most messages being reassembled at once on one channel. */
const MAX_WHOLES = 4;
/** Most bytes held in pieces on one channel. */
const MAX_HELD_BYTES = 2 * LIMITS.messageBytes;

interface Whole {
  count: number;
  pieces: (Uint8Array | undefined)[];
  received: number;
}

/**
 * Joins the pieces of messages split to fit the chat transport. What it holds is bounded (a few
 * messages, two messages' worth of bytes); a piece that does not fit is refused before it is
 * acknowledged, so the sender sends it again later.
 */
export class Reassembler {
  private readonly wholes = new Map<number, Whole>();
  private held = 0;

  /** Throws `MESSAGE_TOO_LARGE` if `part` cannot be held now, or `BAD_MESSAGE` if it contradicts its whole. */
  check(part: PartMessage): void {
    const whole = this.wholes.get(part.whole);
    if (whole && whole.count !== part.count) throw new SealcallError('BAD_MESSAGE', 'parts of one message disagree on their count');
    if (!whole && this.wholes.size >= MAX_WHOLES) throw new SealcallError('MESSAGE_TOO_LARGE', 'too many split messages in progress');
    if (this.held + part.data.length > MAX_HELD_BYTES) throw new SealcallError('MESSAGE_TOO_LARGE', 'too many bytes held in split messages');
  }

  /** Adds a checked piece; returns the joined bytes once every piece is in. */
  add(part: PartMessage): Uint8Array | undefined {
    let whole = this.wholes.get(part.whole);
    if (!whole) this.wholes.set(part.whole, (whole = { count: part.count, pieces: new Array(part.count), received: 0 }));
    if (whole.pieces[part.index]) return undefined;
    whole.pieces[part.index] = part.data;
    whole.received++;
    this.held += part.data.length;
    if (whole.received < whole.count) return undefined;
    this.wholes.delete(part.whole);
    const pieces = whole.pieces as Uint8Array[];
    const size = pieces.reduce((n, p) => n + p.length, 0);
    this.held -= size;
    if (size > LIMITS.messageBytes) throw new SealcallError('MESSAGE_TOO_LARGE', 'a split message is larger than a message may be');
    const joined = new Uint8Array(size);
    let at = 0;
    for (const piece of pieces) {
      joined.set(piece, at);
      at += piece.length;
    }
    return joined;
  }
}
