import { SealcallError } from '../errors.js';

/**
 * Sliding replay window over 64-bit message counters (IPsec style, RFC 4303 §3.4.3): accepts
 * each counter once, in any order, as long as it is within `size` of the highest one seen.
 * `check` before decrypting, `accept` only after authentication, so forgeries cannot move it.
 */
export class ReplayWindow {
  private readonly bits: Uint32Array;
  private top = -1;

  /** @param size - how far behind the newest counter a late message may be; a multiple of 32. */
  constructor(readonly size = 1024) {
    if (!Number.isInteger(size) || size <= 0 || size % 32 !== 0) {
      throw new SealcallError('INVALID_ARGUMENT', 'replay window size must be a positive multiple of 32');
    }
    this.bits = new Uint32Array(size / 32);
  }

  /** Throws `REPLAYED` if `counter` was seen or is too old. */
  check(counter: number): void {
    if (counter > this.top) return;
    if (this.top - counter >= this.size) throw new SealcallError('REPLAYED', 'message is older than the replay window');
    if (this.has(counter)) throw new SealcallError('REPLAYED', 'message was already received');
  }

  /** Records `counter` as received. Call after `check` and successful authentication. */
  accept(counter: number): void {
    this.check(counter);
    if (counter > this.top) {
      const advance = counter - this.top;
      if (advance >= this.size) this.bits.fill(0);
      else for (let c = this.top + 1; c < counter; c++) this.flip(c, false);
      this.top = counter;
    }
    this.flip(counter, true);
  }

  private has(counter: number): boolean {
    const slot = counter % this.size;
    return ((this.bits[slot >>> 5]! >>> (slot & 31)) & 1) === 1;
  }

  private flip(counter: number, on: boolean): void {
    const slot = counter % this.size;
    const mask = 1 << (slot & 31);
    const word = slot >>> 5;
    this.bits[word] = on ? this.bits[word]! | mask : this.bits[word]! & ~mask;
  }
}
