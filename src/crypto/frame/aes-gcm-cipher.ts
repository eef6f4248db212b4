import { type FrameCipher, writeNonce } from './cipher.js';
import { bufferSource, subtle } from './web-crypto.js';

/**
 * Suite 0x0004 AES_128_GCM_SHA256_128 on WebCrypto. The CryptoKey is imported once per key,
 * non-extractable.
 *
 * Each call gets a fresh 12-byte nonce buffer although WebCrypto copies its arguments before
 * returning: reusing one would make a runtime that read it late encrypt two frames under one
 * nonce, which breaks GCM outright. 12 bytes next to a ~30 µs WebCrypto call is not worth that bet.
 */
export class AesGcmCipher implements FrameCipher {
  readonly sync = false;

  private constructor(
    private readonly key: CryptoKey,
    private readonly salt: Uint8Array,
  ) {}

  /** Imports `key` (the caller may wipe it afterwards) and takes ownership of `salt`. */
  static async create(key: Uint8Array, salt: Uint8Array): Promise<AesGcmCipher> {
    const imported = await subtle().importKey('raw', bufferSource(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    return new AesGcmCipher(imported, salt);
  }

  async seal(ctr: number, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const sealed = await subtle().encrypt(this.params(ctr, aad), this.key, bufferSource(plaintext));
    return new Uint8Array(sealed);
  }

  /** Rejects with WebCrypto's OperationError when authentication fails. */
  async open(ctr: number, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
    const plain = await subtle().decrypt(this.params(ctr, aad), this.key, bufferSource(sealed));
    return new Uint8Array(plain);
  }

  wipe(): void {
    this.salt.fill(0);
  }

  private params(ctr: number, aad: Uint8Array): AesGcmParams {
    const iv = new Uint8Array(this.salt.length);
    writeNonce(iv, this.salt, ctr);
    // tagLength is left at its default, 128 bits: every extra member costs a little in each call.
    return { name: 'AES-GCM', iv, additionalData: bufferSource(aad) };
  }
}
