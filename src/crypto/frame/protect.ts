import type { FrameCipher } from './cipher.js';
import { headerLength, writeHeader } from './header.js';

/**
 * The protected frame layout (RFC 9605 §4.2 with the codec's clear bytes as the metadata):
 *
 * ```
 * protected = clear bytes ‖ SFrame header ‖ AEAD(rest of frame) ‖ 16-byte tag
 * aad       = SFrame header ‖ clear bytes
 * ```
 * so the packetizer still finds the codec header at offset 0, and neither it nor the SFrame
 * header can be changed without the tag failing.
 */

/** AEAD tag length of every suite sealcall implements. */
export const TAG_BYTES = 16;

/**
 * AAD scratch for synchronous ciphers: libsodium copies its inputs before returning, so one
 * buffer serves every frame (the largest AAD is a 17-byte header plus 10 clear bytes).
 * Asynchronous ciphers get a fresh AAD per frame instead.
 */
const scratch = new Uint8Array(64);

function aadBuffer(cipher: FrameCipher, length: number): Uint8Array {
  return cipher.sync && length <= scratch.length ? scratch.subarray(0, length) : new Uint8Array(length);
}

function copyInto(out: Uint8Array, at: number, from: Uint8Array, start: number, count: number): void {
  for (let i = 0; i < count; i++) out[at + i] = from[start + i]!;
}

/**
 * Protects `frame` with counter `ctr`, leaving its first `clear` bytes in clear. The caller
 * guarantees `ctr` is fresh for this key and `clear ≤ frame.length`.
 */
export function protectFrame(kid: number, cipher: FrameCipher, ctr: number, frame: Uint8Array, clear: number): Uint8Array | Promise<Uint8Array> {
  const header = headerLength(kid, ctr);
  const aad = aadBuffer(cipher, header + clear);
  writeHeader(aad, 0, kid, ctr);
  copyInto(aad, header, frame, 0, clear);
  const sealed = cipher.seal(ctr, aad, frame.subarray(clear));
  if (sealed instanceof Uint8Array) return assemble(kid, ctr, frame, clear, header, sealed);
  return sealed.then((bytes) => assemble(kid, ctr, frame, clear, header, bytes));
}

function assemble(kid: number, ctr: number, frame: Uint8Array, clear: number, header: number, sealed: Uint8Array): Uint8Array {
  const out = new Uint8Array(clear + header + sealed.length);
  copyInto(out, 0, frame, 0, clear);
  writeHeader(out, clear, kid, ctr);
  out.set(sealed, clear + header);
  return out;
}

/**
 * Opens a protected frame whose header (already parsed: counter `ctr`, `header` bytes long)
 * starts at offset `clear`. Returns `clear bytes ‖ plaintext`; throws or rejects when
 * authentication fails. The caller guarantees `clear + header + TAG_BYTES ≤ frame.length`.
 */
export function unprotectFrame(cipher: FrameCipher, ctr: number, frame: Uint8Array, clear: number, header: number): Uint8Array | Promise<Uint8Array> {
  const aad = aadBuffer(cipher, header + clear);
  copyInto(aad, 0, frame, clear, header);
  copyInto(aad, header, frame, 0, clear);
  const opened = cipher.open(ctr, aad, frame.subarray(clear + header));
  if (opened instanceof Uint8Array) return withClear(frame, clear, opened);
  return opened.then((plain) => withClear(frame, clear, plain));
}

function withClear(frame: Uint8Array, clear: number, plain: Uint8Array): Uint8Array {
  if (clear === 0) return plain;
  const out = new Uint8Array(clear + plain.length);
  copyInto(out, 0, frame, 0, clear);
  out.set(plain, clear);
  return out;
}
