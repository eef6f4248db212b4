import { SealcallError } from '../../errors.js';
import { sodium } from '../sodium.js';

/** ChaCha20-Poly1305 key length. */
const CIPHER_KEY_BYTES = 32;
/** Poly1305 tag length. */
export const TAG_BYTES = 16;
/**
 * Highest nonce we use. Noise reserves 2^64−1; we stop at 2^53−1 so counters stay exact JS
 * numbers. No signaling channel comes near it.
 */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER - 1;

/**
 * Noise CipherState (§5.1) for ChaChaPoly: a key and a 64-bit nonce counter. `encryptAt` and
 * `decryptAt` take an explicit nonce for transports that reorder (§11.4).
 */
export class CipherState {
  private key: Uint8Array | undefined;
  private counter = 0;

  constructor(key?: Uint8Array) {
    if (key) this.initializeKey(key);
  }

  initializeKey(key: Uint8Array): void {
    this.wipe();
    this.key = key.slice(0, CIPHER_KEY_BYTES);
    this.counter = 0;
  }

  get hasKey(): boolean {
    return this.key !== undefined;
  }

  /** Next nonce `encryptWithAd` will use. */
  get nonce(): number {
    return this.counter;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.key) return plaintext.slice();
    const out = this.encryptAt(this.counter, ad, plaintext);
    this.counter++;
    return out;
  }

  /** On failure throws `DECRYPT_FAILED` and leaves the counter unchanged, as Noise requires. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (!this.key) return ciphertext.slice();
    const out = this.decryptAt(this.counter, ad, ciphertext);
    this.counter++;
    return out;
  }

  encryptAt(n: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return sodium().crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, null, nonceBytes(n), this.requireKey());
  }

  decryptAt(n: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const key = this.requireKey();
    if (ciphertext.length < TAG_BYTES) throw new SealcallError('DECRYPT_FAILED', 'ciphertext shorter than its tag');
    try {
      return sodium().crypto_aead_chacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonceBytes(n), key);
    } catch (cause) {
      throw new SealcallError('DECRYPT_FAILED', 'authentication failed', { cause });
    }
  }

  /** An independent copy with the same key and counter. */
  clone(): CipherState {
    const copy = new CipherState(this.key);
    copy.counter = this.counter;
    return copy;
  }

  /** Zeroes the key; the state is unusable afterwards. */
  wipe(): void {
    if (this.key) sodium().memzero(this.key);
    this.key = undefined;
  }

  private requireKey(): Uint8Array {
    if (!this.key) throw new SealcallError('DISPOSED', 'cipher state has no key');
    return this.key;
  }
}

/** Noise ChaChaPoly nonce (§12.3): 4 zero bytes, then n as 64-bit little-endian. */
function nonceBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > MAX_NONCE) {
    throw new SealcallError('COUNTER_EXHAUSTED', 'nonce out of range');
  }
  const out = new Uint8Array(12);
  const view = new DataView(out.buffer);
  view.setUint32(4, n >>> 0, true);
  view.setUint32(8, Math.floor(n / 2 ** 32), true);
  return out;
}
