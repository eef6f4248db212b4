import { sodium, type Sodium } from './sodium.js';

/*
 * libsodium's ChaCha20-Poly1305-IETF and keyed BLAKE2b-256, called straight on the WebAssembly
 * module that libsodium-wrappers loads, through one scratch region kept for the process.
 *
 * Why: a wrapper call mallocs and frees each argument inside the module, checks them in a dozen
 * small functions and copies its result out through two typed arrays. On the relay's path (a seal
 * per stored message, a keyed hash per `ack`, and the same on its clients) that is about a third
 * of a small body's seal. These are the same libsodium functions on the same bytes (tested against
 * the wrapper); only the marshalling differs. What does not fit the scratch, a key or nonce of the
 * wrong length (the wrapper's own error then), and a libsodium provider without the module (such
 * as react-native-libsodium) take the wrapper. So does a module whose calls do not give the
 * wrapper's bytes on a first check (a libsodium-wrappers build with another calling convention,
 * such as 64-bit lengths as BigInt).
 *
 * Keys and plaintext sit in the scratch only during a call: it is zeroed before the call returns.
 */

/** The part of the Emscripten module (`sodium.libsodium`) used here. Lengths are split into two 32-bit halves. */
interface SodiumModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _crypto_aead_chacha20poly1305_ietf_encrypt(
    c: number,
    clenP: number,
    m: number,
    mlenLow: number,
    mlenHigh: number,
    ad: number,
    adlenLow: number,
    adlenHigh: number,
    nsec: number,
    npub: number,
    k: number,
  ): number;
  _crypto_aead_chacha20poly1305_ietf_decrypt(
    m: number,
    mlenP: number,
    nsec: number,
    c: number,
    clenLow: number,
    clenHigh: number,
    ad: number,
    adlenLow: number,
    adlenHigh: number,
    npub: number,
    k: number,
  ): number;
  _crypto_generichash(out: number, outlen: number, input: number, inlenLow: number, inlenHigh: number, key: number, keylen: number): number;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HASH_BYTES = 32;
/** Scratch layout: key, nonce, associated data, hash output, then the data (input, then output). */
const KEY_AT = 0;
const NONCE_AT = 32;
const AD_AT = 48;
const AD_MAX = 64;
const HASH_AT = AD_AT + AD_MAX;
const DATA_AT = HASH_AT + HASH_BYTES;
/** 16 KiB in the module's heap: a 3,152-byte relay body and its sealed form fit with room to spare. */
const SCRATCH_BYTES = 16 * 1024;
const DATA_MAX = SCRATCH_BYTES - DATA_AT;

interface Scratch {
  module: SodiumModule;
  base: number;
}

/** The scratch of the libsodium instance in use (undefined: the wrapper only), made at first use. */
let state: { instance: Sodium; scratch: Scratch | undefined } | undefined;

function scratch(): Scratch | undefined {
  const instance = sodium();
  if (state?.instance !== instance) state = { instance, scratch: makeScratch(instance) };
  return state.scratch;
}

function makeScratch(instance: Sodium): Scratch | undefined {
  const module = (instance as unknown as { libsodium?: Partial<SodiumModule> }).libsodium;
  if (
    !module ||
    !(module.HEAPU8 instanceof Uint8Array) ||
    typeof module._malloc !== 'function' ||
    typeof module._crypto_aead_chacha20poly1305_ietf_encrypt !== 'function' ||
    typeof module._crypto_aead_chacha20poly1305_ietf_decrypt !== 'function' ||
    typeof module._crypto_generichash !== 'function'
  ) {
    return undefined;
  }
  const base = module._malloc(SCRATCH_BYTES);
  if (!base) return undefined;
  const scratch = { module: module as SodiumModule, base };
  return agreesWithWrapper(instance, scratch) ? scratch : undefined;
}

/** Whether sealing, opening and hashing through `scratch` give the wrapper's bytes (never throws). */
function agreesWithWrapper(instance: Sodium, scratch: Scratch): boolean {
  try {
    const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 29 + seed) & 0xff);
    const [message, ad, nonce, key] = [bytes(100, 1), bytes(24, 2), bytes(NONCE_BYTES, 3), bytes(KEY_BYTES, 4)];
    const sealed = sealIn(scratch, message, ad, nonce, key);
    return (
      instance.memcmp(sealed, instance.crypto_aead_chacha20poly1305_ietf_encrypt(message, ad, null, nonce, key)) &&
      instance.memcmp(openIn(scratch, sealed, ad, nonce, key) ?? new Uint8Array(0), message) &&
      instance.memcmp(hashIn(scratch, message, key), instance.crypto_generichash(HASH_BYTES, message, key))
    );
  } catch {
    return false;
  }
}

/** ChaCha20-Poly1305-IETF encryption: `message` sealed, its 16-byte tag last. */
export function chachaSeal(message: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const s = scratch();
  if (!s || !fits(message.length * 2 + TAG_BYTES, ad, nonce, key)) {
    return sodium().crypto_aead_chacha20poly1305_ietf_encrypt(message, ad, null, nonce, key);
  }
  return sealIn(s, message, ad, nonce, key);
}

/**
 * ChaCha20-Poly1305-IETF decryption. Throws (as the wrapper does) if `sealed` does not
 * authenticate. With `inPlace`, the plaintext is written over the start of `sealed` and returned
 * as a view of it (no array of its own); `sealed` is left as it was when it does not authenticate.
 */
export function chachaOpen(sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array, inPlace = false): Uint8Array {
  const s = scratch();
  if (!s || sealed.length < TAG_BYTES || !fits(sealed.length * 2 - TAG_BYTES, ad, nonce, key)) {
    const opened = sodium().crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key);
    if (!inPlace) return opened;
    sealed.set(opened);
    return sealed.subarray(0, opened.length);
  }
  const message = openIn(s, sealed, ad, nonce, key, inPlace);
  if (!message) throw new Error('ciphertext cannot be decrypted using that key');
  return message;
}

/** Keyed BLAKE2b-256 of `content` under a 32-byte `key`. */
export function keyedHash(content: Uint8Array, key: Uint8Array): Uint8Array {
  const s = scratch();
  if (!s || key.length !== KEY_BYTES || content.length > DATA_MAX) return sodium().crypto_generichash(HASH_BYTES, content, key);
  return hashIn(s, content, key);
}

/** Whether `expected` is the keyed BLAKE2b-256 of `content` under `key`, compared in constant time. */
export function keyedHashEquals(content: Uint8Array, key: Uint8Array, expected: Uint8Array): boolean {
  if (expected.length !== HASH_BYTES) return false;
  const s = scratch();
  if (!s || key.length !== KEY_BYTES || content.length > DATA_MAX) return sodium().memcmp(sodium().crypto_generichash(HASH_BYTES, content, key), expected);
  const heap = hashInPlace(s, content, key);
  let difference = 0;
  for (let i = 0; i < HASH_BYTES; i++) difference |= heap[s.base + HASH_AT + i]! ^ expected[i]!;
  heap.fill(0, s.base, s.base + DATA_AT + content.length);
  return difference === 0;
}

/** Seals through the scratch. */
function sealIn({ module, base }: Scratch, message: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const heap = module.HEAPU8;
  const input = base + DATA_AT;
  const output = input + message.length;
  const end = output + message.length + TAG_BYTES;
  heap.set(key, base + KEY_AT);
  heap.set(nonce, base + NONCE_AT);
  heap.set(ad, base + AD_AT);
  heap.set(message, input);
  module._crypto_aead_chacha20poly1305_ietf_encrypt(output, 0, input, message.length, 0, base + AD_AT, ad.length, 0, 0, base + NONCE_AT, base + KEY_AT);
  const sealed = heap.slice(output, end);
  heap.fill(0, base, end);
  return sealed;
}

/** Opens through the scratch (into `sealed` itself if `inPlace`); undefined if it does not authenticate. */
function openIn({ module, base }: Scratch, sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array, inPlace = false): Uint8Array | undefined {
  const heap = module.HEAPU8;
  const input = base + DATA_AT;
  const output = input + sealed.length;
  const end = output + sealed.length - TAG_BYTES;
  heap.set(key, base + KEY_AT);
  heap.set(nonce, base + NONCE_AT);
  heap.set(ad, base + AD_AT);
  heap.set(sealed, input);
  const failed = module._crypto_aead_chacha20poly1305_ietf_decrypt(output, 0, 0, input, sealed.length, 0, base + AD_AT, ad.length, 0, base + NONCE_AT, base + KEY_AT);
  let message: Uint8Array | undefined;
  if (!failed && inPlace) {
    message = sealed.subarray(0, end - output);
    message.set(heap.subarray(output, end));
  } else if (!failed) {
    message = heap.slice(output, end);
  }
  heap.fill(0, base, end);
  return message;
}

/** Hashes through the scratch. */
function hashIn(scratch: Scratch, content: Uint8Array, key: Uint8Array): Uint8Array {
  const heap = hashInPlace(scratch, content, key);
  const hash = heap.slice(scratch.base + HASH_AT, scratch.base + HASH_AT + HASH_BYTES);
  heap.fill(0, scratch.base, scratch.base + DATA_AT + content.length);
  return hash;
}

/** Computes the hash into the scratch (the caller zeroes it); returns the heap it is in. */
function hashInPlace({ module, base }: Scratch, content: Uint8Array, key: Uint8Array): Uint8Array {
  const heap = module.HEAPU8;
  heap.set(key, base + KEY_AT);
  heap.set(content, base + DATA_AT);
  module._crypto_generichash(base + HASH_AT, HASH_BYTES, base + DATA_AT, content.length, 0, base + KEY_AT, KEY_BYTES);
  return heap;
}

/** Whether a call with these arguments can use the scratch: `data` bytes of input and output, sizes libsodium takes. */
function fits(data: number, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): boolean {
  return data <= DATA_MAX && ad.length <= AD_MAX && nonce.length === NONCE_BYTES && key.length === KEY_BYTES;
}
