import { RELAY_KEY_BYTES } from '../crypto/relay-keys.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';
import { ByteSlots } from './byte-slots.js';
import { hex, type QueueRef, type QueueWatcher, type StoredMessage } from './relay-store.js';

/**
 * How far `lastActive` may drift from its journaled value before {@link QueueStore.touch} journals
 * it again. Idle expiry works at a scale of days, so journaling every command would only grow the
 * log; after a restart a queue may look up to this much older than it is.
 */
const TOUCH_JOURNAL_MS = 60 * 60 * 1000;

/** Byte offsets of a queue's ids and keys in its record. */
const SENDER_ID = RELAY_LIMITS.queueIdBytes;
const RECIPIENT_KEY = SENDER_ID + RELAY_LIMITS.queueIdBytes;
const DELIVERY_KEY = RECIPIENT_KEY + RELAY_LIMITS.publicKeyBytes;
const QUEUE_BYTES = DELIVERY_KEY + RELAY_KEY_BYTES;

/**
 * A queue: one recipient, any number of anonymous senders. The two ids are unrelated random
 * values, so a sender's id says nothing about the recipient's and vice versa.
 *
 * Its ids and keys live in one record of its store's {@link ByteSlots}, handed out as views on
 * demand: a queue lives as long as its recipient uses it, so its size counts (an array of its own,
 * or each kept view, would cost more than the 16 or 32 bytes it shows), and nothing it keeps
 * shares memory with the frame or record it came from.
 */
export class Queue implements QueueRef {
  /** Unacknowledged messages, oldest first. */
  readonly messages: StoredMessage[];
  /** Body bytes of `messages`. */
  bytes = 0;
  /**
   * When the recipient last used the queue (created, subscribed, acknowledged; ms, relay clock).
   * Set through {@link QueueStore.touch}, so the store log hears of it.
   */
  lastActive: number;
  /** The `lastActive` the journal last heard of. */
  journaledActive: number;
  /** Who hears of each push (the memory store's one watcher per queue). */
  watcher: QueueWatcher | undefined;
  readonly key: string;
  /** Its record in {@link slots}; -1 once given back. */
  private slot: number;

  constructor(
    record: QueueRecord,
    private readonly slots: ByteSlots,
  ) {
    const slot = (this.slot = slots.take());
    slots.write(slot, 0, record.recipientId);
    slots.write(slot, SENDER_ID, record.senderId);
    slots.write(slot, RECIPIENT_KEY, record.recipientKey);
    slots.write(slot, DELIVERY_KEY, record.deliveryKey);
    this.key = hex(record.recipientId);
    this.messages = record.messages.map((m) => ({ msgId: m.msgId, key: hex(m.msgId), body: m.body, ts: m.ts }));
    for (const m of this.messages) this.bytes += m.body.length;
    this.lastActive = record.lastActive;
    this.journaledActive = record.lastActive;
  }

  get recipientId(): Uint8Array {
    return this.slots.view(this.slot, 0, SENDER_ID);
  }

  get senderId(): Uint8Array {
    return this.slots.view(this.slot, SENDER_ID, RECIPIENT_KEY);
  }

  get recipientKey(): Uint8Array {
    return this.slots.view(this.slot, RECIPIENT_KEY, DELIVERY_KEY);
  }

  get deliveryKey(): Uint8Array {
    return this.slots.view(this.slot, DELIVERY_KEY, QUEUE_BYTES);
  }

  /** Zeroes its ids and keys and gives their record back: its store deleted it a turn ago. */
  release(): void {
    if (this.slot < 0) return;
    this.slots.release(this.slot);
    this.slot = -1;
  }
}

/** A queue as persisted: ids, keys and messages, nothing derived. */
export interface QueueRecord {
  recipientId: Uint8Array;
  senderId: Uint8Array;
  recipientKey: Uint8Array;
  deliveryKey: Uint8Array;
  messages: { msgId: Uint8Array; body: Uint8Array; ts: number }[];
  lastActive: number;
}

/**
 * Hears every change of a {@link QueueStore}, after it happened (`deleted` just before, so the
 * queue still holds its messages), so a store log can record it.
 */
export interface StoreJournal {
  created(queue: Queue): void;
  pushed(queue: Queue, message: StoredMessage): void;
  removed(queue: Queue, message: StoredMessage): void;
  /** The queue goes with its messages; no `removed` precedes it. */
  deleted(queue: Queue): void;
  /** `lastActive` moved (only journaled when it moved by an hour or more). */
  touched(queue: Queue): void;
}

/** A journal that records nothing: the memory-only relay. */
export const NO_JOURNAL: StoreJournal = {
  created() {},
  pushed() {},
  removed() {},
  deleted() {},
  touched() {},
};

/**
 * The relay's queues and their messages, indexed by both ids. Pure data: it enforces no quota
 * and knows no connection; it tells its journal every mutation so a store log can follow.
 */
export class QueueStore {
  private readonly byRecipient = new Map<string, Queue>();
  private readonly bySender = new Map<string, Queue>();
  private journal: StoreJournal = NO_JOURNAL;
  private queued = 0;
  /** Every queue's ids and keys. */
  private readonly slots = new ByteSlots(QUEUE_BYTES);
  /** Queues deleted in this turn of the event loop, whose records are given back in the next. */
  private retiring: Queue[] = [];

  constructor(private readonly random: (bytes: number) => Uint8Array) {}

  /** Number of queues. */
  get size(): number {
    return this.byRecipient.size;
  }

  /** Body bytes held now. */
  get bytesQueued(): number {
    return this.queued;
  }

  /** Every queue (live view: a queue deleted while iterating is skipped, one created may be visited). */
  queues(): IterableIterator<Queue> {
    return this.byRecipient.values();
  }

  /** Creates a queue with two fresh random ids, used now. */
  create(recipientKey: Uint8Array, deliveryKey: Uint8Array, now: number): Queue {
    let recipientId: Uint8Array;
    let senderId: Uint8Array;
    // 128-bit ids never collide in practice; the loop only makes the invariant explicit.
    do recipientId = this.random(RELAY_LIMITS.queueIdBytes);
    while (this.byRecipient.has(hex(recipientId)));
    do senderId = this.random(RELAY_LIMITS.queueIdBytes);
    while (this.bySender.has(hex(senderId)));
    const queue = this.add({ recipientId, senderId, recipientKey, deliveryKey, messages: [], lastActive: now });
    this.journal.created(queue);
    return queue;
  }

  /** The queue whose recipient id is `id`. */
  byRecipientId(id: Uint8Array): Queue | undefined {
    return this.byRecipient.get(hex(id));
  }

  /** The queue whose recipient id has the hex `key`. */
  byKey(key: string): Queue | undefined {
    return this.byRecipient.get(key);
  }

  /** The queue whose sender id is `id`. */
  bySenderId(id: Uint8Array): Queue | undefined {
    return this.bySender.get(hex(id));
  }

  /** Appends a message (its id drawn and its body sealed by the caller). */
  push(queue: Queue, message: StoredMessage): void {
    queue.messages.push(message);
    queue.bytes += message.body.length;
    this.queued += message.body.length;
    this.journal.pushed(queue, message);
  }

  /** Removes one message; false if the queue does not hold it (already acknowledged or expired). */
  remove(queue: Queue, msgKey: string): boolean {
    // Acknowledgements come oldest first, so the head is almost always the one.
    const index = queue.messages[0]?.key === msgKey ? 0 : queue.messages.findIndex((m) => m.key === msgKey);
    if (index < 0) return false;
    const [removed] = queue.messages.splice(index, 1);
    queue.bytes -= removed!.body.length;
    this.queued -= removed!.body.length;
    this.journal.removed(queue, removed!);
    return true;
  }

  /**
   * Marks the queue used by its recipient at `now`. Journals it only when it moved by an hour or
   * more since the journal last heard, so busy queues do not grow the log.
   */
  touch(queue: Queue, now: number): void {
    queue.lastActive = now;
    if (Math.abs(now - queue.journaledActive) < TOUCH_JOURNAL_MS) return;
    queue.journaledActive = now;
    this.journal.touched(queue);
  }

  /** Deletes a queue and its messages. */
  delete(queue: Queue): void {
    if (this.byRecipient.get(queue.key) !== queue) return;
    this.journal.deleted(queue);
    this.byRecipient.delete(queue.key);
    this.bySender.delete(hex(queue.senderId));
    this.queued -= queue.bytes;
    queue.bytes = 0;
    queue.messages.length = 0;
    this.retire(queue);
  }

  /** Removes every message accepted at or before `cutoff`, in every queue. Returns how many were removed. */
  expire(cutoff: number): number {
    let count = 0;
    for (const queue of this.byRecipient.values()) count += this.expireQueue(queue, cutoff);
    return count;
  }

  /** Removes `queue`'s messages accepted at or before `cutoff`. Returns how many were removed. */
  expireQueue(queue: Queue, cutoff: number): number {
    // Not just a prefix: a clock step backwards may leave an old message behind a newer one.
    if (!queue.messages.some((m) => m.ts <= cutoff)) return 0;
    const keep: StoredMessage[] = [];
    let count = 0;
    for (const m of queue.messages) {
      if (m.ts > cutoff) {
        keep.push(m);
        continue;
      }
      this.queued -= m.body.length;
      queue.bytes -= m.body.length;
      count++;
      this.journal.removed(queue, m);
    }
    queue.messages.splice(0, queue.messages.length, ...keep);
    return count;
  }

  /**
   * Every queue as a plain record, for compacting the log. Copies the ids and keys (a deleted
   * queue's record is reused while the compaction writes); shares the message bodies, which are
   * never mutated.
   */
  toRecords(): QueueRecord[] {
    return [...this.byRecipient.values()].map((q) => ({
      recipientId: q.recipientId.slice(),
      senderId: q.senderId.slice(),
      recipientKey: q.recipientKey.slice(),
      deliveryKey: q.deliveryKey.slice(),
      messages: q.messages.map(({ msgId, body, ts }) => ({ msgId, body, ts })),
      lastActive: q.lastActive,
    }));
  }

  /**
   * Replaces the contents with persisted records (at startup) and tells `journal` every change
   * from now on. Duplicate ids keep the first.
   */
  restore(records: QueueRecord[], journal: StoreJournal): void {
    for (const queue of this.byRecipient.values()) this.retire(queue);
    this.byRecipient.clear();
    this.bySender.clear();
    this.queued = 0;
    for (const record of records) {
      if (this.byRecipient.has(hex(record.recipientId)) || this.bySender.has(hex(record.senderId))) continue;
      this.add(record);
    }
    this.journal = journal;
  }

  /**
   * Gives a deleted queue's record back once the event loop turns: until then, frames built from
   * its views this turn (an `ids` reply, a `msg`) still wait for their block to be written.
   */
  private retire(queue: Queue): void {
    if (this.retiring.push(queue) === 1) setImmediate(() => this.releaseRetired());
  }

  private releaseRetired(): void {
    const queues = this.retiring;
    this.retiring = [];
    for (const queue of queues) queue.release();
  }

  private add(record: QueueRecord): Queue {
    const queue = new Queue(record, this.slots);
    this.byRecipient.set(queue.key, queue);
    this.bySender.set(hex(queue.senderId), queue);
    this.queued += queue.bytes;
    return queue;
  }
}
