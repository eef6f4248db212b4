import type { RelayIdentity } from '../crypto/relay-keys.js';

/**
 * Where a relay keeps its queues: in this process ({@link MemoryRelayStore}, optionally backed by
 * a log file) or in Redis, shared by every relay process that uses it ({@link RedisRelayStore}).
 * The commands and delivery only ever talk to this interface, so they work the same on either.
 * A method answers with a value when it has one at once (the memory store, so a command costs no
 * promise or microtask) or with a promise (Redis). Every method may reject (a store that cannot be
 * reached); the relay then closes the client's connection with 1013, and the client reconnects
 * and sends again what had no reply.
 */
export interface RelayStore {
  /** The relay's long-term key, kept with the queues: processes sharing a store share it. */
  readonly identity: RelayIdentity;
  /** Queues that exist, as this process last learnt. */
  readonly size: number;
  /** Body bytes held in all queues, as this process last learnt. */
  readonly bytesQueued: number;
  /** Creates a queue with two fresh random ids, used `now`; undefined when `maxQueues` exist. */
  create(recipientKey: Uint8Array, deliveryKey: Uint8Array, now: number, maxQueues: number): Awaitable<QueueRef | undefined>;
  /** The queue whose recipient id is `id`. */
  byRecipientId(id: Uint8Array): Awaitable<QueueRef | undefined>;
  /** The queue whose sender id is `id`. */
  bySenderId(id: Uint8Array): Awaitable<QueueRef | undefined>;
  /**
   * Appends a message unless that would break a quota (messages accepted at or before
   * `limits.expiredBefore` do not count), and tells the queue's watcher, wherever it is.
   */
  push(queue: QueueRef, message: StoredMessage, limits: PushLimits): Awaitable<PushResult>;
  /** Removes one message by its key; false if the queue does not hold it (already acknowledged, expired, or deleted). */
  remove(queue: QueueRef, msgKey: string): Awaitable<boolean>;
  /**
   * The oldest `count` messages accepted after `expiredBefore`, oldest first. Read it at once and
   * keep none of it: the memory store may hand out the queue's own list.
   */
  peek(queue: QueueRef, count: number, expiredBefore: number): Awaitable<readonly StoredMessage[]>;
  /** Deletes a queue and its messages. */
  delete(queue: QueueRef): Awaitable<void>;
  /** Marks the queue used by its recipient at `now` (not awaited: a lost touch only makes a queue look idler). */
  touch(queue: QueueRef, now: number): void;
  /**
   * Removes messages accepted at or before `expiredBefore`, and deletes queues unused since
   * `idleBefore` unless `inUse` (subscribed through this process). Returns what it removed.
   */
  sweep(expiredBefore: number, idleBefore: number, inUse: (queueKey: string) => boolean): Awaitable<{ expired: number; queues: number }>;
  /**
   * Starts telling `watcher` about the queue: `pushed` when a message arrives, `takenOver` when
   * another relay process subscribed a client to it (this process's subscriber must then stop).
   * Resolves once no later push can go unnoticed, after announcing this process's subscription.
   */
  watch(queue: QueueRef, watcher: QueueWatcher): Awaitable<void>;
  /** Stops {@link watch}. */
  unwatch(queue: QueueRef): void;
  /** Writes what is pending and lets go of files and connections. */
  close(): Promise<void>;
}

/** A queue as the relay's commands see it: ids and keys (its messages stay in the store). */
export interface QueueRef {
  readonly recipientId: Uint8Array;
  readonly senderId: Uint8Array;
  /** The recipient's X25519 key, registered at `new`. */
  readonly recipientKey: Uint8Array;
  /** Secret the relay re-encrypts bodies with for the recipient. */
  readonly deliveryKey: Uint8Array;
  /** Hex of `recipientId`. */
  readonly key: string;
}

/** One stored message. `key` is the hex of `msgId`. */
export interface StoredMessage {
  readonly msgId: Uint8Array;
  readonly key: string;
  /** The body as sealed for the recipient. */
  readonly body: Uint8Array;
  /** When the relay accepted it (ms, relay clock). */
  readonly ts: number;
}

/** The quotas a push must respect. */
export interface PushLimits {
  maxMessagesPerQueue: number;
  maxBytesPerQueue: number;
  maxStoredBytes: number;
  /** Messages accepted at or before this time no longer count (and may be dropped now). */
  expiredBefore: number;
}

/** What became of a push. */
export type PushResult = 'ok' | 'no-queue' | 'queue-full' | 'relay-full';

/** What a store tells the delivery of a watched queue. */
export interface QueueWatcher {
  pushed(): void;
  takenOver(): void;
}

/** A value now or later: what a {@link RelayStore} method answers with. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Calls `next` with the value and `a` to `d`: at once if it is here, else once the promise
 * resolves (a rejection passes through). The commands chain store answers with it, so the memory
 * store's path stays synchronous; the arguments are passed rather than closed over, so that path
 * allocates no closure per command.
 */
export function andThen<T, A, B, C, D, R>(value: Awaitable<T>, next: (value: T, a: A, b: B, c: C, d: D) => Awaitable<R>, a: A, b: B, c: C, d: D): Awaitable<R> {
  return value instanceof Promise ? value.then((v) => next(v, a, b, c, d)) : next(value, a, b, c, d);
}

/**
 * Lowercase hex of `bytes` (Node's encoder: the relay computes a few per message). Ids and keys
 * (16 and 32 bytes) go through one scratch buffer: a Buffer view of each would be an object per call.
 */
export function hex(bytes: Uint8Array): string {
  if (bytes.length > HEX_SCRATCH.length) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  HEX_SCRATCH.set(bytes);
  return HEX_SCRATCH.toString('hex', 0, bytes.length);
}

const HEX_SCRATCH = Buffer.alloc(32);
