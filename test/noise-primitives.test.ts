import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import { ready } from '../src/crypto/sodium.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { CipherState } from '../src/crypto/noise/cipher-state.js';
import { hkdf2, hmac } from '../src/crypto/noise/hash.js';
import { NoiseKKHandshake } from '../src/crypto/noise/handshake-kk.js';
import { ReplayWindow } from '../src/crypto/replay-window.js';

beforeAll(() => ready());

describe('Noise building blocks', () => {
  it('HMAC-BLAKE2b matches Node’s HMAC for keys shorter and longer than a block', () => {
    for (const keyLength of [0, 32, 64, 128, 129, 300]) {
      const key = randomBytes(keyLength);
      const data = randomBytes(77);
      const expected = createHmac('blake2b512', key).update(data).digest();
      expect(Buffer.from(hmac(key, data.subarray(0, 10), data.subarray(10))).equals(expected)).toBe(true);
    }
  });

  it('HKDF matches RFC 5869 with salt = chaining key and empty info', () => {
    const ck = randomBytes(64);
    const ikm = randomBytes(32);
    const [a, b] = hkdf2(ck, ikm);
    const expected = Buffer.from(hkdfSync('blake2b512', ikm, ck, new Uint8Array(0), 128));
    expect(Buffer.concat([a, b]).equals(expected)).toBe(true);
  });

  it('leaves the cipher counter unchanged when decryption fails', () => {
    const key = randomBytes(32);
    const sender = new CipherState(key);
    const receiver = new CipherState(key);
    const ad = new Uint8Array(0);
    const ct = sender.encryptWithAd(ad, Uint8Array.of(1, 2, 3));
    const bad = ct.slice();
    bad[0]! ^= 1;
    expect(() => receiver.decryptWithAd(ad, bad)).toThrowSealcallError();
    expect(receiver.nonce).toBe(0);
    expect([...receiver.decryptWithAd(ad, ct)]).toEqual([1, 2, 3]);
    expect(receiver.nonce).toBe(1);
  });

  it('keeps a handshake usable after a forged message 2', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const prologue = new Uint8Array(0);
    const initiator = new NoiseKKHandshake({ initiator: true, prologue, staticKey: alice, remoteStaticKey: bob.publicKey });
    const responder = new NoiseKKHandshake({ initiator: false, prologue, staticKey: bob, remoteStaticKey: alice.publicKey });
    responder.readMessage(initiator.writeMessage(new Uint8Array(0)));
    const m2 = responder.writeMessage(Uint8Array.of(9));
    const forged = m2.slice();
    forged[40]! ^= 1;
    expect(() => initiator.readMessage(forged)).toThrowSealcallError();
    expect([...initiator.readMessage(m2)]).toEqual([9]);
    expect(initiator.isComplete).toBe(true);
  });
});

describe('ReplayWindow', () => {
  const replayed = (w: ReplayWindow, n: number): boolean => {
    try {
      w.check(n);
      return false;
    } catch (error) {
      if (!isSealcallError(error, 'REPLAYED')) throw error;
      return true;
    }
  };

  it('accepts each counter once in any order within the window', () => {
    const w = new ReplayWindow(64);
    for (const n of [5, 3, 9, 0, 63, 4]) {
      expect(replayed(w, n)).toBe(false);
      w.accept(n);
      expect(replayed(w, n)).toBe(true);
    }
    expect(replayed(w, 1)).toBe(false);
  });

  it('forgets nothing within the window when the top jumps, and refuses what falls behind it', () => {
    const w = new ReplayWindow(64);
    w.accept(10);
    w.accept(80);
    expect(replayed(w, 10)).toBe(true); // seen, and now too old anyway
    expect(replayed(w, 16)).toBe(true); // exactly a window behind: too old
    expect(replayed(w, 17)).toBe(false);
    expect(replayed(w, 80)).toBe(true);
    w.accept(300); // a jump past the whole window clears every slot
    expect(replayed(w, 236)).toBe(true);
    expect(replayed(w, 237)).toBe(false);
    expect(replayed(w, 272)).toBe(false); // shares 80's slot; must not look seen
    expect(replayed(w, 300)).toBe(true);
  });

  it('rejects sizes that are not positive multiples of 32', () => {
    for (const size of [0, 33, -32, 1.5]) expect(() => new ReplayWindow(size)).toThrowSealcallError();
  });
});
