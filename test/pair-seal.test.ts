import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError } from '../src/errors.js';
import { openPair, pairKeys, PAIR_SEAL_OVERHEAD, sealPair } from '../src/signaling/pair-seal.js';

beforeAll(() => ready());

describe('pair seal (the outer layer of every envelope)', () => {
  it('opens only for the contact it was sealed to, from the contact that sealed it', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const carol = generateIdentity();
    const inner = sodium().randombytes_buf(500);
    const sealed = sealPair(pairKeys(alice, bob.publicKey), inner);
    expect(sealed.length).toBe(inner.length + PAIR_SEAL_OVERHEAD);
    expect(openPair(pairKeys(bob, alice.publicKey), sealed)).toEqual(inner);
    // Carol cannot open it, nor can Bob when he thinks it came from Carol.
    for (const keys of [pairKeys(carol, alice.publicKey), pairKeys(carol, bob.publicKey), pairKeys(bob, carol.publicKey)]) {
      expect(() => openPair(keys, sealed)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
    }
    // Alice's own send key does not open what she sent back to herself.
    expect(() => openPair(pairKeys(alice, bob.publicKey), sealed)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
  });

  it("derives libsodium's crypto_kx session keys, one per direction", () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const ab = pairKeys(a, b.publicKey);
    const ba = pairKeys(b, a.publicKey);
    expect(ab.send).toEqual(ba.receive);
    expect(ab.receive).toEqual(ba.send);
    expect(ab.send).not.toEqual(ab.receive);
    const s = sodium();
    const [client, server] = s.compare(a.publicKey, b.publicKey) < 0 ? [a, b] : [b, a];
    const kx = s.crypto_kx_client_session_keys(client.publicKey, client.secretKey, server.publicKey);
    expect(pairKeys(client, server.publicKey)).toEqual({ send: kx.sharedTx, receive: kx.sharedRx });
  });

  it('never repeats a byte string: the same inner envelope sealed twice shares nothing', () => {
    const keys = pairKeys(generateIdentity(), generateIdentity().publicKey);
    const inner = new Uint8Array(1000);
    const one = sealPair(keys, inner);
    const two = sealPair(keys, inner);
    let same = 0;
    for (let i = 0; i < one.length; i++) if (one[i] === two[i]) same++;
    // Two independent random strings agree on about 1 byte in 256.
    expect(same).toBeLessThan(one.length / 64);
  });

  it('refuses short or tampered input with a typed error', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const sealed = sealPair(pairKeys(a, b.publicKey), new Uint8Array(100));
    const bobKeys = pairKeys(b, a.publicKey);
    for (let i = 0; i < sealed.length; i += 7) {
      const bad = sealed.slice();
      bad[i] = bad[i]! ^ 1;
      expect(() => openPair(bobKeys, bad)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
    }
    for (const length of [0, 1, PAIR_SEAL_OVERHEAD]) {
      try {
        openPair(bobKeys, sealed.subarray(0, length));
        expect.unreachable();
      } catch (error) {
        expect(isSealcallError(error, 'BAD_MESSAGE')).toBe(true);
      }
    }
  });
});
