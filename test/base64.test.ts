import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../src/protocol/base64.js';

describe('base64 (the one codec)', () => {
  it('matches Node for every length 0..64, both variants, and decodes back', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31) & 0xff);
      const standard = toBase64(bytes, 'standard');
      const url = toBase64(bytes, 'url');
      expect(standard).toBe(Buffer.from(bytes).toString('base64'));
      expect(url).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64(standard, 'standard')).toEqual(bytes);
      expect(fromBase64(url, 'url')).toEqual(bytes);
    }
  });

  it('refuses every other spelling, so each byte string has one encoding', () => {
    for (const bad of ['QQ=A', 'QR==', 'Q===', 'QUJD\n', 'QQ', 'QUI', '-_8=', 'QQ==QQ==']) expect(fromBase64(bad, 'standard'), bad).toBeUndefined();
    for (const bad of ['QQ==', 'QR', 'Q', '+/8', 'QUJD ', 'QUI=']) expect(fromBase64(bad, 'url'), bad).toBeUndefined();
    expect(fromBase64(42 as unknown as string, 'url')).toBeUndefined();
  });
});
