import { RandomPool } from '../crypto/random-pool.js';
import { deliveryKey, generateRelayKeyPair, sealDelivery, verifyAuth } from '../crypto/relay-keys.js';
import { AUTH_CONTENT_MAX_BYTES, authContent, RELAY_LIMITS, type AckFrame, type ClientFrame, type NewFrame, type RecipientFrame, type SendFrame } from '../protocol/relay-frames.js';
import type { RelayConnection } from './connection.js';
import type { CreationLimiter } from './creation-limiter.js';
import type { Delivery } from './delivery.js';
import type { ResolvedRelayOptions } from './options.js';
import { hex, andThen, type Awaitable, type PushResult, type QueueRef, type RelayStore } from './relay-store.js';

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
      return send(ctx, connection, frame);
    default:
      return andThen(ctx.store.byRecipientId(frame.recipientId), recipientCommand, ctx, connection, frame, undefined);
  }
}

/** `sub`, `ack` or `del` on `queue`, once its authenticator checks out. */
function recipientCommand(queue: QueueRef | undefined, ctx: CommandContext, connection: RelayConnection, frame: RecipientFrame): Awaitable<void> {
  if (!queue) {
    connection.error(frame.corr, 'NO_QUEUE', 'no such queue');
    return;
  }
  if (!authorized(connection, queue.recipientKey, queue, frame)) {
    connection.error(frame.corr, 'AUTH', 'authenticator does not verify');
    return;
  }
  const { store, delivery } = ctx;
  store.touch(queue, ctx.options.now()); // the recipient uses it: not idle
  switch (frame.t) {
    case 'sub':
      return andThen(delivery.subscribe(queue, connection), subscribed, ctx, queue, connection, frame.corr);
    case 'ack':
      // Acknowledging a message that is already gone is fine: the ack that removed it may have
      // been lost on the way back, so the client repeats it.
      return andThen(store.remove(queue, hex(frame.msgId)), acknowledged, ctx, queue, connection, frame);
    case 'del':
      delivery.deleted(queue);
      return andThen(store.delete(queue), deleted, connection, frame.corr, undefined, undefined);
  }
}

function subscribed(_: void, ctx: CommandContext, queue: QueueRef, connection: RelayConnection, corr: number): void {
  connection.send({ t: 'ok', corr });
  ctx.delivery.pump(queue.key);
}

function acknowledged(_: boolean, ctx: CommandContext, queue: QueueRef, connection: RelayConnection, frame: AckFrame): void {
  connection.send({ t: 'ok', corr: frame.corr });
  ctx.delivery.acknowledged(queue, hex(frame.msgId));
}

function deleted(_: void, connection: RelayConnection, corr: number): void {
  connection.send({ t: 'ok', corr });
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
  return andThen(store.create(recipientKey, key, options.now(), options.maxQueues), created, connection, corr, server.publicKey, undefined);
}

function created(queue: QueueRef | undefined, connection: RelayConnection, corr: number, serverKey: Uint8Array): void {
  if (!queue) connection.error(corr, 'QUOTA', 'queue limit reached');
  else connection.send({ t: 'ids', corr, recipientId: queue.recipientId, senderId: queue.senderId, serverKey });
}

function send(ctx: CommandContext, connection: RelayConnection, frame: SendFrame): Awaitable<void> {
  const { maxMessageBytes } = ctx.options;
  if (frame.body.length > maxMessageBytes) {
    connection.error(frame.corr, 'TOO_LARGE', `body is over ${maxMessageBytes} bytes`);
    return;
  }
  return andThen(ctx.store.bySenderId(frame.senderId), accept, ctx, connection, frame, undefined);
}

function accept(queue: QueueRef | undefined, ctx: CommandContext, connection: RelayConnection, frame: SendFrame): Awaitable<void> {
  if (!queue) {
    connection.error(frame.corr, 'NO_QUEUE', 'no such queue');
    return;
  }
  const { options, store } = ctx;
  const ts = options.now();
  const msgId = messageIds.bytes(RELAY_LIMITS.msgIdBytes);
  // Sealed for the recipient once, as it is stored: what leaves the relay differs from what came in.
  const sealed = sealDelivery(queue.deliveryKey, msgId, ts, frame.body);
  const limits = {
    maxMessagesPerQueue: options.maxMessagesPerQueue,
    maxBytesPerQueue: options.maxBytesPerQueue,
    maxStoredBytes: options.maxStoredBytes,
    expiredBefore: ts - options.messageTtlMs,
  };
  return andThen(store.push(queue, { msgId, key: hex(msgId), body: sealed, ts }, limits), stored, ctx, connection, frame, undefined);
}

function stored(result: PushResult, ctx: CommandContext, connection: RelayConnection, frame: SendFrame): void {
  const { corr } = frame;
  if (result !== 'ok') {
    if (result === 'no-queue') connection.error(corr, 'NO_QUEUE', 'no such queue');
    else connection.error(corr, 'QUOTA', result === 'relay-full' ? 'the relay is full' : 'queue is full');
    return;
  }
  ctx.counters.messagesReceived++;
  ctx.counters.bytesStored += frame.body.length;
  connection.send({ t: 'ok', corr });
}

/**
 * Message ids, from a pool drawn 4 KiB at a time: an id costs a fraction of a microsecond, a
 * `randomFillSync` call per id several, libsodium's `randombytes_buf(16)` a few (its randomness
 * is pooled too, but it makes a JavaScript call per byte): the load bench's micro table.
 */
const messageIds = new RandomPool();

/** Where each command's authContent is written to be hashed (see {@link authContent}). */
const AUTH_SCRATCH = new Uint8Array(AUTH_CONTENT_MAX_BYTES);

/** Whether the frame's authenticator is right for this connection and the queue key. */
function authorized(connection: RelayConnection, recipientKey: Uint8Array, queue: QueueRef | undefined, frame: NewFrame | RecipientFrame): boolean {
  try {
    return verifyAuth(connection.commandKey(recipientKey, queue), authContent(frame, AUTH_SCRATCH), frame.auth);
  } catch {
    // A key with no shared secret (a low-order point) authorizes nothing.
    return false;
  }
}
