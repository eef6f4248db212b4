import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FrameKeys } from '../src/call/frame-keys.js';
import { FrameReceiver, FrameSender } from '../src/crypto/frame/index.js';
import { MAX_LIVE_KEYS } from '../src/crypto/frame/key-ring.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError } from '../src/errors.js';
import { encodeMessage } from '../src/protocol/codec.js';
import { DEFAULT_ENVELOPE_BYTES as SIZE } from '../src/signaling/envelope.js';
import { sealOneShot } from '../src/signaling/handshake.js';
import type { OutgoingInvitation } from '../src/signaling/invitation.js';
import { FakeFrameProtector } from '../src/testing/fake-frame-protector.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { Harness, once } from './helpers/call-harness.js';
import { sealFor } from './helpers/crypto.js';

/**
 * Sender binding and the caps on what a stranger or a contact can make us hold (the privacy
 * review's findings 4, 5 and 6).
 */

beforeAll(() => ready());

const OPUS = { media: 'audio', codec: 'opus' } as const;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('sender binding', () => {
  it("one contact cannot pre-cancel another contact's call: an early cancel is bound to its sender", async () => {
    const h = (harness = new Harness(new MemoryNetwork()));
    const alice = await h.user('alice');
    const carol = await h.user('carol');
    // Bob's transport is driven by hand, to deliver in the order the attack needs.
    const bob = await h.user('bob', { transport: { send: async () => {}, onMessage: () => () => {} } });
    const call = await alice.client.call('bob', { audio: false });
    const invite = h.network.observed.find((m) => m.from === 'alice' && m.to === 'bob' && m.wake)!;
    // Carol learned the call id and cancels it before Alice's invitation reaches Bob.
    const cancel = encodeMessage({ type: 'cancel', callId: call.id, seq: 0, reason: 'cancelled' });
    const oneShot = sealOneShot({ identity: carol.identity, remotePublicKey: bob.identity.publicKey, callId: call.id, payload: cancel, envelopeBytes: SIZE });
    expect(bob.client.deliver('carol', sealFor(carol.identity, bob.identity.publicKey, oneShot))).toMatchObject({ accepted: true });
    const rang = once(bob.client, 'incoming');
    expect(bob.client.deliver('alice', invite.payload)).toMatchObject({ accepted: true, callId: call.id });
    const [incoming] = await rang;
    expect(incoming.state).toBe('incoming');
    // Alice's own cancel does withdraw it.
    const before = h.network.observed.length;
    const ended = once(incoming, 'ended');
    await call.hangup();
    const aliceCancel = h.network.observed.slice(before).find((m) => m.from === 'alice' && m.to === 'bob')!;
    bob.client.deliver('alice', aliceCancel.payload);
    expect((await ended)[0].reason).toBe('cancelled');
  });

  it('a stranger’s envelopes for an outgoing call are dropped before anything is held; a contact’s are held only up to 64 envelopes and 256 KiB', async () => {
    const h = (harness = new Harness(new MemoryNetwork()));
    const alice = await h.user('alice');
    const bob = await h.user('bob', { transport: { send: async () => {}, onMessage: () => () => {} } });
    const call = await alice.client.call('bob', { audio: false });
    const invitation = (alice.client as unknown as { router: { outgoing: Map<string, OutgoingInvitation> } }).router.outgoing.get(call.id)!;
    const held = () => (invitation as unknown as { heldCount: number; heldBytes: number });
    const mallory = generateIdentity();
    const inner = (tag: number, size = SIZE) => {
      const bytes = sodium().randombytes_buf(size - 40);
      bytes.set([2, 3], 0); // version 2, transport
      bytes.set(sodium().from_hex(call.id), 2);
      bytes.set(new Uint8Array(8).fill(tag), 18);
      bytes.fill(0, 26, 34);
      return bytes;
    };
    const warnings: string[] = [];
    alice.client.on('warning', (w) => warnings.push(w.code));
    // A stranger: refused by who it is, before any decryption.
    for (let i = 0; i < 100; i++) alice.client.deliver('mallory', sealFor(mallory, alice.identity.publicKey, inner(i)));
    expect(held().heldCount).toBe(0);
    expect(warnings.every((w) => w === 'UNKNOWN_CONTACT')).toBe(true);
    // The invited contact: envelopes for sessions whose reply has not come yet are held, bounded.
    for (let i = 0; i < 200; i++) alice.client.deliver('bob', sealFor(bob.identity, alice.identity.publicKey, inner(i % 64)));
    expect(held().heldCount).toBe(64);
    // The largest envelopes a receiver accepts: the byte cap binds first.
    await call.hangup();
    const second = await alice.client.call('bob', { audio: false });
    const again = (alice.client as unknown as { router: { outgoing: Map<string, OutgoingInvitation> } }).router.outgoing.get(second.id)!;
    const held2 = () => again as unknown as { heldCount: number; heldBytes: number };
    for (let i = 0; i < 20; i++) {
      const big = inner(i, 65536);
      big.set(sodium().from_hex(second.id), 2);
      alice.client.deliver('bob', sealFor(bob.identity, alice.identity.publicKey, big));
    }
    expect(held2().heldBytes).toBeLessThanOrEqual(256 * 1024);
    expect(held2().heldCount).toBe(Math.floor((256 * 1024) / (65536 - 40)));
    await second.hangup();
  });
});

describe('frame keys a contact can make us hold', () => {
  it(`keeps at most ${MAX_LIVE_KEYS} receiver keys however many the peer announces; the newest work`, async () => {
    const receiver = new FrameReceiver('chacha20poly1305');
    const base = (kid: number) => new Uint8Array(32).fill(kid);
    for (let kid = 1; kid <= 50; kid++) await receiver.setKey(kid, base(kid));
    // A sender per key: a sender only moves to higher key ids.
    const frameUnder = async (kid: number) => {
      const sender = new FrameSender('chacha20poly1305');
      await sender.setKey(kid, base(kid));
      const frame = await sender.encrypt(new Uint8Array(100).fill(1), OPUS);
      sender.dispose();
      return receiver.decrypt(frame!, OPUS);
    };
    expect(await frameUnder(51 - MAX_LIVE_KEYS)).not.toBeNull();
    expect(await frameUnder(50)).not.toBeNull();
    expect(await frameUnder(50 - MAX_LIVE_KEYS)).toBeNull();
    expect(await frameUnder(1)).toBeNull();
    receiver.dispose();
  });

  it('follows at most 8 key updates in 10 s, refusing more with RATE_LIMITED', async () => {
    let now = 0;
    const protector = new FakeFrameProtector();
    const keys = new FrameKeys(protector, { send: new Uint8Array(32).fill(1), receive: new Uint8Array(32).fill(2) }, () => now);
    await keys.install();
    for (let kid = 1; kid <= 8; kid++) await keys.followReceive(kid);
    await expect(keys.followReceive(9)).rejects.toSatisfy((e: unknown) => isSealcallError(e, 'RATE_LIMITED'));
    now += 10_001;
    await keys.followReceive(9);
    keys.dispose();
  });
});
