interface WebCrypto {
  getRandomValues(array: Uint8Array): Uint8Array;
}

/** The platform's WebCrypto (Node 19+, browsers, workers), if it has `getRandomValues`. */
function webCrypto(): WebCrypto | undefined {
  const crypto = (globalThis as { crypto?: Partial<WebCrypto> }).crypto;
  return typeof crypto?.getRandomValues === 'function' ? (crypto as WebCrypto) : undefined;
}

/**
 * Random bytes from WebCrypto's `getRandomValues`, drawn 4 KiB at a time (by default) and handed
 * out in pieces, as `ws` draws its mask keys: one call per small draw (the relay's message ids,
 * WebSocketTransport's masking keys, libsodium's 32-bit values) costs far more than the bytes. Each piece is zeroed in the pool as it is handed out, so randomness
 * already used does not stay in memory. Throws `TypeError` where there is no WebCrypto.
 */
export class RandomPool {
  private readonly pool: Uint8Array;
  private readonly crypto: WebCrypto;
  private offset: number;

  constructor(poolBytes = 4096) {
    const crypto = webCrypto();
    if (!crypto) throw new TypeError('RandomPool needs WebCrypto (globalThis.crypto.getRandomValues)');
    this.crypto = crypto;
    this.pool = new Uint8Array(poolBytes);
    this.offset = poolBytes;
  }

  /** The next `length` random bytes, a copy of their own. Throws `RangeError` past the pool's size. */
  bytes(length: number): Uint8Array {
    const at = this.take(length);
    const out = this.pool.slice(at, at + length);
    this.pool.fill(0, at, at + length);
    return out;
  }

  /** The next random unsigned 32-bit value. */
  uint32(): number {
    const at = this.take(4);
    const p = this.pool;
    const value = (p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16) | (p[at + 3]! << 24)) >>> 0;
    p.fill(0, at, at + 4);
    return value;
  }

  /** Claims `length` bytes of the pool, drawing a fresh pool first if fewer are left. */
  private take(length: number): number {
    if (length > this.pool.length) throw new RangeError(`at most ${this.pool.length} bytes at a time`);
    if (this.offset + length > this.pool.length) {
      this.crypto.getRandomValues(this.pool);
      this.offset = 0;
    }
    this.offset += length;
    return this.offset - length;
  }
}

/** What libsodium.js calls for randomness: its module's `getRandomValue` (one 32-bit value per call). */
interface RandomSource {
  getRandomValue?: () => number;
}

/**
 * Makes libsodium.js draw its randomness from a {@link RandomPool}. libsodium.js asks its
 * JavaScript host for every random byte separately (`randombytes_buf(32)` calls `getRandomValue`
 * 32 times), and its default host function makes a CSPRNG call for each (Node:
 * `crypto.randomBytes(4)`), so a key pair cost ~220 µs, ~180 of them in those calls: the relay
 * makes one per connection, and `crypto_box_seal` one per sealed-sender header.
 *
 * The bytes are WebCrypto's `getRandomValues`, the same generator libsodium.js falls back to.
 * libsodium.js checks for this hook before installing its own, so setting it is supported. Left
 * alone where the provider has no such hook (react-native-libsodium: native randomness) or there
 * is no WebCrypto. Returns whether it was installed.
 */
export function poolRandomness(provider: object): boolean {
  // libsodium-wrappers exposes the module it wraps as `libsodium` (not in its types).
  const module = (provider as { libsodium?: RandomSource }).libsodium;
  if (typeof module?.getRandomValue !== 'function' || !webCrypto()) return false;
  const pool = new RandomPool();
  module.getRandomValue = () => pool.uint32();
  return true;
}
