import { SealcallError, isSealcallError } from '../errors.js';
import type { ClientFrame, EndFrame, MsgFrame } from '../protocol/relay-frames.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { RelaySocket, type RelayReply } from './relay-socket.js';
import type { WebSocketConstructor } from './websocket-like.js';

/** Connection state of a relay link (and of the transport, which reports its own relay's). */
export type TransportStatus = 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** Options of {@link RelayLink}. */
export interface RelayLinkOptions {
  url: string;
  WebSocket: WebSocketConstructor;
  maxReconnectAttempts: number;
  backoff: BackoffOptions;
  /** Sends held while not connected; more reject with `TRANSPORT_BUFFER_FULL`. */
  maxBuffered: number;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /**
   * Runs on every new connection before held sends flow (the transport subscribes here). A
   * rejection other than `TRANSPORT_CLOSED` or `RATE_LIMITED` is fatal: the link fails.
   */
  onConnect?: (socket: RelaySocket) => Promise<void>;
  /** A delivered message, with the connection it came on (acknowledge on that one). */
  onMessage?: (frame: MsgFrame, socket: RelaySocket) => void;
  /** The relay says another connection took one of this connection's subscriptions over. */
  onEnd?: (frame: EndFrame, socket: RelaySocket) => void;
  onStatus: (status: TransportStatus, error?: SealcallError) => void;
  onWarning: (error: SealcallError) => void;
}

interface Outgoing {
  build: (corr: number) => ClientFrame;
  resolve: (reply: RelayReply) => void;
  reject: (error: SealcallError) => void;
  /** The connection it was last sent on; undefined while it waits for one. */
  sentOn: RelaySocket | undefined;
}

/** Errors after which reconnecting cannot help. */
const FATAL: readonly string[] = ['UNSUPPORTED_VERSION', 'QUEUE_NOT_FOUND', 'RELAY_ERROR', 'RELAY_KEY_MISMATCH'];

/**
 * A resilient connection to one relay: reconnects with exponential backoff and full jitter,
 * holds sends while disconnected (bounded) and sends them in order once connected again — also
 * those that were in flight when the connection dropped, since their `ok` never came — and fails
 * for good after `maxReconnectAttempts`.
 */
export class RelayLink {
  private state: TransportStatus = 'connecting';
  private socket: RelaySocket | undefined;
  private readonly outgoing: Outgoing[] = [];
  private failure: SealcallError | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: RelayLinkOptions) {}

  /** The link's state. */
  get status(): TransportStatus {
    return this.state;
  }

  /** The live connection, when connected. */
  get current(): RelaySocket | undefined {
    return this.state === 'connected' ? this.socket : undefined;
  }

  /** Sends held or in flight. */
  get backlog(): number {
    return this.outgoing.length;
  }

  /**
   * Connects once, without retrying: resolves when connected (and `onConnect` has run), rejects
   * with `RELAY_UNREACHABLE` or a fatal error, after which the link is failed.
   */
  async start(): Promise<void> {
    try {
      await this.adopt(await this.openSocket());
    } catch (error) {
      const failure = isSealcallError(error) && FATAL.includes(error.code)
        ? error
        : new SealcallError('RELAY_UNREACHABLE', 'cannot connect to the relay', { cause: error });
      this.fail(failure);
      throw failure;
    }
  }

  /** Connects in the background, retrying like a reconnect; sends are held meanwhile. */
  startInBackground(): void {
    void this.reconnect(undefined);
  }

  /**
   * Sends `build(corr)` once connected and resolves with the relay's reply. While disconnected the
   * frame waits (at most `maxBuffered` of them); if the connection drops before the reply, it is
   * sent again on the next one, so a frame may reach the relay twice but is never lost.
   */
  send(build: (corr: number) => ClientFrame): Promise<RelayReply> {
    if (this.closed) return Promise.reject(new SealcallError('TRANSPORT_CLOSED', 'transport is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.state !== 'connected' && this.outgoing.length >= this.options.maxBuffered) {
      return Promise.reject(
        new SealcallError('TRANSPORT_BUFFER_FULL', `${this.options.maxBuffered} messages are already waiting for the relay`),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Outgoing = { build, resolve, reject, sentOn: undefined };
      this.outgoing.push(entry);
      const socket = this.current;
      if (socket) this.dispatch(entry, socket);
    });
  }

  /** Closes the connection for good; held sends reject with `TRANSPORT_CLOSED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wakeUp();
    this.socket?.close();
    this.socket = undefined;
    this.rejectAll(new SealcallError('TRANSPORT_CLOSED', 'transport is closed'));
  }

  // ---------------------------------------------------------------------------------------------

  private openSocket(): Promise<RelaySocket> {
    let self: RelaySocket | undefined;
    const { url, WebSocket, connectTimeoutMs, pingIntervalMs, pingTimeoutMs } = this.options;
    const opening = RelaySocket.open({
      url,
      WebSocket,
      connectTimeoutMs,
      pingIntervalMs,
      pingTimeoutMs,
      // Messages may arrive while `onConnect` still runs (right after `sub`), before the socket
      // is current: hand over the socket itself.
      onMessage: (frame) => {
        if (self) this.options.onMessage?.(frame, self);
      },
      onEnd: (frame) => {
        if (self) this.options.onEnd?.(frame, self);
      },
      onWarning: (error) => this.options.onWarning(error),
      onClose: (error) => {
        // Only the adopted, connected socket triggers a reconnect; one that dies while being
        // adopted makes `adopt` throw instead.
        if (self && self === this.socket && this.state === 'connected' && !this.closed) void this.reconnect(error);
      },
    });
    return opening.then((socket) => (self = socket));
  }

  /** Runs `onConnect` on a fresh socket, then makes it current and sends what is waiting. */
  private async adopt(socket: RelaySocket): Promise<void> {
    if (this.closed) {
      socket.close();
      return;
    }
    this.socket = socket;
    try {
      await this.options.onConnect?.(socket);
    } catch (error) {
      socket.close();
      throw error;
    }
    if (!socket.open) throw new SealcallError('TRANSPORT_CLOSED', 'connection closed while subscribing');
    if (this.closed) {
      socket.close();
      return;
    }
    this.setState('connected');
    for (const entry of this.outgoing) if (entry.sentOn !== socket) this.dispatch(entry, socket);
  }

  private dispatch(entry: Outgoing, socket: RelaySocket): void {
    entry.sentOn = socket;
    socket.request(entry.build).then(
      (reply) => {
        this.remove(entry);
        entry.resolve(reply);
      },
      (error: SealcallError) => {
        if (error.code === 'TRANSPORT_CLOSED' && !this.closed && !this.failure) {
          // No reply: the relay may or may not have it. Send it again on the next connection.
          if (entry.sentOn === socket) entry.sentOn = undefined;
          return;
        }
        this.remove(entry);
        entry.reject(error);
      },
    );
  }

  private async reconnect(cause: SealcallError | undefined): Promise<void> {
    if (this.closed || this.failure) return;
    this.socket = undefined;
    if (this.state !== 'connecting') this.setState('reconnecting', cause);
    let last: unknown = cause;
    for (let attempt = 0; attempt < this.options.maxReconnectAttempts; attempt++) {
      await this.sleep(backoffDelay(attempt, this.options.backoff));
      if (this.closed) return;
      try {
        await this.adopt(await this.openSocket());
        return;
      } catch (error) {
        if (this.closed) return;
        if (!isSealcallError(error) || FATAL.includes(error.code)) {
          this.fail(isSealcallError(error) ? error : new SealcallError('RELAY_ERROR', 'unexpected error while reconnecting', { cause: error }));
          return;
        }
        last = error;
      }
    }
    this.fail(
      new SealcallError('RELAY_UNREACHABLE', `relay unreachable after ${this.options.maxReconnectAttempts} reconnect attempts`, {
        cause: last,
      }),
    );
  }

  /**
   * Gives up for good with `error` (also when the caller learns that reconnecting cannot help):
   * closes the connection, rejects what is held or in flight, and reports `failed`.
   */
  fail(error: SealcallError): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    this.socket?.close();
    this.socket = undefined;
    this.rejectAll(error);
    this.setState('failed', error);
  }

  private setState(state: TransportStatus, error?: SealcallError): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onStatus(state, error);
  }

  private remove(entry: Outgoing): void {
    const index = this.outgoing.indexOf(entry);
    if (index >= 0) this.outgoing.splice(index, 1);
  }

  private rejectAll(error: SealcallError): void {
    for (const entry of this.outgoing.splice(0)) entry.reject(error);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private wakeUp(): void {
    clearTimeout(this.sleepTimer);
    this.wake?.();
  }
}
