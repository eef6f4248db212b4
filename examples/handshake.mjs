// Two contacts, alice and bob, run sealcall's encrypted signaling over an in-memory chat network:
// an invitation (Noise KK message 1), bob's "ringing" reply (message 2), then transport messages
// both ways. It prints what each side read and what the network (a stand-in for the relay) saw.
//
//   npm run demo
import {
  IncomingHandshake,
  OutgoingHandshake,
  ReplayCache,
  decodeMessage,
  encodeMessage,
  generateIdentity,
  ready,
} from 'sealcall';
import { MemoryNetwork } from 'sealcall/testing';

await ready();
const alice = generateIdentity();
const bob = generateIdentity();
const network = new MemoryNetwork({ latencyMs: [5, 40], seed: 7 });
const aliceLink = network.endpoint('alice');
const bobLink = network.endpoint('bob');
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const show = (who, message) => console.log(`${who.padEnd(6)} read  ${message.type.padEnd(11)} seq ${message.seq}`);

// Bob answers every invitation with "ringing", then waits for alice's messages.
const bobDone = new Promise((resolve) => {
  let session;
  bobLink.onMessage(async (from, envelope) => {
    if (!session) {
      const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope, replayCache: new ReplayCache() });
      const invite = decodeMessage(incoming.payload);
      show('bob', invite);
      const reply = incoming.respond(encodeMessage({ type: 'ringing', callId: invite.callId, seq: 0, capabilities: { frameEncryption: [] } }));
      session = reply.session;
      await bobLink.send(from, reply.envelope);
      return;
    }
    const message = decodeMessage(session.open(envelope));
    show('bob', message);
    if (message.type === 'end') {
      console.log(`bob    handshake hash ${hex(session.handshakeHash).slice(0, 32)}…`);
      session.dispose();
      resolve();
    }
  });
});

const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
const callId = outgoing.callId;
const ringing = new Promise((resolve) => aliceLink.onMessage((_from, envelope) => resolve(outgoing.accept(envelope))));
await aliceLink.send(
  'bob',
  outgoing.invite(encodeMessage({ type: 'invite', callId, seq: 0, media: 'audio', capabilities: { frameEncryption: [] }, sentAt: Date.now(), lifetimeMs: 30_000 })),
);
const { session, payload } = await ringing;
show('alice', decodeMessage(payload));
await aliceLink.send('bob', session.seal(encodeMessage({ type: 'media-state', callId, seq: 1, audioMuted: true, videoEnabled: false })));
await aliceLink.send('bob', session.seal(encodeMessage({ type: 'end', callId, seq: 2, reason: 'hangup' })));
await bobDone;
console.log(`alice  handshake hash ${hex(session.handshakeHash).slice(0, 32)}…`);
session.dispose();
outgoing.dispose();

console.log('\nwhat the network saw (all it ever learns):');
for (const { from, to, payload } of network.observed) {
  console.log(`  ${from.padEnd(5)} → ${to.padEnd(5)} ${String(payload.length).padStart(5)} bytes  ${hex(payload.subarray(0, 12))}…`);
}
network.close();
