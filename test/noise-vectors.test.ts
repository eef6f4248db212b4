import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { identityFromSecretKey } from '../src/crypto/identity.js';
import { NoiseKKHandshake } from '../src/crypto/noise/handshake-kk.js';
import { hex, loadVectorFiles, toHex, VECTOR_DIRS } from './helpers/vectors.js';

interface NoiseVector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  resp_remote_static: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const files = loadVectorFiles<NoiseVector>('noise-');

beforeAll(() => ready());

describe(`Noise vectors from ${VECTOR_DIRS.join(', ')}`, () => {
  it('finds at least one vector file', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const { file, vectors } of files) {
    const ours = vectors.filter((v) => v.protocol_name === NoiseKKHandshake.protocolName);
    it(`${file} holds ${NoiseKKHandshake.protocolName} vectors`, () => {
      expect(ours.length).toBeGreaterThan(0);
    });
    ours.forEach((v, index) => {
      it(`${file} #${index}: reproduces every handshake and transport message`, () => {
        const initiator = new NoiseKKHandshake({
          initiator: true,
          prologue: hex(v.init_prologue),
          staticKey: identityFromSecretKey(hex(v.init_static)),
          remoteStaticKey: hex(v.init_remote_static),
          ephemeralSecretKey: hex(v.init_ephemeral),
        });
        const responder = new NoiseKKHandshake({
          initiator: false,
          prologue: hex(v.resp_prologue),
          staticKey: identityFromSecretKey(hex(v.resp_static)),
          remoteStaticKey: hex(v.resp_remote_static),
          ephemeralSecretKey: hex(v.resp_ephemeral),
        });
        const [m0, m1, ...transport] = v.messages;
        if (!m0 || !m1) throw new Error('vector has fewer than two messages');

        const c0 = initiator.writeMessage(hex(m0.payload));
        expect(toHex(c0)).toBe(m0.ciphertext);
        expect(toHex(responder.readMessage(c0))).toBe(m0.payload);
        const c1 = responder.writeMessage(hex(m1.payload));
        expect(toHex(c1)).toBe(m1.ciphertext);
        expect(toHex(initiator.readMessage(c1))).toBe(m1.payload);

        if (v.handshake_hash) {
          expect(toHex(initiator.handshakeHash)).toBe(v.handshake_hash);
          expect(toHex(responder.handshakeHash)).toBe(v.handshake_hash);
        }
        const i = initiator.split();
        const r = responder.split();
        const empty = new Uint8Array(0);
        transport.forEach((m, k) => {
          // Even indexes continue the initiator's turn: initiator → responder on c1.
          const [sender, receiver] = k % 2 === 0 ? [i, r] : [r, i];
          const ct = sender.send.encryptWithAd(empty, hex(m.payload));
          expect(toHex(ct)).toBe(m.ciphertext);
          expect(toHex(receiver.receive.decryptWithAd(empty, ct))).toBe(m.payload);
        });
      });
    });
  }
});

describe('SEALCALL_VECTORS_DIR', () => {
  it('adds every noise-*.json and sframe-*.json of that folder to the repository\'s own', async () => {
    const { mkdtempSync, copyFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const extra = mkdtempSync(join(tmpdir(), 'sealcall-vectors-'));
    const previous = process.env.SEALCALL_VECTORS_DIR;
    try {
      copyFileSync(new URL('./vectors/noise-kk.json', import.meta.url), join(extra, 'noise-more.json'));
      copyFileSync(new URL('./vectors/sframe-header.json', import.meta.url), join(extra, 'sframe-header-more.json'));
      process.env.SEALCALL_VECTORS_DIR = extra;
      vi.resetModules();
      const fresh = await import('./helpers/vectors.js');
      expect(fresh.loadVectorFiles('noise-').map((f) => f.file)).toEqual(['test/vectors/noise-kk.json', join(extra, 'noise-more.json')]);
      expect(fresh.loadVectorFiles('sframe-header').map((f) => f.file)).toEqual(['test/vectors/sframe-header.json', join(extra, 'sframe-header-more.json')]);
    } finally {
      if (previous === undefined) delete process.env.SEALCALL_VECTORS_DIR;
      else process.env.SEALCALL_VECTORS_DIR = previous;
      vi.resetModules();
      rmSync(extra, { recursive: true, force: true });
    }
  });
});
