import type { MsgFrame } from '../protocol/relay-frames.js';
import type { Queue, QueueStore, StoredMessage } from './queue-store.js';

/** What delivery needs of a connection. */
export interface Subscriber {
  /** Sends a `msg` frame; false when the connection is gone (the message stays unacknowledged). */
  deliver(frame: MsgFrame): boolean;
  /** Keys of the queues this connection is subscribed to, kept in step by {@link Delivery}. */
  readonly subscriptions: Set<string>;
}

interface Subscription {
  subscriber: Subscriber;
  /** Keys of messages sent to this subscriber and not acknowledged yet. */
  inFlight: Set<string>;
}

/**
 * Pushes stored messages to each queue's one subscriber, in order, with at most `maxInFlight`
 * unacknowledged at a time: each acknowledgement lets the next one go. A new subscription starts
 * over from the oldest unacknowledged message, so whatever the previous subscriber did not
 * acknowledge is delivered again.
 */
export class Delivery {
  private readonly byQueue = new Map<string, Subscription>();

  constructor(
    private readonly store: QueueStore,
    private readonly options: { maxInFlight: number; messageTtlMs: number; now: () => number },
    private readonly delivered: () => void,
  ) {}

  /** Makes `subscriber` the queue's only subscriber (replacing any other) and starts delivering. */
  subscribe(queue: Queue, subscriber: Subscriber): void {
    const previous = this.byQueue.get(queue.key);
    if (previous) previous.subscriber.subscriptions.delete(queue.key);
    this.byQueue.set(queue.key, { subscriber, inFlight: new Set() });
    subscriber.subscriptions.add(queue.key);
    this.pump(queue);
  }

  /** Forgets every subscription of a closed connection. Its in-flight messages stay stored. */
  disconnected(subscriber: Subscriber): void {
    for (const key of subscriber.subscriptions) {
      if (this.byQueue.get(key)?.subscriber === subscriber) this.byQueue.delete(key);
    }
    subscriber.subscriptions.clear();
  }

  /** A message left the queue (acknowledged or expired): free its window slot. */
  removed(queue: Queue, message: StoredMessage): void {
    this.byQueue.get(queue.key)?.inFlight.delete(message.key);
  }

  /** Whether a connection is subscribed to the queue now. */
  isSubscribed(queue: Queue): boolean {
    return this.byQueue.has(queue.key);
  }

  /** The queue was deleted. */
  deleted(queue: Queue): void {
    const subscription = this.byQueue.get(queue.key);
    if (!subscription) return;
    subscription.subscriber.subscriptions.delete(queue.key);
    this.byQueue.delete(queue.key);
  }

  /** Sends as many waiting messages as the window allows. */
  pump(queue: Queue): void {
    const subscription = this.byQueue.get(queue.key);
    if (!subscription) return;
    const { subscriber, inFlight } = subscription;
    const cutoff = this.options.now() - this.options.messageTtlMs;
    // Walk from the oldest: in-flight ones are skipped, expired ones dropped, so the walk stops
    // after at most the window plus what it removes.
    for (let i = 0; i < queue.messages.length && inFlight.size < this.options.maxInFlight; ) {
      const message = queue.messages[i]!;
      if (message.ts <= cutoff) {
        // Expired: never delivered, even before the sweep gets to it.
        this.store.remove(queue, message.key);
        inFlight.delete(message.key);
        continue;
      }
      i++;
      if (inFlight.has(message.key)) continue;
      const frame: MsgFrame = { t: 'msg', recipientId: queue.recipientId, msgId: message.msgId, body: message.body, ts: message.ts };
      if (!subscriber.deliver(frame)) {
        this.disconnected(subscriber);
        return;
      }
      inFlight.add(message.key);
      this.delivered();
    }
  }
}
