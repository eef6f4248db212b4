// Generates sealcall's published vectors for its private-use suite 0xF001
// (CHACHA20_POLY1305_SHA256_128) with Node's own crypto (OpenSSL), independently of src/: the
// test checks that this generator agrees with the committed sframe-chacha.json and that the
// implementation reproduces the file byte for byte. `SEALCALL_WRITE_VECTORS=1 npx vitest run
// test/frame-vectors.test.ts` rewrites the file.
import { createCipheriv, createHash, createHmac } from 'node:crypto';

/** One full-frame vector, in the shape of RFC 9605 Appendix C.3 (`sframe-frames.json`). */
export interface FrameVector {
  section: string;
  case: number;
  cipher_suite: string;
  cipher_suite_id: number;
  cipher_suite_name: string;
  kid: string;
  kid_decimal: string;
  ctr: string;
  ctr_decimal: string;
  base_key: string;
  sframe_key_label: string;
  sframe_salt_label: string;
  sframe_secret: string;
  sframe_key: string;
  sframe_salt: string;
  metadata: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
}

const SUITE_ID = 0xf001;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;

/** kid, ctr, base key length, metadata (clear bytes) length, plaintext length. */
const CASES: [bigint, bigint, number, number, number][] = [
  [0n, 0n, 32, 0, 0], // smallest header (1 byte), empty frame
  [0n, 1n, 32, 1, 100], // Opus: TOC in clear, ~100 B frame
  [7n, 7n, 16, 3, 20], // largest values inside the config byte; VP8 delta frame
  [8n, 8n, 32, 10, 1200], // first extended KID and CTR; VP8 key frame
  [0x123n, 0x4567n, 16, 14, 21], // RFC 9605 C.3's KID, CTR, metadata length and plaintext length
  [0xffffn, 0xfffffffen, 32, 3, 64], // CTR just below 2^32
  [0xffffffffn, 0x100000000n, 64, 1, 160], // CTR at 2^32 (5-byte CTR), 64-byte base key
  [2n ** 53n - 1n, 2n ** 32n - 1n, 32, 10, 500], // largest KID sealcall's API takes
  [1n, 2n ** 48n, 32, 0, 16], // 7-byte CTR, nothing in clear
  [300n, 2n ** 53n - 1n, 32, 1, 3], // largest CTR a receiver tracks
];

/** Deterministic bytes: SHA-256 in counter mode over a label. */
function bytes(label: string, length: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < length; i++) out.push(createHash('sha256').update(`${label}/${i}`).digest());
  return Buffer.concat(out).subarray(0, length);
}

function be(value: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = length - 1, v = value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function minimalBytes(value: bigint): number {
  let n = 1;
  while (value >> BigInt(8 * n) > 0n) n++;
  return n;
}

/** RFC 9605 §4.3 header, written from the RFC's description. */
function header(kid: bigint, ctr: bigint): Buffer {
  const kidLength = kid < 8n ? 0 : minimalBytes(kid);
  const ctrLength = ctr < 8n ? 0 : minimalBytes(ctr);
  const config = (kidLength ? 0x80 | ((kidLength - 1) << 4) : Number(kid) << 4) | (ctrLength ? 0x08 | (ctrLength - 1) : Number(ctr));
  return Buffer.concat([Buffer.of(config), be(kid, kidLength), be(ctr, ctrLength)]);
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const label = (prefix: string, kid: bigint): Buffer => Buffer.concat([Buffer.from(prefix), be(kid, 8), be(BigInt(SUITE_ID), 2)]);
const hex0x = (value: bigint): string => `0x${value.toString(16).padStart(16, '0')}`;

export function generateChaChaVectors(): FrameVector[] {
  return CASES.map(([kid, ctr, baseLength, metadataLength, plaintextLength], index) => {
    const n = index + 1;
    const rfc = n === 5; // reuse RFC 9605 C.3's metadata and plaintext
    const baseKey = bytes(`sealcall sframe-chacha base_key ${n}`, baseLength);
    const metadata = rfc ? Buffer.from('IETF SFrame WG') : bytes(`sealcall sframe-chacha metadata ${n}`, metadataLength);
    const plaintext = rfc ? Buffer.from('draft-ietf-sframe-enc') : bytes(`sealcall sframe-chacha plaintext ${n}`, plaintextLength);
    const keyLabel = label('SFrame 1.0 Secret key ', kid);
    const saltLabel = label('SFrame 1.0 Secret salt ', kid);
    const secret = hmac(Buffer.alloc(0), baseKey); // HKDF-Extract with an empty salt
    const key = hmac(secret, Buffer.concat([keyLabel, Buffer.of(1)])).subarray(0, KEY_BYTES); // one Expand block
    const salt = hmac(secret, Buffer.concat([saltLabel, Buffer.of(1)])).subarray(0, NONCE_BYTES);
    const nonce = Buffer.from(salt);
    be(ctr, NONCE_BYTES).forEach((b, i) => (nonce[i]! ^= b));
    const head = header(kid, ctr);
    const aad = Buffer.concat([head, metadata]);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      section: 'sealcall',
      case: n,
      cipher_suite: '0xf001',
      cipher_suite_id: SUITE_ID,
      cipher_suite_name: 'CHACHA20_POLY1305_SHA256_128',
      kid: hex0x(kid),
      kid_decimal: kid.toString(),
      ctr: hex0x(ctr),
      ctr_decimal: ctr.toString(),
      base_key: baseKey.toString('hex'),
      sframe_key_label: keyLabel.toString('hex'),
      sframe_salt_label: saltLabel.toString('hex'),
      sframe_secret: secret.toString('hex'),
      sframe_key: key.toString('hex'),
      sframe_salt: salt.toString('hex'),
      metadata: metadata.toString('hex'),
      nonce: nonce.toString('hex'),
      aad: aad.toString('hex'),
      plaintext: plaintext.toString('hex'),
      ciphertext: Buffer.concat([head, sealed]).toString('hex'),
    };
  });
}
