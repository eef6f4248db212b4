import { randomFillSync } from 'node:crypto';
import { deliveryKey, generateRelayKeyPair, sealDelivery, verifyAuth } from '../crypto/relay-keys.js';
import { authContent, RELAY_LIMITS, type ClientFrame, type NewFrame, type RecipientFrame, type SendFrame } from '../protocol/relay-frames.js';
import type { RelayConnection } from './connection.js';
import type { CreationLimiter } from './creation-limiter.js';
import type { Delivery } from './delivery.js';
import type { ResolvedRelayOptions } from './options.js';
import { hex, andThen, type Awaitable, type QueueRef, type RelayStore } from './relay-store.js';

/** What the commands act on. */
export interface CommandContext {
  readonly store: RelayStore;
  readonly delivery: Delivery;
  readonly options: ResolvedRelayOptions;
  /** Counters the commands advance. */
  readonly counters: { messagesReceived: number; bytesStored: number };
  /** Queue creations per client address. */
  readonly creations: CreationLimiter;
}

/**
 * Executes one validated client frame and replies on its connection. Every outcome for client
 * input is a reply (`ids`, `ok`, `pong` or `err`); it fails (throws, or rejects when the store
 * answers later) only when the store fails. On the memory store it runs to its reply at once.
 */
export function executeCommand(ctx: CommandContext, connection: RelayConnection, frame: ClientFrame): Awaitable<void> {
  switch (frame.t) {
    case 'ping':
      connection.send({ t: 'pong', corr: frame.corr });
      return;
    case 'new':
      return create(ctx, connection, frame);
    case 'send':
      return accept(ctx, connection, frame);
    default:
      return andThen(authorize(ctx, connection, frame), (queue) => queue && recipientCommand(ctx, connection, frame, queue));
  }
}

/** `sub`, `ack` or `del` on a queue whose authenticator checked out. */
function recipientCommand(ctx: CommandContext, connection: RelayConnection, frame: RecipientFrame, queue: QueueRef): Awaitable<void> {
  const { store, delivery } = ctx;
  switch (frame.t) {
    case 'sub':
      return andThen(delivery.subscribe(queue, connection), () => {
        connection.send({ t: 'ok', corr: frame.corr });
        delivery.pump(queue.key);
      });
    case 'ack': {
      // Acknowledging a message that is already gone is fine: the ack that removed it may have
      // been lost on the way back, so the client repeats it.
      const msgKey = hex(frame.msgId);
      return andThen(store.remove(queue, msgKey), () => {
        connection.send({ t: 'ok', corr: frame.corr });
        delivery.acknowledged(queue, msgKey);
      });
    }
    case 'del':
      delivery.deleted(queue);
      return andThen(store.delete(queue), () => {
        connection.send({ t: 'ok', corr: frame.corr });
      });
  }
}

function create(ctx: CommandContext, connection: RelayConnection, frame: NewFrame): Awaitable<void> {
  const { options, store } = ctx;
  const { corr, recipientKey } = frame;
  if (connection.queuesCreated >= options.maxQueuesPerConnection) {
    connection.error(corr, 'QUOTA', 'queue limit reached');
    return;
  }
  // Every attempt counts, before the X25519 its check costs: a flood of bogus `new` frames
  // cannot make the relay compute more than the hourly limit of them per address.
  if (!ctx.creations.allow(connection.address, options.now())) {
    connection.error(corr, 'QUOTA', 'too many queues from this address in the last hour');
    return;
  }
  // Authorized by the key it registers: only the holder of the queue key can create the queue.
  if (!authorized(connection, recipientKey, undefined, frame)) {
    connection.error(corr, 'AUTH', 'authenticator does not verify');
    return;
  }
  connection.queuesCreated++;
  // The relay's half of the delivery layer: only the derived key is kept, the secret is dropped.
  const server = generateRelayKeyPair();
  const key = deliveryKey(server.secretKey, recipientKey, server.publicKey, recipientKey);
  return andThen(store.create(recipientKey, key, options.now(), options.maxQueues), (queue) => {
    if (!queue) connection.error(corr, 'QUOTA', 'queue limit reached');
    else connection.send({ t: 'ids', corr, recipientId: queue.recipientId, senderId: queue.senderId, serverKey: server.publicKey });
  });
}

function accept(ctx: CommandContext, connection: RelayConnection, frame: SendFrame): Awaitable<void> {
  const { options, store } = ctx;
  const { corr, body } = frame;
  if (body.length > options.maxMessageBytes) {
    connection.error(corr, 'TOO_LARGE', `body is over ${options.maxMessageBytes} bytes`);
    return;
  }
  return andThen(store.bySenderId(frame.senderId), (queue) => {
    if (!queue) {
      connection.error(corr, 'NO_QUEUE', 'no such queue');
      return;
    }
    const ts = options.now();
    const msgId = messageIds.next();
    // Sealed for the recipient once, as it is stored: what leaves the relay differs from what came in.
    const sealed = sealDelivery(queue.deliveryKey, msgId, ts, body);
    const limits = {
      maxMessagesPerQueue: options.maxMessagesPerQueue,
      maxBytesPerQueue: options.maxBytesPerQueue,
      maxStoredBytes: options.maxStoredBytes,
      expiredBefore: ts - options.messageTtlMs,
    };
    return andThen(store.push(queue, { msgId, key: hex(msgId), body: sealed, ts }, limits), (result) => {
      if (result !== 'ok') {
        if (result === 'no-queue') connection.error(corr, 'NO_QUEUE', 'no such queue');
        else connection.error(corr, 'QUOTA', result === 'relay-full' ? 'the relay is full' : 'queue is full');
        return;
      }
      ctx.counters.messagesReceived++;
      ctx.counters.bytesStored += body.length;
      connection.send({ t: 'ok', corr });
    });
  });
}

/**
 * Message ids from Node's CSPRNG, drawn 4 KiB at a time: one call per message cost ~2.5 µs in
 * the load bench, libsodium's through WebAssembly ~45 µs (BENCHMARKS.md).
 */
class RandomPool {
  private pool = new Uint8Array(0);
  private offset = 0;

  constructor(
    private readonly bytes: number,
    private readonly poolBytes: number,
  ) {}

  /** The next `bytes` random bytes, a copy of their own. */
  next(): Uint8Array {
    if (this.offset + this.bytes > this.pool.length) {
      this.pool = randomFillSync(new Uint8Array(this.poolBytes));
      this.offset = 0;
    }
    this.offset += this.bytes;
    return this.pool.slice(this.offset - this.bytes, this.offset);
  }
}

const messageIds = new RandomPool(RELAY_LIMITS.msgIdBytes, 4096);

/** The queue of a recipient command whose authenticator checks out, or undefined after an `err` reply. */
function authorize(ctx: CommandContext, connection: RelayConnection, frame: RecipientFrame): Awaitable<QueueRef | undefined> {
  return andThen(ctx.store.byRecipientId(frame.recipientId), (queue) => {
    if (!queue) {
      connection.error(frame.corr, 'NO_QUEUE', 'no such queue');
      return undefined;
    }
    if (!authorized(connection, queue.recipientKey, queue, frame)) {
      connection.error(frame.corr, 'AUTH', 'authenticator does not verify');
      return undefined;
    }
    ctx.store.touch(queue, ctx.options.now()); // the recipient uses it: not idle
    return queue;
  });
}

/** Whether the frame's authenticator is right for this connection and the queue key. */
function authorized(connection: RelayConnection, recipientKey: Uint8Array, queue: QueueRef | undefined, frame: NewFrame | RecipientFrame): boolean {
  try {
    return verifyAuth(connection.commandKey(recipientKey, queue), authContent(frame), frame.auth);
  } catch {
    // A key with no shared secret (a low-order point) authorizes nothing.
    return false;
  }
}
