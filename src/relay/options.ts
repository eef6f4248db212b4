import { SealcallError } from '../errors.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';

/**
 * What the relay reports to its logger: event names and counts, never payloads, ids or keys.
 *
 * - `listening` {port}, `closed`
 * - `connection` {connections}, `disconnect` {connections, code}
 * - `bad-frame` {badFrames}, `rate-limited` {strikes}, `slow-client` {bufferedBytes},
 *   `too-many-connections` {scope: `relay` or `address`}, `abusive-client` {reason}
 * - `store-loaded` {queues, messages}: the store was read at `listen`
 * - `store-appended` {records, bytes}: changes written to the store's log
 * - `store-compacted` {queues, messages, bytes}: the log rewritten with only live data
 * - `store-failed` {stage: `append` or `compaction`}: a write failed; its changes are kept and
 *   the next change retries (a failed compaction leaves the old log in use)
 * - `swept` {expired, queues}: expired messages and idle queues deleted; `sweep-failed`
 * - `store-error`: the connection to Redis failed (it reconnects by itself)
 * - `command-failed`: a command got no reply (usually a shared store out of reach); its client
 *   was closed with 1013 and will send it again; `internal-error`: a bug dropped one client
 */
export type RelayLogger = (event: string, details?: Record<string, number | string>) => void;

/** Options of {@link Relay}; every one has a default. */
export interface RelayOptions {
  /**
   * Largest message body accepted by `send`, in bytes. Default 70 KiB: a 64 KiB envelope (the
   * largest padding bucket) plus the 80-byte sealed-sender header, with room to spare. At most
   * 1 MiB − 1 KiB.
   */
  maxMessageBytes?: number;
  /**
   * Largest WebSocket message accepted at all; a bigger one closes the connection (1009) before
   * it is read. Default `maxMessageBytes + 1024`, so a body slightly over the limit gets a
   * `TOO_LARGE` reply instead. At most 1 MiB.
   */
  maxPayload?: number;
  /** Most unacknowledged messages a queue holds; a `send` beyond gets `QUOTA`. Default 1,000. */
  maxMessagesPerQueue?: number;
  /**
   * Most body bytes a queue holds unacknowledged; a `send` beyond gets `QUOTA`. Default 8 MiB
   * (a thousand 3 KiB envelopes with room to spare).
   */
  maxBytesPerQueue?: number;
  /** Most body bytes the relay holds in all queues together; a `send` beyond gets `QUOTA`. Default 1 GiB. */
  maxStoredBytes?: number;
  /** How long an unacknowledged message is kept, in ms. Default 24 h; expired ones are never delivered. */
  messageTtlMs?: number;
  /**
   * How long a queue lives unused by its recipient (no `sub`, `ack` or `del`, and nobody
   * subscribed), in ms; then it is deleted with its messages and senders get `NO_QUEUE`. Default
   * 30 days. At least 10 minutes with `redisUrl`: relay processes sharing a store record a
   * queue's use there about once a minute, and one process's sweep must not take a queue another
   * serves for idle.
   */
  queueIdleTtlMs?: number;
  /**
   * How often expired messages and idle queues are swept, in ms. Default 60 s (an unref'd timer).
   * The embedded store sweeps a slice per event-loop turn, so a relay holding many messages keeps
   * serving meanwhile.
   */
  sweepIntervalMs?: number;
  /** Most queues one connection may create; more get `QUOTA`. Default 100. */
  maxQueuesPerConnection?: number;
  /** Most queues on the relay; more get `QUOTA`. Default 100,000. */
  maxQueues?: number;
  /**
   * Most queue creations attempted from one client IP address per hour, whatever the connections
   * (refused ones count too: checking a `new` costs the relay an X25519); more get `QUOTA`.
   * Default 1,000 (a relay behind a proxy sees the proxy's address: raise it there).
   */
  maxQueuesPerAddressPerHour?: number;
  /** Most simultaneous connections; more are closed at once with 1013. Default 10,000. */
  maxConnections?: number;
  /**
   * Most simultaneous connections from one client IP address; more are closed at once with 1013,
   * so that one address cannot take every slot of `maxConnections`. Default a quarter of
   * `maxConnections` (2,500): room for many users behind one NAT, each with a receive and a send
   * connection (a relay behind a proxy sees the proxy's address: raise it there).
   */
  maxConnectionsPerAddress?: number;
  /** Messages delivered to a subscriber and not yet acknowledged, per queue. Default 16. */
  maxInFlight?: number;
  /** Frames per second a connection may send, on average (token bucket refill). Default 500. */
  rateLimitPerSecond?: number;
  /** Frames a connection may send in one burst (token bucket size). Default 1,000. */
  rateLimitBurst?: number;
  /**
   * Frames refused with `RATE_LIMITED` in a row after which the connection is closed (1008).
   * Default 100.
   */
  maxRateLimitStrikes?: number;
  /** Malformed or unknown frames after which a connection is closed (1008). Default 10. */
  maxBadFrames?: number;
  /**
   * Bytes queued in a connection's socket (ws `bufferedAmount`) beyond which the client counts as
   * too slow and is dropped. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * How often each connection is pinged (the pings of a round spread over half the interval); one that
   * did not answer its previous ping is dropped. 0: never. Default 30 s.
   */
  heartbeatMs?: number;
  /**
   * File where the relay's identity, its queues and their unacknowledged messages are kept across
   * restarts, created (mode 0600) if missing. An append-only log: each change is appended
   * `persistDebounceMs` after it (and at `close`), at a cost in proportion to the change, and the file is compacted
   * (rewritten with only live data, temp file + rename) once it is over 1 MiB and twice the live
   * data. Loaded at `listen`; a torn last write is cut off, other damage, or a store of an older
   * relay version, fails `listen` with `RELAY_STORE_FAILED`. One relay at a time per file.
   * Default: none (memory only; a restart loses every queue and message, and the identity).
   */
  storePath?: string;
  /**
   * Keep queues, messages and the relay's identity in Redis (or Valkey) at this URL,
   * `redis://[user:password@]host:port[/db]` or `rediss://…`, instead of in this process. Every
   * relay process given the same URL serves the same queues under the same identity (and so the
   * same relay URL fingerprint): put them behind one address, and when one dies its clients
   * reconnect to another with nothing lost. Arrival notices travel over Redis pub/sub. Excludes
   * `storePath`; Redis's own persistence setting decides what survives a Redis restart.
   */
  redisUrl?: string;
  /**
   * Delay between a change and its write to the store, in ms. Changes within it are written
   * together (one write, one fsync); a crash loses at most this window of accepted messages (more
   * while a compaction runs). Default 200 ms.
   */
  persistDebounceMs?: number;
  /** How long `close()` waits for clients to answer the 1001 close before dropping them. Default 1 s. */
  closeGraceMs?: number;
  /** Receives events and counts (never payloads or ids). Default: silent. */
  logger?: RelayLogger;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Options with every default applied. */
export type ResolvedRelayOptions = Required<Omit<RelayOptions, 'storePath' | 'redisUrl'>> & {
  storePath: string | undefined;
  redisUrl: string | undefined;
};

const DEFAULT_MAX_MESSAGE_BYTES = 70 * 1024;
/** See {@link RelayOptions.queueIdleTtlMs}: well above how often a shared store hears of a queue's use. */
const MIN_SHARED_IDLE_TTL_MS = 10 * 60 * 1000;

/** Applies defaults and checks ranges; throws `INVALID_ARGUMENT`. */
export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const resolved: ResolvedRelayOptions = {
    maxMessageBytes,
    maxPayload: options.maxPayload ?? maxMessageBytes + 1024,
    maxMessagesPerQueue: options.maxMessagesPerQueue ?? 1000,
    maxBytesPerQueue: options.maxBytesPerQueue ?? 8 * 1024 * 1024,
    maxStoredBytes: options.maxStoredBytes ?? 1024 * 1024 * 1024,
    messageTtlMs: options.messageTtlMs ?? 24 * 60 * 60 * 1000,
    sweepIntervalMs: options.sweepIntervalMs ?? 60_000,
    queueIdleTtlMs: options.queueIdleTtlMs ?? 30 * 24 * 60 * 60 * 1000,
    maxQueuesPerConnection: options.maxQueuesPerConnection ?? 100,
    maxQueues: options.maxQueues ?? 100_000,
    maxQueuesPerAddressPerHour: options.maxQueuesPerAddressPerHour ?? 1000,
    maxConnections: options.maxConnections ?? 10_000,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? Math.ceil((options.maxConnections ?? 10_000) / 4),
    maxInFlight: options.maxInFlight ?? 16,
    rateLimitPerSecond: options.rateLimitPerSecond ?? 500,
    rateLimitBurst: options.rateLimitBurst ?? 1000,
    maxRateLimitStrikes: options.maxRateLimitStrikes ?? 100,
    maxBadFrames: options.maxBadFrames ?? 10,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
    heartbeatMs: options.heartbeatMs ?? 30_000,
    storePath: options.storePath,
    redisUrl: options.redisUrl,
    persistDebounceMs: options.persistDebounceMs ?? 200,
    closeGraceMs: options.closeGraceMs ?? 1000,
    logger: options.logger ?? (() => {}),
    now: options.now ?? Date.now,
  };
  for (const [key, value] of Object.entries(resolved)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) {
      throw new SealcallError('INVALID_ARGUMENT', `${key} must be a finite number >= 0`);
    }
  }
  for (const key of ['maxMessageBytes', 'maxMessagesPerQueue', 'maxInFlight', 'rateLimitBurst', 'sweepIntervalMs', 'queueIdleTtlMs'] as const) {
    if (resolved[key] < 1) throw new SealcallError('INVALID_ARGUMENT', `${key} must be at least 1`);
  }
  if (resolved.maxPayload < 256 || resolved.maxPayload > RELAY_LIMITS.maxFrameBytes) {
    throw new SealcallError('INVALID_ARGUMENT', `maxPayload must be in 256..${RELAY_LIMITS.maxFrameBytes}`);
  }
  if (resolved.maxMessageBytes > RELAY_LIMITS.maxBodyBytes) {
    throw new SealcallError('INVALID_ARGUMENT', `maxMessageBytes must be at most ${RELAY_LIMITS.maxBodyBytes}`);
  }
  if (resolved.storePath !== undefined && (typeof resolved.storePath !== 'string' || resolved.storePath === '')) {
    throw new SealcallError('INVALID_ARGUMENT', 'storePath must be a non-empty string');
  }
  if (resolved.redisUrl !== undefined) {
    if (typeof resolved.redisUrl !== 'string' || !/^rediss?:\/\/./.test(resolved.redisUrl)) {
      throw new SealcallError('INVALID_ARGUMENT', 'redisUrl must be a redis:// or rediss:// URL');
    }
    if (resolved.storePath !== undefined) throw new SealcallError('INVALID_ARGUMENT', 'storePath and redisUrl exclude each other');
    if (resolved.queueIdleTtlMs < MIN_SHARED_IDLE_TTL_MS) {
      throw new SealcallError('INVALID_ARGUMENT', 'queueIdleTtlMs must be at least 10 minutes with redisUrl');
    }
  }
  return resolved;
}

/** Counters of a running relay. */
export interface RelayStats {
  /** Open WebSocket connections. */
  connections: number;
  /** Queues that exist. */
  queues: number;
  /** Messages accepted by `send` since this process started. */
  messagesReceived: number;
  /** `msg` frames sent to subscribers, redeliveries included. */
  messagesDelivered: number;
  /** Body bytes ever accepted by `send` since this process started. */
  bytesStored: number;
  /** Body bytes held now (accepted, not yet acknowledged or expired). */
  bytesQueued: number;
}
