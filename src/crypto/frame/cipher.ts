/**
 * One AEAD key of a frame suite, with its nonce salt. `seal`/`open` take the SFrame counter and
 * form the nonce themselves (salt XOR CTR), so no caller ever picks a nonce.
 *
 * Suites differ in timing: libsodium's ChaCha20-Poly1305 answers synchronously, WebCrypto's
 * AES-GCM with a promise. `sync` says which, so the per-frame path adds no await when it can.
 */
export interface FrameCipher {
  readonly sync: boolean;
  /** Returns `ciphertext ‖ 16-byte tag` of `plaintext`, authenticating `aad`. */
  seal(ctr: number, aad: Uint8Array, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Returns the plaintext; throws (sync) or rejects (async) when authentication fails. */
  open(ctr: number, aad: Uint8Array, sealed: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Zeroes what key bytes it holds (a non-extractable CryptoKey is simply dropped). */
  wipe(): void;
}

/**
 * nonce = salt XOR CTR, CTR right-aligned big-endian (RFC 9605 §4.4.3), written into `out`
 * (`salt.length` bytes). `ctr` is a safe integer; `>>> 0` is exact modulo 2^32 for it, and the
 * high part is below 2^21.
 */
export function writeNonce(out: Uint8Array, salt: Uint8Array, ctr: number): void {
  out.set(salt);
  const end = salt.length - 1;
  const low = ctr >>> 0;
  const high = Math.floor(ctr / 0x1_0000_0000);
  out[end]! ^= low & 0xff;
  out[end - 1]! ^= (low >>> 8) & 0xff;
  out[end - 2]! ^= (low >>> 16) & 0xff;
  out[end - 3]! ^= low >>> 24;
  out[end - 4]! ^= high & 0xff;
  out[end - 5]! ^= (high >>> 8) & 0xff;
  out[end - 6]! ^= (high >>> 16) & 0xff;
}
