// Types of relay-load.mjs, for the TypeScript tests that run it.
export declare const SEALED_SENDER_BYTES: number;

export interface LatencySummary { n: number; p50?: number; p90?: number; p99?: number; max?: number }

export interface PhaseResult {
  delivered: number;
  bytes: number;
  elapsedMs: number;
  messagesPerSecond: number;
  bytesPerSecond: number;
  latencyMs: LatencySummary;
  /** Share of one core the clients' process used over the window: user + system. */
  clientCpu: number;
  /** `clientCpu` in user space (JavaScript, msgpack, crypto). */
  clientUserCpu: number;
  /** `clientCpu` in the kernel (socket reads and writes). */
  clientSystemCpu: number;
  /** Share of one core the server used over (about) the window: user + system. */
  serverCpu: number;
  serverUserCpu: number;
  serverSystemCpu: number;
  /** V8's young generation in the server (bytes) when the window opened and closed (`start` NaN if the window closed first). */
  serverNewSpace: { start: number; end: number };
  /** `redis` mode only: share of one core redis-server used over (about) the window. */
  redisCpu?: number;
  /** Every message sent in the phase was delivered before the drain timeout. */
  drained: boolean;
  /** Messages sent (ever, by this client process) and not delivered, when the phase ended. */
  lost: number;
  sent: number;
  /** `err` replies in the phase, by code. */
  errors: Record<string, number>;
  /** Relay: WebSocket messages (blocks) and the frames in them the clients received and sent over the phase (0 for the baseline). */
  blocks: { blocksIn: number; framesIn: number; blocksOut: number; framesOut: number };
  /** Phases of {@link runRelayLoad}: every round's figure (msg/s closed, p99 ms paced); this result is the median round. */
  rounds?: number[];
  /** Phases of {@link runRelayLoad}: `serverNewSpace.start` of every round. */
  serverNewSpaceAtStart?: number[];
}

export interface Memory { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }

export interface ServerResult {
  connect: { clients: number; ms: number };
  connectedAtServer: number;
  idle: {
    clients: number;
    empty: Memory;
    idle: Memory;
    perClient: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
    clientProcessRss: number;
  };
  /**
   * After every relay client also opened its send connection (the baseline's clients have one
   * connection: the same figures as `idle`). Per client: against the empty server.
   */
  senders: {
    connections: number;
    ms: number;
    connectedAtServer: number;
    memory: Memory;
    perClient: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  };
  /** `pacedOwn`: the baseline only, with `ownHalfLoad`: paced at `pacedFraction` of its own saturated rate. */
  phases: { envelope: number; bodyBytes: number; closed: PhaseResult; paced: PhaseResult & { rate: number }; pacedOwn?: PhaseResult & { rate: number } }[];
  /** `redis` mode only: redis-server's RSS (bytes) with no client and with the idle clients. */
  redis?: { rss: { empty: number; idle: number }; rssPerIdleClient: number };
  soak?: PhaseResult & { heapBefore: number; heapAfter: number; rssBefore: number; rssAfter: number };
  afterTraffic: { memory: Memory; stats: Record<string, number>; handles: number };
  clientTotals: {
    sent: number;
    delivered: number;
    oks: number;
    errors: Record<string, number>;
    /** Requests still without a reply when sampled (after waiting for them: 0 unless some never came). */
    unanswered: number;
    blocksIn: number;
    framesIn: number;
    blocksOut: number;
    framesOut: number;
    /** Relay connections opened (receive and send). */
    connections: number;
  };
  /** `closed`: clients; `connections`: their sockets (two per relay client). */
  closing: { closed: number; connections: number; timedOut: boolean; serverConnections: number };
}

export interface RelayLoadOptions {
  clients?: number;
  envelopes?: number[];
  window?: number;
  warmupMs?: number;
  durationMs?: number;
  pacedFraction?: number;
  /** A fixed open-loop rate (msg/s) for every server instead of `pacedFraction`, for A/B runs of a change (no `p99OwnRate` then); 0: none. */
  pacedRate?: number;
  pacedWarmupMs?: number;
  /** Saturated traffic (closed loop, not measured) before each open-loop phase, ms: regrows a young generation V8 shrank while the server sat idle. Default 3000; 0: none. */
  pacedPrimeMs?: number;
  /** How often the open loop sends what is due, ms. Default 1. */
  pacedTickMs?: number;
  pacedDurationMs?: number;
  soakMs?: number;
  soakRate?: number;
  baseline?: boolean;
  /** Traffic rounds, each taking every server in turn; each figure is the median round's. Default 5. */
  rounds?: number;
  /** Also run the relay with a Redis store, in a redis-server started for it (if installed). Default false. */
  redis?: boolean;
  /**
   * Also run the relay for clients that send on their receive connection (`servers.shared`),
   * closed loop only: what the separate send connection costs. Default false.
   */
  sharedConnection?: boolean;
  relayOptions?: Record<string, unknown>;
  /** Also pace the baseline at `pacedFraction` of its own saturated rate (`pacedOwn`). Default false. */
  ownHalfLoad?: boolean;
  /** Processes the clients are spread over, each a ring of its own with its share of the traffic. Default 1. */
  clientProcesses?: number;
  /**
   * Relay clients open their send connections after the idle memory sample (`senders`). Default
   * true; false for a memory-only run (no envelopes): `senders` then repeats the idle figures.
   */
  openSenders?: boolean;
  log?: (line: string) => void;
}

export interface RelayLoadResult {
  options: Required<Omit<RelayLoadOptions, 'log'>>;
  fdLimits: { soft: number; hard: number };
  minFds: number;
  /** With `redis`: the redis-server's version, or `missing` when there was none (then no `servers.redis`). */
  redis?: { version: string } | { missing: true };
  servers: {
    relay: ServerResult;
    baseline?: ServerResult;
    redis?: ServerResult;
    /** With `sharedConnection`: no paced phase. */
    shared?: Omit<ServerResult, 'phases'> & { phases: { envelope: number; bodyBytes: number; closed: PhaseResult }[] };
  };
  /**
   * With the baseline, per envelope size: each other server's ratio to the baseline in every round
   * (throughput: msg/s over the baseline's; p99: its p99 latency over the baseline's at the same
   * rate, none for `shared`; p99OwnRate: each at its own `pacedFraction` of its saturated rate).
   */
  comparisons: Record<
    number,
    Partial<Record<'relay' | 'redis', { throughput: number[]; p99: number[]; /** relay, with `ownHalfLoad`: against the baseline at its own rate. */ p99OwnRate?: number[] }> & Record<'shared', { throughput: number[] }>>
  >;
}

export declare function runRelayLoad(options?: RelayLoadOptions): Promise<RelayLoadResult>;
