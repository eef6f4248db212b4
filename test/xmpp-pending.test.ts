/**
 * NOT COMMITTED: XMPP call tests expected to fail until the library changes (see the report).
 * (e) A server with a 10 KiB stanza limit: sealcall's offer does not fit one message until
 *     messages are split by `maxPayloadBytes`.
 * (d2) A signaling message sent while the chat is offline (a mute) ends the call.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectXmppTransport, type XmppStatus, type XmppTransport, type XmppTransportOptions } from '../examples/xmpp/xmpp-transport.mjs';
import { CallClient, fromTextTransport, generateIdentity, ready, type Identity } from '../src/index.js';
import { ended, nodeWrtc, once, reach } from './helpers/call-harness.js';
import { startProsody, type Prosody, type ProsodyOptions } from './helpers/prosody.js';

const ALICE = 'alice@localhost';
const BOB = 'bob@localhost';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' };
type User = keyof typeof PASSWORDS;

let identities: Record<User, Identity>;
let prosody: Prosody | undefined;
const transports: XmppTransport[] = [];
const clients: CallClient[] = [];

beforeAll(async () => {
  await ready();
  identities = { alice: generateIdentity(), bob: generateIdentity() };
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await prosody?.stop();
  prosody = undefined;
});

async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function server(options: ProsodyOptions = {}): Promise<Prosody> {
  prosody = await startProsody({ users: PASSWORDS, ...options });
  return prosody;
}

async function device(user: User, resource: string, options: Partial<XmppTransportOptions> = {}) {
  const chat = await connectXmppTransport({
    service: prosody!.service,
    domain: prosody!.domain,
    username: user,
    password: PASSWORDS[user],
    resource,
    reconnectDelayMs: 50,
    ...options,
  });
  transports.push(chat);
  const client = await CallClient.create({
    identity: identities[user],
    transport: fromTextTransport(chat),
    contacts: { [ALICE]: identities.alice.publicKey, [BOB]: identities.bob.publicKey },
    wrtc: nodeWrtc,
  });
  clients.push(client);
  return { chat, client };
}

function status(transport: XmppTransport, wanted: XmppStatus): Promise<Error | undefined> {
  if (transport.status === wanted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const off = transport.onStatus((s, error) => {
      if (s !== wanted) return;
      off();
      resolve(error);
    });
  });
}

describe('XMPP calls the library cannot make yet', () => {
  it('(e) connects through a server with a 10 KiB stanza limit (needs messages split by maxPayloadBytes)', async () => {
    await server({ stanzaSizeLimit: 10_240 });
    const options = { stanzaSizeLimit: 10_240 }; // maxTextLength 9216: maxPayloadBytes 6903
    const [alice, bob] = await Promise.all([device('alice', 'laptop', options), device('bob', 'phone', options)]);
    const drops: string[] = [];
    for (const [name, d] of [['alice', alice], ['bob', bob]] as const) {
      d.chat.onStatus((s, error) => s === 'reconnecting' && drops.push(`${name}: ${error?.message}`));
    }
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    const endings = [ended(aliceCall), ended(bobCall)];
    await bobCall.accept({ audio: true });
    const outcome = await within(
      Promise.race([
        Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]).then(() => 'connected'),
        ...endings.map((e, i) => e.then((x) => `${i ? 'bob' : 'alice'} ended ${x.reason}${x.error ? ` (${x.error.code}: ${x.error.message})` : ''}`)),
      ]),
      'the call to connect or end',
    );
    expect({ outcome, drops }).toEqual({ outcome: 'connected', drops: [] });

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await within(bobEnded, "bob's call to end")).reason).toBe('remote-hangup');
  });

  it('(d2) a call survives muting while the chat is offline', async () => {
    await server();
    const [alice, bob] = await Promise.all([device('alice', 'laptop'), device('bob', 'phone')]);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    await bobCall.accept({ audio: true });
    await within(Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]), 'both connected');

    const dropped = status(alice.chat, 'reconnecting');
    alice.chat.xmpp.socket!.destroy();
    await within(dropped, 'alice offline');
    await aliceCall.setAudioMuted(true); // announced to bob as a `media-state` signaling message
    await within(status(alice.chat, 'online'), 'alice online again');
    expect({ alice: aliceCall.state, ended: aliceCall.endedWith }).toEqual({ alice: 'connected', ended: undefined });
  });
});
