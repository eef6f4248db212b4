/** Records per slab: a slab of 96-byte records is 96 KiB. */
const RECORDS_PER_SLAB = 1024;

/**
 * Fixed-size byte records for many small owners (a relay's connections, its queues), in shared
 * slabs. A typed array of its own costs each owner about 190 to 260 bytes of JavaScript heap
 * (V8's typed array and buffer objects) on top of its bytes, and a relay holds thousands of idle
 * connections and queues of a few dozen bytes each. A released record is zeroed and handed to the
 * next owner: views are for immediate use, or for as long as the owner holds its record. Slabs
 * are kept for reuse, never given back, so this memory stays at its busiest hour's.
 */
export class ByteSlots {
  private readonly slabs: Uint8Array[] = [];
  private readonly free: number[] = [];
  private taken = 0;

  constructor(
    /** Bytes of each record. */
    readonly recordBytes: number,
  ) {}

  /** A zeroed record for a new owner; its number. */
  take(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const slot = this.taken++;
    if (slot % RECORDS_PER_SLAB === 0) this.slabs.push(new Uint8Array(this.recordBytes * RECORDS_PER_SLAB));
    return slot;
  }

  /** Bytes [`from`, `to`) of record `slot`, as a view into its slab. */
  view(slot: number, from: number, to: number): Uint8Array {
    const base = (slot % RECORDS_PER_SLAB) * this.recordBytes;
    return this.slab(slot).subarray(base + from, base + to);
  }

  /** Copies `bytes` into record `slot` from offset `at`. */
  write(slot: number, at: number, bytes: Uint8Array): void {
    this.slab(slot).set(bytes, (slot % RECORDS_PER_SLAB) * this.recordBytes + at);
  }

  /** Zeroes record `slot` and makes it the next one taken. */
  release(slot: number): void {
    this.view(slot, 0, this.recordBytes).fill(0);
    this.free.push(slot);
  }

  /** Records in use. */
  get inUse(): number {
    return this.taken - this.free.length;
  }

  private slab(slot: number): Uint8Array {
    const slab = slot >= 0 && slot < this.taken ? this.slabs[(slot / RECORDS_PER_SLAB) | 0] : undefined;
    // Only a bug gets here (an owner reading the record it gave back): fail loudly, never alias another's.
    if (!slab) throw new RangeError(`no byte record ${slot}`);
    return slab;
  }
}
