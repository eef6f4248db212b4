// Types of sequential.mjs, for the TypeScript tests that run it.
export interface Checkpoint {
  calls: number;
  at: number;
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  handles: number;
  handleTypes: Record<string, number>;
  activeCalls: number;
  /** Peer connections ever made and not closed (collected ones count as closed). */
  peerConnections: number;
  /** Microphone tracks ever captured and not stopped. */
  tracks: number;
}

export interface SequentialCallsOptions {
  calls?: number;
  every?: number;
  warmup?: number;
  network?: 'memory' | 'relay';
  clientOptions?: Record<string, unknown>;
  timeoutMs?: number;
}

export interface SequentialCallsResult {
  network: 'memory' | 'relay';
  calls: number;
  warmup: number;
  wallMs: number;
  setupMs: number[];
  reasons: Record<string, number>;
  warnings: string[];
  /** Calls that did not connect (the run went on): the error, and any remote description wrtc refused. */
  failures: { call: number; error: string; refused: { error: string; type?: string; sdp?: string }[] }[];
  checkpoints: Checkpoint[];
  closed: { heapUsed: number; rss: number; handles: number; handleTypes: Record<string, number>; peerConnections: number; tracks: number };
  peerConnections: number;
  exit: { code: number | null; signal: string | null };
  relayStats?: Record<string, number>;
  heapGrowth: number;
  heapGrowthPerCall: number;
  rssGrowth: number;
  handleGrowth: number;
}

export declare function runSequentialCalls(options?: SequentialCallsOptions): Promise<SequentialCallsResult>;
