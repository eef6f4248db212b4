// alice calls bob through a sealcall relay on this machine; bob accepts; the call connects with
// end-to-end encrypted signaling and media; alice hangs up. Run: npm run build && node examples/call.mjs
import wrtc from '@roamhq/wrtc'; // Node only: browsers have WebRTC built in
import { WebSocket } from 'ws'; // Node only
import { CallClient, WebSocketTransport, exitNodeProcess, generateIdentity, ready } from 'sealcall';
import { Relay } from 'sealcall/relay';

await ready(); // loads libsodium once
const relay = new Relay(); // your app may carry calls over its own chat instead (ChatTransport)
const { url } = await relay.listen({ port: 0 });

async function user() {
  const identity = generateIdentity(); // keep identity.secretKey; share transport.address
  const transport = await WebSocketTransport.connect({ url, identity, WebSocket });
  const client = await CallClient.create({ identity, transport, wrtc });
  return { transport, client };
}
const alice = await user();
const bob = await user();
// An address carries the relay queue and the contact's public key: adding it is all it takes.
alice.transport.addContact('bob', bob.transport.address);
bob.transport.addContact('alice', alice.transport.address);

bob.client.on('incoming', (call) => call.accept({ audio: true })); // or call.reject()
const call = await alice.client.call('bob', { audio: true });
call.on('state', (state) => console.log(`alice: ${state}`));
call.on('ended', ({ reason, error }) => console.log(`alice: ended (${reason}${error ? `, ${error.code}` : ''})`));
await new Promise((resolve) => call.on('state', (state) => state === 'connected' && resolve()));
console.log(`media: ${call.e2ee === 'frame' ? 'frame-encrypted' : 'DTLS-SRTP'}, ${await call.path()} path`);
await call.hangup();

for (const { client, transport } of [alice, bob]) {
  await client.close();
  transport.close();
}
await relay.close();
await exitNodeProcess(); // ends the process without @roamhq/wrtc's crash at a natural exit
