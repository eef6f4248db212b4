/**
 * examples/xmpp against a real XMPP server: Debian's prosody, started per test on a free port
 * (test/helpers/prosody.ts), and real WebRTC (@roamhq/wrtc). The signaling of every call travels
 * as chat messages through prosody; the media goes peer to peer.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectXmppTransport, type XmppStatus, type XmppTransport, type XmppTransportOptions } from '../examples/xmpp/xmpp-transport.mjs';
import { CallClient, fromTextTransport, generateIdentity, ready, type Identity } from '../src/index.js';
import { ended, nodeWrtc, once, reach } from './helpers/call-harness.js';
import { startProsody, type Prosody, type ProsodyOptions } from './helpers/prosody.js';

const ALICE = 'alice@localhost';
const BOB = 'bob@localhost';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' };
type User = keyof typeof PASSWORDS;

let identities: Record<User, Identity>;
let prosody: Prosody | undefined;
const transports: XmppTransport[] = [];
const clients: CallClient[] = [];

beforeAll(async () => {
  await ready();
  identities = { alice: generateIdentity(), bob: generateIdentity(), carol: generateIdentity() };
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await prosody?.stop();
  prosody = undefined;
});

/** `promise`, or a rejection naming `what` after `ms`. */
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

/** One device: an XMPP resource of `user`'s account. */
async function connect(user: User, resource: string, options: Partial<XmppTransportOptions> = {}): Promise<XmppTransport> {
  const transport = await connectXmppTransport({
    service: prosody!.service,
    domain: prosody!.domain,
    username: user,
    password: PASSWORDS[user],
    resource,
    reconnectDelayMs: 50,
    ...options,
  });
  transports.push(transport);
  return transport;
}

/** One device with a CallClient: the same identity on every device of a user. */
async function device(user: User, resource: string, options: Partial<XmppTransportOptions> = {}) {
  const chat = await connect(user, resource, options);
  const client = await CallClient.create({
    identity: identities[user],
    transport: fromTextTransport(chat),
    contacts: { [ALICE]: identities.alice.publicKey, [BOB]: identities.bob.publicKey },
    wrtc: nodeWrtc,
    // A peer connection closing without an `end` message also ends a call `remote-hangup`, after
    // this grace: long enough that within the tests' waits only the message over XMPP can.
    remoteEndGraceMs: 60_000,
  });
  clients.push(client);
  return { chat, client };
}

/** Resolves when the transport is in `wanted`, with the error that led there, if any. */
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

/** Resolves with the next message `transport` receives. */
function nextMessage(transport: XmppTransport): Promise<[from: string, text: string]> {
  return new Promise((resolve) => {
    const off = transport.onMessage((from, text) => {
      off();
      resolve([from, text]);
    });
  });
}

/** Cuts the device's connection as a network failure would (no stream close). */
function cut(transport: XmppTransport): void {
  transport.xmpp.socket!.destroy();
}

describe('calls over XMPP (prosody, xmpp.js)', () => {
  it('alice calls bob, bob answers, both connect; alice hangs up and bob hears it', async () => {
    await server();
    const [alice, bob] = await Promise.all([device('alice', 'laptop'), device('bob', 'phone')]);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    expect(bobCall.peer).toBe(ALICE);

    await bobCall.accept({ audio: true });
    await within(Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]), 'both connected');
    const data = once(bobCall, 'data');
    aliceCall.send('peer to peer');
    expect(Buffer.from((await within(data, 'data channel'))[0]).toString()).toBe('peer to peer');

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await within(bobEnded, "bob's call to end")).reason).toBe('remote-hangup');
  });

  it('bob rejects: alice hears it', async () => {
    await server();
    const [alice, bob] = await Promise.all([device('alice', 'laptop'), device('bob', 'phone')]);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    const aliceEnded = ended(aliceCall);
    await bobCall.reject();
    expect(bobCall.endedWith?.reason).toBe('rejected');
    expect((await within(aliceEnded, "alice's call to end")).reason).toBe('rejected');
  });

  it("both of bob's devices (two resources of one account) ring; the one that answers gets the call, the other stops", async () => {
    await server();
    const [alice, phone, desk] = await Promise.all([device('alice', 'laptop'), device('bob', 'phone'), device('bob', 'desk')]);
    const phoneRings = once(phone.client, 'incoming');
    const deskRings = once(desk.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [[phoneCall], [deskCall]] = await within(Promise.all([phoneRings, deskRings]), 'both devices to ring');

    const phoneEnded = ended(phoneCall);
    await deskCall.accept({ audio: true });
    await within(Promise.all([reach(aliceCall, 'connected'), reach(deskCall, 'connected')]), 'alice and the desk connected');
    expect((await within(phoneEnded, "the phone's call to end")).reason).toBe('answered-elsewhere');

    const deskEnded = ended(deskCall);
    await aliceCall.hangup();
    expect((await within(deskEnded, "the desk's call to end")).reason).toBe('remote-hangup');
  });

  it("a call stays up while alice's XMPP connection drops and comes back; her mute and hangup then reach bob", async () => {
    await server();
    const [alice, bob] = await Promise.all([device('alice', 'laptop'), device('bob', 'phone')]);
    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    await bobCall.accept({ audio: true });
    await within(Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]), 'both connected');

    const dropped = status(alice.chat, 'reconnecting');
    cut(alice.chat);
    await within(dropped, 'alice offline');
    // Media and data are peer to peer: the chat server being unreachable does not touch them.
    const data = once(bobCall, 'data');
    aliceCall.send('while offline');
    expect(Buffer.from((await within(data, 'data channel'))[0]).toString()).toBe('while offline');
    // A signaling message (her mute) cannot go out now: it waits, and the call goes on.
    const muted = new Promise<void>((resolve) => bobCall.on('remote-media', (media) => media.audioMuted && resolve()));
    expect(await aliceCall.setAudioMuted(true)).toBe(true);

    await within(status(alice.chat, 'online'), 'alice online again');
    await within(muted, "alice's mute to reach bob");
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect(aliceCall.endedWith?.reason).toBe('hangup');
    expect((await within(bobEnded, "bob's call to end")).reason).toBe('remote-hangup');
  });

  it('connects through a server with a 10 KiB stanza limit, also when every message must be split into parts', async () => {
    await server({ stanzaSizeLimit: 10_240 });
    // Alice declares what the limit allows (9,216 characters); bob only 1,024 characters (759 bytes
    // of envelope), so his offer travels in parts.
    const [alice, bob] = await Promise.all([
      device('alice', 'laptop', { stanzaSizeLimit: 10_240 }),
      device('bob', 'phone', { stanzaSizeLimit: 10_240, maxTextLength: 1024 }),
    ]);
    const drops: string[] = [];
    for (const { chat } of [alice, bob]) chat.onStatus((s, error) => s === 'reconnecting' && drops.push(error?.message ?? s));
    const bobTexts: number[] = []; // the length of every text bob sends
    const send = bob.chat.send.bind(bob.chat);
    bob.chat.send = (to, text) => (bobTexts.push(text.length), send(to, text));

    const incoming = once(bob.client, 'incoming');
    const aliceCall = await alice.client.call(BOB, { audio: true });
    const [bobCall] = await within(incoming, "bob's incoming call");
    await bobCall.accept({ audio: true });
    await within(Promise.all([reach(aliceCall, 'connected'), reach(bobCall, 'connected')]), 'both connected');
    expect(drops).toEqual([]);
    expect(Math.max(...bobTexts)).toBeLessThanOrEqual(1024);

    const bobEnded = ended(bobCall);
    await aliceCall.hangup();
    expect((await within(bobEnded, "bob's call to end")).reason).toBe('remote-hangup');
  });
});

describe('the XMPP transport (examples/xmpp)', () => {
  it("delivers a chat message to every resource of an account as from the sender's bare JID, but not the account's own messages, errors, groupchat or headlines", async () => {
    await server();
    const [alice, phone, desk] = await Promise.all([connect('alice', 'laptop'), connect('bob', 'phone'), connect('bob', 'desk')]);
    const got: string[] = [];
    const aliceGot: string[] = [];
    phone.onMessage((from, text) => got.push(`phone: ${from}: ${text}`));
    desk.onMessage((from, text) => got.push(`desk: ${from}: ${text}`));
    alice.onMessage((from, text) => aliceGot.push(`${from}: ${text}`));

    // This account's own message reaches both of its resources, which ignore it. prosody routes
    // in order: once alice has the phone's next message, the desk has been sent the first.
    const marker = nextMessage(alice);
    await phone.send(BOB, 'from one of my devices to the others');
    await phone.send(ALICE, 'marker');
    await within(marker, 'the marker');
    // Not chat: the server's bounce of a message to an unknown account; an error, a groupchat
    // message and a headline with a body (to full JIDs, which prosody delivers as they are).
    const bounced = new Promise((resolve) => alice.xmpp.on('stanza', (s: { attrs: { type?: string } }) => s.attrs.type === 'error' && resolve(s)));
    await alice.send('nobody@localhost', 'anyone?');
    await within(bounced, 'the bounce');
    const { xml } = await vi.importActual<{ xml: (name: string, attrs: object, ...children: unknown[]) => unknown }>('@xmpp/client');
    for (const type of ['error', 'groupchat', 'headline']) {
      for (const to of [`${BOB}/phone`, `${BOB}/desk`]) await alice.xmpp.send(xml('message', { type, to }, xml('body', {}, type)));
    }

    const both = Promise.all([nextMessage(phone), nextMessage(desk)]);
    await alice.send(BOB, 'hi bob');
    expect(await within(both, 'both resources')).toEqual([
      [ALICE, 'hi bob'],
      [ALICE, 'hi bob'],
    ]);
    expect(got.sort()).toEqual([`desk: ${ALICE}: hi bob`, `phone: ${ALICE}: hi bob`]);

    const reply = nextMessage(alice);
    await desk.send(ALICE, 'hi alice');
    expect(await within(reply, "alice's reply")).toEqual([BOB, 'hi alice']);
    expect(aliceGot).toEqual([`${BOB}: marker`, `${BOB}: hi alice`]);
  });

  it('counts stanzas right for stream management when a message comes back at once after login', async () => {
    await server();
    const alice = await connect('alice', 'laptop');
    for (let round = 0; round < 2; round++) {
      const phone = await connect('bob', `phone${round}`);
      const drops: string[] = [];
      phone.onStatus((s, error) => drops.push(`${s}: ${error?.message}`));
      // To its own account: prosody sends it straight back (ignored here), and asks for an ack
      // with it. An ack that counts stanzas the server never sent ends the stream.
      await phone.send(BOB, 'note to self');
      const marker = nextMessage(alice);
      await phone.send(ALICE, 'marker');
      await within(marker, 'the marker');
      const reply = nextMessage(phone);
      await alice.send(BOB, 'reply');
      expect(await within(reply, 'the reply')).toEqual([ALICE, 'reply']);
      expect(drops).toEqual([]);
    }
  });

  it('hands over what the server stored while the account was offline, and reconnects by itself', async () => {
    await server();
    const alice = await connect('alice', 'laptop');
    await alice.send('carol@localhost', 'stored for later');
    const carol = await connect('carol', 'tablet');
    // Delivered after carol's first presence, before any handler (as when an app subscribes
    // only once its CallClient is created): kept for the first one.
    await within(new Promise((resolve) => carol.xmpp.on('stanza', (s: { name: string }) => s.name === 'message' && resolve(s))), 'the stored message');
    expect(await within(nextMessage(carol), 'the stored message for the handler')).toEqual([ALICE, 'stored for later']);

    const dropped = status(carol, 'reconnecting');
    cut(carol);
    await within(dropped, 'carol offline');
    // Offline, sending fails at once: it neither waits for the connection nor hangs.
    await within(expect(carol.send(ALICE, 'hello?')).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' }), 'send to fail', 1_000);
    await within(status(carol, 'online'), 'carol back online');
    const later = nextMessage(carol);
    await alice.send('carol@localhost', 'after the reconnect');
    expect(await within(later, "carol's message")).toEqual([ALICE, 'after the reconnect']);
  });

  it('declares maxTextLength for a 10 KiB stanza limit and refuses longer text; prosody closes the stream of a stanza over it', async () => {
    await server({ stanzaSizeLimit: 10_240 });
    const options = { stanzaSizeLimit: 10_240 };
    const [alice, bob] = await Promise.all([connect('alice', 'laptop', options), connect('bob', 'phone', options)]);
    expect(alice.maxTextLength).toBe(10_240 - 1024);
    expect(fromTextTransport(alice).maxPayloadBytes).toBe(Math.floor((10_240 - 1024 - 'sealcall:'.length) / 4) * 3);

    const longest = 'x'.repeat(alice.maxTextLength!);
    const received = nextMessage(bob);
    await alice.send(BOB, longest);
    expect((await within(received, 'the longest text'))[1]).toBe(longest);
    await expect(alice.send(BOB, longest + 'x')).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(alice.status).toBe('online');

    // From a transport that does not know the limit, an 11 KB stanza: prosody ends the stream
    // and the transport reconnects.
    const unaware = await connect('alice', 'unaware');
    const dropped = status(unaware, 'reconnecting');
    await unaware.send(BOB, 'x'.repeat(11_000));
    const error = await within(dropped, 'the server to close the stream');
    expect(error).toMatchObject({ condition: 'policy-violation' });
    await within(status(unaware, 'online'), 'online again');
    const after = nextMessage(bob);
    await unaware.send(BOB, 'still here');
    expect(await within(after, 'a message after the reconnect')).toEqual([ALICE, 'still here']);
  });
});
