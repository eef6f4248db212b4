/** What libsodium.js calls for randomness: its module's `getRandomValue` (one 32-bit value per call). */
interface RandomSource {
  getRandomValue?: () => number;
}

interface WebCrypto {
  getRandomValues(array: Uint32Array): Uint32Array;
}

/** Values drawn from WebCrypto at a time: 4 KiB. */
const POOL_VALUES = 1024;

/**
 * Makes libsodium.js draw its randomness from WebCrypto 4 KiB at a time, as `ws` draws its mask
 * keys. libsodium.js asks its JavaScript host for every random byte separately (`randombytes_buf(32)`
 * calls `getRandomValue` 32 times), and its default host function makes a CSPRNG call for each
 * (Node: `crypto.randomBytes(4)`), so a key pair cost ~220 µs, ~180 of them in those calls: the
 * relay makes one per connection, and `crypto_box_seal` one per sealed-sender header.
 *
 * The bytes are WebCrypto's `getRandomValues`, the same generator libsodium.js falls back to;
 * each value is zeroed as it is handed out, so randomness already used does not stay in memory.
 * libsodium.js checks for this hook before installing its own, so setting it is supported.
 * Left alone where the provider has no such hook (react-native-libsodium: native randomness) or
 * there is no WebCrypto. Returns whether it was installed.
 */
export function poolRandomness(provider: object): boolean {
  // libsodium-wrappers exposes the module it wraps as `libsodium` (not in its types).
  const module = (provider as { libsodium?: RandomSource }).libsodium;
  const webCrypto = (globalThis as { crypto?: Partial<WebCrypto> }).crypto;
  if (typeof module?.getRandomValue !== 'function' || typeof webCrypto?.getRandomValues !== 'function') return false;
  const crypto = webCrypto as WebCrypto;
  const pool = new Uint32Array(POOL_VALUES);
  let next = POOL_VALUES;
  module.getRandomValue = () => {
    if (next === POOL_VALUES) {
      crypto.getRandomValues(pool);
      next = 0;
    }
    const value = pool[next]!;
    pool[next++] = 0;
    return value;
  };
  return true;
}
