import { describe, expect, it } from 'vitest';
import { maskPayload } from '../src/protocol/websocket-frame.js';

// maskPayload goes 32 bits at a time over long payloads, from the first 4-byte boundary of the
// underlying buffer: every alignment, start and length must give RFC 6455's byte-by-byte result.

/** RFC 6455 §5.3 as written: payload byte i XOR key byte i mod 4. */
function maskByBytes(out: Uint8Array, from: number, to: number, key: Uint8Array): void {
  for (let i = from; i < to; i++) out[i] = out[i]! ^ key[(i - from) % 4]!;
}

describe('maskPayload', () => {
  const key = Uint8Array.of(0x9d, 0x3a, 0xc4, 0x71);

  it('matches byte-by-byte masking for every buffer alignment, start and length, and touches nothing else', () => {
    const backing = new ArrayBuffer(4_200);
    const lengths = [0, 1, 3, 4, 5, 63, 64, 65, 66, 67, 127, 128, 1_000, 3_157, 4_096];
    let cases = 0;
    for (let offset = 0; offset < 8; offset++) {
      for (let from = 0; from < 6; from++) {
        for (const length of lengths) {
          const view = new Uint8Array(backing, offset, from + length + 3);
          for (let i = 0; i < view.length; i++) view[i] = (i * 31 + offset) & 0xff;
          const expected = view.slice();
          maskByBytes(expected, from, from + length, key);
          maskPayload(view, from, from + length, key);
          expect(view).toEqual(expected);
          cases++;
        }
      }
    }
    expect(cases).toBe(8 * 6 * lengths.length);
  });

  it('undoes itself: masking twice gives the payload back', () => {
    const payload = Uint8Array.from({ length: 3_200 }, (_, i) => (i * 7) & 0xff);
    const frame = payload.slice();
    maskPayload(frame, 6, 3_200, key);
    expect(frame.subarray(6)).not.toEqual(payload.subarray(6));
    maskPayload(frame, 6, 3_200, key);
    expect(frame).toEqual(payload);
  });
});
