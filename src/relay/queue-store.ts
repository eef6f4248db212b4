import { RELAY_LIMITS } from '../protocol/relay-frames.js';

/** One stored message. `key` is the hex of `msgId`, for map lookups. */
export interface StoredMessage {
  readonly msgId: Uint8Array;
  readonly key: string;
  readonly body: Uint8Array;
  /** When the relay accepted it (ms, relay clock). */
  readonly ts: number;
}

/**
 * A queue: one recipient, any number of anonymous senders. The two ids are unrelated random
 * values, so a sender's id says nothing about the recipient's and vice versa.
 */
export interface Queue {
  readonly recipientId: Uint8Array;
  readonly senderId: Uint8Array;
  /** Ed25519 public key that signs the recipient's commands. */
  readonly recipientKey: Uint8Array;
  /** Hex of `recipientId`. */
  readonly key: string;
  /** Unacknowledged messages, oldest first. */
  readonly messages: StoredMessage[];
  /** Body bytes of `messages`. */
  bytes: number;
  /** When the recipient last used the queue (created, subscribed, acknowledged; ms, relay clock). */
  lastActive: number;
}

/** A queue as persisted: ids, key and messages, nothing derived. */
export interface QueueRecord {
  recipientId: Uint8Array;
  senderId: Uint8Array;
  recipientKey: Uint8Array;
  messages: { msgId: Uint8Array; body: Uint8Array; ts: number }[];
  /** Absent in snapshots written before idle expiry: such a queue counts as used at load. */
  lastActive?: number;
}

/**
 * The relay's queues and their messages, indexed by both ids. Pure data: it enforces no quota
 * and knows no connection; it tells `onChange` after every mutation so a snapshot can follow.
 */
export class QueueStore {
  private readonly byRecipient = new Map<string, Queue>();
  private readonly bySender = new Map<string, Queue>();
  private queued = 0;

  constructor(
    private readonly random: (bytes: number) => Uint8Array,
    private readonly onChange: () => void,
  ) {}

  /** Number of queues. */
  get size(): number {
    return this.byRecipient.size;
  }

  /** Body bytes held now. */
  get bytesQueued(): number {
    return this.queued;
  }

  /** Every queue (live view; do not mutate while iterating). */
  queues(): IterableIterator<Queue> {
    return this.byRecipient.values();
  }

  /** Creates a queue with two fresh random ids, used now. */
  create(recipientKey: Uint8Array, now: number): Queue {
    let recipientId: Uint8Array;
    let senderId: Uint8Array;
    // 128-bit ids never collide in practice; the loop only makes the invariant explicit.
    do recipientId = this.random(RELAY_LIMITS.queueIdBytes);
    while (this.byRecipient.has(hex(recipientId)));
    do senderId = this.random(RELAY_LIMITS.queueIdBytes);
    while (this.bySender.has(hex(senderId)));
    const queue = this.add({ recipientId, senderId, recipientKey: recipientKey.slice(), messages: [], lastActive: now }, now);
    this.onChange();
    return queue;
  }

  /** The queue whose recipient id is `id`. */
  byRecipientId(id: Uint8Array): Queue | undefined {
    return this.byRecipient.get(hex(id));
  }

  /** The queue whose sender id is `id`. */
  bySenderId(id: Uint8Array): Queue | undefined {
    return this.bySender.get(hex(id));
  }

  /** Appends a message with a fresh random id. */
  push(queue: Queue, body: Uint8Array, ts: number): StoredMessage {
    const msgId = this.random(RELAY_LIMITS.msgIdBytes);
    const message = { msgId, key: hex(msgId), body, ts };
    queue.messages.push(message);
    queue.bytes += body.length;
    this.queued += body.length;
    this.onChange();
    return message;
  }

  /** Removes one message; false if the queue does not hold it (already acknowledged or expired). */
  remove(queue: Queue, msgKey: string): boolean {
    const index = queue.messages.findIndex((m) => m.key === msgKey);
    if (index < 0) return false;
    const [removed] = queue.messages.splice(index, 1);
    queue.bytes -= removed!.body.length;
    this.queued -= removed!.body.length;
    this.onChange();
    return true;
  }

  /**
   * Deletes every queue its recipient has not used since `cutoff`, unless `inUse` says it is in
   * use now (subscribed). Calls `deleted` for each first. Returns how many.
   */
  expireIdle(cutoff: number, inUse: (queue: Queue) => boolean, deleted: (queue: Queue) => void): number {
    const idle = [...this.byRecipient.values()].filter((q) => q.lastActive <= cutoff && !inUse(q));
    for (const queue of idle) {
      deleted(queue);
      this.delete(queue);
    }
    return idle.length;
  }

  /** Deletes a queue and its messages. */
  delete(queue: Queue): void {
    if (this.byRecipient.get(queue.key) !== queue) return;
    this.byRecipient.delete(queue.key);
    this.bySender.delete(hex(queue.senderId));
    this.queued -= queue.bytes;
    queue.bytes = 0;
    queue.messages.length = 0;
    this.onChange();
  }

  /**
   * Removes every message accepted at or before `cutoff`. Calls `removed` for each, so in-flight
   * bookkeeping can forget it. Returns how many were removed.
   */
  expire(cutoff: number, removed: (queue: Queue, message: StoredMessage) => void): number {
    let count = 0;
    for (const queue of this.byRecipient.values()) {
      // Not just a prefix: a clock step backwards may leave an old message behind a newer one.
      if (!queue.messages.some((m) => m.ts <= cutoff)) continue;
      const keep: StoredMessage[] = [];
      for (const m of queue.messages) {
        if (m.ts > cutoff) {
          keep.push(m);
          continue;
        }
        this.queued -= m.body.length;
        queue.bytes -= m.body.length;
        count++;
        removed(queue, m);
      }
      queue.messages.splice(0, queue.messages.length, ...keep);
    }
    if (count > 0) this.onChange();
    return count;
  }

  /** Every queue as a plain record, for a snapshot. Shares the byte arrays (they are never mutated). */
  toRecords(): QueueRecord[] {
    return [...this.byRecipient.values()].map((q) => ({
      recipientId: q.recipientId,
      senderId: q.senderId,
      recipientKey: q.recipientKey,
      messages: q.messages.map(({ msgId, body, ts }) => ({ msgId, body, ts })),
      lastActive: q.lastActive,
    }));
  }

  /** Replaces the contents with persisted records (at startup, `now`). Duplicate ids keep the first. */
  restore(records: QueueRecord[], now: number): void {
    this.byRecipient.clear();
    this.bySender.clear();
    this.queued = 0;
    for (const record of records) {
      if (this.byRecipient.has(hex(record.recipientId)) || this.bySender.has(hex(record.senderId))) continue;
      this.add(record, now);
    }
  }

  private add(record: QueueRecord, now: number): Queue {
    const messages = record.messages.map((m) => ({ msgId: m.msgId, key: hex(m.msgId), body: m.body, ts: m.ts }));
    const queue: Queue = {
      recipientId: record.recipientId,
      senderId: record.senderId,
      recipientKey: record.recipientKey,
      key: hex(record.recipientId),
      messages,
      bytes: messages.reduce((n, m) => n + m.body.length, 0),
      lastActive: record.lastActive ?? now,
    };
    this.byRecipient.set(queue.key, queue);
    this.bySender.set(hex(queue.senderId), queue);
    this.queued += queue.bytes;
    return queue;
  }
}

/** Lowercase hex of `bytes`. */
export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
