import { EventEmitter } from 'eventemitter3';
import { checkKey, type Identity } from '../crypto/identity.js';
import { ready, sodium } from '../crypto/sodium.js';
import { SealcallError, isSealcallError } from '../errors.js';
import { ExpiringMap } from '../expiring-map.js';
import { authenticate, commandKey, generateRelayKeyPair, openDelivery } from '../crypto/relay-keys.js';
import { AUTH_CONTENT_MAX_BYTES, authContent, type AuthorizedFrame, type MsgFrame, type RecipientFrame } from '../protocol/relay-frames.js';
import { checkRelayUrl, decodeAddress, encodeAddress, relayKey, type ContactAddress } from './address.js';
import type { BackoffOptions } from './backoff.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import { exportQueueState, importQueueState, queueCredentials, type QueueCredentials, type QueueState } from './queue-state.js';
import { RelayLink, type TransportStatus } from './relay-link.js';
import type { RelaySocket } from './relay-socket.js';
import { openSender, sealSender, sealTag } from './sealed-sender.js';
import { webSocketConstructor, type WebSocketConstructor } from './websocket-like.js';

/** Options of {@link WebSocketTransport.connect}. */
export interface WebSocketTransportOptions {
  /**
   * The relay holding this user's queue: `ws://<fingerprint>@host:port` or `wss://…`, as the
   * relay prints it. The fingerprint pins the relay's key: a server that does not hold it is
   * refused with `RELAY_KEY_MISMATCH` before anything is sent to it.
   */
  url: string;
  /** The user's X25519 identity (the one given to `CallClient`): it opens sealed-sender headers. */
  identity: Identity;
  /** Queue credentials from an earlier `exportState()`; without them a new queue (and address) is made. */
  state?: QueueState;
  /** WebSocket constructor. Default `globalThis.WebSocket`; in Node pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect attempts after a connection is lost before giving up (`'failed'`). Default 10. */
  maxReconnectAttempts?: number;
  /** Reconnect delays: exponential with full jitter. Default `{ initialMs: 250, maxMs: 10_000 }`. */
  backoff?: BackoffOptions;
  /** Outgoing messages held while disconnected, per relay. Default 256; more reject `TRANSPORT_BUFFER_FULL`. */
  maxBuffered?: number;
  /** How long connecting (socket and `hello`) may take. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** How often the relay is pinged to notice a dead connection; 0 disables. Default 20,000 ms. */
  pingIntervalMs?: number;
  /** How long a ping, or any request such as a send, may go unanswered before reconnecting. Default 10,000 ms. */
  pingTimeoutMs?: number;
}

/** Events of a {@link WebSocketTransport}. */
export interface WebSocketTransportEvents {
  /** The connection to the user's own relay changed state; `failed` carries why. */
  status: (status: TransportStatus, error?: SealcallError) => void;
  /**
   * Something was dropped or half-failed, and the transport keeps working: an undecodable or
   * unopenable message, a send that reached only some of a contact's devices, a handler that threw.
   */
  warning: (error: SealcallError) => void;
}

/** Prefix of the peer id given to messages whose sender key is no contact's. */
export const UNKNOWN_SENDER_PREFIX = 'key:';

const DEDUPE = { ttlMs: 24 * 60 * 60 * 1000, maxEntries: 10_000 } as const;
/** Where each recipient command's authContent is written to be hashed (see {@link authContent}). */
const AUTH_SCRATCH = new Uint8Array(AUTH_CONTENT_MAX_BYTES);
const MAX_INBOX = 1000;

interface Inbound {
  /** Hex of the sender's claimed identity key; mapped to a peer id when handed over. */
  senderKey: string;
  payload: Uint8Array;
  msgId: Uint8Array;
  idKey: string;
  tag: string;
  /** The connection it came on. */
  socket: RelaySocket;
}

type Handler = (from: PeerId, payload: Uint8Array) => void;

/**
 * A {@link ChatTransport} over sealcall's relay ({@link relay!Relay | Relay} in `sealcall/relay`), for apps
 * without a chat channel of their own and for the CLI. Each user owns a queue on a relay and
 * shares its {@link address}; contacts send into that queue without an account, and each
 * message's sender is sealed so that only the recipient learns it (the relay sees neither names
 * nor keys). Messages are stored until acknowledged, so nothing is lost while the user is offline.
 *
 * It receives on one connection (to its own relay) and sends on others, one per destination relay
 * and opened on first use, so the relay cannot tell from a connection which queue's owner is
 * sending (as SMP clients do). It reconnects by itself (exponential backoff, full jitter), holds
 * sends while disconnected and delivers each message to the handlers once, even when the relay
 * delivers it twice. Works in browsers and in Node (pass `WebSocket` from `ws`).
 */
export class WebSocketTransport extends EventEmitter<WebSocketTransportEvents> implements ChatTransport {
  /** Send-only links, by relay. */
  private readonly links = new Map<string, RelayLink>();
  /** The receiving link to this user's relay: `new`, `sub`, `ack`, `del`, never `send`. */
  private readonly main: RelayLink;
  /** Command keys of the receiving link's connections. */
  private readonly commandKeys = new WeakMap<RelaySocket, Uint8Array>();
  private credentials: QueueCredentials | undefined;
  private readonly devices = new Map<PeerId, Map<string, ContactAddress>>();
  private readonly peerByKey = new Map<string, PeerId>();
  private readonly handlers = new Set<Handler>();
  private readonly inbox = new Map<string, Inbound>();
  private readonly seen = new ExpiringMap<true>(DEDUPE);
  private closed = false;

  private constructor(
    private readonly options: WebSocketTransportOptions & { WebSocket: WebSocketConstructor },
    credentials: QueueCredentials | undefined,
  ) {
    super();
    this.credentials = credentials;
    this.main = this.makeLink(options.url, {
      onConnect: (socket) => this.subscribe(socket),
      onMessage: (frame, socket) => this.receive(frame, socket),
      onEnd: (frame) => this.takenOver(frame.recipientId),
      onStatus: (status, error) => this.emit('status', status, error),
    });
  }

  /**
   * Connects to the relay, creates the queue (or reuses `state`'s) and subscribes. Rejects with
   * `INVALID_ARGUMENT`, `RELAY_UNREACHABLE` (one attempt, no retries: the caller decides),
   * `RELAY_KEY_MISMATCH` (the server is not the relay the URL pins) or the relay's refusal
   * (`QUEUE_NOT_FOUND` for a `state` whose queue is gone).
   */
  static async connect(options: WebSocketTransportOptions): Promise<WebSocketTransport> {
    await ready();
    const url = checkRelayUrl(options?.url, 'INVALID_ARGUMENT');
    checkKey(options.identity?.publicKey, 'identity.publicKey');
    checkKey(options.identity?.secretKey, 'identity.secretKey');
    for (const key of ['maxReconnectAttempts', 'maxBuffered', 'connectTimeoutMs', 'pingIntervalMs', 'pingTimeoutMs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
        throw new SealcallError('INVALID_ARGUMENT', `${key} must be an integer >= 0`);
      }
    }
    const credentials = options.state === undefined ? undefined : importQueueState(options.state);
    if (credentials && relayKey(credentials.relayUrl) !== relayKey(url)) {
      throw new SealcallError('INVALID_ARGUMENT', 'state belongs to a queue on another relay');
    }
    const transport = new WebSocketTransport({ ...options, url, WebSocket: webSocketConstructor(options.WebSocket) }, credentials);
    try {
      await transport.main.start();
    } catch (error) {
      transport.close();
      throw error;
    }
    return transport;
  }

  /** The address contacts pass to their {@link addContact}: `sc1:…`, safe to share. */
  get address(): string {
    const credentials = this.requireCredentials();
    return encodeAddress({ relayUrl: this.options.url, senderId: credentials.senderId, publicKey: this.options.identity.publicKey });
  }

  /** State of the connection to this user's relay. */
  get status(): TransportStatus {
    return this.main.status;
  }

  /** The queue's credentials, JSON-safe, to pass back as `state` after a restart. Holds a secret key. */
  exportState(): QueueState {
    return exportQueueState(this.requireCredentials());
  }

  /**
   * Adds a contact's address: where to send, and the contact's identity key, which a
   * `CallClient` created without `contacts` reads through {@link contactKey}, so this is the only
   * call needed to make a contact callable. Call it once per device: a contact with several
   * addresses gets every message on each; all of them carry the contact's one identity key.
   * Throws `BAD_ADDRESS`, or `INVALID_ARGUMENT` for an empty peer id, one starting with `key:`,
   * a key that already belongs to another peer id, or an address whose key differs from the
   * contact's other addresses.
   */
  addContact(peerId: PeerId, address: string): void {
    if (typeof peerId !== 'string' || peerId === '' || peerId.startsWith(UNKNOWN_SENDER_PREFIX)) {
      throw new SealcallError('INVALID_ARGUMENT', `peerId must be a non-empty string not starting with ${UNKNOWN_SENDER_PREFIX}`);
    }
    const decoded = decodeAddress(address);
    const key = sodium().to_hex(decoded.publicKey);
    const owner = this.peerByKey.get(key);
    if (owner !== undefined && owner !== peerId) {
      throw new SealcallError('INVALID_ARGUMENT', 'this address key already belongs to another contact');
    }
    const known = this.contactKey(peerId);
    if (known && !sodium().memcmp(known, decoded.publicKey)) {
      throw new SealcallError('INVALID_ARGUMENT', "this address's key differs from the contact's other addresses");
    }
    this.peerByKey.set(key, peerId);
    let devices = this.devices.get(peerId);
    if (!devices) this.devices.set(peerId, (devices = new Map()));
    devices.set(address, decoded);
  }

  /** The identity key of a contact added with {@link addContact}, or `undefined`. */
  contactKey(peerId: PeerId): Uint8Array | undefined {
    const first = this.devices.get(peerId)?.values().next();
    return first && !first.done ? first.value.publicKey : undefined;
  }

  /** Forgets a contact and all of its addresses. */
  removeContact(peerId: PeerId): void {
    for (const device of this.devices.get(peerId)?.values() ?? []) this.peerByKey.delete(sodium().to_hex(device.publicKey));
    this.devices.delete(peerId);
  }

  /**
   * Sends to every address of `to`. Resolves once the relay(s) stored it for at least one of
   * them (the others are reported as `warning`s); rejects with `UNKNOWN_CONTACT`,
   * `TRANSPORT_BUFFER_FULL`, `TRANSPORT_CLOSED`, `RELAY_UNREACHABLE`, `RELAY_KEY_MISMATCH` (the
   * contact's relay is not the one its address pins) or the relay's refusal (`QUEUE_NOT_FOUND`,
   * `QUEUE_FULL`, `MESSAGE_TOO_LARGE`, `RATE_LIMITED`).
   */
  async send(to: PeerId, payload: Uint8Array): Promise<void> {
    if (this.closed) throw new SealcallError('TRANSPORT_CLOSED', 'transport is closed');
    if (!(payload instanceof Uint8Array)) throw new SealcallError('INVALID_ARGUMENT', 'payload must be a Uint8Array');
    const devices = [...(this.devices.get(to)?.values() ?? [])];
    if (devices.length === 0) throw new SealcallError('UNKNOWN_CONTACT', 'no address for this contact');
    const results = await Promise.allSettled(
      devices.map((device) => {
        // Sealed once: a resend after a reconnect carries the same header, so the receiver can
        // recognise it (sealTag) even though the relay stores it under a new message id.
        const body = sealSender(this.options.identity.publicKey, device.publicKey, payload);
        return this.linkFor(device.relayUrl).send((corr) => ({ t: 'send', corr, senderId: device.senderId, body }));
      }),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [toSealcallError(r.reason)] : []));
    if (failures.length === results.length) throw failures[0]!;
    for (const failure of failures) this.emit('warning', failure);
  }

  /** Subscribes to incoming messages; those that arrived before any handler are delivered to the first. */
  onMessage(handler: Handler): () => void {
    this.handlers.add(handler);
    for (const inbound of [...this.inbox.values()]) this.deliver(inbound);
    return () => this.handlers.delete(handler);
  }

  /** Deletes the queue on the relay (its address stops working), then closes. */
  async deleteQueue(): Promise<void> {
    const credentials = this.requireCredentials();
    const socket = this.main.current;
    if (!socket) throw new SealcallError('TRANSPORT_CLOSED', 'not connected to the relay');
    await socket.request((corr) => this.authorized(socket, { t: 'del', corr, recipientId: credentials.recipientId }));
    this.close();
  }

  /** Disconnects for good. The queue stays on the relay (reuse it with `exportState()`). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.main.close();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.handlers.clear();
    this.inbox.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private makeLink(url: string, hooks: Pick<ConstructorParameters<typeof RelayLink>[0], 'onConnect' | 'onMessage' | 'onEnd' | 'onStatus'>): RelayLink {
    const o = this.options;
    return new RelayLink({
      url,
      WebSocket: o.WebSocket,
      maxReconnectAttempts: o.maxReconnectAttempts ?? 10,
      backoff: o.backoff ?? {},
      maxBuffered: o.maxBuffered ?? 256,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      pingIntervalMs: o.pingIntervalMs ?? 20_000,
      pingTimeoutMs: o.pingTimeoutMs ?? 10_000,
      onWarning: (error) => this.emit('warning', error),
      ...hooks,
    });
  }

  /**
   * The send-only link to a contact's relay, made on first use (and remade after it failed). Our
   * own relay gets one too: sending on the receiving connection would tell the relay whose
   * queue the sender owns.
   */
  private linkFor(url: string): RelayLink {
    const key = relayKey(url);
    let link = this.links.get(key);
    if (!link || link.status === 'failed') {
      link = this.makeLink(url, { onStatus: () => {} });
      this.links.set(key, link);
      link.startInBackground();
    }
    return link;
  }

  /** On every (re)connection: create the queue the first time, then subscribe. */
  private async subscribe(socket: RelaySocket): Promise<void> {
    if (!this.credentials) {
      const keys = generateRelayKeyPair();
      const key = commandKey(keys.secretKey, socket.sessionKey, socket.sessionKey, keys.publicKey);
      // Authorized by the new queue's key: the relay creates queues only for keys their creator holds.
      const reply = await socket.request((corr) => {
        const frame = { t: 'new' as const, corr, recipientKey: keys.publicKey };
        return { ...frame, auth: authenticate(key, authContent(frame)) };
      });
      if (reply.t !== 'ids') throw new SealcallError('RELAY_ERROR', 'the relay answered new without ids');
      this.credentials = queueCredentials({
        relayUrl: this.options.url,
        recipientId: reply.recipientId,
        senderId: reply.senderId,
        secretKey: keys.secretKey,
        serverKey: reply.serverKey,
      });
    }
    const { recipientId } = this.credentials;
    await socket.request((corr) => this.authorized(socket, { t: 'sub', corr, recipientId }));
  }

  /**
   * Another client subscribed to this queue (the same `state` in use twice): it gets the messages
   * now. Resubscribing would take them back, and the other would do the same, so the receiving
   * link stops for good with `QUEUE_TAKEN_OVER` instead; the app decides which one keeps it.
   */
  private takenOver(recipientId: Uint8Array): void {
    const credentials = this.credentials;
    if (this.closed || !credentials || sodium().compare(recipientId, credentials.recipientId) !== 0) return;
    this.main.fail(new SealcallError('QUEUE_TAKEN_OVER', 'another client subscribed to this queue; this one receives no more messages'));
  }

  private receive(frame: MsgFrame, socket: RelaySocket): void {
    const credentials = this.credentials;
    if (this.closed || !credentials) return;
    if (sodium().compare(frame.recipientId, credentials.recipientId) !== 0) {
      this.emit('warning', new SealcallError('BAD_MESSAGE', 'the relay delivered a message of another queue'));
      return;
    }
    const idKey = 'm' + sodium().to_hex(frame.msgId);
    if (this.seen.has(idKey)) return this.ack(frame.msgId, socket); // redelivered: its ack was lost
    if (this.inbox.has(idKey)) return; // waiting for a handler; acknowledged once handled
    let body;
    let opened;
    try {
      // The relay's layer first (it re-encrypted the body for us), then the sender's seal. In
      // place: the block's bytes are ours, and openSender copies out the payload it keeps.
      body = openDelivery(credentials.deliveryKey, frame.msgId, frame.ts, frame.body, true);
      opened = openSender(this.options.identity, body);
    } catch (error) {
      this.emit('warning', toSealcallError(error));
      return this.ack(frame.msgId, socket); // never openable: keeping it would only block the queue
    }
    const tag = 's' + sealTag(body);
    if (this.seen.has(tag) || [...this.inbox.values()].some((i) => i.tag === tag)) {
      // The sender sent it again after losing its connection: a second copy under a new id.
      this.seen.set(idKey, true);
      return this.ack(frame.msgId, socket);
    }
    const senderKey = sodium().to_hex(opened.senderPublicKey);
    const inbound: Inbound = { senderKey, payload: opened.payload, msgId: frame.msgId, idKey, tag, socket };
    if (this.handlers.size === 0) {
      if (this.inbox.size < MAX_INBOX) this.inbox.set(idKey, inbound);
      return;
    }
    this.deliver(inbound);
  }

  private deliver(inbound: Inbound): void {
    this.inbox.delete(inbound.idKey);
    this.seen.set(inbound.idKey, true);
    this.seen.set(inbound.tag, true);
    // Looked up now, not on arrival: a contact added while the message waited is recognised.
    const from = this.peerByKey.get(inbound.senderKey) ?? UNKNOWN_SENDER_PREFIX + inbound.senderKey;
    for (const handler of [...this.handlers]) {
      try {
        handler(from, inbound.payload);
      } catch (error) {
        // The app's handler failing must not stall the queue; the message counts as delivered.
        this.emit('warning', new SealcallError('INVALID_STATE', 'a message handler threw', { cause: error }));
      }
    }
    this.ack(inbound.msgId, inbound.socket);
  }

  /**
   * Acknowledges on the connection the message came on, else the current one. With neither, the
   * relay redelivers the message on the next subscription and it is acknowledged then.
   */
  private ack(msgId: Uint8Array, via: RelaySocket): void {
    const socket = via.open ? via : this.main.current;
    const credentials = this.credentials;
    if (!socket || !credentials) return;
    const { recipientId } = credentials;
    socket.request((corr) => this.authorized(socket, { t: 'ack', corr, recipientId, msgId })).catch((error: unknown) => {
      if (!isSealcallError(error, 'TRANSPORT_CLOSED')) this.emit('warning', toSealcallError(error));
    });
  }

  /** A recipient command with its authenticator for `socket`'s session. */
  private authorized(socket: RelaySocket, frame: { t: RecipientFrame['t']; corr: number; recipientId: Uint8Array; msgId?: Uint8Array }): AuthorizedFrame {
    const credentials = this.requireCredentials();
    let key = this.commandKeys.get(socket);
    if (!key) {
      key = commandKey(credentials.secretKey, socket.sessionKey, socket.sessionKey, credentials.publicKey);
      this.commandKeys.set(socket, key);
    }
    const auth = authenticate(key, authContent(frame, AUTH_SCRATCH));
    return frame.t === 'ack' ? { t: 'ack', corr: frame.corr, recipientId: frame.recipientId, msgId: frame.msgId!, auth } : { t: frame.t, corr: frame.corr, recipientId: frame.recipientId, auth };
  }

  private requireCredentials(): QueueCredentials {
    if (!this.credentials) throw new SealcallError('INVALID_STATE', 'the queue is not created yet');
    return this.credentials;
  }
}

function toSealcallError(error: unknown): SealcallError {
  return isSealcallError(error) ? error : new SealcallError('TRANSPORT_CLOSED', 'send failed', { cause: error });
}
