import { WebSocket } from 'ws';
import { sodium } from '../../src/crypto/sodium.js';
import {
  decodeRelayFrame,
  encodeClientFrame,
  signedContent,
  type ClientFrame,
  type MsgFrame,
  type RelayFrame,
} from '../../src/protocol/relay-frames.js';

/** A queue a raw client created, with its signing keys. */
export interface RawQueue {
  recipientId: Uint8Array;
  senderId: Uint8Array;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/**
 * A bare relay client over a real socket for tests: sends any frame (or any bytes), records
 * every frame the relay sends, and waits for particular ones. No reconnects, no buffering.
 */
export class RawClient {
  /** Frames received after `hello`, in order. */
  readonly frames: RelayFrame[] = [];
  readonly closed: Promise<{ code: number }>;
  sessionId: Uint8Array = new Uint8Array();
  private corr = 0;
  private waiters: { match: (f: RelayFrame) => boolean; resolve: (f: RelayFrame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code })));
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const frame = decodeRelayFrame(new Uint8Array(data as Buffer));
      if (frame.t === 'hello') this.sessionId = frame.sessionId;
      else this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
  }

  /** Connects and waits for `hello`. */
  static async connect(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
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

  /** Sends an encoded frame. */
  send(frame: ClientFrame): void {
    this.ws.send(encodeClientFrame(frame));
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

  /** Creates a queue. */
  async newQueue(): Promise<RawQueue> {
    const keys = sodium().crypto_sign_keypair();
    const reply = await this.requestNew(keys);
    if (reply.t !== 'ids') throw new Error(`expected ids, got ${JSON.stringify(reply)}`);
    return { recipientId: reply.recipientId, senderId: reply.senderId, publicKey: keys.publicKey, privateKey: keys.privateKey };
  }

  /** Sends a `new` signed by `keys` (`sign: false`: a signature by another key) and resolves with the reply. */
  async requestNew(keys: { publicKey: Uint8Array; privateKey: Uint8Array }, sign = true): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    const content = signedContent(this.sessionId, { t: 'new', corr, recipientKey: keys.publicKey });
    const signer = sign ? keys.privateKey : sodium().crypto_sign_keypair().privateKey;
    this.send({ t: 'new', corr, recipientKey: keys.publicKey, sig: sodium().crypto_sign_detached(content, signer) });
    return reply;
  }

  /** Signs a recipient command for this connection. */
  sign(queue: RawQueue, frame: { t: 'sub' | 'del' | 'ack'; corr: number; msgId?: Uint8Array }): Uint8Array {
    return sodium().crypto_sign_detached(signedContent(this.sessionId, { ...frame, recipientId: queue.recipientId }), queue.privateKey);
  }

  /** Subscribes to a queue (signed), resolving with the reply. */
  subscribe(queue: RawQueue): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    this.send({ t: 'sub', corr, recipientId: queue.recipientId, sig: this.sign(queue, { t: 'sub', corr }) });
    return reply;
  }

  /** Acknowledges a delivered message (signed), resolving with the reply. */
  ack(queue: RawQueue, msgId: Uint8Array): Promise<RelayFrame> {
    const corr = this.nextCorr();
    const reply = this.next((f) => 'corr' in f && f.corr === corr);
    this.send({ t: 'ack', corr, recipientId: queue.recipientId, msgId, sig: this.sign(queue, { t: 'ack', corr, msgId }) });
    return reply;
  }

  /** Sends a body to a queue by its sender id, resolving with the reply. */
  sendTo(senderId: Uint8Array, body: Uint8Array): Promise<RelayFrame> {
    return this.request({ t: 'send', corr: 0, senderId, body });
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
