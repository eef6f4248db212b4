import { sodium } from '../sodium.js';
import { CipherState } from './cipher-state.js';
import { HASH_LEN, hash, hkdf2, hmac } from './hash.js';

/** Noise SymmetricState (§5.2) over BLAKE2b: chaining key, handshake hash, cipher. */
export class SymmetricState {
  private ck: Uint8Array;
  private h: Uint8Array;
  private readonly cipher: CipherState;

  private constructor(ck: Uint8Array, h: Uint8Array, cipher: CipherState) {
    this.ck = ck;
    this.h = h;
    this.cipher = cipher;
  }

  static initialize(protocolName: string): SymmetricState {
    const name = new TextEncoder().encode(protocolName);
    let h: Uint8Array;
    if (name.length <= HASH_LEN) {
      // Short names are zero-padded, not hashed (the easy mistake NOISE-NOTES §4 warns of).
      h = new Uint8Array(HASH_LEN);
      h.set(name);
    } else {
      h = hash(name);
    }
    return new SymmetricState(h.slice(), h, new CipherState());
  }

  get handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  mixHash(data: Uint8Array): void {
    this.h = hash(this.h, data);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf2(this.ck, ikm);
    sodium().memzero(this.ck);
    this.ck = ck;
    this.cipher.initializeKey(tempK);
    sodium().memzero(tempK);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The two transport cipher states: initiator→responder, responder→initiator. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
    const c1 = new CipherState(k1);
    const c2 = new CipherState(k2);
    sodium().memzero(k1);
    sodium().memzero(k2);
    return [c1, c2];
  }

  /**
   * A 32-byte secret for use outside Noise (frame keys), HMAC(ck, label): a PRF output under
   * the chaining key that is domain-separated from Split's HMAC(ck, empty).
   */
  exportSecret(label: Uint8Array): Uint8Array {
    if (label.length === 0) throw new Error('export label must not be empty');
    const full = hmac(this.ck, label);
    const secret = full.slice(0, 32);
    sodium().memzero(full);
    return secret;
  }

  /** An independent copy, so one initiator state can read replies from several devices. */
  clone(): SymmetricState {
    return new SymmetricState(this.ck.slice(), this.h.slice(), this.cipher.clone());
  }

  wipe(): void {
    sodium().memzero(this.ck);
    sodium().memzero(this.h);
    this.cipher.wipe();
  }
}
