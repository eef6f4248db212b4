import { createClient } from '@redis/client';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import type { MsgFrame, RelayFrame } from '../src/protocol/relay-frames.js';
import { Relay, type RelayOptions } from '../src/relay/index.js';
import { hex } from '../src/relay/relay-store.js';
import type { TransportStatus } from '../src/relay-client/relay-link.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, ended, Harness } from './helpers/call-harness.js';
import { CliProcess, stopCliProcesses } from './helpers/cli-peer.js';
import { RawClient, type RawQueue } from './helpers/relay-client.js';
import { hasCode, text, textOf } from './helpers/relay-fixture.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';

// The relay with its queues in a real Redis (Debian's redis-server), shared by several relay
// processes: in-process Relays here, CLI processes behind a TCP proxy in the acceptance test.

let redis: RedisServer;
/** A plain client to look into Redis: what the relays stored. */
let inspect: ReturnType<typeof createClient>;
const relays: Relay[] = [];
const clients: RawClient[] = [];

beforeAll(async () => {
  await ready();
  redis = await startRedis();
  inspect = createClient({ url: redis.url });
  inspect.on('error', () => {});
  await inspect.connect();
});
afterAll(async () => {
  await inspect?.close();
  await redis?.stop();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(relays.splice(0).map((r) => r.close()));
  await inspect.flushAll(); // each test starts with an empty Redis (and a fresh relay identity)
});

/** A relay on the test's Redis, listening on a free port. */
async function relay(options: RelayOptions = {}): Promise<Relay> {
  const r = new Relay({ redisUrl: redis.url, ...options });
  relays.push(r);
  await r.listen();
  return r;
}

async function raw(r: Relay): Promise<RawClient> {
  const c = await RawClient.connect(r.address!.url);
  clients.push(c);
  return c;
}

/** The fingerprint in a relay URL (`ws://<fingerprint>@host:port`). */
const fingerprint = (url: string) => new URL(url).username;
const isOk = (f: RelayFrame) => f.t === 'ok';
/** Messages (ids, in order) Redis holds in a queue, and the bytes it counts for all queues. */
async function stored(queue: RawQueue): Promise<{ ids: string[]; bytes: number }> {
  const ids = await inspect.lRange(`sealcall:m:${hex(queue.recipientId)}`, 0, -1);
  return { ids, bytes: Number((await inspect.hGet('sealcall:stats', 'bytes')) ?? 0) };
}

describe('Relay on Redis: several relays, one store', () => {
  it('two relays share one identity; what is sent through one is delivered through the other, and acks through it remove it', async () => {
    const a = await relay();
    const b = await relay();
    expect(fingerprint(a.address!.url)).toBe(fingerprint(b.address!.url));
    expect(a.address!.port).not.toBe(b.address!.port);
    const atA = await raw(a);
    const atB = await raw(b);
    expect(atA.relayKey).toEqual(atB.relayKey); // both prove the one key the URL pins

    const queue = await atA.newQueue();
    expect(await atA.subscribe(queue)).toSatisfy(isOk);
    for (const body of ['one', 'two', 'three']) expect(await atB.sendTo(queue.senderId, text(body))).toSatisfy(isOk);
    const messages = await atA.waitForMessages(3);
    expect(messages.map((m) => textOf(RawClient.open(queue, m)))).toEqual(['one', 'two', 'three']);
    expect((await stored(queue)).ids).toEqual(messages.map((m) => hex(m.msgId)));
    expect(b.stats.bytesQueued).toBeGreaterThan(0);

    for (const m of messages) expect(await atA.ack(queue, m.msgId)).toSatisfy(isOk);
    expect(await stored(queue)).toEqual({ ids: [], bytes: 0 });
    await b.sweep(); // B learns the shared counts at its sweep
    expect(b.stats).toMatchObject({ queues: 1, bytesQueued: 0, messagesReceived: 3, messagesDelivered: 0 });
    expect(a.stats).toMatchObject({ queues: 1, bytesQueued: 0, messagesReceived: 0, messagesDelivered: 3 });
    // What was acknowledged is not delivered again to a new subscription.
    const again = await raw(b);
    expect(await again.subscribe(queue)).toSatisfy(isOk);
    expect(await again.sendTo(queue.senderId, text('four'))).toSatisfy(isOk);
    const [four] = await again.waitForMessages(1);
    expect(textOf(RawClient.open(queue, four!))).toBe('four');
  });

  it('a queue subscribed again through another relay is taken over: the old subscriber gets end, later messages go only to the new one', async () => {
    const a = await relay();
    const b = await relay();
    const atA = await raw(a);
    const atB = await raw(b);
    const sender = await raw(a);
    const queue = await atA.newQueue();
    expect(await atA.subscribe(queue)).toSatisfy(isOk);
    expect(await sender.sendTo(queue.senderId, text('before'))).toSatisfy(isOk);
    const [before] = await atA.waitForMessages(1);
    expect(textOf(RawClient.open(queue, before!))).toBe('before');

    expect(await atB.subscribe(queue)).toSatisfy(isOk); // same queue, same key, through B
    // A learns from its relay process that B's took the queue over (the notice crossed Redis).
    expect(await atA.next((frame) => frame.t === 'end')).toEqual({ t: 'end', recipientId: queue.recipientId });
    // The unacknowledged message goes to the new subscriber too: nothing is lost in a takeover.
    const [redelivered] = await atB.waitForMessages(1);
    expect(redelivered!.msgId).toEqual(before!.msgId);
    for (let i = 0; i < 10; i++) expect(await sender.sendTo(queue.senderId, text(`after ${i}`))).toSatisfy(isOk);
    const atBNow = await atB.waitForMessages(11);
    expect(atBNow.slice(1).map((m) => textOf(RawClient.open(queue, m)))).toEqual(Array.from({ length: 10 }, (_, i) => `after ${i}`));
    // A round trip through A after B had them all: A sent its client nothing more.
    await atA.request({ t: 'ping', corr: 0 });
    expect(atA.messages).toHaveLength(1);
    expect(a.stats.messagesDelivered).toBe(1);
  });

  it('keeps the quotas in Redis: messages per queue, bytes on the relay', async () => {
    const a = await relay({ maxMessagesPerQueue: 2, maxStoredBytes: 200 });
    const b = await relay({ maxMessagesPerQueue: 2, maxStoredBytes: 200 });
    const atA = await raw(a);
    const atB = await raw(b);
    const first = await atA.newQueue();
    const second = await atA.newQueue();
    // 50 bytes are 66 stored (the relay's seal adds 16).
    const body = new Uint8Array(50);
    expect(await atA.sendTo(first.senderId, body)).toSatisfy(isOk);
    expect(await atB.sendTo(first.senderId, body)).toSatisfy(isOk);
    expect(await atB.sendTo(first.senderId, body)).toMatchObject({ t: 'err', code: 'QUOTA', message: 'queue is full' });
    expect(await atA.sendTo(first.senderId, body)).toMatchObject({ t: 'err', code: 'QUOTA', message: 'queue is full' });
    expect(await atA.sendTo(second.senderId, body)).toSatisfy(isOk); // 198 bytes now
    expect(await atB.sendTo(second.senderId, new Uint8Array(1))).toMatchObject({ t: 'err', code: 'QUOTA', message: 'the relay is full' });
    expect((await stored(first)).ids).toHaveLength(2);
    expect(await stored(second)).toMatchObject({ bytes: 198 });
  });

  it('never delivers expired messages, and they do not count against the quotas', async () => {
    let clock = 1_000_000;
    const options = { maxMessagesPerQueue: 1, maxStoredBytes: 100, messageTtlMs: 1000, now: () => clock };
    const a = await relay(options);
    const b = await relay(options);
    const atA = await raw(a);
    const atB = await raw(b);
    const first = await atA.newQueue();
    const second = await atA.newQueue();
    expect(await atB.sendTo(first.senderId, text('old'))).toSatisfy(isOk); // 19 bytes stored
    expect(await atB.sendTo(first.senderId, text('one too many'))).toMatchObject({ t: 'err', code: 'QUOTA', message: 'queue is full' });
    expect(await atB.sendTo(second.senderId, new Uint8Array(70))).toMatchObject({ t: 'err', code: 'QUOTA', message: 'the relay is full' });

    clock += 1001; // 'old' expired; still in Redis until something removes it
    expect((await stored(first)).ids).toHaveLength(1);
    // Another queue's expired message does not fill the relay.
    expect(await atB.sendTo(second.senderId, new Uint8Array(70))).toSatisfy(isOk);
    expect(await stored(first)).toEqual({ ids: [], bytes: 86 });

    clock += 1001; // the 70 bytes expired
    // A queue's own expired message does not fill it; only the fresh one is delivered.
    expect(await atB.sendTo(second.senderId, text('fresh'))).toSatisfy(isOk);
    expect(await atA.subscribe(second)).toSatisfy(isOk);
    const [message] = await atA.waitForMessages(1);
    expect(textOf(RawClient.open(second, message!))).toBe('fresh');
    expect(await stored(second)).toEqual({ ids: [hex(message!.msgId)], bytes: 21 });

    // An expired message is never delivered, not even before a sweep removed it.
    expect(await atB.sendTo(first.senderId, text('stale'))).toSatisfy(isOk);
    clock += 1001;
    const atA2 = await raw(a);
    expect(await atA2.subscribe(first)).toSatisfy(isOk);
    await atA2.request({ t: 'ping', corr: 0 });
    expect(atA2.messages).toEqual([]);
    expect((await stored(first)).ids).toEqual([]);
  });

  it('delivers fresh messages queued behind a window full of expired ones', async () => {
    let clock = 1_000_000;
    const a = await relay({ maxInFlight: 2, messageTtlMs: 1000, now: () => clock });
    const client = await raw(a);
    const queue = await client.newQueue();
    for (const body of ['old 1', 'old 2']) expect(await client.sendTo(queue.senderId, text(body))).toSatisfy(isOk);
    clock += 500;
    expect(await client.sendTo(queue.senderId, text('fresh'))).toSatisfy(isOk);
    clock += 600; // the first two expired, 'fresh' not
    expect(await client.subscribe(queue)).toSatisfy(isOk);
    const [message] = await client.waitForMessages(1, 2000); // not only at the next sweep
    expect(textOf(RawClient.open(queue, message!))).toBe('fresh');
  });

  it('keeps the identity and the queues across a restart of every relay', async () => {
    const first = await relay();
    const { url } = first.address!;
    const client = await raw(first);
    const queue = await client.newQueue();
    expect(await client.sendTo(queue.senderId, text('kept'))).toSatisfy(isOk);
    client.close();
    await first.close();

    const second = await relay();
    expect(fingerprint(second.address!.url)).toBe(fingerprint(url));
    const again = await raw(second);
    expect(again.relayKey).toEqual(client.relayKey);
    expect(await again.subscribe(queue)).toSatisfy(isOk);
    const [message] = await again.waitForMessages(1);
    expect(textOf(RawClient.open(queue, message as MsgFrame))).toBe('kept');
    expect(second.stats).toMatchObject({ queues: 1, bytesQueued: 4 + 16 });
  });

  it('answers NO_QUEUE for a queue another relay deleted', async () => {
    const a = await relay();
    const b = await relay();
    const atA = await raw(a);
    const atB = await raw(b);
    const queue = await atA.newQueue();
    expect(await atB.subscribe(queue)).toSatisfy(isOk); // B knows the queue now
    expect(await atB.sendTo(queue.senderId, text('x'))).toSatisfy(isOk);
    const corr = atA.nextCorr();
    const reply = atA.next((f) => 'corr' in f && f.corr === corr);
    atA.send({ t: 'del', corr, recipientId: queue.recipientId, auth: atA.auth(queue, { t: 'del', corr }) });
    expect(await reply).toSatisfy(isOk);
    const again = await raw(b);
    expect(await again.subscribe(queue)).toMatchObject({ t: 'err', code: 'NO_QUEUE' });
    expect(await again.sendTo(queue.senderId, text('y'))).toMatchObject({ t: 'err', code: 'NO_QUEUE' });
  });

  it("stores a sender's messages in the order they came, on a relay that has yet to look their queue up", async () => {
    const a = await relay({ maxInFlight: 100 });
    const recipient = await raw(a);
    const queue = await recipient.newQueue();
    const b = await relay(); // knows neither the queue nor the push script yet
    const sender = await raw(b);
    // Ten sends at a time, each batch in a turn of the event loop of its own: the later ones
    // reach B while it is still looking up the queue for the earlier ones.
    let last = 0;
    for (let i = 0; i < 100; i++) {
      last = sender.nextCorr();
      sender.send({ t: 'send', corr: last, senderId: queue.senderId, body: text(`#${i}`) });
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    await sender.next((f) => 'corr' in f && f.corr === last);
    expect(sender.frames.every(isOk)).toBe(true);
    expect(await recipient.subscribe(queue)).toSatisfy(isOk);
    const messages = await recipient.waitForMessages(100);
    expect(messages.map((m) => textOf(RawClient.open(queue, m)))).toEqual(Array.from({ length: 100 }, (_, i) => `#${i}`));
  });
});

describe('Relay on Redis: options and an unreachable Redis', () => {
  it('fails listen quickly with RELAY_STORE_FAILED when nothing listens at redisUrl', async () => {
    const started = Date.now();
    const r = new Relay({ redisUrl: 'redis://127.0.0.1:1' });
    await expect(r.listen()).rejects.toSatisfy(hasCode('RELAY_STORE_FAILED'));
    expect(Date.now() - started).toBeLessThan(2000);
    await r.close();
  });

  it('refuses redisUrl with storePath, with an idle queue lifetime shorter than 10 minutes, and a URL that is not redis://', () => {
    expect(() => new Relay({ redisUrl: redis.url, storePath: '/tmp/x' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new Relay({ redisUrl: redis.url, queueIdleTtlMs: 60_000 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new Relay({ redisUrl: redis.url, queueIdleTtlMs: 10 * 60_000 })).not.toThrow();
    for (const redisUrl of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', '']) {
      expect(() => new Relay({ redisUrl })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('Relay on Redis: Redis going away under a running relay', () => {
  it('closes a client whose command got no reply with 1013, and serves again once Redis is back', async () => {
    const own = await startRedis({ persist: true }); // comes back with its data, as with AOF in production
    try {
      const events: string[] = [];
      const r = await relay({ redisUrl: own.url, logger: (event) => events.push(event) });
      const recipient = await raw(r);
      const queue = await recipient.newQueue();
      expect(await recipient.subscribe(queue)).toSatisfy(isOk);
      const sender = await raw(r);
      expect(await sender.sendTo(queue.senderId, text('before'))).toSatisfy(isOk);
      await recipient.waitForMessages(1);

      await own.kill();
      const reply = sender.sendTo(queue.senderId, text('lost')).then((f) => f.t);
      expect(await Promise.race([reply, sender.closed.then(({ code }) => code)])).toBe(1013);
      expect(sender.frames.filter((f) => f.t !== 'msg')).toHaveLength(1); // the first ok, nothing since
      expect(events).toContain('command-failed');

      await own.restart();
      // The relay's Redis connections come back on their own (backoff up to 2 s); until then a
      // command fails again with 1013, so a client retries on a new connection, as a real one does.
      const deadline = Date.now() + 5000;
      for (;;) {
        const retry = await raw(r);
        const outcome = await Promise.race([retry.sendTo(queue.senderId, text('after')).then((f) => f.t), retry.closed.then(({ code }) => code)]);
        if (outcome === 'ok') break;
        expect(outcome).toBe(1013);
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 20)); // a client's backoff
      }
      // The recipient, subscribed all along (it had no command in flight), gets it.
      const messages = await recipient.waitForMessages(2);
      expect(textOf(RawClient.open(queue, messages[1]!))).toBe('after');
    } finally {
      for (const c of clients.splice(0)) c.close();
      await Promise.all(relays.splice(0).map((x) => x.close()));
      await own.stop();
    }
  });
});

describe('Relay on Redis: Redis hanging under a running relay', () => {
  it('leaves a command without reply while Redis does not answer, and still closes within a few seconds', async () => {
    const own = await startRedis();
    try {
      const r = await relay({ redisUrl: own.url, closeGraceMs: 100 });
      const client = await raw(r);
      const queue = await client.newQueue();
      own.pause(); // the connections stay open, nothing is answered: no error to react to
      const reply = client.sendTo(queue.senderId, text('held'));
      reply.catch(() => {}); // never answered (the raw client gives up after 5 s)
      await client.request({ t: 'ping', corr: 0 }); // the relay itself still answers
      const started = Date.now();
      await r.close();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await client.closed).toEqual({ code: 1001 }); // by the shutdown, not by a reply
      expect(client.frames.map((f) => f.t)).toEqual(['ids', 'pong']);
    } finally {
      for (const c of clients.splice(0)) c.close();
      await Promise.all(relays.splice(0).map((x) => x.close()));
      await own.stop();
    }
  });
});

/**
 * A TCP proxy on 127.0.0.1, standing for the load balancer in front of a relay URL: each
 * connection goes to the first of `backends` (ports, in their order at that moment) that accepts
 * a TCP connection, and is cut when the backend's side ends.
 */
class Balancer {
  /** Backend ports, tried in order for each new connection; the test reorders them. */
  backends: number[];
  /** The backend each connection went to, in order. */
  readonly routed: number[] = [];
  /** Bytes from silenced backends, dropped. */
  dropped = 0;
  private onDrop: (() => void) | undefined;
  private readonly pairs: { port: number; client: Socket; backend: Socket }[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    backends: number[],
  ) {
    this.backends = backends;
  }

  static async start(backends: number[]): Promise<Balancer> {
    const server = createServer();
    const balancer = new Balancer(server, backends);
    server.on('connection', (client) => balancer.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return balancer;
  }

  /**
   * From now on, drops what the backend at `port` sends on its connections (they stay open, and
   * what clients send still reaches it). Resolves once something was dropped.
   */
  silence(port: number): Promise<void> {
    const dropped = new Promise<void>((resolve) => (this.onDrop = resolve));
    for (const { client, backend } of this.pairs.filter((p) => p.port === port)) {
      backend.unpipe(client);
      backend
        .on('data', (chunk: Buffer) => {
          this.dropped += chunk.length;
          this.onDrop?.();
        })
        .resume();
    }
    return dropped;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The backend of each connection open now. */
  get open(): number[] {
    return this.pairs.filter((p) => !p.client.destroyed).map((p) => p.port);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  }

  private accept(client: Socket): void {
    this.track(client).on('error', () => {});
    client.pause();
    const order = [...this.backends];
    const tryBackend = (i: number) => {
      if (i >= order.length || client.destroyed) return void client.destroy();
      const backend = this.track(connect({ host: '127.0.0.1', port: order[i]! }));
      backend.once('error', () => tryBackend(i + 1)); // refused: the next one
      backend.once('connect', () => {
        this.routed.push(order[i]!);
        this.pairs.push({ port: order[i]!, client, backend });
        backend.removeAllListeners('error').on('error', () => {});
        client.pipe(backend).pipe(client);
        client.on('close', () => backend.destroy());
        backend.on('close', () => client.destroy());
        client.resume();
      });
    };
    tryBackend(0);
  }
}

/** The test's texts (not the call's signaling) a transport hands to its handlers, and a way to wait for a count of them. */
function collect(transport: WebSocketTransport) {
  const texts: string[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  transport.onMessage((_from, payload) => {
    const t = textOf(payload);
    if (!/^(alice|bob) (\d+|end)$/.test(t)) return;
    texts.push(t);
    for (const w of waiters.filter((w) => texts.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    texts,
    /** Resolves once `count` texts arrived; rejects after `timeoutMs`. */
    reach: (count: number, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        if (texts.length >= count) return resolve();
        const timer = setTimeout(() => reject(new Error(`${texts.length}/${count} messages: ${texts.join(', ')}`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

const range = (name: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${name} ${from + i}`);

describe('Relay on Redis: relay processes behind one address', () => {
  it('one relay URL served by several processes: when the process a client is connected to dies, its clients reconnect to another with nothing lost', async () => {
    const processes = [0, 1, 2].map(() => new CliProcess(['relay', '--port', '0', '--store', redis.url, '--json']));
    const transports: WebSocketTransport[] = [];
    let balancer: Balancer | undefined;
    const harness = new Harness(new MemoryNetwork({ seed: 1 }));
    const sends: Promise<void>[] = [];
    try {
      const urls = (await Promise.all(processes.map((p) => p.next('listening')))).map((e) => e.url as string);
      const ports = urls.map((u) => Number(new URL(u).port));
      const [port1, port2, port3] = ports as [number, number, number];
      expect(new Set(urls.map(fingerprint)).size).toBe(1);
      // The relay URL clients know: the balancer's address with the processes' shared fingerprint.
      balancer = await Balancer.start([port1, port2, port3]);
      const url = `ws://${fingerprint(urls[0]!)}@127.0.0.1:${balancer.port}`;
      const identities = { alice: generateIdentity(), bob: generateIdentity() };
      const user = async (name: 'alice' | 'bob') => {
        const transport = await WebSocketTransport.connect({ url, identity: identities[name], WebSocket, backoff: { initialMs: 20, maxMs: 100 } });
        transports.push(transport);
        return transport;
      };

      // Every message crosses processes: both receive through process 1 and send through process
      // 2. A transport receives on the connection `connect` opens and sends on another, opened at
      // its first send (which resolves once that is up): the balancer tries process 2 first
      // while those open.
      const alice = await user('alice');
      const bob = await user('bob');
      alice.addContact('bob', bob.address);
      bob.addContact('alice', alice.address);
      const atAlice = collect(alice);
      const atBob = collect(bob);
      balancer.backends = [port2, port3, port1];
      await Promise.all([alice.send('bob', text('alice 0')), bob.send('alice', text('bob 0'))]);
      balancer.backends = [port1, port2, port3];
      expect(balancer.routed).toEqual([port1, port1, port2, port2]);

      const sendBoth = (from: number, to: number) => {
        sends.push(...range('alice', from, to).map((t) => alice.send('bob', text(t))));
        sends.push(...range('bob', from, to).map((t) => bob.send('alice', text(t))));
      };
      const statuses: Record<'alice' | 'bob', TransportStatus[]> = { alice: [], bob: [] };
      alice.on('status', (status) => statuses.alice.push(status));
      bob.on('status', (status) => statuses.bob.push(status));
      const bothBack = () =>
        Promise.all([alice, bob].map((t) => new Promise<void>((resolve) => t.on('status', (status) => status === 'connected' && resolve()))));
      /**
       * The process at `index` goes silent (the balancer drops whatever it sends, as when its
       * host hangs: deliveries and oks are lost on the way) while both send, then is killed, with
       * more messages on their way. Resolves once both clients are connected again.
       */
      const killWhileSending = async (index: number, during: [number, number], atKill: [number, number]) => {
        const back = bothBack();
        const dropped = balancer!.silence(ports[index]!);
        sendBoth(...during);
        await dropped;
        sendBoth(...atKill);
        processes[index]!.kill('SIGKILL');
        expect((await processes[index]!.exited).signal).toBe('SIGKILL');
        await back;
      };

      // Before.
      sendBoth(1, 15);
      await Promise.all([atBob.reach(15), atAlice.reach(15)]);
      expect(atBob.texts).toEqual(range('alice', 0, 15));
      expect(atAlice.texts).toEqual(range('bob', 0, 15));
      // A real call (WebRTC, media peer to peer), its signaling across the two processes.
      const contacts = { alice: identities.alice.publicKey, bob: identities.bob.publicKey };
      const { aliceCall, bobCall } = await connectedPair(harness, {
        alice: { identity: identities.alice, contacts, transport: alice },
        bob: { identity: identities.bob, contacts, transport: bob },
      });

      // Process 1, where both receive, dies: they subscribe again through process 2, which
      // delivers what process 1 had delivered into the void, then the rest.
      await killWhileSending(0, [15, 25], [25, 30]);
      expect(balancer.open).toEqual([port2, port2, port2, port2]);
      sendBoth(30, 35);
      // Process 2, now holding every connection, dies: all of them go to process 3; sends whose
      // ok was lost are sent again (stored twice, handed over once).
      await killWhileSending(1, [35, 43], [43, 47]);
      sendBoth(47, 50);

      await Promise.all(sends);
      await Promise.all([atBob.reach(50), atAlice.reach(50)]);
      // One more each way: anything delivered twice would have come before it.
      await Promise.all([alice.send('bob', text('alice end')), bob.send('alice', text('bob end'))]);
      await Promise.all([atBob.reach(51), atAlice.reach(51)]);
      expect(atBob.texts).toEqual([...range('alice', 0, 50), 'alice end']);
      expect(atAlice.texts).toEqual([...range('bob', 0, 50), 'bob end']);
      expect(statuses).toEqual({ alice: ['reconnecting', 'connected', 'reconnecting', 'connected'], bob: ['reconnecting', 'connected', 'reconnecting', 'connected'] });
      expect(balancer.open).toEqual([port3, port3, port3, port3]);
      // The call lived on (media is peer to peer); its hangup is signaled through process 3.
      expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
      const bobEnded = ended(bobCall);
      await aliceCall.hangup();
      expect((await bobEnded).reason).toBe('remote-hangup');
    } finally {
      for (const sent of sends) sent.catch(() => {}); // rejected by the close below when the test failed
      await harness.close();
      for (const t of transports) t.close();
      await balancer?.close();
      await stopCliProcesses();
    }
  });
});
