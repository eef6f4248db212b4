/**
 * base64 (RFC 4648): the standard alphabet padded (§4) for push payloads, or base64url without
 * padding (§5) for addresses, exported state and text transports. Written out here because it
 * must work before libsodium has loaded and where neither `Buffer` (browsers, Hermes) nor `atob`
 * (older Hermes) can be assumed. Decoding is strict: each byte string has exactly one encoding.
 */
export type Base64Variant = 'standard' | 'url';

const ALPHABETS: Record<Base64Variant, string> = {
  standard: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
};
const VALUES: Record<Base64Variant, Map<string, number>> = {
  standard: new Map([...ALPHABETS.standard].map((c, i) => [c, i])),
  url: new Map([...ALPHABETS.url].map((c, i) => [c, i])),
};

/** Encodes bytes: `standard` is padded with `=`, `url` has no padding. */
export function toBase64(bytes: Uint8Array, variant: Base64Variant): string {
  const alphabet = ALPHABETS[variant];
  const pad = variant === 'standard' ? '=' : '';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += alphabet[(n >>> 18) & 63]! + alphabet[(n >>> 12) & 63]!;
    out += i + 1 < bytes.length ? alphabet[(n >>> 6) & 63]! : pad;
    out += i + 2 < bytes.length ? alphabet[n & 63]! : pad;
  }
  return out;
}

/**
 * Decodes what {@link toBase64} makes, strictly: the variant's alphabet only, its padding rule
 * (`standard`: padded to a multiple of 4; `url`: none), no whitespace, and zero bits wherever
 * the last character holds fewer than 6. Anything else is `undefined`.
 */
export function fromBase64(text: string, variant: Base64Variant): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined;
  let body = text;
  if (variant === 'standard') {
    if (text.length % 4 !== 0) return undefined;
    body = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  }
  if (body.length % 4 === 1) return undefined;
  const values = VALUES[variant];
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of body) {
    const v = values.get(c);
    if (v === undefined) return undefined;
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >>> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
