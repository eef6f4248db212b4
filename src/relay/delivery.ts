import type { MsgFrame } from '../protocol/relay-frames.js';
import type { Awaitable, QueueRef, QueueWatcher, RelayStore, StoredMessage } from './relay-store.js';

/** What delivery needs of a connection. */
export interface Subscriber {
  /** Sends a `msg` frame; false when the connection is gone (the message stays unacknowledged). */
  deliver(frame: MsgFrame): boolean;
  /** Another connection subscribed to `queue` (here or in another process): tells this client so. */
  ended(queue: QueueRef): void;
}

/**
 * One queue's subscriber on this process, and the store's watcher of that queue (methods rather
 * than closures: thousands of idle subscriptions live at once).
 */
class Subscription implements QueueWatcher {
  /**
   * Keys of messages sent to this subscriber and not acknowledged yet (at most `maxInFlight`).
   * Arrays, not sets: a set reallocates its table as it fills and empties with every message, and
   * those tables, held by a long-lived subscription, outlive young-generation GCs. Made at the first.
   */
  inFlight: string[] | undefined;
  /**
   * Keys acknowledged while a look at the store was under way, which may still show them (a
   * shared store answers later than the ack arrives): not to be sent again. Made when needed.
   */
  acknowledged: string[] | undefined;
  /** A pump is running; `again` asks it to run once more when done. */
  pumping = false;
  again = false;

  constructor(
    readonly queue: QueueRef,
    readonly subscriber: Subscriber,
    private readonly delivery: Delivery,
  ) {}

  pushed(): void {
    this.delivery.pump(this.queue.key);
  }

  takenOver(): void {
    // A notice about an older watch of this queue must not end this subscription.
    this.delivery.end(this);
  }
}

/**
 * Pushes stored messages to each queue's one subscriber on this relay process, in order, with at
 * most `maxInFlight` unacknowledged at a time: each acknowledgement lets the next one go. A new
 * subscription starts over from the oldest unacknowledged message, so whatever the previous
 * subscriber did not acknowledge is delivered again. The store says when messages arrive, and
 * when another process subscribed a client to the queue (this one's subscriber then stops).
 */
export class Delivery {
  private readonly byQueue = new Map<string, Subscription>();
  /**
   * Keys of the queues each subscriber is subscribed to (only subscribers that have one): the key
   * itself while there is one (nearly every connection), a set from the second on.
   */
  private readonly bySubscriber = new Map<Subscriber, string | Set<string>>();

  constructor(
    private readonly store: RelayStore,
    private readonly options: { maxInFlight: number; messageTtlMs: number; now: () => number },
    private readonly delivered: () => void,
    /** A store failure while delivering: the subscriber's connection should be dropped. */
    private readonly failed: (subscriber: Subscriber, error: unknown) => void,
  ) {}

  /**
   * Makes `subscriber` the queue's only subscriber (replacing any other, here or in another
   * process sharing the store); {@link pump} then starts delivering. Fails if the store cannot
   * be reached.
   */
  subscribe(queue: QueueRef, subscriber: Subscriber): Awaitable<void> {
    const previous = this.byQueue.get(queue.key);
    this.drop(queue.key);
    if (previous && previous.subscriber !== subscriber) previous.subscriber.ended(previous.queue);
    const subscription = new Subscription(queue, subscriber, this);
    this.byQueue.set(queue.key, subscription);
    const keys = this.bySubscriber.get(subscriber);
    if (keys === undefined) this.bySubscriber.set(subscriber, queue.key);
    else if (typeof keys === 'string') this.bySubscriber.set(subscriber, new Set([keys, queue.key]));
    else keys.add(queue.key);
    return this.store.watch(queue, subscription);
  }

  /** Forgets every subscription of a closed connection. Its in-flight messages stay stored. */
  disconnected(subscriber: Subscriber): void {
    const keys = this.bySubscriber.get(subscriber);
    for (const key of typeof keys === 'string' ? [keys] : [...(keys ?? [])]) if (this.byQueue.get(key)?.subscriber === subscriber) this.drop(key);
    this.bySubscriber.delete(subscriber);
  }

  /** A message was acknowledged (or is gone anyway): free its window slot and send the next. */
  acknowledged(queue: QueueRef, msgKey: string): void {
    const subscription = this.byQueue.get(queue.key);
    if (!subscription) return;
    if (removeKey(subscription.inFlight, msgKey) && subscription.pumping) (subscription.acknowledged ??= []).push(msgKey);
    this.pump(queue.key);
  }

  /** Whether a connection of this process is subscribed to the queue now. */
  isSubscribed(queueKey: string): boolean {
    return this.byQueue.has(queueKey);
  }

  /** The queue was deleted. */
  deleted(queue: QueueRef): void {
    this.drop(queue.key);
  }

  /** The queues subscribed through this process. */
  subscribedQueues(): QueueRef[] {
    return [...this.byQueue.values()].map((s) => s.queue);
  }

  /** Checks every subscribed queue for messages, in case a notice from the store was lost. */
  pumpAll(): void {
    for (const key of this.byQueue.keys()) this.pump(key);
  }

  /** Sends as many waiting messages as the window allows. */
  pump(queueKey: string): void {
    const subscription = this.byQueue.get(queueKey);
    if (!subscription) return;
    if (subscription.pumping) {
      subscription.again = true;
      return;
    }
    subscription.pumping = true;
    this.run(subscription);
  }

  /** Looks at the queue's oldest messages and sends those not in flight; again while asked to. */
  private run(subscription: Subscription): void {
    const { queue } = subscription;
    try {
      do {
        subscription.again = false;
        // The messages in flight are always among the oldest `maxInFlight`: those no longer
        // there were acknowledged or expired, and free their slot.
        const window = this.store.peek(queue, this.options.maxInFlight, this.options.now() - this.options.messageTtlMs);
        if (window instanceof Promise) {
          window
            .then((messages) => (this.send(subscription, messages) && subscription.again ? this.run(subscription) : (subscription.pumping = false)))
            .catch((error: unknown) => this.fail(subscription, error));
          return;
        }
        if (!this.send(subscription, window)) break;
      } while (subscription.again);
      subscription.pumping = false;
    } catch (error) {
      this.fail(subscription, error);
    }
  }

  /**
   * Sends the messages of `window` not in flight yet; false when this subscription ended (the
   * subscriber is gone, or another took the queue over).
   */
  private send(subscription: Subscription, window: readonly StoredMessage[]): boolean {
    const { queue, subscriber, inFlight } = subscription;
    if (this.byQueue.get(queue.key) !== subscription) return false;
    if (inFlight) keepPresent(inFlight, window);
    const acknowledged = subscription.acknowledged;
    if (acknowledged) keepPresent(acknowledged, window);
    for (const message of window) {
      if (inFlight?.includes(message.key) || acknowledged?.includes(message.key)) continue;
      const frame: MsgFrame = { t: 'msg', recipientId: queue.recipientId, msgId: message.msgId, body: message.body, ts: message.ts };
      if (!subscriber.deliver(frame)) {
        this.disconnected(subscriber);
        return false;
      }
      (subscription.inFlight ??= []).push(message.key);
      this.delivered();
    }
    return true;
  }

  private fail(subscription: Subscription, error: unknown): void {
    subscription.pumping = false;
    this.failed(subscription.subscriber, error);
  }

  /** Ends `subscription` if it is still the queue's current one (another process took the queue over). */
  end(subscription: Subscription): void {
    if (this.byQueue.get(subscription.queue.key) !== subscription) return;
    this.drop(subscription.queue.key);
    subscription.subscriber.ended(subscription.queue);
  }

  private drop(queueKey: string): void {
    const subscription = this.byQueue.get(queueKey);
    if (!subscription) return;
    const keys = this.bySubscriber.get(subscription.subscriber);
    if (typeof keys === 'string' ? keys === queueKey : keys?.delete(queueKey) && keys.size === 0) this.bySubscriber.delete(subscription.subscriber);
    this.byQueue.delete(queueKey);
    this.store.unwatch(subscription.queue);
  }
}

/** Removes `key` from `keys`; false if it was not there. */
function removeKey(keys: string[] | undefined, key: string): boolean {
  const index = keys ? keys.indexOf(key) : -1;
  if (index < 0) return false;
  keys!.splice(index, 1);
  return true;
}

function holds(window: readonly StoredMessage[], key: string): boolean {
  for (const message of window) if (message.key === key) return true;
  return false;
}

/** Drops, in place, the keys of messages no longer in `window`. */
function keepPresent(keys: string[], window: readonly StoredMessage[]): void {
  let kept = 0;
  for (const key of keys) if (holds(window, key)) keys[kept++] = key;
  keys.length = kept;
}
