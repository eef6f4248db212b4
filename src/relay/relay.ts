import { randomFillSync } from 'node:crypto';
import { createServer as createHttpServer, STATUS_CODES, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import { ready } from '../crypto/sodium.js';
import { SealcallError } from '../errors.js';
import { generateRelayKeyPair } from '../crypto/relay-keys.js';
import { withFingerprint } from '../protocol/relay-url.js';
import { ByteSlots } from './byte-slots.js';
import { executeCommand, type CommandContext } from './commands.js';
import { CLOSE, CONNECTION_KEY_BYTES, RelayConnection, type ConnectionEvents } from './connection.js';
import { CreationLimiter } from './creation-limiter.js';
import { Delivery } from './delivery.js';
import { Heartbeat } from './heartbeat.js';
import { resolveRelayOptions, type RelayOptions, type RelayStats, type ResolvedRelayOptions } from './options.js';
import { MemoryRelayStore } from './memory-store.js';
import { RedisRelayStore } from './redis-store.js';
import type { RelayStore } from './relay-store.js';

/** Where a relay listens. */
export interface RelayAddress {
  host: string;
  port: number;
  /**
   * What clients connect to, the relay key's fingerprint included: `wss://<fingerprint>@host:port`
   * with {@link ListenOptions.tls}, else `ws://<fingerprint>@host:port` (behind a TLS-terminating
   * proxy, publish the proxy's `wss://` URL with the same fingerprint instead).
   */
  url: string;
}

/** The relay's certificate and key, for serving `wss://` (see {@link ListenOptions.tls}). */
export interface RelayTlsOptions {
  /**
   * The certificate in PEM (`-----BEGIN CERTIFICATE-----`), followed by any intermediate
   * certificates clients need to reach a root they trust.
   */
  cert: string | Uint8Array;
  /** The certificate's private key in PEM, unencrypted (`-----BEGIN PRIVATE KEY-----`). */
  key: string | Uint8Array;
}

/** Options of {@link Relay.listen}. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /**
   * Interface to bind. Default `127.0.0.1`; for the internet, bind a public interface with `tls`,
   * or keep the default behind a TLS-terminating proxy.
   */
  host?: string;
  /**
   * Serve `wss://` (WebSocket over TLS) with this certificate instead of plain `ws://`. A
   * certificate or key that is not valid PEM, or a key that does not match the certificate,
   * fails `listen` with `RELAY_LISTEN_FAILED`.
   */
  tls?: RelayTlsOptions;
}

/**
 * An SMP-style store-and-forward relay over WebSocket. A recipient creates a queue and gets two
 * unrelated random ids: one to subscribe with (its commands authorized with the X25519 key it
 * registered), one to hand to senders, who need no account. Messages are kept until acknowledged,
 * within quotas and a time-to-live, and their bodies are opaque to the relay, which re-encrypts
 * them for the recipient on the way out. The relay has a long-term Ed25519 key, kept in its store
 * (so processes sharing a store share it): the URL `listen` returns carries its fingerprint
 * (`ws://<fingerprint>@host:port`) and clients refuse a server that cannot prove it holds it.
 *
 * ```ts
 * const relay = new Relay({ storePath: '/var/lib/sealcall/relay.store' });
 * const tls = { cert: readFileSync('relay-cert.pem'), key: readFileSync('relay-key.pem') };
 * const { url } = await relay.listen({ port: 7443, host: '0.0.0.0', tls }); // wss://<fingerprint>@0.0.0.0:7443
 * // … later
 * await relay.close();
 * ```
 *
 * Without `tls` it serves plain `ws://`: for 127.0.0.1, or behind a TLS-terminating proxy. A
 * Node client trusts a self-signed certificate with a `ws` WebSocket that passes it as `ca`:
 *
 * ```ts
 * const ca = readFileSync('relay-cert.pem');
 * class RelayWebSocket extends WebSocket { constructor(url: string) { super(url, { ca }); } }
 * const transport = await WebSocketTransport.connect({ url, identity, WebSocket: RelayWebSocket });
 * ```
 *
 * Node only (it needs a TCP server and, with `storePath`, the file system).
 */
export class Relay {
  private readonly options: ResolvedRelayOptions;
  private readonly connections = new Set<RelayConnection>();
  /** Open connections per client address, for `maxConnectionsPerAddress` (addresses with none are removed). */
  private readonly connectionsByAddress = new Map<string, number>();
  /** Every connection's session secret and first command key. */
  private readonly keySlots = new ByteSlots(CONNECTION_KEY_BYTES);
  private readonly counters = { messagesReceived: 0, messagesDelivered: 0, bytesStored: 0 };
  private readonly creations: CreationLimiter;
  /** The queues and the relay's identity; opened by `listen`. */
  private store: RelayStore | undefined;
  private delivery: Delivery | undefined;
  private context: CommandContext | undefined;
  private server: WebSocketServer | undefined;
  private timers: ReturnType<typeof setInterval>[] = [];
  private heartbeat: Heartbeat | undefined;
  private state: 'idle' | 'starting' | 'listening' | 'closing' | 'closed' = 'idle';
  private closing: Promise<void> | undefined;
  private starting: Promise<RelayAddress> | undefined;
  private bound: RelayAddress | undefined;
  private drained: (() => void) | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(options: RelayOptions = {}) {
    this.options = resolveRelayOptions(options);
    this.creations = new CreationLimiter(this.options.maxQueuesPerAddressPerHour);
  }

  /** Where the relay listens, once `listen` resolved. */
  get address(): RelayAddress | undefined {
    return this.bound;
  }

  /** Current counters (a fresh object). */
  get stats(): RelayStats {
    return {
      connections: this.connections.size,
      queues: this.store?.size ?? 0,
      messagesReceived: this.counters.messagesReceived,
      messagesDelivered: this.counters.messagesDelivered,
      bytesStored: this.counters.bytesStored,
      bytesQueued: this.store?.bytesQueued ?? 0,
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
   * nobody is subscribed to, now (the sweep timer does this periodically), and looks for
   * messages whose arrival notice a shared store may have lost. Resolves with how many messages
   * expired (0 before `listen`). The embedded store sweeps a slice per event-loop turn; a call
   * while a sweep runs gets that sweep's result.
   */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const { store, delivery } = this;
    if (!store || !delivery) return 0;
    const now = this.options.now();
    // A subscribed queue is in use: in a shared store, other processes learn it from this touch.
    for (const queue of delivery.subscribedQueues()) store.touch(queue, now);
    const { expired, queues } = await store.sweep(now - this.options.messageTtlMs, now - this.options.queueIdleTtlMs, (key) =>
      delivery.isSubscribed(key),
    );
    delivery.pumpAll();
    if (expired > 0 || queues > 0) this.options.logger('swept', { expired, queues });
    return expired;
  }

  /**
   * Stops accepting connections, closes every client with 1001 (dropping those that do not
   * answer within `closeGraceMs`), and writes the store. Safe to call more than once. Throws
   * `RELAY_STORE_FAILED` if the store's last changes cannot be written (the relay is closed anyway).
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
      this.store = await this.openStore();
      this.delivery = new Delivery(
        this.store,
        this.options,
        () => this.counters.messagesDelivered++,
        (subscriber) => this.closeForRetry(subscriber as RelayConnection),
      );
      this.context = { store: this.store, delivery: this.delivery, options: this.options, counters: this.counters, creations: this.creations };
      this.server = await startServer(port, host, this.options.maxPayload, options.tls);
    } catch (error) {
      this.state = 'closed';
      await this.store?.close().catch(() => {});
      throw error;
    }
    this.server.on('connection', (ws, request) => this.accept(ws, request.socket.remoteAddress ?? 'unknown'));
    // Errors of the listening socket after startup are logged; each client's are its own.
    this.server.on('error', () => this.options.logger('server-error'));
    const address = this.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const scheme = options.tls ? 'wss' : 'ws';
    const url = withFingerprint(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`, this.store.identity.publicKey);
    this.bound = { host, port: actualPort, url };
    this.startTimers();
    this.state = 'listening';
    this.options.logger('listening', { port: actualPort });
    return this.bound;
  }

  private accept(ws: WebSocket, address: string): void {
    ws.on('error', ignore);
    if (this.state !== 'listening') {
      ws.close(CLOSE.goingAway, 'relay shutting down');
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      this.options.logger('too-many-connections', { scope: 'relay' });
      ws.close(CLOSE.tryAgainLater, 'too many connections');
      return;
    }
    const fromAddress = this.connectionsByAddress.get(address) ?? 0;
    if (fromAddress >= this.options.maxConnectionsPerAddress) {
      this.options.logger('too-many-connections', { scope: 'address' });
      ws.close(CLOSE.tryAgainLater, 'too many connections from this address');
      return;
    }
    const connection = new RelayConnection(ws, generateRelayKeyPair(), address, this.options, this.store!.identity, this.connectionEvents, this.keySlots);
    this.connections.add(connection);
    this.connectionsByAddress.set(address, fromAddress + 1);
    this.options.logger('connection', { connections: this.connections.size });
  }

  /** What every connection tells this relay. */
  private readonly connectionEvents: ConnectionEvents = {
    // A command that throws is a bug, caught by the connection (it drops that client only); one
    // that rejects met a shared store out of reach: the client is told to retry.
    frame: (connection, frame) => {
      const done = executeCommand(this.context!, connection, frame);
      if (done instanceof Promise) done.catch(() => this.closeForRetry(connection));
    },
    closed: (connection, code) => {
      if (this.connections.delete(connection)) {
        const fromAddress = this.connectionsByAddress.get(connection.address) ?? 1;
        if (fromAddress > 1) this.connectionsByAddress.set(connection.address, fromAddress - 1);
        else this.connectionsByAddress.delete(connection.address);
      }
      this.delivery!.disconnected(connection);
      this.options.logger('disconnect', { connections: this.connections.size, code });
      if (this.connections.size === 0) this.drained?.();
    },
  };

  private startTimers(): void {
    const sweep = setInterval(() => {
      this.sweep().catch(() => this.options.logger('sweep-failed'));
    }, this.options.sweepIntervalMs);
    sweep.unref();
    this.timers.push(sweep);
    if (this.options.heartbeatMs > 0) this.heartbeat = new Heartbeat(() => this.connections, this.options.heartbeatMs);
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
    this.heartbeat?.stop();
    this.timers = [];
    const server = this.server!;
    const serverClosed = closeServer(server);
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
    await this.store?.close();
  }

  private openStore(): Promise<RelayStore> {
    const { redisUrl, storePath, persistDebounceMs, logger } = this.options;
    if (redisUrl !== undefined) return RedisRelayStore.open({ url: redisUrl, logger, onResume: () => this.delivery?.pumpAll() });
    return MemoryRelayStore.open({ path: storePath, debounceMs: persistDebounceMs, logger, random: (n) => randomFillSync(new Uint8Array(n)) });
  }

  /**
   * A command or a delivery failed without a reply (a shared store out of reach): the client is
   * told to come back later (1013) and, reconnecting, sends again what got no reply and is
   * delivered again what it did not acknowledge.
   */
  private closeForRetry(connection: RelayConnection): void {
    this.options.logger('command-failed');
    connection.close(CLOSE.tryAgainLater, 'store unavailable');
  }
}

/**
 * Starts a WebSocket server on an HTTP server of its own, HTTPS with `tls`; rejects with
 * `RELAY_LISTEN_FAILED`. {@link closeServer} closes both.
 */
/** ws reports protocol violations as 'error' and then closes the socket; unheard, they would crash the process. */
const ignore = (): void => {};

function startServer(port: number, host: string, maxPayload: number, tls: RelayTlsOptions | undefined): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    let httpServer: HttpServer | HttpsServer;
    try {
      // Node parses the PEM here: a malformed certificate or key, or a mismatched pair, throws.
      httpServer = tls
        ? createHttpsServer({ cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) }, upgradeRequired)
        : createHttpServer(upgradeRequired);
    } catch (cause) {
      reject(new SealcallError('RELAY_LISTEN_FAILED', `invalid TLS certificate or key: ${(cause as Error).message}`, { cause }));
      return;
    }
    // No permessage-deflate: bodies are ciphertext (incompressible) and inflating untrusted
    // input is a memory-exhaustion risk.
    const server = new WebSocketServer({ server: httpServer, maxPayload, perMessageDeflate: false, clientTracking: false });
    // ws re-emits the HTTP server's 'listening' and 'error' (and would throw an 'error' nobody listens to).
    const onError = (cause: Error) => {
      server.close();
      reject(new SealcallError('RELAY_LISTEN_FAILED', `cannot listen on ${host}:${port}`, { cause }));
    };
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server);
    });
    try {
      httpServer.listen(port, host);
    } catch (cause) {
      onError(cause as Error); // a port out of range throws instead of emitting 'error'
    }
  });
}

/** Closes `server` and its HTTP(S) server, which ws leaves open; resolves once every connection has ended. */
function closeServer(server: WebSocketServer): Promise<void> {
  const httpServer = server.options.server!;
  server.close();
  return new Promise((resolve) => httpServer.close(() => resolve()));
}

/** What the HTTP server `ws` would create answers a plain request (not an upgrade) with. */
const upgradeRequired: RequestListener = (_request, response) => {
  const body = STATUS_CODES[426]!;
  response.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
  response.end(body);
};
