import { sodium } from '../sodium.js';
import { type FrameCipher, writeNonce } from './cipher.js';

/**
 * Suite 0xF001: libsodium's ChaCha20-Poly1305-IETF (96-bit nonce, 16-byte tag). Synchronous, so
 * one nonce buffer per key is reused: nothing else can run between writing and using it.
 */
export class ChaChaCipher implements FrameCipher {
  readonly sync = true;
  private readonly nonce: Uint8Array;

  /** Takes ownership of `key` and `salt` (wiped by {@link wipe}). */
  constructor(
    private readonly key: Uint8Array,
    private readonly salt: Uint8Array,
  ) {
    this.nonce = new Uint8Array(salt.length);
  }

  seal(ctr: number, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    writeNonce(this.nonce, this.salt, ctr);
    return sodium().crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, aad, null, this.nonce, this.key);
  }

  /** Throws libsodium's error when authentication fails; the caller maps it to a drop. */
  open(ctr: number, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    writeNonce(this.nonce, this.salt, ctr);
    return sodium().crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, aad, this.nonce, this.key);
  }

  wipe(): void {
    const s = sodium();
    s.memzero(this.key);
    s.memzero(this.salt);
    s.memzero(this.nonce);
  }
}
