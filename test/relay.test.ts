import { randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { authenticate, commandKey, DELIVERY_OVERHEAD, generateRelayKeyPair, openDelivery, verifyHello } from '../src/crypto/relay-keys.js';
import { isSealcallError } from '../src/errors.js';
import { authContent, RELAY_PROTOCOL_VERSION, type HelloFrame, type MsgFrame, type RelayFrame } from '../src/protocol/relay-frames.js';
import { pinnedRelayKey, socketUrl } from '../src/protocol/relay-url.js';
import { Relay } from '../src/relay/index.js';
import { RawClient, type RawQueue } from './helpers/relay-client.js';
import { decodeRelayFrames } from './helpers/relay-codec.js';
import { RelayFixture, text as body, textOf, until } from './helpers/relay-fixture.js';

// The relay over real sockets on 127.0.0.1: its identity and hello, queues, delivery (re-encrypted
// for the recipient), acknowledgements, authenticators, blocks, persistence. Limits and hostile
// input are in relay-limits.test.ts.
const f = new RelayFixture();
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await f.close();
});

const errCode = (frame: RelayFrame) => (frame.t === 'err' ? frame.code : frame.t);
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** The text a delivered `msg` carries, opened with the queue's delivery key. */
const opened = (queue: RawQueue, msg: MsgFrame) => textOf(RawClient.open(queue, msg));

/** A bare `ws` socket on the relay recording every WebSocket message it receives, as bytes. */
async function rawSocket(relay: Relay): Promise<{ ws: WebSocket; messages: Uint8Array[] }> {
  const ws = new WebSocket(socketUrl(relay.address!.url));
  sockets.push(ws);
  const messages: Uint8Array[] = [];
  ws.on('error', () => {});
  ws.on('message', (data) => messages.push(new Uint8Array(data as Buffer)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages };
}

describe('relay: queues and store-and-forward', () => {
  it('creates queues with two unrelated random ids', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const a = await client.newQueue();
    const b = await client.newQueue();
    expect(a.recipientId).toHaveLength(16);
    expect(a.senderId).toHaveLength(16);
    expect(Buffer.from(a.recipientId).equals(Buffer.from(a.senderId))).toBe(false);
    expect(Buffer.from(a.recipientId).equals(Buffer.from(b.recipientId))).toBe(false);
    expect(client.sessionKey).toHaveLength(32);
    expect(relay.stats.queues).toBe(2);
  });

  it('stores messages while the recipient is offline and delivers them in order on sub', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    recipient.close();
    await recipient.closed;

    const sender = await f.raw(relay);
    for (const text of ['one', 'two', 'three']) expect((await sender.sendTo(queue.senderId, body(text))).t).toBe('ok');
    // bytesStored counts what senders sent; bytesQueued what is held, sealed for the recipient.
    expect(relay.stats).toMatchObject({ messagesReceived: 3, bytesStored: 11, bytesQueued: 11 + 3 * DELIVERY_OVERHEAD, messagesDelivered: 0 });

    const back = await f.raw(relay);
    expect((await back.subscribe(queue)).t).toBe('ok');
    const messages = await back.waitForMessages(3);
    expect(messages.map((m) => opened(queue, m))).toEqual(['one', 'two', 'three']);
    expect(messages.every((m) => Buffer.from(m.recipientId).equals(Buffer.from(queue.recipientId)))).toBe(true);
    expect(new Set(messages.map((m) => Buffer.from(m.msgId).toString('hex'))).size).toBe(3);
    expect(relay.stats.messagesDelivered).toBe(3);
  });

  it('pushes messages to a live subscriber as they arrive', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    await recipient.subscribe(queue);
    const sender = await f.raw(relay);
    await sender.sendTo(queue.senderId, body('live'));
    const [msg] = await recipient.waitForMessages(1);
    expect(opened(queue, msg!)).toBe('live');
    expect(msg!.ts).toBeGreaterThan(Date.now() - 5000);
  });

  it('redelivers unacknowledged messages on the next sub, never acknowledged ones', async () => {
    const relay = await f.start();
    const first = await f.raw(relay);
    const queue = await first.newQueue();
    const sender = await f.raw(relay);
    for (const text of ['a', 'b', 'c']) await sender.sendTo(queue.senderId, body(text));
    await first.subscribe(queue);
    const got = await first.waitForMessages(3);
    expect((await first.ack(queue, got[0]!.msgId)).t).toBe('ok');
    // Acknowledging again is harmless (the first ok may have been lost on the way back).
    expect((await first.ack(queue, got[0]!.msgId)).t).toBe('ok');
    expect(relay.stats.bytesQueued).toBe(2 + 2 * DELIVERY_OVERHEAD);
    first.close();
    await first.closed;

    const second = await f.raw(relay);
    await second.subscribe(queue);
    const again = await second.waitForMessages(2);
    await second.barrier();
    expect(second.messages.map((m) => opened(queue, m))).toEqual(['b', 'c']);
    expect(again.map((m) => Buffer.from(m.msgId).toString('hex'))).toEqual(got.slice(1).map((m) => Buffer.from(m.msgId).toString('hex')));
  });

  it('keeps at most maxInFlight messages unacknowledged and sends the next one per ack', async () => {
    const relay = await f.start({ maxInFlight: 4 });
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    const sender = await f.raw(relay);
    for (let i = 0; i < 10; i++) await sender.sendTo(queue.senderId, body(`m${i}`));
    await recipient.subscribe(queue);
    await recipient.waitForMessages(4);
    await recipient.barrier();
    expect(recipient.messages).toHaveLength(4);
    await recipient.ack(queue, recipient.messages[1]!.msgId); // out of order is fine
    await recipient.waitForMessages(5);
    await recipient.barrier();
    expect(recipient.messages.map((m) => opened(queue, m))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const m of recipient.messages.filter((_, i) => i !== 1)) await recipient.ack(queue, m.msgId);
    await recipient.waitForMessages(9);
    expect(recipient.messages.map((m) => opened(queue, m)).slice(5)).toEqual(['m5', 'm6', 'm7', 'm8']);
  });

  it('lets a new sub replace the previous subscriber of a queue, and tells the previous one (end)', async () => {
    const relay = await f.start();
    const old = await f.raw(relay);
    const queue = await old.newQueue();
    await old.subscribe(queue);
    const sender = await f.raw(relay);
    await sender.sendTo(queue.senderId, body('first'));
    await old.waitForMessages(1);

    const replacement = await f.raw(relay);
    await replacement.subscribe(queue);
    expect(await old.next((frame) => frame.t === 'end')).toEqual({ t: 'end', recipientId: queue.recipientId });
    await replacement.waitForMessages(1); // 'first' again: the old subscriber never acked it
    await sender.sendTo(queue.senderId, body('second'));
    await replacement.waitForMessages(2);
    // A round trip on the old connection after the replacement had both: nothing more came to it.
    await old.request({ t: 'ping', corr: 0 });
    expect(old.messages.map((m) => opened(queue, m))).toEqual(['first']);
    expect(replacement.messages.map((m) => opened(queue, m))).toEqual(['first', 'second']);
    expect(replacement.frames.some((frame) => frame.t === 'end')).toBe(false);
  });

  it('sends no end to a connection that subscribes to its own queue again', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    expect((await client.subscribe(queue)).t).toBe('ok');
    expect((await client.subscribe(queue)).t).toBe('ok');
    await client.request({ t: 'ping', corr: 0 });
    expect(client.frames.map((frame) => frame.t)).not.toContain('end');
  });

  it('deletes a queue on an authenticated del', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('x'));
    const corr = client.nextCorr();
    const reply = client.next((f) => 'corr' in f && f.corr === corr);
    client.send({ t: 'del', corr, recipientId: queue.recipientId, auth: client.auth(queue, { t: 'del', corr }) });
    expect((await reply).t).toBe('ok');
    expect(relay.stats).toMatchObject({ queues: 0, bytesQueued: 0 });
    expect(errCode(await client.sendTo(queue.senderId, body('y')))).toBe('NO_QUEUE');
    expect(errCode(await client.subscribe(queue))).toBe('NO_QUEUE');
  });

  it('keeps a deleted queue\'s ids in the frames of that moment: a msg, then del and new in the same block', async () => {
    // A queue's ids live in a record the relay reuses once the queue is gone (ByteSlots); frames
    // hold views of it until their block is written, so the record waits for the next turn.
    const relay = await f.start();
    const client = await f.raw(relay);
    const a = await client.newQueue();
    expect((await client.subscribe(a)).t).toBe('ok');
    const keys = generateRelayKeyPair();
    const newKey = commandKey(keys.secretKey, client.sessionKey, client.sessionKey, keys.publicKey);
    const reply = (corr: number) => client.next((f) => 'corr' in f && f.corr === corr);
    const replies = Promise.all([reply(31), reply(32), reply(33)]);
    const newFrame = { t: 'new' as const, corr: 33, recipientKey: keys.publicKey };
    client.sendBlock([
      { t: 'send', corr: 31, senderId: a.senderId, body: body('last words') },
      { t: 'del', corr: 32, recipientId: a.recipientId, auth: client.auth(a, { t: 'del', corr: 32 }) },
      { ...newFrame, auth: authenticate(newKey, authContent(newFrame)) },
    ]);
    const [sent, deleted, ids] = await replies;
    expect([sent.t, deleted.t, ids.t]).toEqual(['ok', 'ok', 'ids']);
    const [msg] = await client.waitForMessages(1);
    expect(hexOf(msg!.recipientId)).toBe(hexOf(a.recipientId));
    expect(opened(a, msg!)).toBe('last words');
    if (ids.t !== 'ids') throw new Error('expected ids');
    expect(hexOf(ids.recipientId)).not.toBe(hexOf(a.recipientId));
    expect(relay.stats.queues).toBe(1);
  });

  it('delivers a burst of 1,000 messages exactly once and in order', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    await recipient.subscribe(queue);
    const seen: string[] = [];
    recipient.ws.on('message', () => {
      for (const m of recipient.messages.slice(seen.length)) {
        seen.push(opened(queue, m));
        void recipient.ack(queue, m.msgId);
      }
    });
    const sender = await f.raw(relay);
    const replies = Array.from({ length: 1000 }, (_, i) => sender.sendTo(queue.senderId, body(`#${i}`)));
    expect((await Promise.all(replies)).every((r) => r.t === 'ok')).toBe(true);
    await until(() => seen.length >= 1000, 10_000);
    await recipient.barrier();
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => `#${i}`));
    expect(relay.stats).toMatchObject({ messagesReceived: 1000, messagesDelivered: 1000 });
    // Every ack went out before the barrier's ping: all of them are processed.
    expect(relay.stats.bytesQueued).toBe(0);
  });
});


describe('relay: identity and hello', () => {
  it('signs hello with the identity address.url pins (verifyHello holds), alone in the first block, with a fresh session key per connection', async () => {
    const relay = await f.start();
    const pinned = pinnedRelayKey(relay.address!.url);
    expect(pinned).toHaveLength(32);
    const hellos: HelloFrame[] = [];
    for (let i = 0; i < 3; i++) {
      const { messages } = await rawSocket(relay);
      await until(() => messages.length > 0);
      const frames = decodeRelayFrames(messages[0]!);
      expect(frames).toHaveLength(1);
      const hello = frames[0]!;
      if (hello.t !== 'hello') throw new Error(`expected hello first, got ${hello.t}`);
      expect(hello.v).toBe(RELAY_PROTOCOL_VERSION);
      expect(verifyHello(hello.relayKey, hello.sessionKey, hello.sig)).toBe(true);
      expect(hexOf(hello.relayKey)).toBe(hexOf(pinned));
      hellos.push(hello);
    }
    expect(new Set(hellos.map((h) => hexOf(h.sessionKey))).size).toBe(3);
    // The signature is over this connection's session key: it proves nothing for another one.
    expect(verifyHello(hellos[0]!.relayKey, hellos[1]!.sessionKey, hellos[0]!.sig)).toBe(false);
    // A relay with another identity cannot pass for this one.
    const other = await f.start();
    const impostor = await f.raw(other);
    expect(hexOf(impostor.relayKey)).not.toBe(hexOf(pinned));
  });

  it('keeps its identity (the fingerprint in address.url) across a restart with storePath; memory-only relays each have their own', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const url = relay.address!.url;
    expect(new URL(url).username).not.toBe('');
    await f.stop(relay);
    const restarted = await f.start({ storePath }, relay.address!.port);
    expect(restarted.address!.url).toBe(url);
    const client = await f.raw(restarted);
    expect(hexOf(client.relayKey)).toBe(hexOf(pinnedRelayKey(url)));

    const a = await f.start();
    const b = await f.start();
    expect(hexOf(pinnedRelayKey(a.address!.url))).not.toBe(hexOf(pinnedRelayKey(b.address!.url)));
    expect(hexOf(pinnedRelayKey(a.address!.url))).not.toBe(hexOf(pinnedRelayKey(url)));
    // Without a store a restart is a new relay.
    const port = a.address!.port;
    const aUrl = a.address!.url;
    await f.stop(a);
    const again = await f.start({}, port);
    expect(again.address!.url).not.toBe(aUrl);
  });
});


/** Sends `frame` exactly as given (its own corr) and resolves with the reply to that corr. */
function exchange(client: RawClient, frame: Parameters<RawClient['send']>[0]): Promise<RelayFrame> {
  const reply = client.next((f) => 'corr' in f && f.corr === frame.corr);
  client.send(frame);
  return reply;
}

describe('relay: authentication', () => {
  it('refuses recipient commands with a wrong authenticator (AUTH) and changes nothing', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    const stranger = await client.newQueue();
    await client.sendTo(queue.senderId, body('secret'));
    const held = relay.stats.bytesQueued;
    const { recipientId } = queue;
    // Computed with another queue's key.
    const forged = { ...queue, secretKey: stranger.secretKey };
    expect(errCode(await client.subscribe(forged))).toBe('AUTH');
    // All zeros, and the right authenticator with one bit flipped.
    expect(errCode(await exchange(client, { t: 'del', corr: 100, recipientId, auth: new Uint8Array(32) }))).toBe('AUTH');
    const flipped = client.auth(queue, { t: 'del', corr: 101 });
    flipped[17]! ^= 0x08;
    expect(errCode(await exchange(client, { t: 'del', corr: 101, recipientId, auth: flipped }))).toBe('AUTH');
    await client.barrier();
    expect(client.messages).toEqual([]); // not subscribed
    expect(relay.stats).toMatchObject({ queues: 2, bytesQueued: held }); // not deleted

    // The authenticator covers t, corr and the queue: a valid sub authenticator authorizes no other command.
    const subAuth = client.auth(queue, { t: 'sub', corr: 102 });
    expect(errCode(await exchange(client, { t: 'sub', corr: 103, recipientId, auth: subAuth }))).toBe('AUTH');
    expect(errCode(await exchange(client, { t: 'del', corr: 102, recipientId, auth: subAuth }))).toBe('AUTH');
    expect(errCode(await exchange(client, { t: 'sub', corr: 102, recipientId: stranger.recipientId, auth: subAuth }))).toBe('AUTH');
    expect(relay.stats).toMatchObject({ queues: 2, bytesQueued: held });

    // An ack with a wrong authenticator leaves the message held: the next subscriber gets it again.
    expect((await client.subscribe(queue)).t).toBe('ok');
    const [msg] = await client.waitForMessages(1);
    const ackAuth = client.auth(forged, { t: 'ack', corr: 104, msgId: msg!.msgId });
    expect(errCode(await exchange(client, { t: 'ack', corr: 104, recipientId, msgId: msg!.msgId, auth: ackAuth }))).toBe('AUTH');
    expect(relay.stats.bytesQueued).toBe(held);
    const next = await f.raw(relay);
    await next.subscribe(queue);
    expect(opened(queue, (await next.waitForMessages(1))[0]!)).toBe('secret');
  });

  it('refuses an authenticator replayed on another connection (AUTH): sub, del and new are bound to the session key', async () => {
    const relay = await f.start();
    const owner = await f.raw(relay);
    const queue = await owner.newQueue();
    await owner.sendTo(queue.senderId, body('mine'));
    // The owner uses the queue first, so the relay has derived its command key for the owner's connection.
    await owner.subscribe(queue);
    const [delivered] = await owner.waitForMessages(1);
    expect(opened(queue, delivered!)).toBe('mine');
    const attacker = await f.raw(relay);
    expect(hexOf(attacker.sessionKey)).not.toBe(hexOf(owner.sessionKey));
    const { recipientId } = queue;
    const sub = { t: 'sub' as const, corr: 77, recipientId, auth: owner.auth(queue, { t: 'sub', corr: 77 }) };
    const del = { t: 'del' as const, corr: 78, recipientId, auth: owner.auth(queue, { t: 'del', corr: 78 }) };
    // A `new` the owner authorized for a fresh key: whoever sees it cannot register that key elsewhere.
    const keys = generateRelayKeyPair();
    const content = { t: 'new' as const, corr: 79, recipientKey: keys.publicKey };
    const create = { ...content, auth: authenticate(commandKey(keys.secretKey, owner.sessionKey, owner.sessionKey, keys.publicKey), authContent(content)) };

    for (const frame of [sub, del, create]) expect(errCode(await exchange(attacker, frame))).toBe('AUTH');
    await attacker.barrier();
    expect(attacker.messages).toEqual([]);
    expect(relay.stats).toMatchObject({ queues: 1, bytesQueued: 4 + DELIVERY_OVERHEAD });

    // The same authenticators are good on the connection they were made for.
    expect((await exchange(owner, sub)).t).toBe('ok');
    expect(opened(queue, (await owner.waitForMessages(2))[1]!)).toBe('mine'); // redelivered: never acknowledged
    expect((await exchange(owner, create)).t).toBe('ids');
    expect((await exchange(owner, del)).t).toBe('ok');
    expect(relay.stats.queues).toBe(1);
  });

  it('answers a send to an unknown sender id with NO_QUEUE', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    expect(errCode(await client.sendTo(new Uint8Array(16).fill(7), body('?')))).toBe('NO_QUEUE');
  });
});


describe('relay: delivery re-encryption', () => {
  it('re-encrypts every delivered body: no 16-byte window of what the sender sent reaches the recipient, yet it opens to exactly that', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    const received: Buffer[] = [];
    recipient.ws.on('message', (data) => received.push(Buffer.from(data as Buffer)));
    await recipient.subscribe(queue);
    const sender = await f.raw(relay);
    const sent = randomFillSync(new Uint8Array(2000));
    sent.set(new TextEncoder().encode('A'.repeat(64)), 500); // a low-entropy stretch too
    await sender.sendTo(queue.senderId, sent);
    await sender.sendTo(queue.senderId, sent); // the same body again
    const [first, second] = await recipient.waitForMessages(2);
    const wire = Buffer.concat(received);
    const sentBuffer = Buffer.from(sent);
    let leaks = 0;
    for (let i = 0; i + 16 <= sent.length; i++) if (wire.includes(sentBuffer.subarray(i, i + 16))) leaks++;
    expect(leaks).toBe(0);
    expect(first!.body).toHaveLength(sent.length + DELIVERY_OVERHEAD);
    expect(RawClient.open(queue, first!)).toEqual(sent);
    expect(RawClient.open(queue, second!)).toEqual(sent);
    // Sealed under each message's own id: the same body leaves the relay as different bytes.
    expect(hexOf(first!.body)).not.toBe(hexOf(second!.body));
  });

  it('a delivered body tampered by one bit (or moved to another msgId or ts) fails openDelivery with DECRYPT_FAILED', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('untouched'));
    await client.sendTo(queue.senderId, body('other'));
    await client.subscribe(queue);
    const [msg, other] = await client.waitForMessages(2);
    expect(opened(queue, msg!)).toBe('untouched');
    const decryptFailed = (e: unknown) => isSealcallError(e, 'DECRYPT_FAILED');
    for (let bit = 0; bit < msg!.body.length * 8; bit += 7) {
      const tampered = msg!.body.slice();
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => openDelivery(queue.deliveryKey, msg!.msgId, msg!.ts, tampered)).toThrow(expect.toSatisfy(decryptFailed));
    }
    expect(() => RawClient.open(queue, { ...msg!, ts: msg!.ts + 1 })).toThrow(expect.toSatisfy(decryptFailed));
    expect(() => RawClient.open(queue, { ...msg!, msgId: other!.msgId })).toThrow(expect.toSatisfy(decryptFailed));
    // Only this queue's delivery key opens it.
    const stranger = await client.newQueue();
    expect(() => RawClient.open(stranger, msg!)).toThrow(expect.toSatisfy(decryptFailed));
  });
});


describe('relay: blocks', () => {
  it('executes every frame of one WebSocket message (3 sends and a ping), answers each by its corr, and stores the sends in block order', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    const sender = await f.raw(relay);
    const corrs = [11, 12, 13, 14];
    const replies = Promise.all(corrs.map((corr) => sender.next((f) => 'corr' in f && f.corr === corr)));
    sender.sendBlock([
      { t: 'send', corr: 11, senderId: queue.senderId, body: body('b1') },
      { t: 'send', corr: 12, senderId: queue.senderId, body: body('b2') },
      { t: 'send', corr: 13, senderId: queue.senderId, body: body('b3') },
      { t: 'ping', corr: 14 },
    ]);
    expect((await replies).map((r) => r.t)).toEqual(['ok', 'ok', 'ok', 'pong']);
    // One reply per frame (replies may come in any order: clients match them by corr).
    expect(sender.frames.map((r) => ('corr' in r ? r.corr : undefined)).sort()).toEqual(corrs);
    expect(relay.stats.messagesReceived).toBe(3);
    await recipient.subscribe(queue);
    expect((await recipient.waitForMessages(3)).map((m) => opened(queue, m))).toEqual(['b1', 'b2', 'b3']);
  });

  it('gathers the replies of one moment into one block: 10 frames in one message get their replies in fewer than 10 messages', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    let messages = 0;
    client.ws.on('message', () => messages++);
    client.sendBlock(Array.from({ length: 10 }, (_, i) => ({ t: 'ping' as const, corr: 500 + i })));
    await client.next((f) => f.t === 'pong' && f.corr === 509);
    const counted = messages;
    await client.barrier();
    // Only the barrier's own pong came since: no reply of the 10 after the last one.
    expect(messages).toBe(counted + 1);
    expect(client.frames.filter((f) => f.t === 'pong' && f.corr >= 500 && f.corr <= 509)).toHaveLength(10);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThan(10);
  });
});


describe('relay: lifecycle and persistence', () => {
  it('keeps queues and unacknowledged messages across a restart with storePath', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    for (const text of ['a', 'b', 'c']) await client.sendTo(queue.senderId, body(text));
    await client.subscribe(queue);
    const [a] = await client.waitForMessages(3);
    await client.ack(queue, a!.msgId);
    const port = relay.address!.port;
    await f.stop(relay);

    const restarted = await f.start({ storePath }, port);
    expect(restarted.address!.port).toBe(port);
    expect(restarted.stats).toMatchObject({ queues: 1, bytesQueued: 2 + 2 * DELIVERY_OVERHEAD, messagesReceived: 0 });
    const again = await f.raw(restarted);
    await again.subscribe(queue);
    const messages = await again.waitForMessages(2);
    await again.barrier();
    expect(again.messages.map((m) => opened(queue, m))).toEqual(['b', 'c']);
    expect(Buffer.from(messages[0]!.msgId).equals(Buffer.from(client.messages[1]!.msgId))).toBe(true);
    expect((await again.sendTo(queue.senderId, body('d'))).t).toBe('ok');
  });

  it('writes the store log shortly after changes, without waiting for close', async () => {
    const storePath = f.tempStore();
    // Written once the log holds two records: the queue's creation and the message.
    let records = 0;
    let appended!: () => void;
    const written = new Promise<void>((resolve) => (appended = resolve));
    const logger = (event: string, details?: Record<string, unknown>) => {
      if (event === 'store-appended' && (records += Number(details?.records)) >= 2) appended();
    };
    const relay = await f.start({ storePath, persistDebounceMs: 20, logger });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('durable'));
    await written;
    // A second relay on the same file (as after a crash) sees the queue and the message.
    const reader = await f.start({ storePath });
    expect(reader.stats).toMatchObject({ queues: 1, bytesQueued: 7 + DELIVERY_OVERHEAD });
  });

  it('refuses to start on a corrupt store rather than dropping it', async () => {
    const storePath = f.tempStore();
    writeFileSync(storePath, Buffer.from('definitely not a store log'));
    const relay = new Relay({ storePath });
    f.relays.push(relay);
    await expect(relay.listen()).rejects.toSatisfy((e: unknown) => isSealcallError(e, 'RELAY_STORE_FAILED'));
  });

  it('fails to listen on a taken port with RELAY_LISTEN_FAILED', async () => {
    const relay = await f.start();
    const second = new Relay();
    f.relays.push(second);
    await expect(second.listen({ port: relay.address!.port })).rejects.toSatisfy((e: unknown) => isSealcallError(e, 'RELAY_LISTEN_FAILED'));
  });

  it('closes gracefully: clients get 1001, new connections are refused, the port is freed', async () => {
    const relay = await f.start();
    const a = await f.raw(relay);
    const b = await f.raw(relay);
    await a.newQueue();
    const closing = relay.close();
    expect(relay.close()).toBe(closing);
    await closing;
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect(relay.stats.connections).toBe(0);
    await expect(RawClient.connect(relay.address!.url)).rejects.toBeDefined();
    const reuse = await f.start({}, relay.address!.port);
    expect(reuse.address!.port).toBe(relay.address!.port);
  });
});
