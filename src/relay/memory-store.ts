import type { RelayLogger } from './options.js';
import { QueueStore, type Queue } from './queue-store.js';
import type { PushLimits, PushResult, QueueRef, QueueWatcher, RelayStore, StoredMessage } from './relay-store.js';
import { generateRelayIdentity, type RelayIdentity } from '../crypto/relay-keys.js';
import { openStoreLog, type StoreLog } from './store-log.js';

/** Options of {@link MemoryRelayStore.open}. */
export interface MemoryStoreOptions {
  /** Log file to load and append to; none keeps everything in memory only. */
  path: string | undefined;
  /** Delay between a change and its write to the log, in ms. */
  debounceMs: number;
  logger: RelayLogger;
  /** Random bytes for queue ids. */
  random: (bytes: number) => Uint8Array;
}

const NONE: readonly StoredMessage[] = [];

/**
 * Work a sweep does in one turn of the event loop (a queue counts 10, each message 1), so that a
 * relay holding a great many messages keeps answering while it sweeps.
 */
const SWEEP_SLICE = 20_000;
/** A full relay looks for expired messages in every queue at most this often (ms). */
const FULL_RELAY_EXPIRY_MS = 1000;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function allAfter(messages: readonly StoredMessage[], cutoff: number): boolean {
  for (const message of messages) if (message.ts <= cutoff) return false;
  return true;
}

/**
 * The embedded store: queues in this process's memory ({@link QueueStore}), optionally kept in an
 * append-only log file ({@link StoreLog}) across restarts. Only this process can serve its queues.
 * It answers synchronously (no promises), so a command on it runs to its reply in one go.
 */
export class MemoryRelayStore implements RelayStore {
  /** The `expiredBefore` of the last look for expired messages in every queue (a full relay's). */
  private fullRelayExpiry = -Infinity;
  private closed = false;

  private constructor(
    readonly identity: RelayIdentity,
    private readonly queues: QueueStore,
    private readonly log: StoreLog | undefined,
  ) {}

  /** Loads the log at `options.path` (creating it), or starts empty with a fresh identity. Throws `RELAY_STORE_FAILED`. */
  static async open(options: MemoryStoreOptions): Promise<MemoryRelayStore> {
    const queues = new QueueStore(options.random);
    if (options.path === undefined) return new MemoryRelayStore(generateRelayIdentity(), queues, undefined);
    const { identity, records, log } = await openStoreLog(options.path, {
      debounceMs: options.debounceMs,
      logger: options.logger,
      newIdentity: generateRelayIdentity,
      snapshot: () => queues.toRecords(),
    });
    queues.restore(records, log);
    return new MemoryRelayStore(identity, queues, log);
  }

  get size(): number {
    return this.queues.size;
  }

  get bytesQueued(): number {
    return this.queues.bytesQueued;
  }

  create(recipientKey: Uint8Array, deliveryKey: Uint8Array, now: number, maxQueues: number): QueueRef | undefined {
    return this.queues.size >= maxQueues ? undefined : this.queues.create(recipientKey, deliveryKey, now);
  }

  byRecipientId(id: Uint8Array): QueueRef | undefined {
    return this.queues.byRecipientId(id);
  }

  bySenderId(id: Uint8Array): QueueRef | undefined {
    return this.queues.bySenderId(id);
  }

  push(ref: QueueRef, message: StoredMessage, limits: PushLimits): PushResult {
    const queue = this.live(ref);
    if (!queue) return 'no-queue';
    const queueFull = () => queue.messages.length >= limits.maxMessagesPerQueue || queue.bytes + message.body.length > limits.maxBytesPerQueue;
    const relayFull = () => this.queues.bytesQueued + message.body.length > limits.maxStoredBytes;
    // Expired messages do not count against the quotas, even before the sweep removes them. This
    // queue's go at once; every queue's only when the relay is full, and at most once a second:
    // a send to a full queue, which anyone may repeat, must not make the relay scan all it holds.
    if (queueFull() || relayFull()) this.queues.expireQueue(queue, limits.expiredBefore);
    if (relayFull() && limits.expiredBefore - this.fullRelayExpiry >= FULL_RELAY_EXPIRY_MS) {
      this.fullRelayExpiry = limits.expiredBefore;
      this.queues.expire(limits.expiredBefore);
    }
    if (relayFull()) return 'relay-full';
    if (queueFull()) return 'queue-full';
    this.queues.push(queue, message);
    queue.watcher?.pushed();
    return 'ok';
  }

  remove(ref: QueueRef, msgKey: string): boolean {
    const queue = this.live(ref);
    return queue !== undefined && this.queues.remove(queue, msgKey);
  }

  peek(ref: QueueRef, count: number, expiredBefore: number): readonly StoredMessage[] {
    const queue = this.live(ref);
    if (!queue) return NONE;
    const { messages } = queue;
    // Expired ones are dropped here, never delivered, even before the sweep gets to them.
    while (messages.length > 0 && messages[0]!.ts <= expiredBefore) this.queues.remove(queue, messages[0]!.key);
    // The usual case, every message in the window and none expired: the list itself, no copy (a
    // pump runs at every push and every ack).
    if (messages.length <= count && allAfter(messages, expiredBefore)) return messages;
    const out: StoredMessage[] = [];
    for (let i = 0; i < messages.length && out.length < count; i++) if (messages[i]!.ts > expiredBefore) out.push(messages[i]!);
    return out;
  }

  delete(ref: QueueRef): void {
    const queue = this.live(ref);
    if (queue) this.queues.delete(queue);
  }

  touch(ref: QueueRef, now: number): void {
    const queue = this.live(ref);
    if (queue) this.queues.touch(queue, now);
  }

  /**
   * Removes expired messages, and queues unused since `idleBefore` that nobody is subscribed to,
   * a slice at a time (it yields to the event loop between slices). Stops early once closed.
   */
  async sweep(expiredBefore: number, idleBefore: number, inUse: (queueKey: string) => boolean): Promise<{ expired: number; queues: number }> {
    let expired = 0;
    let queues = 0;
    let work = 0;
    for (const queue of this.queues.queues()) {
      work += 10 + queue.messages.length;
      expired += this.queues.expireQueue(queue, expiredBefore);
      if (queue.lastActive <= idleBefore && !inUse(queue.key)) {
        this.queues.delete(queue);
        queues++;
      }
      if (work >= SWEEP_SLICE) {
        work = 0;
        await nextTurn();
        if (this.closed) break;
      }
    }
    return { expired, queues };
  }

  watch(ref: QueueRef, watcher: QueueWatcher): void {
    const queue = this.live(ref);
    if (queue) queue.watcher = watcher;
  }

  unwatch(ref: QueueRef): void {
    const queue = this.live(ref);
    if (queue) queue.watcher = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.log?.close();
  }

  /** The queue `ref` names, if it still exists. */
  private live(ref: QueueRef): Queue | undefined {
    const queue = this.queues.byKey(ref.key);
    return queue === ref ? queue : undefined;
  }
}
