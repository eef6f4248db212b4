/**
 * Frame encryption (RFC 9605 SFrame) for WebRTC encoded frames: the shared vocabulary of the
 * frame crypto (src/crypto/frame/), the worker that runs it, and the call layer.
 */

/** Cipher suites sealcall implements, by the name used in capabilities. */
export const FRAME_SUITES = {
  /**
   * Default: ChaCha20-Poly1305 (libsodium, synchronous), SHA-256 key schedule, 16-byte tag.
   * A private-use suite id (RFC 9605 §8.1 reserves 0xF000–0xFFFF).
   */
  'chacha20poly1305': { id: 0xf001, name: 'CHACHA20_POLY1305_SHA256_128', keyBytes: 32, nonceBytes: 12, tagBytes: 16 },
  /** RFC 9605 suite 0x0004 AES_128_GCM_SHA256_128 via WebCrypto, for standard interop. */
  'aes128gcm': { id: 0x0004, name: 'AES_128_GCM_SHA256_128', keyBytes: 16, nonceBytes: 12, tagBytes: 16 },
} as const;

/** A frame-encryption suite name as it travels in capabilities. */
export type FrameSuiteName = keyof typeof FRAME_SUITES;

/** Why a frame was dropped instead of passed on. Dropping is the only failure mode. */
export type FrameDropReason =
  | 'no-key' // no key installed yet (fail closed)
  | 'unknown-kid' // a key id this receiver does not hold (or retired past its grace)
  | 'replay' // counter seen before, or older than the replay window
  | 'auth' // authentication failed: wrong key, tampered or corrupted
  | 'malformed' // too short, bad header, clear-byte count beyond the frame
  | 'counter-exhausted'; // the sender's counter would leave the safe range

/** What one direction's frame crypto did so far. */
export interface FrameCounters {
  encrypted: number;
  decrypted: number;
  dropped: Record<FrameDropReason, number>;
}

/** What kind of encoded frame this is, which decides how many leading bytes stay in clear. */
export type FrameKind =
  | { media: 'audio'; codec: 'opus' }
  | { media: 'video'; codec: 'vp8'; keyFrame: boolean };
