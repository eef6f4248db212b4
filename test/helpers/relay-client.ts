import { WebSocket } from 'ws';
import { authenticate, commandKey, deliveryKey, generateRelayKeyPair, openDelivery, type KeyPair } from '../../src/crypto/relay-keys.js';
import { authContent, encodeClientBlock, type ClientFrame, type MsgFrame, type RelayFrame } from '../../src/protocol/relay-frames.js';
import { socketUrl } from '../../src/protocol/relay-url.js';
import { decodeRelayFrames } from './relay-codec.js';

/** A queue a raw client created, with its keys. */
export interface RawQueue {
  recipientId: Uint8Array;
  senderId: Uint8Array;
  /** The queue's X25519 key pair. */
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** Opens what the relay delivers from this queue. */
  deliveryKey: Uint8Array;
}

/**
 * A bare relay client over a real socket for tests: sends any frame (or any bytes), records
 * every frame the relay sends, and waits for particular ones. No reconnects, no buffering.
 */
export class RawClient {
  /** Frames received after `hello`, in order. */
  readonly frames: RelayFrame[] = [];
  readonly closed: Promise<{ code: number }>;
  /** From `hello`: the relay's identity key and this connection's session key. */
  relayKey: Uint8Array = new Uint8Array();
  sessionKey: Uint8Array = new Uint8Array();
  private corr = 0;
  private waiters: { match: (f: RelayFrame) => boolean; resolve: (f: RelayFrame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code })));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      for (const frame of decodeRelayFrames(new Uint8Array(data as Buffer))) {
        if (frame.t === 'hello') {
          this.relayKey = frame.relayKey;
          this.sessionKey = frame.sessionKey;
        } else this.frames.push(frame);
        for (const waiter of [...this.waiters]) {
          if (waiter.match(frame)) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve(frame);
          }
        }
      }
    });
  }

  /** Connects to a relay URL (its fingerprint is not checked here) and waits for `hello`. */
  static async connect(url: string): Promise<RawClient> {
    const ws = new WebSocket(socketUrl(url));
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      client.waiters.push({ match: (f) => f.t === 'hello', resolve: () => resolve() });
    });
    return client;
  }

  /** The next frame (already received or future) matching `match`. */
  next(match: (f: RelayFrame) => boolean, timeoutMs = 5000): Promise<RelayFrame> {
    const found = this.frames.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** A fresh correlation id. */
  nextCorr(): number {
    return ++this.corr;
  }

  /** Sends one frame as a block of one. */
  send(frame: ClientFrame): void {
    this.ws.send(encodeClientBlock([frame]));
  }

  /** Sends frames as one block. */
  sendBlock(frames: ClientFrame[]): void {
    this.ws.send(encodeClientBlock(frames));
  }

  /** Sends raw bytes or text. */
  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Sends a frame (its corr replaced by a fresh one) and resolves with the reply to it. */
  async request(frame: ClientFrame): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    this.send({ ...frame, corr });
    return reply;
  }

  /**
   * A ping round trip. The relay answers a connection's frames in order, and whatever earlier
   * commands made it send here (deliveries included) goes out before the pong: once this
   * resolves, nothing more is on its way from them.
   */
  async barrier(): Promise<void> {
    const pong = await this.request({ t: 'ping', corr: 0 });
    if (pong.t !== 'pong') throw new Error(`expected pong, got ${pong.t}`);
  }

  /** Creates a queue. */
  async newQueue(): Promise<RawQueue> {
    const keys = generateRelayKeyPair();
    const reply = await this.requestNew(keys);
    if (reply.t !== 'ids') throw new Error(`expected ids, got ${JSON.stringify(reply)}`);
    return {
      recipientId: reply.recipientId,
      senderId: reply.senderId,
      ...keys,
      deliveryKey: deliveryKey(keys.secretKey, reply.serverKey, reply.serverKey, keys.publicKey),
    };
  }

  /** Sends a `new` authorized by `keys` (`authorize: false`: by another key) and resolves with the reply. */
  async requestNew(keys: KeyPair, authorize = true): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    const signer = authorize ? keys : generateRelayKeyPair();
    const frame = { t: 'new' as const, corr, recipientKey: keys.publicKey };
    const key = commandKey(signer.secretKey, this.sessionKey, this.sessionKey, keys.publicKey);
    this.send({ ...frame, auth: authenticate(key, authContent(frame)) });
    return reply;
  }

  /** The authenticator of a recipient command on this connection. */
  auth(queue: RawQueue, frame: { t: 'sub' | 'del' | 'ack'; corr: number; msgId?: Uint8Array }): Uint8Array {
    const key = commandKey(queue.secretKey, this.sessionKey, this.sessionKey, queue.publicKey);
    return authenticate(key, authContent({ ...frame, recipientId: queue.recipientId }));
  }

  /** Subscribes to a queue, resolving with the reply. */
  subscribe(queue: RawQueue): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    this.send({ t: 'sub', corr, recipientId: queue.recipientId, auth: this.auth(queue, { t: 'sub', corr }) });
    return reply;
  }

  /** Acknowledges a delivered message, resolving with the reply. */
  ack(queue: RawQueue, msgId: Uint8Array): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    this.send({ t: 'ack', corr, recipientId: queue.recipientId, msgId, auth: this.auth(queue, { t: 'ack', corr, msgId }) });
    return reply;
  }

  /** Sends a body to a queue by its sender id, resolving with the reply. */
  sendTo(senderId: Uint8Array, body: Uint8Array): Promise<RelayFrame> {
    return this.request({ t: 'send', corr: 0, senderId, body });
  }

  /** The body a `msg` frame carries, opened with the queue's delivery key. */
  static open(queue: RawQueue, msg: MsgFrame): Uint8Array {
    return openDelivery(queue.deliveryKey, msg.msgId, msg.ts, msg.body);
  }

  /** `msg` frames received so far. */
  get messages(): MsgFrame[] {
    return this.frames.filter((f): f is MsgFrame => f.t === 'msg');
  }

  /** Waits until `count` `msg` frames have arrived. */
  async waitForMessages(count: number, timeoutMs = 5000): Promise<MsgFrame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out: ${this.messages.length}/${count} messages`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.messages;
  }

  close(): void {
    this.ws.close();
  }
}
