// Types of concurrent-calls.mjs, for the TypeScript tests that run it.
export interface CallSetup {
  pair: string;
  connected: boolean;
  setupMs?: number;
  callerState?: string;
  calleeState?: string;
  endedReason?: string;
  errorCode?: string;
}

export interface PeerProcessClose {
  peerConnections: number;
  openPeerConnections: number;
  tracks: number;
  liveTracks: number;
  warnings: Record<string, string[]>;
  handles: { before?: Record<string, number>; after: Record<string, number> };
}

export interface ConcurrentCallsOptions {
  calls?: number;
  processes?: number;
  baselineCalls?: number;
  holdMs?: number;
  clientOptions?: Record<string, unknown>;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface ConcurrentCallsResult {
  options: Required<Omit<ConcurrentCallsOptions, 'log'>>;
  baseline: CallSetup[];
  /** `cpu`: share of one core per process over the round, relay first. */
  concurrent: { calls: CallSetup[]; wallMs: number; cpu: number[] };
  hold: { ms: number; live: number; cpu: number[]; rss: number[] };
  end: {
    endReasons: Record<string, number>;
    stillLive: number;
    closed: PeerProcessClose[];
    exits: { code: number | null; signal: string | null }[];
    relayBeforeClose: Record<string, number>;
    relayAfterClose: Record<string, number>;
  };
}

export declare function runConcurrentCalls(options?: ConcurrentCallsOptions): Promise<ConcurrentCallsResult>;
