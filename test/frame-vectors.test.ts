import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { writeNonce } from '../src/crypto/frame/cipher.js';
import { deriveFrameKey } from '../src/crypto/frame/frame-key.js';
import { decodeHeader, encodeHeader, type HeaderFields, headerLength, readHeader, writeHeader } from '../src/crypto/frame/header.js';
import { deriveKeyMaterial, sframeLabel } from '../src/crypto/frame/key-schedule.js';
import { protectFrame, unprotectFrame } from '../src/crypto/frame/protect.js';
import { FRAME_SUITES, type FrameSuiteName } from '../src/crypto/frame/types.js';
import { hex, loadVectorFiles, toHex, VECTOR_DIRS } from './helpers/vectors.js';
import { type FrameVector, generateChaChaVectors } from './vectors/chacha-vectors.js';

interface HeaderVector {
  kid: string;
  ctr: string;
  header: string;
}

const OWN_FILE = fileURLToPath(new URL('./vectors/sframe-chacha.json', import.meta.url));
if (process.env.SEALCALL_WRITE_VECTORS === '1') writeFileSync(OWN_FILE, `${JSON.stringify(generateChaChaVectors(), null, 1)}\n`);

const headerFiles = loadVectorFiles<HeaderVector>('sframe-header');
// sframe-frames*.json (published) and sframe-chacha*.json (sealcall's own suite), in every vector folder.
const frameFiles = [...loadVectorFiles<FrameVector>('sframe-frames'), ...loadVectorFiles<FrameVector>('sframe-chacha')];

/** Suites sealcall implements, by RFC suite id. */
const SUITE_BY_ID = new Map(Object.entries(FRAME_SUITES).map(([name, suite]) => [suite.id as number, name as FrameSuiteName]));

beforeAll(() => ready());

describe(`SFrame header vectors from ${VECTOR_DIRS.join(', ')}`, () => {
  it('finds header vectors', () => {
    expect(headerFiles.reduce((n, f) => n + f.vectors.length, 0)).toBeGreaterThan(0);
  });

  for (const { file, vectors } of headerFiles) {
    it(`${file}: encodes and decodes all ${vectors.length} headers`, () => {
      for (const v of vectors) {
        const kid = BigInt(v.kid);
        const ctr = BigInt(v.ctr);
        const bytes = hex(v.header);
        expect(toHex(encodeHeader(kid, ctr)), `${v.kid}/${v.ctr}`).toBe(v.header);
        expect(decodeHeader(bytes)).toEqual({ kid, ctr, length: bytes.length });
        // A header inside a frame, behind clear bytes, with a body after it.
        const framed = Uint8Array.from([7, 7, 7, ...bytes, 1, 2, 3]);
        expect(decodeHeader(framed, 3)).toEqual({ kid, ctr, length: bytes.length });
        // Every strict prefix is incomplete.
        for (let cut = 0; cut < bytes.length; cut++) expect(decodeHeader(bytes.subarray(0, cut))).toBeNull();

        // The allocation-free number path, where the values fit in a double exactly.
        const fields: HeaderFields = { kid: -1, ctr: -1, length: -1 };
        expect(readHeader(framed, 3, fields)).toBe(true);
        expect(fields.length).toBe(bytes.length);
        if (kid <= BigInt(Number.MAX_SAFE_INTEGER) && ctr <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(fields).toEqual({ kid: Number(kid), ctr: Number(ctr), length: bytes.length });
          expect(headerLength(Number(kid), Number(ctr))).toBe(bytes.length);
          const out = new Uint8Array(bytes.length + 2);
          expect(writeHeader(out, 1, Number(kid), Number(ctr))).toBe(bytes.length);
          expect(toHex(out.subarray(1, -1))).toBe(v.header);
        } else {
          // Above 2^53 the number path must say so rather than return a wrong exact value.
          expect(Number.isSafeInteger(fields.kid) && Number.isSafeInteger(fields.ctr)).toBe(false);
        }
      }
    });
  }

  it('rejects values outside 0..2^64−1 with a SealcallError', () => {
    expect(() => encodeHeader(-1n, 0n)).toThrowSealcallError();
    expect(() => encodeHeader(0n, 2n ** 64n)).toThrowSealcallError();
    expect(() => encodeHeader(0.5, 0)).toThrowSealcallError();
  });
});

describe('SFrame full-frame vectors', () => {
  it(`finds frame vectors for every suite in ${VECTOR_DIRS.join(', ')}`, () => {
    const skipped = frameFiles.flatMap(({ file, vectors }) =>
      vectors.filter((v) => !SUITE_BY_ID.has(v.cipher_suite_id)).map((v) => `${file} case ${v.case} (suite ${v.cipher_suite} ${v.cipher_suite_name})`),
    );
    if (skipped.length) console.info(`skipped full-frame vectors of suites sealcall does not implement:\n  ${skipped.join('\n  ')}`);
    const covered = new Set(frameFiles.flatMap(({ vectors }) => vectors.map((v) => v.cipher_suite_id)).filter((id) => SUITE_BY_ID.has(id)));
    expect([...covered].sort()).toEqual([...SUITE_BY_ID.keys()].sort());
  });

  for (const { file, vectors } of frameFiles) {
    for (const v of vectors) {
      const suite = SUITE_BY_ID.get(v.cipher_suite_id);
      if (!suite) continue;
      it(`${file} case ${v.case} (${v.cipher_suite_name}, kid ${v.kid_decimal}, ctr ${v.ctr_decimal}): key schedule, nonce, aad, ciphertext`, async () => {
        const kid = BigInt(v.kid);
        const ctr = BigInt(v.ctr);
        const spec = FRAME_SUITES[suite];
        expect(toHex(sframeLabel('key', kid, spec.id))).toBe(v.sframe_key_label);
        expect(toHex(sframeLabel('salt', kid, spec.id))).toBe(v.sframe_salt_label);
        const material = await deriveKeyMaterial(hex(v.base_key), kid, spec);
        expect(toHex(material.secret)).toBe(v.sframe_secret);
        expect(toHex(material.key)).toBe(v.sframe_key);
        expect(toHex(material.salt)).toBe(v.sframe_salt);

        const header = encodeHeader(kid, ctr);
        const metadata = hex(v.metadata);
        expect(toHex(header) + v.metadata).toBe(v.aad);
        // The per-frame path works on exact numbers; published vectors beyond 2^53 stop here.
        if (kid > BigInt(Number.MAX_SAFE_INTEGER) || ctr > BigInt(Number.MAX_SAFE_INTEGER)) return;
        const nonce = new Uint8Array(spec.nonceBytes);
        writeNonce(nonce, material.salt, Number(ctr));
        expect(toHex(nonce)).toBe(v.nonce);

        // sealcall's frame = metadata (clear bytes) ‖ the RFC's ciphertext (header ‖ AEAD output).
        const key = await deriveFrameKey(suite, Number(kid), hex(v.base_key));
        const frame = Uint8Array.from([...metadata, ...hex(v.plaintext)]);
        const sealed = await protectFrame(Number(kid), key.cipher, Number(ctr), frame, metadata.length);
        expect(toHex(sealed)).toBe(v.metadata + v.ciphertext);
        const opened = await unprotectFrame(key.cipher, Number(ctr), sealed, metadata.length, header.length);
        expect(toHex(opened)).toBe(v.metadata + v.plaintext);
      });
    }
  }
});

describe('test/vectors/sframe-chacha.json', () => {
  it('matches what the independent generator (node:crypto) produces', () => {
    expect(existsSync(OWN_FILE), 'run with SEALCALL_WRITE_VECTORS=1 to create it').toBe(true);
    expect(JSON.parse(readFileSync(OWN_FILE, 'utf8'))).toEqual(generateChaChaVectors());
  });

  it('covers 1-byte to 17-byte-class headers and clear-byte counts 0, 1, 3 and 10', () => {
    const vectors = JSON.parse(readFileSync(OWN_FILE, 'utf8')) as FrameVector[];
    const clearCounts = new Set(vectors.map((v) => v.metadata.length / 2));
    for (const n of [0, 1, 3, 10]) expect(clearCounts).toContain(n);
    expect(vectors.some((v) => BigInt(v.ctr) >= 2n ** 32n - 2n && BigInt(v.ctr) <= 2n ** 32n)).toBe(true);
    expect(vectors.some((v) => v.kid === '0x0000000000000000')).toBe(true);
  });
});
