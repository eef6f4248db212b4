import { afterEach, describe, expect, it } from 'vitest';
import type { CallClientOptions } from '../src/call/options.js';
import { generateIdentity, type Identity } from '../src/crypto/identity.js';
import { isSealcallError } from '../src/errors.js';
import { encodeMessage } from '../src/protocol/codec.js';
import type { CancelReason } from '../src/protocol/messages.js';
import { DEFAULT_ENVELOPE_BYTES as SIZE, randomCallId } from '../src/signaling/envelope.js';
import { sealOneShot } from '../src/signaling/handshake.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, once, reach } from './helpers/call-harness.js';
import { sealFor } from './helpers/crypto.js';

let harness: Harness;
afterEach(() => harness?.close());

/**
 * Alice calls Bob's phone and laptop (ring timeout 400 ms); resolves once both rang and the
 * network is quiet. `bob` applies to both of Bob's devices (e.g. `ownDevices`).
 */
async function ringingBothDevices(bob: Partial<CallClientOptions> = {}) {
  const network = new MemoryNetwork({ seed: 71 });
  harness = new Harness(network);
  const alice = await harness.user('alice', { ringTimeoutMs: 400 });
  const phone = await harness.user('bob', bob);
  const laptop = await harness.user('bob', bob);
  const incoming = Promise.all([once(phone.client, 'incoming'), once(laptop.client, 'incoming')]);
  const aliceCall = await alice.client.call('bob');
  const [[phoneCall], [laptopCall]] = await incoming;
  await network.settled(); // both devices' ringing replies arrived and were acknowledged
  return { network, alice, phone, laptop, aliceCall, phoneCall, laptopCall };
}

/**
 * A one-shot cancel as one of Bob's devices sends his others after a silent reject: Noise KK from
 * `by` to `to`, bound to `callId` and `callerKey`, pair-sealed by `sealer` for `to`. With Bob's
 * identity in every role it is the real thing; anything else is a forgery.
 */
function ownCancel(o: { by: Identity; to: Uint8Array; sealer?: Identity; callId: string; callerKey: Uint8Array; reason?: CancelReason }): Uint8Array {
  const payload = encodeMessage({ type: 'cancel', callId: o.callId, seq: 0, reason: o.reason ?? 'declined-elsewhere' });
  const inner = sealOneShot({ identity: o.by, remotePublicKey: o.to, callId: o.callId, callerKey: o.callerKey, payload, envelopeBytes: SIZE });
  return sealFor(o.sealer ?? o.by, o.to, inner);
}

describe('silent reject', () => {
  it('tells the caller nothing: its call rings out no-answer, and a device the app syncs stops at once', async () => {
    const { network, aliceCall, phoneCall, laptopCall } = await ringingBothDevices();
    const afterRinging = network.observed.length;
    const aliceEnded = ended(aliceCall);

    await phoneCall.reject({ silent: true });
    const phoneEnded = await ended(phoneCall);
    expect(phoneEnded).toMatchObject({ reason: 'rejected', silent: true, direction: 'incoming', durationMs: 0 });

    // The app's own device sync carries "declined" to the laptop, which finds the call by its id.
    expect(laptopCall.id).toBe(phoneCall.id);
    expect(laptopCall.state).toBe('incoming');
    await laptopCall.reject({ silent: true });
    expect(await ended(laptopCall)).toMatchObject({ reason: 'rejected', silent: true });

    expect(aliceCall.state).toBe('outgoing'); // still ringing: it was told nothing
    const { reason, startedAt, endedAt } = await aliceEnded;
    expect(reason).toBe('no-answer');
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(400);
    await network.settled(); // the caller's cancel reached the devices, which answer nothing
    expect(network.observed.slice(afterRinging).filter((m) => m.from === 'bob')).toEqual([]);
    expect(network.observed.slice(afterRinging).every((m) => m.from === 'alice')).toBe(true);
  });

  it('without ownDevices, leaves devices the app does not sync ringing until the caller gives up', async () => {
    const { network, aliceCall, phoneCall, laptopCall } = await ringingBothDevices();
    const afterRinging = network.observed.length;
    await phoneCall.reject({ silent: true });
    await network.settled();
    expect(laptopCall.state).toBe('incoming');
    expect(network.observed.length).toBe(afterRinging); // the silent device sent nothing at all

    // At its ring timeout the caller withdraws the invitation from every device.
    const [aliceEnded, laptopEnded] = await Promise.all([ended(aliceCall), ended(laptopCall)]);
    expect(aliceEnded.reason).toBe('no-answer');
    expect(laptopEnded.reason).toBe('no-answer');
    expect(laptopEnded.silent).toBeUndefined();
  });

  it('a plain reject still tells the caller at once', async () => {
    const { aliceCall, phoneCall, laptopCall } = await ringingBothDevices();
    await phoneCall.reject();
    expect((await ended(phoneCall)).silent).toBeUndefined();
    expect((await ended(aliceCall)).reason).toBe('rejected');
    expect((await ended(laptopCall)).reason).toBe('declined-elsewhere');
  });
});

describe('silent reject with ownDevices: the other devices are told, the caller is not', () => {
  it("ends the other device's ringing call declined-elsewhere at once, while the caller rings out no-answer", async () => {
    const { network, aliceCall, phoneCall, laptopCall } = await ringingBothDevices({ ownDevices: 'bob' });
    const afterRinging = network.observed.length;
    const aliceEnded = ended(aliceCall);

    await phoneCall.reject({ silent: true });
    expect(await ended(phoneCall)).toMatchObject({ reason: 'rejected', silent: true });
    const laptopEnded = await ended(laptopCall);
    expect(laptopEnded).toMatchObject({ reason: 'declined-elsewhere', direction: 'incoming', durationMs: 0 });
    expect(laptopEnded.silent).toBeUndefined();
    expect(aliceCall.state).toBe('outgoing'); // the laptop stopped long before the caller gives up

    const { reason, startedAt, endedAt } = await aliceEnded;
    expect(reason).toBe('no-answer');
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(400);
    await network.settled();
    const after = network.observed.slice(afterRinging);
    // Bob's devices sent only to Bob (the own-device cancel), one envelope length like the rest;
    // the caller received nothing from any of them.
    expect(after.filter((m) => m.from === 'bob').length).toBeGreaterThan(0);
    expect(after.filter((m) => m.from === 'bob').every((m) => m.to === 'bob' && m.payload.length === SIZE)).toBe(true);
    expect(after.filter((m) => m.to === 'alice')).toEqual([]);
  });

  it('ignores a cancel for the call forged by the caller, a stranger or under another binding, with typed warnings', async () => {
    const { alice, laptop, laptopCall } = await ringingBothDevices({ ownDevices: 'bob' });
    const bob = laptop.identity;
    const mallory = generateIdentity();
    const callId = laptopCall.id;
    const forgeries: [string, ReturnType<typeof laptop.client.deliver>][] = [
      // The caller makes an own-device cancel with her key and claims it comes from Bob's devices.
      ['caller as bob', laptop.client.deliver('bob', ownCancel({ by: alice.identity, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }))],
      // …or sends it under her own name: from a contact, a one-shot is a caller's cancel, not this.
      ['caller as herself', laptop.client.deliver('alice', ownCancel({ by: alice.identity, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }))],
      // A stranger, under Bob's name and under her own.
      ['stranger as bob', laptop.client.deliver('bob', ownCancel({ by: mallory, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }))],
      ['stranger', laptop.client.deliver('mallory', ownCancel({ by: mallory, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }))],
      // Past the pair seal (as if its key leaked), the Noise layer still wants Bob's own static key.
      ['caller inside bob’s pair seal', laptop.client.deliver('bob', ownCancel({ by: alice.identity, sealer: bob, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }))],
    ];
    expect(forgeries.map(([name, outcome]) => [name, outcome.accepted ? 'accepted' : outcome.error.code])).toEqual([
      ['caller as bob', 'DECRYPT_FAILED'],
      ['caller as herself', 'DECRYPT_FAILED'],
      ['stranger as bob', 'DECRYPT_FAILED'],
      ['stranger', 'UNKNOWN_CONTACT'],
      ['caller inside bob’s pair seal', 'DECRYPT_FAILED'],
    ]);
    expect(laptop.warnings.every((w) => isSealcallError(w))).toBe(true);
    expect(laptopCall.state).toBe('incoming');

    // The real thing, made with Bob's key, ends it.
    const real = laptop.client.deliver('bob', ownCancel({ by: bob, to: bob.publicKey, callId, callerKey: alice.identity.publicKey }));
    expect(real).toEqual({ accepted: true, callId });
    expect((await ended(laptopCall)).reason).toBe('declined-elsewhere');
  });

  it('changes nothing for another caller, another call id, or a cancel that does not decline', async () => {
    const { alice, laptop, laptopCall } = await ringingBothDevices({ ownDevices: 'bob' });
    const bob = laptop.identity;
    const callId = laptopCall.id;
    const carol = generateIdentity();
    // Bob's own key, but bound to another caller: the call with this id is Alice's.
    const otherCaller = laptop.client.deliver('bob', ownCancel({ by: bob, to: bob.publicKey, callId, callerKey: carol.publicKey }));
    expect(otherCaller.accepted ? undefined : otherCaller.error).toMatchObject({ code: 'DECRYPT_FAILED', callId });
    // A call id this device never rang: dropped without a word.
    const otherId = randomCallId();
    expect(laptop.client.deliver('bob', ownCancel({ by: bob, to: bob.publicKey, callId: otherId, callerKey: alice.identity.publicKey }))).toEqual({ accepted: true, callId: otherId });
    // Only a decline comes from one's own devices.
    const notDecline = laptop.client.deliver('bob', ownCancel({ by: bob, to: bob.publicKey, callId, callerKey: alice.identity.publicKey, reason: 'answered-elsewhere' }));
    expect(notDecline.accepted ? undefined : notDecline.error.code).toBe('BAD_MESSAGE');
    expect(laptop.warnings.map((w) => w.code)).toEqual(['DECRYPT_FAILED', 'BAD_MESSAGE']);
    expect(laptopCall.state).toBe('incoming');
  });

  it('changes nothing on a device that answered already', async () => {
    const { alice, aliceCall, laptop, laptopCall, phoneCall } = await ringingBothDevices({ ownDevices: 'bob' });
    await laptopCall.accept();
    await Promise.all([reach(aliceCall, 'connected'), reach(laptopCall, 'connected')]);
    expect((await ended(phoneCall)).reason).toBe('answered-elsewhere');
    // As if the phone had declined silently just before the caller's answered-elsewhere reached it.
    const cancel = ownCancel({ by: laptop.identity, to: laptop.identity.publicKey, callId: laptopCall.id, callerKey: alice.identity.publicKey });
    expect(laptop.client.deliver('bob', cancel)).toEqual({ accepted: true, callId: laptopCall.id });
    expect(laptopCall.state).toBe('connected');
    expect(aliceCall.state).toBe('connected');
    expect(laptop.warnings).toEqual([]);
    await laptopCall.hangup();
  });

  it("is harmless as the sender's own echo, and as a replay later", async () => {
    const { network, alice, phone, laptop, aliceCall, phoneCall, laptopCall } = await ringingBothDevices({ ownDevices: 'bob' });
    const afterRinging = network.observed.length;
    await phoneCall.reject({ silent: true });
    expect((await ended(laptopCall)).reason).toBe('declined-elsewhere');
    const sent = network.observed.slice(afterRinging).find((m) => m.from === 'bob' && m.to === 'bob');
    expect(sent).toBeDefined();
    // A transport that hands a note-to-self back to its sender: the phone's call is over already.
    expect(phone.client.deliver('bob', sent!.payload)).toEqual({ accepted: true, callId: phoneCall.id });
    expect(laptop.client.deliver('bob', sent!.payload)).toEqual({ accepted: true, callId: laptopCall.id });
    expect(phoneCall.endedWith).toMatchObject({ reason: 'rejected', silent: true });
    expect([...phone.warnings, ...laptop.warnings]).toEqual([]);
    expect((await ended(aliceCall)).reason).toBe('no-answer');

    // Both devices ring the caller's next call as usual.
    const incoming = Promise.all([once(phone.client, 'incoming'), once(laptop.client, 'incoming')]);
    const again = await alice.client.call('bob');
    const [[phoneAgain], [laptopAgain]] = await incoming;
    expect([phoneAgain.id, laptopAgain.id]).toEqual([again.id, again.id]);
    await again.hangup();
  });

  it('is checked: a non-empty peer id, never called', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 72 }));
    await expect(harness.user('bob', { ownDevices: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const bob = await harness.user('bob', { ownDevices: 'bob-devices' });
    await harness.user('alice');
    await expect(bob.client.call('bob-devices')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
