import { randomFillSync } from 'node:crypto';
import { SealcallError } from '../errors.js';
import { field, fixedBytes, record } from '../protocol/fields.js';
import { pack, unpackUntrusted } from '../protocol/msgpack.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';
import type { RelayLogger } from './options.js';
import { REDIS_SCRIPTS, type RedisScript } from './redis-scripts.js';
import { hex, type PushLimits, type PushResult, type QueueRef, type QueueWatcher, type RelayStore, type StoredMessage } from './relay-store.js';
import { generateRelayIdentity, type RelayIdentity } from '../crypto/relay-keys.js';

/** Options of {@link RedisRelayStore.open}. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  logger: RelayLogger;
  /** Called when the connection to Redis is back after a loss: arrival notices may have been missed. */
  onResume: () => void;
}

/** Prefix of every key and channel the relay uses, so it can share a Redis with other data. */
const PREFIX = 'sealcall:';
/**
 * Queues this process remembers by sender id (ids and keys never change; a send to a queue
 * another process deleted is caught by the push script).
 */
const MAX_CACHED_QUEUES = 10_000;
/** How long {@link RedisRelayStore.close} waits for replies under way. */
const CLOSE_GRACE_MS = 1000;
/** A recipient's use is written to Redis at most this often per queue: idle expiry works in days. */
const TOUCH_EVERY_MS = 60_000;

/** What the Redis client looks like to this file: raw commands, pub/sub, lifecycle. */
interface RedisClient {
  readonly isReady: boolean;
  sendCommand(args: (string | Buffer)[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener?: (message: string) => void): Promise<void>;
  on(event: 'error' | 'ready', listener: (...args: unknown[]) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  /** Closes at once, failing what is pending (a no-op once closed). */
  destroy(): void;
  duplicate(): RedisClient;
}

/**
 * The shared store: queues, messages and the relay's identity in Redis, and arrival notices over
 * Redis pub/sub, so that several relay processes (on one machine or many) serve the same relay
 * URL: a client may subscribe through one and its contacts send through another, and when a
 * process dies its clients reconnect to another with nothing lost. Every quota check and write is
 * one atomic script (redis-scripts.ts). Needs one Redis or Valkey primary; what survives a Redis
 * restart is Redis's own persistence setting (AOF recommended).
 */
export class RedisRelayStore implements RelayStore {
  private queuesCount = 0;
  private bytes = 0;
  /** Each script's hash, once Redis has loaded it. */
  private readonly shas = new Map<RedisScript, Promise<string>>();
  /** Sender id lookups under way, shared by the sends that wait for them (see bySenderId). */
  private readonly lookups = new Map<string, Promise<QueueRef | undefined>>();
  private readonly bySender = new Map<string, QueueRef>();
  private readonly touched = new Map<string, number>();
  private readonly listeners = new Map<string, (message: string) => void>();
  /** Names this process in takeover notices. */
  private readonly processId = hex(randomFillSync(new Uint8Array(8)));

  private constructor(
    readonly identity: RelayIdentity,
    private readonly client: RedisClient,
    private readonly subscriber: RedisClient,
  ) {}

  /** Connects, loads the scripts and the shared identity (creating it the first time). Throws `RELAY_STORE_FAILED`. */
  static async open(options: RedisStoreOptions): Promise<RedisRelayStore> {
    const { createClient, RESP_TYPES } = await import('@redis/client');
    let opened = false;
    const base = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        // Until the store is open, a failed connection fails `listen` (the client would otherwise
        // retry for ever and `listen` never settle); afterwards a lost Redis is retried for ever,
        // a connect timeout included (the client's default gives up on it: the relay would be
        // left without a store), with jitter so that relay processes do not all retry at once.
        reconnectStrategy: (retries: number) => (opened ? Math.min(50 * 2 ** retries, 2000) + Math.floor(Math.random() * 100) : false),
      },
    });
    // Replies as Buffers: bodies and keys are bytes.
    const client = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as RedisClient;
    const subscriber = client.duplicate();
    // Arrival notices published while the subscriber connection was down are lost: once both
    // connections are back (whichever is last), delivery looks at every subscribed queue.
    const resume = () => {
      if (opened && client.isReady && subscriber.isReady) options.onResume();
    };
    for (const c of [client, subscriber]) {
      c.on('error', () => options.logger('store-error'));
      c.on('ready', resume);
    }
    try {
      await client.connect();
      await subscriber.connect();
      const identity = await loadIdentity(client);
      const store = new RedisRelayStore(identity, client, subscriber);
      await store.refreshStats();
      opened = true;
      return store;
    } catch (cause) {
      await Promise.allSettled([client.close(), subscriber.close()]);
      if (cause instanceof SealcallError) throw cause;
      throw new SealcallError('RELAY_STORE_FAILED', 'cannot use the Redis store', { cause });
    }
  }

  get size(): number {
    return this.queuesCount;
  }

  get bytesQueued(): number {
    return this.bytes;
  }

  async create(recipientKey: Uint8Array, deliveryKey: Uint8Array, now: number, maxQueues: number): Promise<QueueRef | undefined> {
    for (;;) {
      const recipientId = randomFillSync(new Uint8Array(RELAY_LIMITS.queueIdBytes));
      const senderId = randomFillSync(new Uint8Array(RELAY_LIMITS.queueIdBytes));
      const queue: QueueRef = { recipientId, senderId, recipientKey: recipientKey.slice(), deliveryKey: deliveryKey.slice(), key: hex(recipientId) };
      const sid = hex(senderId);
      const result = await this.run('create', [this.k('q:', queue.key), this.k('s:', sid), this.k('stats'), this.k('active')], [
        queue.key,
        sid,
        Buffer.from(recipientKey),
        Buffer.from(deliveryKey),
        String(now),
        String(maxQueues),
      ]);
      if (result === 0) return undefined;
      // -1: an id is taken; 128-bit ids never collide in practice, but draw again if they do.
      if (result === 1) {
        this.queuesCount++;
        this.remember(queue);
        return queue;
      }
    }
  }

  async byRecipientId(id: Uint8Array): Promise<QueueRef | undefined> {
    // Read every time, never cached: a queue another process deleted must answer NO_QUEUE
    // to its recipient's `sub` (an `ok` would leave it waiting on a dead queue).
    return this.load(hex(id));
  }

  async bySenderId(id: Uint8Array): Promise<QueueRef | undefined> {
    const sid = hex(id);
    const cached = this.bySender.get(sid);
    if (cached) return cached;
    // Sends arriving while their queue is looked up wait for that one lookup: with one each, a
    // later send could find the queue cached and be stored before them, out of order.
    let lookup = this.lookups.get(sid);
    if (!lookup) {
      lookup = this.findSender(sid).finally(() => this.lookups.delete(sid));
      this.lookups.set(sid, lookup);
    }
    return lookup;
  }

  async push(queue: QueueRef, message: StoredMessage, limits: PushLimits): Promise<PushResult> {
    const attempt = async () => {
      const [result, total] = (await this.run('push', [...this.queueKeys(queue), this.k('stats'), this.k('pending')], [
        message.key,
        Buffer.from(message.body),
        String(message.ts),
        String(limits.maxMessagesPerQueue),
        String(limits.maxBytesPerQueue),
        String(limits.maxStoredBytes),
        String(limits.expiredBefore),
        this.channel(queue.key),
        queue.key,
      ])) as [number, number];
      this.bytes = total;
      return result;
    };
    let result = await attempt();
    // The script drops only this queue's expired messages; those of other queues still count
    // until the sweep. Drop them all, as the sweep would, and try once more.
    if (result === -3 && (await this.expire(limits.expiredBefore)) > 0) result = await attempt();
    if (result === -1) this.forget(queue);
    return result === 1 ? 'ok' : result === -1 ? 'no-queue' : result === -2 ? 'queue-full' : 'relay-full';
  }

  async remove(queue: QueueRef, msgKey: string): Promise<boolean> {
    const [removed, total] = (await this.run('remove', [...this.queueKeys(queue), this.k('stats')], [msgKey])) as [number, number];
    this.bytes = total;
    return removed === 1;
  }

  async peek(queue: QueueRef, count: number, expiredBefore: number): Promise<StoredMessage[]> {
    const flat = (await this.run('peek', [...this.queueKeys(queue), this.k('stats')], [String(count), String(expiredBefore)])) as Buffer[];
    const out: StoredMessage[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const key = flat[i]!.toString();
      const ts = Number(flat[i + 2]!.toString());
      // The script dropped the expired ones at the head; one behind a later one (relay
      // processes' clocks differ a little) is not delivered either.
      if (ts > expiredBefore) out.push({ msgId: fromHex(key), key, body: new Uint8Array(flat[i + 1]!), ts });
    }
    return out;
  }

  async delete(queue: QueueRef): Promise<void> {
    this.forget(queue);
    const deleted = await this.run('delete', [...this.queueKeys(queue), this.k('stats'), this.k('active'), this.k('pending')], [
      this.k('s:'),
      queue.key,
    ]);
    if (deleted === 1) this.queuesCount = Math.max(0, this.queuesCount - 1);
  }

  touch(queue: QueueRef, now: number): void {
    if (now - (this.touched.get(queue.key) ?? -Infinity) < TOUCH_EVERY_MS) return;
    if (this.touched.size >= MAX_CACHED_QUEUES) this.touched.clear();
    this.touched.set(queue.key, now);
    this.client.sendCommand(['ZADD', this.k('active'), 'XX', String(now), queue.key]).catch(() => {});
  }

  async sweep(expiredBefore: number, idleBefore: number, inUse: (queueKey: string) => boolean): Promise<{ expired: number; queues: number }> {
    const expired = await this.expire(expiredBefore);
    let queues = 0;
    // A queue subscribed through any process is touched by it at every sweep, so never idle here.
    for (const key of await this.members(['ZRANGE', this.k('active'), '-inf', String(idleBefore), 'BYSCORE', 'LIMIT', '0', '1000'])) {
      if (inUse(key)) continue;
      const queue = await this.byRecipientId(fromHex(key));
      if (queue) await this.delete(queue);
      queues++;
    }
    await this.refreshStats();
    return { expired, queues };
  }

  async watch(queue: QueueRef, watcher: QueueWatcher): Promise<void> {
    this.unwatch(queue);
    const takeover = `t:${this.processId}`;
    const listener = (message: string) => {
      if (message === 'p') watcher.pushed();
      else if (message.startsWith('t:') && message !== takeover) watcher.takenOver();
    };
    this.listeners.set(queue.key, listener);
    await this.subscriber.subscribe(this.channel(queue.key), listener);
    // Any process that served this queue's subscriber until now stops (SMP's END).
    await this.client.sendCommand(['PUBLISH', this.channel(queue.key), takeover]);
  }

  unwatch(queue: QueueRef): void {
    const listener = this.listeners.get(queue.key);
    if (!listener) return;
    this.listeners.delete(queue.key);
    this.subscriber.unsubscribe(this.channel(queue.key), listener).catch(() => {});
  }

  async close(): Promise<void> {
    // Replies under way are waited for, but not for ever: a Redis that stopped answering (a hung
    // host) would hold `Relay.close()` until it came back.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([Promise.allSettled([this.subscriber.close(), this.client.close()]), grace]);
    clearTimeout(timer);
    for (const c of [this.subscriber, this.client]) c.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Runs a script by its hash, loading it first (and again after Redis lost it: NOSCRIPT). Calls
   * waiting for a load share it, so they reach Redis in the order they were made.
   */
  private async run(script: RedisScript, keys: string[], args: (string | Buffer)[]): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      let loading = this.shas.get(script);
      if (!loading) {
        loading = this.client.sendCommand(['SCRIPT', 'LOAD', REDIS_SCRIPTS[script]]).then((sha) => String(sha));
        this.shas.set(script, loading);
      }
      try {
        return await this.client.sendCommand(['EVALSHA', await loading, String(keys.length), ...keys, ...args]);
      } catch (error) {
        // A failed load is tried again by the next call; NOSCRIPT once, by this one too.
        if (this.shas.get(script) === loading) this.shas.delete(script);
        if (attempt > 0 || !String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      }
    }
  }

  /** Removes the messages of every queue accepted at or before `expiredBefore`; returns how many. */
  private async expire(expiredBefore: number): Promise<number> {
    let expired = 0;
    for (const key of await this.members(['SMEMBERS', this.k('pending')])) {
      const keys = [this.k('q:', key), this.k('m:', key), this.k('b:', key), this.k('t:', key), this.k('stats'), this.k('pending')];
      expired += (await this.run('expire', keys, [String(expiredBefore), key])) as number;
    }
    return expired;
  }

  private async findSender(sid: string): Promise<QueueRef | undefined> {
    const rid = (await this.client.sendCommand(['GET', this.k('s:', sid)])) as Buffer | null;
    return rid ? this.load(rid.toString()) : undefined;
  }

  /** Reads a queue's hash into a {@link QueueRef} and remembers it. */
  private async load(key: string): Promise<QueueRef | undefined> {
    const [sid, rk, dk] = (await this.client.sendCommand(['HMGET', this.k('q:', key), 'sid', 'rk', 'dk'])) as (Buffer | null)[];
    if (!sid || !rk || !dk) return undefined;
    const queue: QueueRef = {
      recipientId: fromHex(key),
      senderId: fromHex(sid.toString()),
      recipientKey: new Uint8Array(rk),
      deliveryKey: new Uint8Array(dk),
      key,
    };
    this.remember(queue);
    return queue;
  }

  private remember(queue: QueueRef): void {
    if (this.bySender.size >= MAX_CACHED_QUEUES) this.bySender.clear();
    this.bySender.set(hex(queue.senderId), queue);
  }

  private forget(queue: QueueRef): void {
    this.bySender.delete(hex(queue.senderId));
  }

  private async refreshStats(): Promise<void> {
    const [queues, bytes] = (await this.client.sendCommand(['HMGET', this.k('stats'), 'queues', 'bytes'])) as (Buffer | null)[];
    this.queuesCount = Number(queues?.toString() ?? 0);
    this.bytes = Number(bytes?.toString() ?? 0);
  }

  private async members(command: string[]): Promise<string[]> {
    return ((await this.client.sendCommand(command)) as Buffer[]).map((b) => b.toString());
  }

  private queueKeys(queue: QueueRef): [string, string, string, string] {
    return [this.k('q:', queue.key), this.k('m:', queue.key), this.k('b:', queue.key), this.k('t:', queue.key)];
  }

  private channel(queueKey: string): string {
    return this.k('n:', queueKey);
  }

  private k(kind: string, id = ''): string {
    return PREFIX + kind + id;
  }
}

/** The relay identity all processes on this Redis share: the first one to start creates it. */
async function loadIdentity(client: RedisClient): Promise<RelayIdentity> {
  const key = PREFIX + 'identity';
  const fresh = generateRelayIdentity();
  await client.sendCommand(['SET', key, Buffer.from(pack({ publicKey: fresh.publicKey, secretKey: fresh.secretKey })), 'NX']);
  const stored = (await client.sendCommand(['GET', key])) as Buffer | null;
  try {
    const value = record(unpackUntrusted(new Uint8Array(stored ?? []), 1024, 'identity'), 'identity');
    return {
      publicKey: fixedBytes(field(value, 'publicKey'), 'publicKey', 32),
      secretKey: fixedBytes(field(value, 'secretKey'), 'secretKey', 64),
    };
  } catch (cause) {
    throw new SealcallError('RELAY_STORE_FAILED', 'the relay identity in Redis is damaged', { cause });
  }
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}
