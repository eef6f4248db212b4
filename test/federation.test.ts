import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import { decodeAddress } from '../src/relay-client/address.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, ended, Harness } from './helpers/call-harness.js';
import { CliProcess, cliProcesses } from './helpers/cli-peer.js';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const process of [...cliProcesses]) {
    process.kill('SIGKILL');
    await process.exited;
  }
});

/** A `sealcall relay` process of its own, memory only, on a free port; resolves with its URL. */
async function relayProcess(): Promise<{ process: CliProcess; url: string }> {
  const process = new CliProcess(['relay', '--port', '0', '--json']);
  const listening = await process.next('listening');
  return { process, url: String(listening.url) };
}

describe('federation: contacts whose queues live on different relays', () => {
  it('call each other through two relay processes, each address naming its own relay', async () => {
    await ready();
    const [one, two] = await Promise.all([relayProcess(), relayProcess()]);
    // Two relays, two identities: each URL pins its own relay's key.
    expect(new URL(one.url).username).not.toBe(new URL(two.url).username);
    const identities = { alice: generateIdentity(), bob: generateIdentity() };
    const options = { WebSocket, backoff: { initialMs: 50, maxMs: 200 } };
    const alice = await WebSocketTransport.connect({ url: one.url, identity: identities.alice, ...options });
    const bob = await WebSocketTransport.connect({ url: two.url, identity: identities.bob, ...options });
    expect(decodeAddress(alice.address).relayUrl).toBe(one.url);
    expect(decodeAddress(bob.address).relayUrl).toBe(two.url);
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);

    const h = (harness = new Harness(new MemoryNetwork({ seed: 13 })));
    h.onClose(() => {
      alice.close();
      bob.close();
    });
    const contacts = { alice: identities.alice.publicKey, bob: identities.bob.publicKey };
    const { aliceCall, bobCall } = await connectedPair(h, {
      alice: { identity: identities.alice, contacts, transport: alice },
      bob: { identity: identities.bob, contacts, transport: bob },
    });
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);

    // Each side subscribes only to its own relay: every envelope alice sent crossed to relay two.
    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await bobEnded).reason).toBe('remote-hangup');
  });
});
