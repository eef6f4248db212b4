import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SealcallError } from '../src/errors.js';
import { nextBaseKey } from '../src/crypto/frame/index.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, ended, Harness, once, ringingPair, warned } from './helpers/call-harness.js';

let harness: Harness;
beforeEach(() => {
  FakeFrameProtector.made.length = 0;
  harness = new Harness(new MemoryNetwork({ seed: 9 }));
});
afterEach(() => harness.close());

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const withFrames = (extra = {}) => ({ frameProtector: FakeFrameProtector.factory(), ...extra });

describe('frame encryption in the call layer (Node, fake protector)', () => {
  it('stays transport-only in a runtime without insertable streams, and refuses `required` there', async () => {
    const { aliceCall } = await connectedPair(harness);
    expect(aliceCall.e2ee).toBe('transport');
    expect(await aliceCall.frameCounters()).toBeUndefined();
    await expect(aliceCall.rotateFrameKey()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    const carol = await harness.user('carol', { frameEncryption: 'required' });
    await expect(carol.client.call('alice')).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  });

  it('agrees on a suite and installs matching per-direction keys on both sides', async () => {
    const { aliceCall, bobCall } = await connectedPair(harness, { alice: withFrames(), bob: withFrames() });
    expect(aliceCall.e2ee).toBe('frame');
    expect(bobCall.e2ee).toBe('frame');
    const [bobSide, aliceSide] = FakeFrameProtector.made; // bob offers first (he accepted)
    expect(bobSide!.sendKeys.map((k) => k.kid)).toEqual([0]);
    expect(hex(aliceSide!.receiveKeys[0]!.key)).toBe(hex(bobSide!.sendKeys[0]!.key));
    expect(hex(bobSide!.receiveKeys[0]!.key)).toBe(hex(aliceSide!.sendKeys[0]!.key));
    expect(hex(aliceSide!.sendKeys[0]!.key)).not.toBe(hex(aliceSide!.receiveKeys[0]!.key));
    expect(aliceSide!.protectedSenders).toEqual(['audio']);
  });

  it('starts the frame workers while ringing, and closes them when the call ends unanswered', async () => {
    const { aliceCall, bobCall, rang } = await ringingPair(harness, { alice: withFrames(), bob: withFrames() });
    await rang;
    expect(FakeFrameProtector.made).toHaveLength(2); // both sides, before anyone accepted
    expect(FakeFrameProtector.made.every((p) => p.sendKeys.length === 0 && !p.closed)).toBe(true);
    await bobCall.reject();
    await ended(aliceCall);
    expect(FakeFrameProtector.made.every((p) => p.closed)).toBe(true);
  });

  it('rotates the sending key with the ratchet and the peer follows it', async () => {
    const { aliceCall } = await connectedPair(harness, { alice: withFrames(), bob: withFrames() });
    const [bobSide, aliceSide] = FakeFrameProtector.made;
    expect(await aliceCall.rotateFrameKey()).toBe(1);
    expect(await aliceCall.rotateFrameKey()).toBe(2);
    await bobSide!.receivedKeys(3);
    expect(bobSide!.receiveKeys.map((k) => k.kid)).toEqual([0, 1, 2]);
    expect(hex(bobSide!.receiveKeys[2]!.key)).toBe(hex(aliceSide!.sendKeys[2]!.key));
    expect(hex(aliceSide!.sendKeys[1]!.key)).toBe(hex(nextBaseKey(aliceSide!.sendKeys[0]!.key)));
  });

  it('ends E2EE_UNAVAILABLE before media when the caller requires frames and the callee cannot', async () => {
    const { aliceCall, bobCall } = await ringingPair(harness, { alice: withFrames({ frameEncryption: 'required' }) });
    const [a, b] = await Promise.all([ended(aliceCall), ended(bobCall)]);
    expect(a).toMatchObject({ reason: 'media-failed', error: { code: 'E2EE_UNAVAILABLE' } });
    expect(b.reason).toBe('cancelled');
    expect(FakeFrameProtector.made).toEqual([]);
  });

  it('never rings when the callee requires frames and the caller cannot', async () => {
    const alice = await harness.user('alice');
    const bob = await harness.user('bob', withFrames({ frameEncryption: 'required' }));
    const warning = once(bob.client, 'warning');
    let rang = false;
    bob.client.on('incoming', () => (rang = true));
    const aliceCall = await alice.client.call('bob');
    expect((await warning)[0]).toMatchObject({ code: 'E2EE_UNAVAILABLE' });
    expect((await ended(aliceCall)).reason).toBe('media-failed');
    expect(rang).toBe(false);
  });

  it('ends a required call whose frames never decrypt, and only warns when preferred', async () => {
    const failing = { frameProtector: FakeFrameProtector.factory({ verify: new SealcallError('E2EE_UNAVAILABLE', 'no frame decrypted') }) };
    const { aliceCall } = await connectedPair(harness, { alice: { ...failing, frameEncryption: 'required' }, bob: failing });
    expect((await ended(aliceCall)).error?.code).toBe('E2EE_UNAVAILABLE');
    await harness.close();

    harness = new Harness(new MemoryNetwork({ seed: 10 }));
    const pair = await connectedPair(harness, { alice: failing, bob: failing });
    await warned(pair.bob, 'E2EE_UNAVAILABLE');
    expect(pair.bobCall.state).toBe('connected');
  });
});
