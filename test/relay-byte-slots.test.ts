import { describe, expect, it } from 'vitest';
import { ByteSlots } from '../src/relay/byte-slots.js';

// The shared slabs that hold a relay's per-connection keys and per-queue ids and keys.
describe('ByteSlots', () => {
  it('keeps each record apart, across slabs (3,000 records of 96 bytes)', () => {
    const slots = new ByteSlots(96);
    const taken = Array.from({ length: 3000 }, (_, i) => {
      const slot = slots.take();
      slots.write(slot, 0, new Uint8Array(96).fill(i % 251));
      slots.write(slot, 90, Uint8Array.of(1, 2, 3));
      return slot;
    });
    expect(new Set(taken).size).toBe(3000);
    expect(slots.inUse).toBe(3000);
    for (const [i, slot] of taken.entries()) {
      expect(slots.view(slot, 0, 90).every((b) => b === i % 251)).toBe(true);
      expect([...slots.view(slot, 90, 93)]).toEqual([1, 2, 3]);
      expect(slots.view(slot, 93, 96).every((b) => b === i % 251)).toBe(true);
    }
  });

  it('zeroes a released record and hands it to the next owner; the others keep their bytes', () => {
    const slots = new ByteSlots(64);
    const a = slots.take();
    const b = slots.take();
    slots.write(a, 0, new Uint8Array(64).fill(0xaa));
    slots.write(b, 0, new Uint8Array(64).fill(0xbb));
    const viewOfA = slots.view(a, 0, 64);
    slots.release(a);
    // The secret bytes are gone at once, not when the next owner writes.
    expect(viewOfA.every((x) => x === 0)).toBe(true);
    expect(slots.inUse).toBe(1);
    expect(slots.take()).toBe(a);
    expect(slots.view(a, 0, 64).every((x) => x === 0)).toBe(true);
    expect(slots.view(b, 0, 64).every((x) => x === 0xbb)).toBe(true);
  });

  it('throws RangeError for a record it never handed out, never another record', () => {
    const slots = new ByteSlots(32);
    slots.take();
    expect(() => slots.view(-1, 0, 32)).toThrow(RangeError);
    expect(() => slots.view(1, 0, 32)).toThrow(RangeError);
    expect(() => slots.write(5, 0, new Uint8Array(1))).toThrow(RangeError);
  });
});
