import { randomFillSync } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { ready } from '../crypto/sodium.js';
import { SealcallError } from '../errors.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';
import { executeCommand, type CommandContext } from './commands.js';
import { CLOSE, RelayConnection } from './connection.js';
import { CreationLimiter } from './creation-limiter.js';
import { Delivery } from './delivery.js';
import { resolveRelayOptions, type RelayOptions, type RelayStats, type ResolvedRelayOptions } from './options.js';
import { QueueStore } from './queue-store.js';
import { loadSnapshot, SnapshotWriter } from './snapshot.js';

/** Where a relay listens. */
export interface RelayAddress {
  host: string;
  port: number;
  /** `ws://host:port`, what clients connect to (behind TLS, publish the `wss://` URL instead). */
  url: string;
}

/** Options of {@link Relay.listen}. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`; put a TLS-terminating proxy in front for the internet. */
  host?: string;
}

/**
 * An SMP-style store-and-forward relay over WebSocket. A recipient creates a queue and gets two
 * unrelated random ids: one to subscribe with (its commands signed by the Ed25519 key it
 * registered), one to hand to senders, who need no account. Messages are kept until acknowledged,
 * within quotas and a time-to-live, and their bodies are opaque to the relay.
 *
 * ```ts
 * const relay = new Relay({ storePath: '/var/lib/sealcall/relay.store' });
 * const { url } = await relay.listen({ port: 7443, host: '0.0.0.0' });
 * // … later
 * await relay.close();
 * ```
 *
 * Node only (it needs a TCP server and, with `storePath`, the file system).
 */
export class Relay {
  private readonly options: ResolvedRelayOptions;
  private readonly store: QueueStore;
  private readonly delivery: Delivery;
  private readonly context: CommandContext;
  private readonly connections = new Set<RelayConnection>();
  private readonly counters = { messagesReceived: 0, messagesDelivered: 0, bytesStored: 0 };
  private server: WebSocketServer | undefined;
  private writer: SnapshotWriter | undefined;
  private timers: ReturnType<typeof setInterval>[] = [];
  private state: 'idle' | 'starting' | 'listening' | 'closing' | 'closed' = 'idle';
  private closing: Promise<void> | undefined;
  private starting: Promise<RelayAddress> | undefined;
  private bound: RelayAddress | undefined;
  private drained: (() => void) | undefined;

  constructor(options: RelayOptions = {}) {
    this.options = resolveRelayOptions(options);
    // Node's CSPRNG: a queue store draws a message id per stored message, and libsodium's
    // randombytes_buf through WebAssembly cost ~40 µs a call here, Node's ~2 µs (BENCHMARKS.md).
    this.store = new QueueStore(
      (n) => randomFillSync(new Uint8Array(n)),
      () => this.writer?.schedule(),
    );
    this.delivery = new Delivery(this.store, this.options, () => this.counters.messagesDelivered++);
    this.context = {
      store: this.store,
      delivery: this.delivery,
      options: this.options,
      counters: this.counters,
      creations: new CreationLimiter(this.options.maxQueuesPerAddressPerHour),
    };
  }

  /** Where the relay listens, once `listen` resolved. */
  get address(): RelayAddress | undefined {
    return this.bound;
  }

  /** Current counters (a fresh object). */
  get stats(): RelayStats {
    return {
      connections: this.connections.size,
      queues: this.store.size,
      messagesReceived: this.counters.messagesReceived,
      messagesDelivered: this.counters.messagesDelivered,
      bytesStored: this.counters.bytesStored,
      bytesQueued: this.store.bytesQueued,
    };
  }

  /**
   * Loads the store (with `storePath`) and starts accepting connections. Throws
   * `RELAY_LISTEN_FAILED` (port taken, bad host), `RELAY_STORE_FAILED` (unreadable or corrupt
   * store) or `INVALID_STATE` (already started; a relay listens once).
   */
  listen(options: ListenOptions = {}): Promise<RelayAddress> {
    if (this.state !== 'idle') return Promise.reject(new SealcallError('INVALID_STATE', 'a relay listens only once'));
    this.state = 'starting';
    this.starting = this.start(options);
    return this.starting;
  }

  /**
   * Removes expired messages, and queues their recipient has not used for `queueIdleTtlMs` and
   * nobody is subscribed to, now (the sweep timer does this periodically). Returns how many
   * messages expired.
   */
  sweep(): number {
    const now = this.options.now();
    const expired = this.store.expire(now - this.options.messageTtlMs, (queue, message) => this.delivery.removed(queue, message));
    const idle = this.store.expireIdle(
      now - this.options.queueIdleTtlMs,
      (queue) => this.delivery.isSubscribed(queue),
      (queue) => this.delivery.deleted(queue),
    );
    if (expired > 0 || idle > 0) this.options.logger('swept', { expired, queues: idle });
    return expired;
  }

  /**
   * Stops accepting connections, closes every client with 1001 (dropping those that do not
   * answer within `closeGraceMs`), and writes the store. Safe to call more than once. Throws
   * `RELAY_STORE_FAILED` if the final snapshot cannot be written (the relay is closed anyway).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------

  private async start(options: ListenOptions): Promise<RelayAddress> {
    const { port = 0, host = '127.0.0.1' } = options;
    try {
      await ready();
      const path = this.options.storePath;
      if (path !== undefined) {
        const records = await loadSnapshot(path);
        if (records) {
          this.store.restore(records, this.options.now());
          const messages = records.reduce((n, q) => n + q.messages.length, 0);
          this.options.logger('store-loaded', { queues: this.store.size, messages });
        }
        this.writer = new SnapshotWriter(path, this.options.persistDebounceMs, () => this.store.toRecords(), this.options.logger);
      }
      this.server = await startServer(port, host, this.options.maxPayload);
    } catch (error) {
      this.state = 'closed';
      throw error;
    }
    this.server.on('connection', (ws, request) => this.accept(ws, request.socket.remoteAddress ?? 'unknown'));
    // Errors of the listening socket after startup are logged; each client's are its own.
    this.server.on('error', () => this.options.logger('server-error'));
    const address = this.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    this.bound = { host, port: actualPort, url: `ws://${host.includes(':') ? `[${host}]` : host}:${actualPort}` };
    this.startTimers();
    this.state = 'listening';
    this.options.logger('listening', { port: actualPort });
    return this.bound;
  }

  private accept(ws: WebSocket, address: string): void {
    // ws reports protocol violations (bad opcodes, oversized messages) as 'error' and then closes
    // the socket; without a listener they would crash the process.
    ws.on('error', () => {});
    if (this.state !== 'listening') {
      ws.close(CLOSE.goingAway, 'relay shutting down');
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      this.options.logger('too-many-connections');
      ws.close(CLOSE.tryAgainLater, 'too many connections');
      return;
    }
    const sessionId = randomFillSync(new Uint8Array(RELAY_LIMITS.sessionIdBytes));
    // Exceptions from a command are caught by the connection: they drop that client only.
    const connection = new RelayConnection(ws, sessionId, address, this.options, (c, frame) => executeCommand(this.context, c, frame));
    this.connections.add(connection);
    this.options.logger('connection', { connections: this.connections.size });
    ws.on('close', (code) => {
      this.connections.delete(connection);
      this.delivery.disconnected(connection);
      this.options.logger('disconnect', { connections: this.connections.size, code });
      if (this.connections.size === 0) this.drained?.();
    });
  }

  private startTimers(): void {
    const sweep = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    sweep.unref();
    this.timers.push(sweep);
    if (this.options.heartbeatMs > 0) {
      const heartbeat = setInterval(() => {
        for (const connection of this.connections) {
          // No pong since the last ping: the peer or the path is dead (half-open TCP).
          if (!connection.alive) connection.terminate();
          else {
            connection.alive = false;
            connection.ping();
          }
        }
      }, this.options.heartbeatMs);
      heartbeat.unref();
      this.timers.push(heartbeat);
    }
  }

  private async shutdown(): Promise<void> {
    // Closing while `listen` is still loading the store: let it finish, then close normally.
    await this.starting?.catch(() => {});
    if (this.state === 'idle' || this.state === 'closed') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    const server = this.server!;
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.connections.size > 0) {
      const drained = new Promise<void>((resolve) => (this.drained = resolve));
      for (const connection of this.connections) connection.close(CLOSE.goingAway, 'relay shutting down');
      let grace: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => (grace = setTimeout(resolve, this.options.closeGraceMs)));
      await Promise.race([drained, timeout]);
      clearTimeout(grace);
      for (const connection of [...this.connections]) connection.terminate();
    }
    await serverClosed;
    this.state = 'closed';
    this.options.logger('closed');
    await this.writer?.flush();
  }
}

/** Starts a WebSocket server; rejects with `RELAY_LISTEN_FAILED`. */
function startServer(port: number, host: string, maxPayload: number): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    let server: WebSocketServer;
    try {
      // No permessage-deflate: bodies are ciphertext (incompressible) and inflating untrusted
      // input is a memory-exhaustion risk.
      server = new WebSocketServer({ port, host, maxPayload, perMessageDeflate: false, clientTracking: false });
    } catch (cause) {
      reject(new SealcallError('RELAY_LISTEN_FAILED', `cannot listen on ${host}:${port}`, { cause }));
      return;
    }
    const onError = (cause: Error) => {
      server.close();
      reject(new SealcallError('RELAY_LISTEN_FAILED', `cannot listen on ${host}:${port}`, { cause }));
    };
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}
