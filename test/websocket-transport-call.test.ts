import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import { Relay } from '../src/relay/index.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { connectedPair, ended, Harness, once } from './helpers/call-harness.js';
import { recordingWebSocket } from './helpers/relay-fixture.js';

let harness: Harness | undefined;
let relay: Relay | undefined;
let dir: string | undefined;

afterEach(async () => {
  await harness?.close();
  await relay?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  harness = relay = dir = undefined;
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Alice and Bob on WebSocketTransports through a real relay that keeps its queues in a file. */
async function setup() {
  await ready();
  dir = mkdtempSync(join(tmpdir(), 'sealcall-call-relay-'));
  const storePath = join(dir, 'relay.store');
  relay = new Relay({ storePath });
  const { url, port } = await relay.listen();
  const identities = { alice: generateIdentity(), bob: generateIdentity() };
  const sockets = recordingWebSocket(); // both transports': each reconnection attempt makes one
  const connect = (name: 'alice' | 'bob') =>
    WebSocketTransport.connect({ url, identity: identities[name], WebSocket: sockets.WebSocket, backoff: { initialMs: 50, maxMs: 200 } });
  const transports = { alice: await connect('alice'), bob: await connect('bob') };
  transports.alice.addContact('bob', transports.bob.address);
  transports.bob.addContact('alice', transports.alice.address);
  const h = (harness = new Harness(new MemoryNetwork({ seed: 1 })));
  h.onClose(() => {
    transports.alice.close();
    transports.bob.close();
  });
  const contacts = { alice: identities.alice.publicKey, bob: identities.bob.publicKey };
  const pair = await connectedPair(h, {
    alice: { identity: identities.alice, contacts, transport: transports.alice },
    bob: { identity: identities.bob, contacts, transport: transports.bob },
  });
  const restart = async () => {
    relay = new Relay({ storePath });
    await relay.listen({ port });
  };
  /** Resolves once the transports tried `n` more connections (they fail while the relay is down). */
  const attempts = async (n: number) => {
    const before = sockets.record.made;
    await until(() => sockets.record.made >= before + n);
  };
  return { ...pair, transports, restart, attempts };
}

describe('calls over WebSocketTransports through a real relay', () => {
  it('stay connected while the relay restarts, and the hangup still arrives afterwards', async () => {
    const { aliceCall, bobCall, transports, restart, attempts } = await setup();
    expect(aliceCall.state).toBe('connected');

    await relay!.close();
    await until(() => transports.alice.status === 'reconnecting' && transports.bob.status === 'reconnecting');
    // Media and data are peer to peer: the relay being gone does not touch them.
    const data = once(bobCall, 'data');
    aliceCall.send('over the data channel, relay down');
    expect(Buffer.from((await data)[0]).toString()).toBe('over the data channel, relay down');
    await attempts(4);
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);

    await restart();
    await until(() => transports.alice.status === 'connected' && transports.bob.status === 'connected');
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await bobEnded).reason).toBe('remote-hangup');
  });

  it('delivers a hangup sent while the relay is down once it is back', async () => {
    const { aliceCall, bobCall, transports, restart, attempts } = await setup();
    await relay!.close();
    await until(() => transports.alice.status === 'reconnecting');
    const bobEnded = ended(bobCall);
    const hangup = aliceCall.hangup(); // held by the transport until the relay is back
    await attempts(4);
    expect(bobCall.state).toBe('connected');
    await restart();
    await hangup;
    expect((await bobEnded).reason).toBe('remote-hangup');
  });
});

describe("a silent reject over WebSocketTransports reaches only the user's own devices", () => {
  it("stops Bob's other device (ownDevices: the name his other device's address was added under); the caller rings out", async () => {
    await ready();
    relay = new Relay();
    const { url } = await relay.listen();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const connect = (identity: typeof alice) => WebSocketTransport.connect({ url, identity, WebSocket, backoff: { initialMs: 50, maxMs: 200 } });
    const [toAlice, phone, laptop] = [await connect(alice), await connect(bob), await connect(bob)];
    toAlice.addContact('bob', phone.address);
    toAlice.addContact('bob', laptop.address);
    for (const device of [phone, laptop]) device.addContact('alice', toAlice.address);
    phone.addContact('me', laptop.address);
    laptop.addContact('me', phone.address);
    const h = (harness = new Harness(new MemoryNetwork({ seed: 1 })));
    h.onClose(() => [toAlice, phone, laptop].forEach((t) => t.close()));
    // Contacts from the transports (addContact), as an app on this transport would have them.
    const aliceUser = await h.user('alice', { identity: alice, transport: toAlice, contacts: undefined, ringTimeoutMs: 3_000 });
    const own = { identity: bob, contacts: undefined, ownDevices: 'me' };
    const [phoneUser, laptopUser] = [await h.user('bob', { ...own, transport: phone }), await h.user('bob', { ...own, transport: laptop })];
    const incoming = Promise.all([once(phoneUser.client, 'incoming'), once(laptopUser.client, 'incoming')]);
    const aliceCall = await aliceUser.client.call('bob');
    const [[phoneCall], [laptopCall]] = await incoming;

    await phoneCall.reject({ silent: true });
    const laptopEnded = await ended(laptopCall);
    expect(laptopEnded.reason).toBe('declined-elsewhere');
    expect(laptopEnded.endedAt - laptopEnded.startedAt).toBeLessThan(3_000);
    // The caller was told nothing: it rings on until its own timeout.
    expect(aliceCall.state).toBe('outgoing');
    const aliceEnded = await ended(aliceCall);
    expect(aliceEnded.reason).toBe('no-answer');
    expect(aliceEnded.endedAt - aliceEnded.startedAt).toBeGreaterThanOrEqual(3_000);
    expect([...aliceUser.warnings, ...phoneUser.warnings, ...laptopUser.warnings]).toEqual([]);
  });
});
