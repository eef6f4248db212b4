import { pack } from 'msgpackr';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { authenticate, DELIVERY_OVERHEAD, generateRelayKeyPair } from '../src/crypto/relay-keys.js';
import { sodium } from '../src/crypto/sodium.js';
import { pack as packPlain } from '../src/protocol/msgpack.js';
import { authContent, RELAY_LIMITS, type ClientFrame, type ErrFrame, type MsgFrame, type RelayFrame } from '../src/protocol/relay-frames.js';
import { socketUrl } from '../src/protocol/relay-url.js';
import { RawClient, type RawQueue } from './helpers/relay-client.js';
import { RelayFixture, text as body, textOf, until } from './helpers/relay-fixture.js';

// The relay's limits and its behaviour under hostile input, over real sockets on 127.0.0.1.
const f = new RelayFixture();
afterEach(() => f.close());

const errCode = (frame: RelayFrame) => (frame.t === 'err' ? frame.code : frame.t);
/** The text a delivered `msg` carries, opened with the queue's delivery key. */
const opened = (queue: RawQueue, msg: MsgFrame) => textOf(RawClient.open(queue, msg));

describe('relay: limits', () => {
  it('refuses sends beyond maxMessagesPerQueue with QUOTA until messages are acknowledged', async () => {
    const relay = await f.start({ maxMessagesPerQueue: 3 });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    for (let i = 0; i < 3; i++) expect((await client.sendTo(queue.senderId, body(`${i}`))).t).toBe('ok');
    expect(errCode(await client.sendTo(queue.senderId, body('3')))).toBe('QUOTA');
    await client.subscribe(queue);
    const [first] = await client.waitForMessages(1);
    await client.ack(queue, first!.msgId);
    expect((await client.sendTo(queue.senderId, body('4'))).t).toBe('ok');
  });

  it('refuses sends beyond maxBytesPerQueue and beyond maxStoredBytes (all queues together) with QUOTA', async () => {
    const relay = await f.start({ maxBytesPerQueue: 10_000, maxStoredBytes: 16_000 });
    const client = await f.raw(relay);
    const one = await client.newQueue();
    const two = await client.newQueue();
    const kb = (n: number) => new Uint8Array(n * 1000).fill(1);
    expect((await client.sendTo(one.senderId, kb(6))).t).toBe('ok');
    const overQueue = await client.sendTo(one.senderId, kb(5));
    expect(errCode(overQueue)).toBe('QUOTA');
    expect(overQueue.t === 'err' && overQueue.message).toBe('queue is full');
    expect((await client.sendTo(two.senderId, kb(8))).t).toBe('ok');
    // 14 KB (+ 2 × 16) held: a third queue's 3 KB would pass its own cap but not the relay's.
    const three = await client.newQueue();
    const overRelay = await client.sendTo(three.senderId, kb(3));
    expect(errCode(overRelay)).toBe('QUOTA');
    expect(overRelay.t === 'err' && overRelay.message).toBe('the relay is full');
    expect(relay.stats.bytesQueued).toBe(14_000 + 2 * DELIVERY_OVERHEAD);
    // Acknowledged bytes count no more.
    await client.subscribe(one);
    const [first] = await client.waitForMessages(1);
    await client.ack(one, first!.msgId);
    expect((await client.sendTo(three.senderId, kb(3))).t).toBe('ok');
  });

  it('counts each stored message as body + DELIVERY_OVERHEAD (16) bytes against the byte quotas', async () => {
    const perMessage = 100 + DELIVERY_OVERHEAD;
    const relay = await f.start({ maxBytesPerQueue: 2 * perMessage, maxStoredBytes: 3 * perMessage - 1 });
    const client = await f.raw(relay);
    const one = await client.newQueue();
    const two = await client.newQueue();
    const body100 = new Uint8Array(100).fill(3);
    // Exactly at the queue's cap: accepted; one byte more: refused.
    expect((await client.sendTo(one.senderId, body100)).t).toBe('ok');
    expect((await client.sendTo(one.senderId, body100)).t).toBe('ok');
    expect(relay.stats.bytesQueued).toBe(2 * perMessage);
    expect(errCode(await client.sendTo(one.senderId, new Uint8Array(0)))).toBe('QUOTA'); // even an empty body costs 16
    // The relay's cap is one byte short of a third message.
    expect(errCode(await client.sendTo(two.senderId, body100))).toBe('QUOTA');
    expect((await client.sendTo(two.senderId, new Uint8Array(99))).t).toBe('ok');
    expect(relay.stats.bytesQueued).toBe(3 * perMessage - 1);
  });

  it('creates a queue only for a key its creator holds: a new authorized by another key gets AUTH', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const keys = generateRelayKeyPair();
    expect(errCode(await client.requestNew(keys, false))).toBe('AUTH');
    expect(relay.stats.queues).toBe(0);
    expect((await client.requestNew(keys)).t).toBe('ids');
    expect(relay.stats.queues).toBe(1);
  });

  it('limits queues created from one address per hour, across connections, with QUOTA', async () => {
    let clock = 1_000_000;
    const relay = await f.start({ now: () => clock, maxQueuesPerAddressPerHour: 3, maxQueuesPerConnection: 2 });
    const first = await f.raw(relay);
    await first.newQueue();
    await first.newQueue();
    // A fresh connection from the same address (127.0.0.1) does not start over.
    const second = await f.raw(relay);
    await second.newQueue();
    const refused = await second.requestNew(generateRelayKeyPair());
    expect(errCode(refused)).toBe('QUOTA');
    expect(refused.t === 'err' && refused.message).toMatch(/address/);
    clock += 60 * 60 * 1000;
    expect((await second.requestNew(generateRelayKeyPair())).t).toBe('ids');
  });

  it('counts refused queue creations against the hourly limit, so a flood of bogus new frames cannot make the relay compute an X25519 for each', async () => {
    const relay = await f.start({ maxQueuesPerAddressPerHour: 3 });
    const client = await f.raw(relay);
    for (let i = 0; i < 3; i++) expect(errCode(await client.requestNew(generateRelayKeyPair(), false))).toBe('AUTH');
    // The limit is spent: even a genuine creation is refused now, before its authenticator is checked.
    const refused = await client.requestNew(generateRelayKeyPair());
    expect(errCode(refused)).toBe('QUOTA');
    expect(relay.stats.queues).toBe(0);
  });

  it('limits queues per connection with QUOTA', async () => {
    const relay = await f.start({ maxQueuesPerConnection: 2 });
    const client = await f.raw(relay);
    await client.newQueue();
    await client.newQueue();
    expect(errCode(await client.requestNew(generateRelayKeyPair()))).toBe('QUOTA');
    const other = await f.raw(relay);
    await other.newQueue();
  });

  it('deletes a queue its recipient left unused for queueIdleTtlMs, unless someone is subscribed; senders then get NO_QUEUE', async () => {
    let clock = 1_000_000;
    const relay = await f.start({ now: () => clock, queueIdleTtlMs: 10_000 });
    const client = await f.raw(relay);
    const abandoned = await client.newQueue();
    const kept = await client.newQueue();
    const listened = await client.newQueue();
    await client.subscribe(listened);
    await client.sendTo(abandoned.senderId, body('held'));
    clock += 6_000;
    await client.ack(kept, new Uint8Array(16)); // any authenticated command counts as use
    clock += 6_000;
    relay.sweep();
    expect(relay.stats.queues).toBe(2);
    expect(relay.stats.bytesQueued).toBe(0); // 'held' went with its queue
    expect(errCode(await client.sendTo(abandoned.senderId, body('x')))).toBe('NO_QUEUE');
    expect((await client.sendTo(kept.senderId, body('x'))).t).toBe('ok');
    expect((await client.sendTo(listened.senderId, body('x'))).t).toBe('ok');
  });

  it('lets every queue a closed connection was subscribed to expire (one connection, two subscriptions)', async () => {
    let clock = 1_000_000;
    const relay = await f.start({ now: () => clock, queueIdleTtlMs: 10_000 });
    const client = await f.raw(relay);
    const one = await client.newQueue();
    const two = await client.newQueue();
    await client.subscribe(one);
    await client.subscribe(two);
    clock += 20_000;
    relay.sweep();
    expect(relay.stats.queues).toBe(2); // subscribed: in use (and touched by the sweep)
    client.close();
    await until(() => relay.stats.connections === 0);
    clock += 20_000;
    relay.sweep();
    expect(relay.stats.queues).toBe(0);
  });

  it('expires messages after messageTtlMs: never delivered, swept, and not counted against the quota', async () => {
    let clock = 1_000_000;
    const relay = await f.start({ now: () => clock, messageTtlMs: 1000, maxMessagesPerQueue: 2, sweepIntervalMs: 10 });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('old-1'));
    await client.sendTo(queue.senderId, body('old-2'));
    clock += 1001;
    expect((await client.sendTo(queue.senderId, body('new'))).t).toBe('ok'); // expired ones made room
    await client.subscribe(queue);
    await client.waitForMessages(1);
    await client.barrier();
    expect(client.messages.map((m) => opened(queue, m))).toEqual(['new']);

    await client.sendTo(queue.senderId, body('later'));
    clock += 5000;
    await until(() => relay.stats.bytesQueued === 0, 2000);
    expect(relay.stats.bytesQueued).toBe(0); // the unref'd sweep timer removed both
  });

  it('makes room in a full queue from its own expired messages only: a refused send never scans the relay', async () => {
    let clock = 1_000_000;
    const relay = await f.start({ now: () => clock, messageTtlMs: 1000, maxMessagesPerQueue: 2, sweepIntervalMs: 3_600_000 });
    const client = await f.raw(relay);
    const full = await client.newQueue();
    const other = await client.newQueue();
    for (const queue of [full, other]) for (const text of ['old-1', 'old-2']) expect((await client.sendTo(queue.senderId, body(text))).t).toBe('ok');
    const held = relay.stats.bytesQueued;
    clock += 1001;
    // Room from the full queue's own expired messages; the other queue's stay until the sweep.
    expect((await client.sendTo(full.senderId, body('new'))).t).toBe('ok');
    const perMessage = held / 4;
    expect(relay.stats.bytesQueued).toBe(held - 2 * perMessage + body('new').length + DELIVERY_OVERHEAD);
    expect((await client.sendTo(full.senderId, body('new'))).t).toBe('ok');
    expect(errCode(await client.sendTo(full.senderId, body('new')))).toBe('QUOTA');
    expect(relay.stats.bytesQueued).toBe(held - 2 * perMessage + 2 * (body('new').length + DELIVERY_OVERHEAD));
    expect(await relay.sweep()).toBe(2); // the other queue's
  });

  it('looks through every queue for expired messages when the relay is full, at most once a second', async () => {
    let clock = 1_000_000;
    const size = 1000 + DELIVERY_OVERHEAD;
    const relay = await f.start({ now: () => clock, messageTtlMs: 1000, maxStoredBytes: 2 * size, sweepIntervalMs: 3_600_000 });
    const client = await f.raw(relay);
    const [a, b, c] = [await client.newQueue(), await client.newQueue(), await client.newQueue()];
    const kb = new Uint8Array(1000);
    expect((await client.sendTo(a.senderId, kb)).t).toBe('ok');
    expect((await client.sendTo(b.senderId, kb)).t).toBe('ok');
    clock += 1001; // both expired
    expect((await client.sendTo(c.senderId, kb)).t).toBe('ok'); // a's and b's made room
    expect(relay.stats.bytesQueued).toBe(size);
    // Another expired message, stored with the clock set back, then the same moment again: the
    // relay looked less than a second ago, so it refuses rather than look again.
    clock -= 1001;
    expect((await client.sendTo(a.senderId, kb)).t).toBe('ok');
    clock += 1001;
    expect(errCode(await client.sendTo(b.senderId, kb))).toBe('QUOTA');
    clock += 1000;
    expect((await client.sendTo(b.senderId, kb)).t).toBe('ok'); // a second on: it looks, a's goes
  });

  it('runs one sweep at a time: a call while one runs gets that one', async () => {
    const relay = await f.start();
    const first = relay.sweep();
    expect(relay.sweep()).toBe(first);
    await first;
    expect(relay.sweep()).not.toBe(first);
  });

  it('refuses an oversized body with TOO_LARGE and closes on a frame over maxPayload', async () => {
    const relay = await f.start({ maxMessageBytes: 1000 });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    expect((await client.sendTo(queue.senderId, new Uint8Array(1000))).t).toBe('ok');
    const reply = (await client.sendTo(queue.senderId, new Uint8Array(1001))) as ErrFrame;
    expect(reply).toMatchObject({ t: 'err', code: 'TOO_LARGE' });
    expect(reply.corr).toBeTypeOf('number');
    client.sendRaw(new Uint8Array(5000));
    expect((await client.closed).code).toBe(1009);
    expect(relay.stats.bytesQueued).toBe(1000 + DELIVERY_OVERHEAD);
  });

  it('answers a flood with RATE_LIMITED, then closes the connection', async () => {
    const relay = await f.start({ rateLimitPerSecond: 10, rateLimitBurst: 20, maxRateLimitStrikes: 50 });
    const flooder = await f.raw(relay);
    for (let i = 0; i < 200; i++) flooder.send({ t: 'ping', corr: i });
    expect((await flooder.closed).code).toBe(1008);
    const pongs = flooder.frames.filter((f) => f.t === 'pong').length;
    const limited = flooder.frames.filter((f) => errCode(f) === 'RATE_LIMITED');
    expect(pongs).toBeGreaterThanOrEqual(20);
    expect(pongs).toBeLessThan(30);
    expect(limited.length).toBe(50);
    expect((limited[0] as ErrFrame).corr).toBeTypeOf('number');
    // Others are not affected.
    const polite = await f.raw(relay);
    expect((await polite.request({ t: 'ping', corr: 0 })).t).toBe('pong');
  });

  it('drops a client that stops reading (slow client guard)', async () => {
    const relay = await f.start({ maxBufferedBytes: 256 * 1024, maxInFlight: 200, maxMessageBytes: 64 * 1024, maxBytesPerQueue: 16 * 1024 * 1024 });
    const slow = await f.raw(relay);
    const queue = await slow.newQueue();
    const sender = await f.raw(relay);
    for (let i = 0; i < 200; i++) await sender.sendTo(queue.senderId, new Uint8Array(60 * 1024));
    const socket = (slow.ws as unknown as { _socket: { pause(): void } })._socket;
    socket.pause();
    slow.send({ t: 'sub', corr: 999, recipientId: queue.recipientId, auth: slow.auth(queue, { t: 'sub', corr: 999 }) });
    await until(() => relay.stats.connections <= 1);
    expect(relay.stats.connections).toBe(1);
    expect(relay.stats.bytesQueued).toBe(200 * (60 * 1024 + DELIVERY_OVERHEAD)); // nothing lost: never acknowledged
  });
});


describe('relay: connections', () => {
  it('turns away connections beyond maxConnections with 1013', async () => {
    const relay = await f.start({ maxConnections: 1 });
    await f.raw(relay);
    const ws = new WebSocket(socketUrl(relay.address!.url));
    ws.on('error', () => {});
    const code = await new Promise<number>((resolve) => ws.on('close', resolve));
    expect(code).toBe(1013);
    expect(relay.stats.connections).toBe(1);
  });

  it('turns away connections beyond maxConnectionsPerAddress with 1013, and only from that address', async () => {
    const events: string[] = [];
    const relay = await f.start({ maxConnectionsPerAddress: 2, logger: (event, details) => event === 'too-many-connections' && events.push(String(details?.scope)) });
    const first = await f.raw(relay);
    await f.raw(relay);
    const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.on('close', resolve));
    const third = new WebSocket(socketUrl(relay.address!.url));
    third.on('error', () => {});
    expect(await closeCode(third)).toBe(1013);
    expect(events).toEqual(['address']);
    // Another address (all of 127/8 is loopback on Linux) still gets in.
    const other = new WebSocket(socketUrl(relay.address!.url), { localAddress: '127.0.0.2' });
    other.on('error', () => {});
    await new Promise((resolve) => other.once('message', resolve)); // hello
    expect(relay.stats.connections).toBe(3);
    other.close();
    // A closed connection frees its address's slot.
    const firstClosed = closeCode(first.ws);
    first.close();
    await firstClosed;
    await until(() => relay.stats.connections <= 1);
    const again = await f.raw(relay);
    expect(again.ws.readyState).toBe(WebSocket.OPEN);
    expect(relay.stats.connections).toBe(2);
  });

  it('drops a connection that stops answering heartbeat pings', async () => {
    const relay = await f.start({ heartbeatMs: 50 });
    const live = await f.raw(relay);
    const silent = new WebSocket(socketUrl(relay.address!.url), { autoPong: false });
    silent.on('error', () => {});
    const closed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    await new Promise((r) => silent.once('message', r)); // hello
    await closed;
    // Two more rounds, each pinging the live client, which answers: kept.
    for (let round = 0; round < 2; round++) await new Promise((r) => live.ws.once('ping', r));
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    expect(relay.stats.connections).toBe(1);
  });
});


describe('relay: hostile input', () => {
  it('answers garbage with BAD_FRAME or UNSUPPORTED, keeps serving others, and closes after maxBadFrames', async () => {
    const relay = await f.start({ maxBadFrames: 9 });
    const good = await f.raw(relay);
    const queue = await good.newQueue();
    const bad = await f.raw(relay);
    const garbage: (Uint8Array | string)[] = [
      Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff), // random-looking bytes
      new Uint8Array([0xc1]), // never-used msgpack byte
      'text frame',
      pack({ t: 'ping', corr: 4 }), // a lone frame, as v1 sent it: not a block
      pack([[1, 2, 3]]), // a block whose frame is not a map
      pack([{ t: 'send', corr: 'one', senderId: queue.senderId, body: new Uint8Array(1) }]),
      pack([{ t: 'send', corr: 5, senderId: new Uint8Array(15), body: new Uint8Array(1) }]),
      pack([{ t: 'sub', corr: 6, recipientId: queue.recipientId, auth: 'nope' }]),
    ];
    for (const g of garbage) bad.sendRaw(g);
    bad.sendRaw(pack([{ t: 'teleport', corr: 9 }]));
    await until(() => bad.frames.length >= 9, 2000);
    expect(bad.frames.map(errCode)).toEqual([...garbage.map(() => 'BAD_FRAME'), 'UNSUPPORTED']);
    expect(bad.frames.map((f) => (f as ErrFrame).corr)).toEqual([...Array(6).fill(undefined), 5, 6, 9]);
    expect(bad.frames.some((f) => f.t === 'pong')).toBe(false);
    expect((await bad.closed).code).toBe(1008);

    expect((await good.sendTo(queue.senderId, body('still here'))).t).toBe('ok');
    await good.subscribe(queue);
    expect(opened(queue, (await good.waitForMessages(1))[0]!)).toBe('still here');
    expect(relay.stats.connections).toBe(1);
  });

  it(`refuses a block of ${RELAY_LIMITS.maxFramesPerBlock + 1} frames (TOO_LARGE, no corr) without executing any of them; ${RELAY_LIMITS.maxFramesPerBlock} are fine`, async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    const sends = (n: number, from: number): ClientFrame[] =>
      Array.from({ length: n }, (_, i) => ({ t: 'send', corr: from + i, senderId: queue.senderId, body: body(`#${i}`) }));
    // encodeClientBlock refuses to build it: pack it by hand, as a hostile client would.
    client.sendRaw(packPlain(sends(RELAY_LIMITS.maxFramesPerBlock + 1, 1000)));
    const refused = await client.next((f) => f.t === 'err');
    expect(refused).toMatchObject({ t: 'err', code: 'TOO_LARGE' });
    expect((refused as ErrFrame).corr).toBeUndefined();
    await client.request({ t: 'ping', corr: 0 }); // everything before it has been answered
    expect(client.frames.filter((f) => f.t === 'ok')).toEqual([]);
    expect(relay.stats).toMatchObject({ messagesReceived: 0, bytesQueued: 0 });

    client.sendBlock(sends(RELAY_LIMITS.maxFramesPerBlock, 2000));
    await client.next((f) => f.t === 'ok' && f.corr === 2000 + RELAY_LIMITS.maxFramesPerBlock - 1);
    expect(client.frames.filter((f) => f.t === 'ok')).toHaveLength(RELAY_LIMITS.maxFramesPerBlock);
    expect(relay.stats.messagesReceived).toBe(RELAY_LIMITS.maxFramesPerBlock);
  });

  it('refuses an empty block and a msgpack value that is not an array (BAD_FRAME, no corr)', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    const notBlocks = [pack([]), pack({ t: 'ping', corr: 7 }), pack(7), pack('ping'), pack(null), pack(new Uint8Array([0x91, 0x80]))];
    for (const bytes of notBlocks) client.sendRaw(bytes);
    await client.request({ t: 'ping', corr: 0 });
    const errs = client.frames.filter((f): f is ErrFrame => f.t === 'err');
    expect(errs.map((e) => [e.code, e.corr])).toEqual(notBlocks.map(() => ['BAD_FRAME', undefined]));
    expect(client.frames.filter((f) => f.t === 'pong').map((f) => 'corr' in f && f.corr)).toEqual([1]);
  });

  it('answers each frame of a block on its own: a malformed frame among good ones costs only itself', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    client.sendRaw(packPlain([{ t: 'ping', corr: 1 }, { t: 'ping', corr: 'two' }, { t: 'warp', corr: 3 }, { t: 'ping', corr: 4 }]));
    await client.next((f) => f.t === 'pong' && f.corr === 4);
    expect(client.frames.map((f) => [f.t, 'corr' in f ? f.corr : undefined, errCode(f)])).toEqual([
      ['pong', 1, 'pong'],
      ['err', undefined, 'BAD_FRAME'],
      ['err', 3, 'UNSUPPORTED'],
      ['pong', 4, 'pong'],
    ]);
  });

  it('answers new with an all-zero or low-order recipientKey with AUTH, never a crash, even with the authenticator a zero shared secret would give', async () => {
    const relay = await f.start();
    const client = await f.raw(relay);
    // The X25519 points of small order (libsodium's blocklist), and non-canonical encodings of them.
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ].map((hex) => Uint8Array.from(Buffer.from(hex, 'hex')));
    let corr = 100;
    for (const recipientKey of lowOrder) {
      // What an honest client would send for this key…
      expect(errCode(await client.requestNew({ publicKey: recipientKey, secretKey: generateRelayKeyPair().secretKey }))).toBe('AUTH');
      // …and what anyone could compute if the relay let the shared secret be all zeros.
      const label = new TextEncoder().encode('sealcall relay v2 auth');
      const zeroKey = sodium().crypto_generichash(32, Buffer.concat([label, new Uint8Array(32), client.sessionKey, recipientKey]), null);
      const frame = { t: 'new' as const, corr: ++corr, recipientKey };
      const reply = client.next((f) => 'corr' in f && f.corr === frame.corr);
      client.send({ ...frame, auth: authenticate(zeroKey, authContent(frame)) });
      expect(errCode(await reply)).toBe('AUTH');
    }
    expect(relay.stats.queues).toBe(0);
    expect((await client.request({ t: 'ping', corr: 0 })).t).toBe('pong');
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await client.newQueue(); // the connection still creates queues for real keys
  });

  it('logs counts and events, never bodies, ids or keys', async () => {
    const lines: string[] = [];
    let disconnected!: () => void;
    const gone = new Promise<void>((resolve) => (disconnected = resolve));
    const relay = await f.start({
      logger: (event, details) => {
        lines.push(JSON.stringify([event, details]));
        if (event === 'disconnect') disconnected();
      },
    });
    const client = await f.raw(relay);
    const queue = await client.newQueue();
    await client.sendTo(queue.senderId, body('PAYLOAD-MARKER'));
    await client.subscribe(queue);
    await client.waitForMessages(1);
    client.sendRaw('junk');
    await client.next((f) => f.t === 'err');
    client.close();
    await gone;
    const log = lines.join('\n');
    expect(log).toContain('connection');
    expect(log).toContain('bad-frame');
    for (const secret of ['PAYLOAD-MARKER', Buffer.from(queue.senderId).toString('hex'), Buffer.from(queue.recipientId).toString('hex')]) {
      expect(log).not.toContain(secret);
    }
    for (const line of lines) {
      const [, details] = JSON.parse(line) as [string, Record<string, unknown> | undefined];
      for (const value of Object.values(details ?? {})) expect(typeof value === 'number' || (typeof value === 'string' && value.length < 32)).toBe(true);
    }
  });
});
