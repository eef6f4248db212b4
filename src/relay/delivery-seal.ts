import { createCipheriv } from 'node:crypto';
import { DELIVERY_NONCE_BYTES, deliveryAd, sealDelivery } from '../crypto/relay-keys.js';

/**
 * Bodies at least this long are sealed through Node's OpenSSL instead of libsodium's WebAssembly:
 * for a 3 KB envelope it takes about 9 µs instead of 15; below about 1.5 KB the call overhead
 * makes it slower (BENCHMARKS.md, micro costs).
 */
const NATIVE_FROM_BYTES = 1536;

/**
 * {@link sealDelivery} as the relay runs it: the same ChaCha20-Poly1305-IETF construction and the
 * same bytes (`test/relay-vectors.test.ts` pins them), from whichever implementation is faster for
 * the body's size.
 */
export function sealForRecipient(key: Uint8Array, msgId: Uint8Array, ts: number, body: Uint8Array): Uint8Array {
  if (body.length < NATIVE_FROM_BYTES) return sealDelivery(key, msgId, ts, body);
  const cipher = createCipheriv('chacha20-poly1305', key, msgId.subarray(0, DELIVERY_NONCE_BYTES), { authTagLength: 16 });
  cipher.setAAD(deliveryAd(msgId, ts), { plaintextLength: body.length });
  const sealed = new Uint8Array(body.length + 16);
  sealed.set(cipher.update(body), 0);
  cipher.final();
  sealed.set(cipher.getAuthTag(), body.length);
  return sealed;
}
