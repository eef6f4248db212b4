import { SealcallError } from '../errors.js';

/*
 * Standard base64 (RFC 4648 §4, padded) written out here because push payloads must be read
 * synchronously before libsodium has loaded, and neither `Buffer` (not in browsers or Hermes)
 * nor `atob` (not in older Hermes) can be assumed.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUES = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Encodes bytes as padded standard base64. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += b === undefined ? '=' : ALPHABET[(n >> 6) & 63]!;
    out += c === undefined ? '=' : ALPHABET[n & 63]!;
  }
  return out;
}

/**
 * Decodes padded standard base64, strictly: no whitespace, no URL-safe alphabet, no missing or
 * misplaced padding, no non-zero bits in the last character. Throws `BAD_MESSAGE`.
 */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new SealcallError('BAD_MESSAGE', 'base64 length is not a multiple of 4');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const ch = text[i + j]!;
      const padded = last && j >= 4 - padding;
      const value = padded ? 0 : VALUES.get(ch);
      if (value === undefined || (padded && ch !== '=')) throw new SealcallError('BAD_MESSAGE', 'invalid base64');
      n = (n << 6) | value;
    }
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const keep = last ? 3 - padding : 3;
    // Canonical encoding only: the bits that padding hides must be zero.
    if (last && bytes.slice(keep).some((b) => b !== 0)) throw new SealcallError('BAD_MESSAGE', 'non-canonical base64');
    for (let k = 0; k < keep; k++) out[o++] = bytes[k]!;
  }
  return out;
}
