import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, once } from './helpers/call-harness.js';

let harness: Harness;
afterEach(() => harness?.close());

/** Alice calls Bob's phone and laptop (ring timeout 400 ms); resolves once both rang and the network is quiet. */
async function ringingBothDevices() {
  const network = new MemoryNetwork({ seed: 71 });
  harness = new Harness(network);
  const alice = await harness.user('alice', { ringTimeoutMs: 400 });
  const phone = await harness.user('bob');
  const laptop = await harness.user('bob');
  const incoming = Promise.all([once(phone.client, 'incoming'), once(laptop.client, 'incoming')]);
  const aliceCall = await alice.client.call('bob');
  const [[phoneCall], [laptopCall]] = await incoming;
  await network.settled(); // both devices' ringing replies arrived and were acknowledged
  return { network, alice, aliceCall, phoneCall, laptopCall };
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

  it('leaves devices the app does not sync ringing until the caller gives up', async () => {
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
