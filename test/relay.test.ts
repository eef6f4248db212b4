import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isSealcallError } from '../src/errors.js';
import type { RelayFrame } from '../src/protocol/relay-frames.js';
import { Relay } from '../src/relay/index.js';
import { RawClient } from './helpers/relay-client.js';
import { RelayFixture, sleep, text as body, textOf } from './helpers/relay-fixture.js';

// The relay over real sockets on 127.0.0.1: queues, delivery, acknowledgements, signatures,
// persistence. Limits and hostile input are in relay-limits.test.ts.
const f = new RelayFixture();
afterEach(() => f.close());

const errCode = (frame: RelayFrame) => (frame.t === 'err' ? frame.code : frame.t);

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
    expect(client.sessionId).toHaveLength(16);
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
    expect(relay.stats).toMatchObject({ messagesReceived: 3, bytesStored: 11, bytesQueued: 11, messagesDelivered: 0 });

    const back = await f.raw(relay);
    expect((await back.subscribe(queue)).t).toBe('ok');
    const messages = await back.waitForMessages(3);
    expect(messages.map((m) => textOf(m.body))).toEqual(['one', 'two', 'three']);
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
    expect(textOf(msg!.body)).toBe('live');
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
    expect(relay.stats.bytesQueued).toBe(2);
    first.close();
    await first.closed;

    const second = await f.raw(relay);
    await second.subscribe(queue);
    const again = await second.waitForMessages(2);
    await sleep(50);
    expect(second.messages.map((m) => textOf(m.body))).toEqual(['b', 'c']);
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
    await sleep(50);
    expect(recipient.messages).toHaveLength(4);
    await recipient.ack(queue, recipient.messages[1]!.msgId); // out of order is fine
    await recipient.waitForMessages(5);
    await sleep(50);
    expect(recipient.messages.map((m) => textOf(m.body))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const m of recipient.messages.filter((_, i) => i !== 1)) await recipient.ack(queue, m.msgId);
    await recipient.waitForMessages(9);
    expect(recipient.messages.map((m) => textOf(m.body)).slice(5)).toEqual(['m5', 'm6', 'm7', 'm8']);
  });

  it('lets a new sub replace the previous subscriber of a queue', async () => {
    const relay = await f.start();
    const old = await f.raw(relay);
    const queue = await old.newQueue();
    await old.subscribe(queue);
    const sender = await f.raw(relay);
    await sender.sendTo(queue.senderId, body('first'));
    await old.waitForMessages(1);

    const replacement = await f.raw(relay);
    await replacement.subscribe(queue);
    await replacement.waitForMessages(1); // 'first' again: the old subscriber never acked it
    await sender.sendTo(queue.senderId, body('second'));
    await replacement.waitForMessages(2);
    await sleep(50);
    expect(old.messages.map((m) => textOf(m.body))).toEqual(['first']);
    expect(replacement.messages.map((m) => textOf(m.body))).toEqual(['first', 'second']);
  });

  it('deletes a queue on a signed del', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('x'));
    const corr = client.nextCorr();
    const reply = client.next((f) => 'corr' in f && f.corr === corr);
    client.send({ t: 'del', corr, recipientId: queue.recipientId, sig: client.sign(queue, { t: 'del', corr }) });
    expect((await reply).t).toBe('ok');
    expect(relay.stats).toMatchObject({ queues: 0, bytesQueued: 0 });
    expect(errCode(await client.sendTo(queue.senderId, body('y')))).toBe('NO_QUEUE');
    expect(errCode(await client.subscribe(queue))).toBe('NO_QUEUE');
  });

  it('delivers a burst of 1,000 messages exactly once and in order', async () => {
    const relay = await f.start();
    const recipient = await f.raw(relay);
    const queue = await recipient.newQueue();
    await recipient.subscribe(queue);
    const seen: string[] = [];
    recipient.ws.on('message', () => {
      for (const m of recipient.messages.slice(seen.length)) {
        seen.push(textOf(m.body));
        void recipient.ack(queue, m.msgId);
      }
    });
    const sender = await f.raw(relay);
    const replies = Array.from({ length: 1000 }, (_, i) => sender.sendTo(queue.senderId, body(`#${i}`)));
    expect((await Promise.all(replies)).every((r) => r.t === 'ok')).toBe(true);
    const deadline = Date.now() + 10_000;
    while (seen.length < 1000 && Date.now() < deadline) await sleep(10);
    await sleep(50);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => `#${i}`));
    expect(relay.stats).toMatchObject({ messagesReceived: 1000, messagesDelivered: 1000 });
    while (relay.stats.bytesQueued > 0 && Date.now() < deadline) await sleep(10);
    expect(relay.stats.bytesQueued).toBe(0);
  });
});


describe('relay: authentication', () => {
  it('refuses recipient commands with a bad signature (AUTH) and changes nothing', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    const stranger = await client.newQueue();
    await client.sendTo(queue.senderId, body('secret'));
    // Signed with another queue's key.
    const forged = { ...queue, privateKey: stranger.privateKey };
    expect(errCode(await client.subscribe(forged))).toBe('AUTH');
    const corr = client.nextCorr();
    const reply = client.next((f) => 'corr' in f && f.corr === corr);
    client.send({ t: 'del', corr, recipientId: queue.recipientId, sig: new Uint8Array(64) });
    expect(errCode(await reply)).toBe('AUTH');
    await sleep(30);
    expect(client.messages).toEqual([]);
    expect(relay.stats.queues).toBe(2);
    // The signature covers corr and t: a valid sub signature does not authorize another command.
    const subCorr = client.nextCorr();
    const sig = client.sign(queue, { t: 'sub', corr: subCorr });
    const wrong = client.next((f) => 'corr' in f && f.corr === subCorr + 1);
    client.send({ t: 'sub', corr: subCorr + 1, recipientId: queue.recipientId, sig });
    expect(errCode(await wrong)).toBe('AUTH');
  });

  it('refuses a signature replayed on another connection (AUTH)', async () => {
    const relay = await f.start();
    const owner = await f.raw(relay);
    const queue = await owner.newQueue();
    await owner.sendTo(queue.senderId, body('mine'));
    const sig = owner.sign(queue, { t: 'sub', corr: 77 });
    const attacker = await f.raw(relay);
    const reply = attacker.next((f) => 'corr' in f && f.corr === 77);
    attacker.send({ t: 'sub', corr: 77, recipientId: queue.recipientId, sig });
    expect(errCode(await reply)).toBe('AUTH');
    await sleep(30);
    expect(attacker.messages).toEqual([]);
    // The same signature is good on the connection it was made for.
    const ok = owner.next((f) => 'corr' in f && f.corr === 77);
    owner.send({ t: 'sub', corr: 77, recipientId: queue.recipientId, sig });
    expect((await ok).t).toBe('ok');
    await owner.waitForMessages(1);
  });

  it('answers a send to an unknown sender id with NO_QUEUE', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    expect(errCode(await client.sendTo(new Uint8Array(16).fill(7), body('?')))).toBe('NO_QUEUE');
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
    expect(restarted.stats).toMatchObject({ queues: 1, bytesQueued: 2, messagesReceived: 0 });
    const again = await f.raw(restarted);
    await again.subscribe(queue);
    const messages = await again.waitForMessages(2);
    await sleep(30);
    expect(again.messages.map((m) => textOf(m.body))).toEqual(['b', 'c']);
    expect(Buffer.from(messages[0]!.msgId).equals(Buffer.from(client.messages[1]!.msgId))).toBe(true);
    expect((await again.sendTo(queue.senderId, body('d'))).t).toBe('ok');
  });

  it('writes the snapshot shortly after changes, without waiting for close', async () => {
    const storePath = f.tempStore();
    const relay = await f.start({ storePath, persistDebounceMs: 20 });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('durable'));
    await sleep(200);
    // A second relay on the same file (as after a crash) sees the queue and the message.
    const reader = await f.start({ storePath });
    expect(reader.stats).toMatchObject({ queues: 1, bytesQueued: 7 });
  });

  it('refuses to start on a corrupt store rather than dropping it', async () => {
    const storePath = f.tempStore();
    writeFileSync(storePath, Buffer.from('definitely not a snapshot'));
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
