import { SealcallError } from '../../errors.js';

/**
 * WebCrypto's SubtleCrypto. It exists in browsers and Web Workers (secure contexts only) and as
 * a global in Node ≥ 20, so frame crypto needs no Node built-in.
 * @throws SealcallError `INVALID_STATE` where it is missing (for example a page served over http).
 */
export function subtle(): SubtleCrypto {
  const found = globalThis.crypto?.subtle;
  if (!found) throw new SealcallError('INVALID_STATE', 'WebCrypto (crypto.subtle) is unavailable: frame encryption needs a secure context');
  return found;
}

/**
 * `bytes` typed as WebCrypto's `BufferSource`. TypeScript's DOM types demand an ArrayBuffer-backed
 * view; WebCrypto rejects SharedArrayBuffer-backed ones, so those (never seen from encoded
 * frames, but possible from an app) are copied.
 */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer) return bytes.slice() as Uint8Array<ArrayBuffer>;
  return bytes as Uint8Array<ArrayBuffer>;
}
