import type { RawData, WebSocket } from 'ws';
import { commandKey, signHello, type KeyPair } from '../crypto/relay-keys.js';
import { sodium } from '../crypto/sodium.js';
import { isSealcallError, SealcallError } from '../errors.js';
import {
  corrOf,
  RELAY_LIMITS,
  RELAY_PROTOCOL_VERSION,
  unpackBlock,
  viewClientFrame,
  type ClientFrame,
  type MsgFrame,
  type RelayErrorCode,
  type RelayFrame,
} from '../protocol/relay-frames.js';
import type { ByteSlots } from './byte-slots.js';
import type { Subscriber } from './delivery.js';
import type { ResolvedRelayOptions } from './options.js';
import type { QueueRef } from './relay-store.js';
import { fullBucket, takeToken, type TokenBucketState } from './token-bucket.js';
import { readClientFrames, type BinaryMessageSink } from './websocket-reader.js';
import { sendBlock } from './websocket-writer.js';

/** WebSocket close codes the relay uses. */
export const CLOSE = {
  /** The relay is shutting down. */
  goingAway: 1001,
  /** Too many bad frames, or a flood. */
  policy: 1008,
  /** A bug in the relay; only this client is dropped. */
  internalError: 1011,
  /** Too many connections. */
  tryAgainLater: 1013,
} as const;

/**
 * Connections with frames waiting, flushed together once the event loop has read what it can:
 * an `ok` to an `ack` then shares its block with the next `msg`, which usually arrives on another
 * socket in the same turn (one write instead of two, on both sides). Each connection is listed
 * once (its `flushScheduled`). Two arrays take turns, so a flush allocates nothing: a set here
 * would grow and shrink its table every turn, and the old tables outlive young-generation GCs.
 */
let dirty: RelayConnection[] = [];
let flushing: RelayConnection[] = [];

function scheduleFlush(connection: RelayConnection): void {
  if (dirty.length === 0) setImmediate(flushAll);
  dirty.push(connection);
}

function flushAll(): void {
  const connections = dirty;
  dirty = flushing;
  for (const connection of connections) connection.flush();
  connections.length = 0;
  flushing = connections;
}

/** Command keys a connection keeps (one per queue it authorizes commands for; a client uses one or two). */
const MAX_COMMAND_KEYS = 64;

/** What a connection tells its relay: each valid frame, and its socket's end. */
export interface ConnectionEvents {
  frame(connection: RelayConnection, frame: ClientFrame): void;
  closed(connection: RelayConnection, code: number): void;
}

/**
 * The socket's listeners are shared by every connection and find theirs on the socket: a relay
 * holds thousands of idle connections, and closures of their own would cost each about 200 bytes.
 */
const CONNECTION = Symbol('connection');
type ConnectionSocket = WebSocket & { [CONNECTION]: RelayConnection };

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as ConnectionSocket)[CONNECTION].received(data, isBinary);
}

function onPong(this: WebSocket): void {
  (this as ConnectionSocket)[CONNECTION].alive = true;
}

function onClose(this: WebSocket, code: number): void {
  const connection = (this as ConnectionSocket)[CONNECTION];
  connection.releaseKeys();
  connection.events.closed(connection, code);
}

const clock = (): number => performance.now();

/** Offsets in a connection's key record: its session secret key, then its first queue's command key. */
const FIRST_KEY = 32;
/** Bytes of a connection's key record ({@link ByteSlots.recordBytes}). */
export const CONNECTION_KEY_BYTES = 64;

/**
 * One client's WebSocket: greets it with a signed `hello` carrying this connection's session
 * key, throttles it (token bucket, per frame), refuses malformed frames with `err` replies
 * (closing after too many), drops it when it reads too slowly, hands each valid frame to
 * `onFrame`, and gathers what it sends in one moment into one block. Knows nothing of queues
 * beyond the command keys it derives for them.
 */
export class RelayConnection implements Subscriber, TokenBucketState, BinaryMessageSink {
  /** Queues this connection created, for `maxQueuesPerConnection`. */
  queuesCreated = 0;
  /** Cleared by each heartbeat ping, set by the pong. */
  alive = true;
  /** When the heartbeat last pinged it ({@link Pingable.pingedAt}). */
  pingedAt = 0;
  /** Its frame rate limit's bucket ({@link TokenBucketState}). */
  tokens: number;
  tokensAt: number;
  /** The queue whose command key is the first (most connections only ever have one). */
  private firstKeyQueue: string | undefined;
  /** Command keys of further queues: made at the second one. */
  private commandKeys: Map<string, Uint8Array> | undefined;
  /** Frames for this moment's block; none while idle. */
  private outbox: RelayFrame[] | undefined;
  private flushScheduled = false;
  private badFrames = 0;
  private strikes = 0;
  private closing = false;
  /**
   * This connection's record in its relay's {@link ByteSlots}: its X25519 session secret key and
   * its first queue's command key, which live as long as the connection; -1 once it closed. The
   * session's public key is not kept but recomputed for each command key, which keeps the record
   * at 64 bytes.
   */
  private keySlot: number;

  constructor(
    private readonly ws: WebSocket,
    /** This connection's X25519 session key pair; `hello` carries the public half. */
    session: KeyPair,
    /** The client's IP address, for limits per address. */
    readonly address: string,
    private readonly options: ResolvedRelayOptions,
    identity: KeyPair,
    /** Where its frames and its end go (one object for all of a relay's connections). */
    readonly events: ConnectionEvents,
    /** Where its keys live (one for all of a relay's connections). */
    private readonly keySlots: ByteSlots,
  ) {
    this.keySlot = keySlots.take();
    keySlots.write(this.keySlot, 0, session.secretKey);
    sodium().memzero(session.secretKey);
    ({ tokens: this.tokens, tokensAt: this.tokensAt } = fullBucket(options.rateLimitBurst, clock()));
    (ws as ConnectionSocket)[CONNECTION] = this;
    // Binary frames come straight to binaryMessage; 'message' brings what ws reads once handed the stream.
    readClientFrames(ws, this, options.maxPayload);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    const sig = signHello(identity.secretKey, session.publicKey);
    this.send({ t: 'hello', v: RELAY_PROTOCOL_VERSION, relayKey: identity.publicKey, sessionKey: session.publicKey, sig });
    this.flush();
  }

  /** True until the socket starts closing. */
  get open(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  /**
   * The key that authorizes commands for `queue` on this connection, or for `recipientKey` (a
   * queue being created). Derived once per queue (one X25519), then each command costs one hash.
   * Throws `DECRYPT_FAILED` for a key with no shared secret, and once the connection closed.
   */
  commandKey(recipientKey: Uint8Array, queue?: QueueRef): Uint8Array {
    const slot = this.keySlot;
    // A command whose store answered after the socket closed: its record may be another's now.
    if (slot < 0) throw new SealcallError('DECRYPT_FAILED', 'the connection is closed');
    if (queue && queue.key === this.firstKeyQueue) return this.keySlots.view(slot, FIRST_KEY, CONNECTION_KEY_BYTES);
    const cached = queue && this.commandKeys?.get(queue.key);
    if (cached) return cached;
    const secret = this.keySlots.view(slot, 0, FIRST_KEY);
    const key = commandKey(secret, recipientKey, sodium().crypto_scalarmult_base(secret), recipientKey);
    if (queue && this.firstKeyQueue === undefined) {
      this.firstKeyQueue = queue.key;
      this.keySlots.write(slot, FIRST_KEY, key);
    } else if (queue) {
      this.commandKeys ??= new Map();
      if (this.commandKeys.size >= MAX_COMMAND_KEYS) this.commandKeys.clear();
      this.commandKeys.set(queue.key, key);
    }
    return key;
  }

  /**
   * Queues a frame for this moment's block (sent once the event loop turns, or at once when the
   * block is full); false if the socket is no longer open (or was just dropped as too slow).
   */
  send(frame: RelayFrame): boolean {
    if (!this.open) return false;
    // Most blocks carry one frame: an array of exactly one, grown only for a second.
    if (this.outbox) this.outbox.push(frame);
    else this.outbox = [frame];
    if (this.outbox.length >= RELAY_LIMITS.maxFramesPerBlock) return this.flush();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
    return true;
  }

  /** {@link Subscriber.deliver}. */
  deliver(frame: MsgFrame): boolean {
    return this.send(frame);
  }

  /** {@link Subscriber.ended}. */
  ended(queue: QueueRef): void {
    this.send({ t: 'end', recipientId: queue.recipientId });
  }

  /** Zeroes this connection's keys and gives their record back: its socket closed. */
  releaseKeys(): void {
    if (this.keySlot < 0) return;
    this.keySlots.release(this.keySlot);
    this.keySlot = -1;
    this.commandKeys = undefined;
  }

  /** Sends an `err` reply. */
  error(corr: number | undefined, code: RelayErrorCode, message: string): void {
    this.send({ t: 'err', ...(corr === undefined ? {} : { corr }), code, message });
  }

  /** Sends what is queued, then starts a close handshake with `code`. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    this.ws.close(code, reason);
  }

  /** Drops the socket without a close handshake. */
  terminate(): void {
    this.closing = true;
    this.outbox = undefined;
    this.ws.terminate();
  }

  /** Sends a WebSocket ping (heartbeat). */
  ping(): void {
    if (this.open) this.ws.ping();
  }

  /** Sends the queued frames now, as one block; false if the client was dropped as too slow. */
  flush(): boolean {
    this.flushScheduled = false;
    const frames = this.outbox;
    if (frames === undefined) return true;
    this.outbox = undefined;
    if (!this.open) return false;
    sendBlock(this.ws, frames);
    // A client that does not read makes the relay buffer for it without bound: drop it.
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.options.maxBufferedBytes) {
      this.options.logger('slow-client', { bufferedBytes: buffered });
      this.terminate();
      return false;
    }
    return true;
  }

  /** {@link BinaryMessageSink.binaryMessage}. */
  binaryMessage(data: Buffer): void {
    this.received(data, true);
  }

  /** A WebSocket message came. */
  received(data: RawData, isBinary: boolean): void {
    try {
      this.receive(data, isBinary);
    } catch {
      // A bug, not client input (every client error gets a reply): drop this client, never the relay.
      this.options.logger('internal-error');
      this.close(CLOSE.internalError, 'internal error');
    }
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!isBinary || !(data instanceof Uint8Array)) {
      this.refuse(undefined, 'BAD_FRAME', 'blocks must be binary msgpack');
      return;
    }
    let block: unknown[];
    try {
      block = unpackBlock(data, this.options.maxPayload);
    } catch (error) {
      this.refuse(undefined, wireCode(error), isSealcallError(error) ? error.message : 'block is not valid msgpack');
      return;
    }
    for (const raw of block) {
      if (this.closing) return;
      this.receiveFrame(raw);
    }
  }

  private receiveFrame(raw: unknown): void {
    if (!takeToken(this, this.options.rateLimitPerSecond, this.options.rateLimitBurst, clock())) {
      this.strikes++;
      this.options.logger('rate-limited', { strikes: this.strikes });
      this.error(corrOf(raw), 'RATE_LIMITED', 'too many frames; slow down');
      if (this.strikes >= this.options.maxRateLimitStrikes) {
        this.options.logger('abusive-client', { reason: 'flood' });
        this.close(CLOSE.policy, 'rate limit');
      }
      return;
    }
    this.strikes = 0;
    let frame: ClientFrame;
    try {
      // No copies of its byte fields: nothing holds on to this WebSocket message (see viewClientFrame).
      frame = viewClientFrame(raw);
    } catch (error) {
      this.refuse(corrOf(raw), wireCode(error), isSealcallError(error) ? error.message : 'invalid frame');
      return;
    }
    this.events.frame(this, frame);
  }

  /** Replies to a malformed frame and closes the connection once it has sent too many. */
  private refuse(corr: number | undefined, code: RelayErrorCode, message: string): void {
    this.badFrames++;
    this.options.logger('bad-frame', { badFrames: this.badFrames });
    this.error(corr, code, message.slice(0, 200));
    if (this.badFrames >= this.options.maxBadFrames) {
      this.options.logger('abusive-client', { reason: 'bad frames' });
      this.close(CLOSE.policy, 'too many bad frames');
    }
  }
}

/** The `err` code for a decoding failure. */
function wireCode(error: unknown): RelayErrorCode {
  if (isSealcallError(error, 'MESSAGE_TOO_LARGE')) return 'TOO_LARGE';
  if (isSealcallError(error, 'UNSUPPORTED_VERSION')) return 'UNSUPPORTED';
  return 'BAD_FRAME';
}
