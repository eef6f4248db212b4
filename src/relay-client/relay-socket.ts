import { verifyHello } from '../crypto/relay-keys.js';
import { sodium } from '../crypto/sodium.js';
import { SealcallError, type ErrorCode } from '../errors.js';
import {
  decodeRelayBlock,
  type ClientFrame,
  type EndFrame,
  type IdsFrame,
  type MsgFrame,
  type OkFrame,
  type PongFrame,
  type RelayErrorCode,
  type RelayFrame,
  RELAY_LIMITS,
  viewClientFrame,
} from '../protocol/relay-frames.js';
import { pinnedRelayKey, socketUrl } from '../protocol/relay-url.js';
import { WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './websocket-like.js';
import { sendClientBlock } from './websocket-writer.js';

/** Options of {@link RelaySocket.open}. */
export interface RelaySocketOptions {
  /** The relay URL, fingerprint included (checked with `checkRelayUrl`). */
  url: string;
  WebSocket: WebSocketConstructor;
  /** How long opening the socket and receiving `hello` may take. */
  connectTimeoutMs: number;
  /** How often to ping the relay; 0 disables it. */
  pingIntervalMs: number;
  /** How long a ping may go unanswered before the connection counts as dead. */
  pingTimeoutMs: number;
  /** A delivered message. */
  onMessage: (frame: MsgFrame) => void;
  /** Another connection subscribed to one of this connection's queues (SMP's `END`). */
  onEnd: (frame: EndFrame) => void;
  /** The connection ended (not called for a connection that never opened). */
  onClose: (error: SealcallError) => void;
  /** Something odd but harmless: an undecodable frame, a connection-level `err`. */
  onWarning: (error: SealcallError) => void;
}

/** A reply to a request. */
export type RelayReply = IdsFrame | OkFrame | PongFrame;

interface Pending {
  resolve: (reply: RelayReply) => void;
  reject: (error: SealcallError) => void;
}

/**
 * One WebSocket connection to a relay, from `hello` to close: checks that the relay holds the key
 * its URL pins, correlates requests with replies, gathers the requests of one moment into one
 * block, and watches liveness with pings (a browser cannot send WebSocket-level pings, so these
 * are protocol `ping` frames). No reconnects here; {@link RelayLink} makes new ones.
 */
export class RelaySocket {
  private readonly pending = new Map<number, Pending>();
  private outbox: ClientFrame[] = [];
  private corr = 0;
  private ended = false;
  private pinger: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly ws: WebSocketLike,
    /** The relay's X25519 key for this connection, from `hello`: recipient commands are authorized against it. */
    readonly sessionKey: Uint8Array,
    private readonly options: RelaySocketOptions,
  ) {
    ws.onmessage = (event: { data?: unknown }) => this.receive(event.data);
    ws.onclose = () => this.end(new SealcallError('TRANSPORT_CLOSED', 'connection to the relay closed'));
    ws.onerror = () => {}; // a close event follows
    if (options.pingIntervalMs > 0) this.pinger = setInterval(() => this.ping(), options.pingIntervalMs);
  }

  /**
   * Opens a connection and waits for the relay's `hello`. Rejects with `TRANSPORT_CLOSED` (cannot
   * connect, or too slow), `UNSUPPORTED_VERSION` (a relay speaking another protocol version) or
   * `RELAY_KEY_MISMATCH` (the server does not hold the key the URL pins).
   */
  static open(options: RelaySocketOptions): Promise<RelaySocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new options.WebSocket(socketUrl(options.url));
        ws.binaryType = 'arraybuffer';
      } catch (cause) {
        reject(new SealcallError('TRANSPORT_CLOSED', 'cannot open a WebSocket to the relay', { cause }));
        return;
      }
      const fail = (error: SealcallError) => {
        clearTimeout(timer);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch {
          // Closing a socket that never opened may throw in some implementations; it is gone anyway.
        }
        reject(error);
      };
      const timer = setTimeout(() => fail(new SealcallError('TRANSPORT_CLOSED', 'the relay did not answer in time')), options.connectTimeoutMs);
      ws.onerror = () => {};
      ws.onclose = () => fail(new SealcallError('TRANSPORT_CLOSED', 'cannot connect to the relay'));
      ws.onmessage = (event: { data?: unknown }) => {
        let hello: RelayFrame | SealcallError | undefined;
        try {
          const block = decodeRelayBlock(toBytes(event.data));
          hello = block.length === 1 ? block[0] : undefined;
        } catch (error) {
          hello = error instanceof SealcallError ? error : undefined;
        }
        if (hello instanceof SealcallError) return fail(hello);
        if (hello?.t !== 'hello') return fail(new SealcallError('BAD_MESSAGE', 'the relay did not start with hello'));
        const expected = pinnedRelayKey(options.url);
        if (!sodium().memcmp(hello.relayKey, expected) || !verifyHello(hello.relayKey, hello.sessionKey, hello.sig)) {
          return fail(new SealcallError('RELAY_KEY_MISMATCH', "the server does not hold the key the relay URL's fingerprint names"));
        }
        clearTimeout(timer);
        resolve(new RelaySocket(ws, hello.sessionKey, options));
      };
    });
  }

  /** True until the connection ends. */
  get open(): boolean {
    return !this.ended;
  }

  /**
   * Sends the frame `build(corr)` and resolves with the relay's reply. Rejects with the relay's
   * refusal (see {@link relayError}) or `TRANSPORT_CLOSED` if the connection ends first.
   */
  request(build: (corr: number) => ClientFrame): Promise<RelayReply> {
    if (this.ended || this.ws.readyState !== WS_OPEN) {
      return Promise.reject(new SealcallError('TRANSPORT_CLOSED', 'not connected to the relay'));
    }
    this.corr = (this.corr + 1) % 0x1_0000_0000;
    const corr = this.corr;
    const frame = build(corr);
    try {
      // Checked alone first: a frame this build would refuse fails its own request, not its block's.
      viewClientFrame(frame);
    } catch (error) {
      return Promise.reject(error instanceof SealcallError ? error : new SealcallError('INVALID_ARGUMENT', 'invalid relay frame', { cause: error }));
    }
    const reply = new Promise<RelayReply>((resolve, reject) => {
      this.pending.set(corr, { resolve, reject });
      // Requests made in the same moment (the acks of one delivered block) leave as one block.
      if (this.outbox.push(frame) === 1) queueMicrotask(() => this.flush());
      else if (this.outbox.length >= RELAY_LIMITS.maxFramesPerBlock) this.flush();
    });
    // A request the relay never answers (a half-open path, a frozen or misbehaving relay) means
    // this connection is no good: end it, and the link reconnects and resends what was in flight.
    const timer = setTimeout(
      () => this.abort(new SealcallError('TRANSPORT_CLOSED', 'the relay stopped answering')),
      this.options.pingTimeoutMs,
    );
    return reply.finally(() => clearTimeout(timer));
  }

  /** Closes the connection; pending requests reject with `TRANSPORT_CLOSED`. `onClose` is called. */
  close(): void {
    this.abort(new SealcallError('TRANSPORT_CLOSED', 'connection to the relay closed'));
  }

  /** Sends the waiting requests as one block. */
  private flush(): void {
    const frames = this.outbox;
    this.outbox = [];
    if (frames.length === 0 || this.ended) return;
    try {
      // Each frame was checked when it was requested.
      sendClientBlock(this.ws, frames);
    } catch (error) {
      const failure = error instanceof SealcallError ? error : new SealcallError('TRANSPORT_CLOSED', 'cannot send to the relay', { cause: error });
      for (const frame of frames) this.settle(frame.corr)?.reject(failure);
    }
  }

  private receive(data: unknown): void {
    if (this.ended) return;
    let block: (RelayFrame | SealcallError)[];
    try {
      block = decodeRelayBlock(toBytes(data));
    } catch (error) {
      // A relay is not trusted either: a block it garbled is reported and skipped.
      this.options.onWarning(error instanceof SealcallError ? error : new SealcallError('BAD_MESSAGE', 'undecodable relay block'));
      return;
    }
    for (const frame of block) {
      if (this.ended) return;
      if (frame instanceof SealcallError) this.options.onWarning(frame);
      else this.receiveFrame(frame);
    }
  }

  private receiveFrame(frame: RelayFrame): void {
    switch (frame.t) {
      case 'msg':
        try {
          this.options.onMessage(frame);
        } catch (error) {
          // Never let a bug downstream escape into the WebSocket's event dispatch.
          this.options.onWarning(error instanceof SealcallError ? error : new SealcallError('INVALID_STATE', 'message handling failed', { cause: error }));
        }
        return;
      case 'ok':
      case 'ids':
      case 'pong':
        this.settle(frame.corr)?.resolve(frame);
        return;
      case 'err': {
        const error = relayError(frame.code, frame.message);
        const pending = frame.corr === undefined ? undefined : this.settle(frame.corr);
        if (pending) pending.reject(error);
        else this.options.onWarning(error);
        return;
      }
      case 'end':
        this.options.onEnd(frame);
        return;
      case 'hello':
        this.options.onWarning(new SealcallError('BAD_MESSAGE', 'a second hello from the relay'));
    }
  }

  private settle(corr: number): Pending | undefined {
    const pending = this.pending.get(corr);
    this.pending.delete(corr);
    return pending;
  }

  private ping(): void {
    // Unanswered, it times out like any request and ends the connection.
    this.request((corr) => ({ t: 'ping', corr })).catch(() => {});
  }

  /** Ends the connection at once, without waiting for the close handshake. */
  private abort(error: SealcallError): void {
    if (this.ended) return;
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    try {
      this.ws.close(1000);
    } catch {
      // Already closing.
    }
    this.end(error);
  }

  private end(error: SealcallError): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.pinger);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
    this.options.onClose(error);
  }
}

/** The {@link SealcallError} for a relay's `err` code. */
function relayError(code: RelayErrorCode, message: string): SealcallError {
  const codes: Record<RelayErrorCode, ErrorCode> = {
    NO_QUEUE: 'QUEUE_NOT_FOUND',
    QUOTA: 'QUEUE_FULL',
    TOO_LARGE: 'MESSAGE_TOO_LARGE',
    RATE_LIMITED: 'RATE_LIMITED',
    AUTH: 'RELAY_ERROR',
    BAD_FRAME: 'RELAY_ERROR',
    UNSUPPORTED: 'RELAY_ERROR',
  };
  return new SealcallError(codes[code], `relay refused (${code}): ${message.slice(0, 120)}`);
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new SealcallError('BAD_MESSAGE', 'the relay sent a text frame');
}
