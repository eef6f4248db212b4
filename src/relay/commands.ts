import { sodium } from '../crypto/sodium.js';
import { signedContent, type ClientFrame, type NewFrame, type SignedFrame } from '../protocol/relay-frames.js';
import type { RelayConnection } from './connection.js';
import type { CreationLimiter } from './creation-limiter.js';
import type { Delivery } from './delivery.js';
import type { ResolvedRelayOptions } from './options.js';
import { hex, type Queue, type QueueStore } from './queue-store.js';

/** What the commands act on. */
export interface CommandContext {
  readonly store: QueueStore;
  readonly delivery: Delivery;
  readonly options: ResolvedRelayOptions;
  /** Counters the commands advance. */
  readonly counters: { messagesReceived: number; bytesStored: number };
  /** Queue creations per client address. */
  readonly creations: CreationLimiter;
}

/**
 * Executes one validated client frame and replies on its connection. Every outcome is a reply
 * (`ids`, `ok`, `pong` or `err`); nothing here throws on client input.
 */
export function executeCommand(ctx: CommandContext, connection: RelayConnection, frame: ClientFrame): void {
  switch (frame.t) {
    case 'ping':
      connection.send({ t: 'pong', corr: frame.corr });
      return;
    case 'new':
      return create(ctx, connection, frame);
    case 'send':
      return accept(ctx, connection, frame.corr, frame.senderId, frame.body);
    case 'sub':
    case 'ack':
    case 'del': {
      const queue = authorize(ctx, connection, frame);
      if (!queue) return;
      if (frame.t === 'sub') {
        connection.send({ t: 'ok', corr: frame.corr });
        ctx.delivery.subscribe(queue, connection);
      } else if (frame.t === 'ack') {
        const message = queue.messages.find((m) => m.key === hex(frame.msgId));
        // Acknowledging a message that is already gone is fine: the ack that removed it may have
        // been lost on the way back, so the client repeats it.
        if (message && ctx.store.remove(queue, message.key)) ctx.delivery.removed(queue, message);
        connection.send({ t: 'ok', corr: frame.corr });
        ctx.delivery.pump(queue);
      } else {
        ctx.delivery.deleted(queue);
        ctx.store.delete(queue);
        connection.send({ t: 'ok', corr: frame.corr });
      }
    }
  }
}

function create(ctx: CommandContext, connection: RelayConnection, frame: NewFrame): void {
  const { options, store } = ctx;
  const { corr, recipientKey } = frame;
  // Only the holder of the queue key can create it, so a queue is never made for a key nobody holds.
  if (!verify(frame.sig, signedContent(connection.sessionId, frame), recipientKey)) {
    connection.error(corr, 'AUTH', 'signature does not verify');
    return;
  }
  if (connection.queuesCreated >= options.maxQueuesPerConnection || store.size >= options.maxQueues) {
    connection.error(corr, 'QUOTA', 'queue limit reached');
    return;
  }
  if (!ctx.creations.allow(connection.address, options.now())) {
    connection.error(corr, 'QUOTA', 'too many queues from this address in the last hour');
    return;
  }
  connection.queuesCreated++;
  const queue = store.create(recipientKey, options.now());
  connection.send({ t: 'ids', corr, recipientId: queue.recipientId, senderId: queue.senderId });
}

function accept(ctx: CommandContext, connection: RelayConnection, corr: number, senderId: Uint8Array, body: Uint8Array): void {
  const { options, store, counters } = ctx;
  if (body.length > options.maxMessageBytes) {
    connection.error(corr, 'TOO_LARGE', `body is over ${options.maxMessageBytes} bytes`);
    return;
  }
  const queue = store.bySenderId(senderId);
  if (!queue) {
    connection.error(corr, 'NO_QUEUE', 'no such queue');
    return;
  }
  const full = () =>
    queue.messages.length >= options.maxMessagesPerQueue ||
    queue.bytes + body.length > options.maxBytesPerQueue ||
    store.bytesQueued + body.length > options.maxStoredBytes;
  if (full()) {
    // Expired messages do not count against the quotas, even before the sweep removes them.
    const cutoff = options.now() - options.messageTtlMs;
    store.expire(cutoff, (q, m) => ctx.delivery.removed(q, m));
    if (full()) {
      const relayFull = store.bytesQueued + body.length > options.maxStoredBytes;
      connection.error(corr, 'QUOTA', relayFull ? 'the relay is full' : 'queue is full');
      return;
    }
  }
  store.push(queue, body, options.now());
  counters.messagesReceived++;
  counters.bytesStored += body.length;
  connection.send({ t: 'ok', corr });
  ctx.delivery.pump(queue);
}

/** The queue of a recipient command whose signature checks out, or undefined after an `err` reply. */
function authorize(ctx: CommandContext, connection: RelayConnection, frame: SignedFrame): Queue | undefined {
  const queue = ctx.store.byRecipientId(frame.recipientId);
  if (!queue) {
    connection.error(frame.corr, 'NO_QUEUE', 'no such queue');
    return undefined;
  }
  const content = signedContent(connection.sessionId, frame);
  if (!verify(frame.sig, content, queue.recipientKey)) {
    connection.error(frame.corr, 'AUTH', 'signature does not verify');
    return undefined;
  }
  queue.lastActive = ctx.options.now(); // the recipient uses it: not idle
  return queue;
}

function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    // libsodium throws on some malformed keys; to the client that is simply a bad signature.
    return false;
  }
}

