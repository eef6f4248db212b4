import { SealcallError } from '../errors.js';
import type { ChatTransport, PeerId, SendHints } from '../transport/chat-transport.js';
import { seededRandom } from './seeded-random.js';

/** Options of {@link MemoryNetwork}; all optional, the default is a perfect network. */
export interface MemoryNetworkOptions {
  /** Delay of each message in ms: a fixed number or a uniform `[min, max]` range. Default 0. */
  latencyMs?: number | readonly [number, number];
  /** Probability in 0..1 that a message is lost. Default 0. */
  lossRate?: number;
  /** Probability in 0..1 that a message arrives twice. Default 0. */
  duplicateRate?: number;
  /**
   * Whether messages may overtake each other. Default false: each sender → recipient link is
   * first-in first-out, whatever the latency.
   */
  reorder?: boolean;
  /** Seed for the loss, duplication and latency draws; the same seed replays the same run. */
  seed?: number;
}

/** One payload as it crossed the network: what a relay would have seen. */
export interface ObservedMessage {
  from: PeerId;
  to: PeerId;
  payload: Uint8Array;
  /** The sender asked for the recipient to be woken (`SendHints.wake`: an invitation's first copy). */
  wake?: true;
}

/** Counters of what the network did. */
export interface MemoryNetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
}

interface Link {
  queue: { at: number; from: MemoryTransport; payload: Uint8Array }[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * An in-memory chat network for tests: endpoints by peer id, with seeded latency, loss,
 * duplication and reordering. Messages to a peer with no endpoint yet are held until one appears
 * (like a store-and-forward relay); several endpoints with one peer id are several devices, and
 * each receives every message to that id.
 *
 * This is a fake for tests and demos, not a transport for production.
 */
export class MemoryNetwork {
  /** Every payload sent, in send order, including lost ones. */
  readonly observed: ObservedMessage[] = [];
  /** The seed in use (pass it back to replay a run). */
  readonly seed: number;
  readonly stats: MemoryNetworkStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0 };

  private readonly options: {
    latencyMs: readonly [number, number];
    lossRate: number;
    duplicateRate: number;
    reorder: boolean;
  };
  private readonly random: () => number;
  private readonly endpoints = new Map<PeerId, Set<MemoryTransport>>();
  private readonly held = new Map<PeerId, { from: PeerId; payload: Uint8Array }[]>();
  private readonly links = new Map<string, Link>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  private closed = false;

  constructor(options: MemoryNetworkOptions = {}) {
    const latency = options.latencyMs ?? 0;
    const [min, max] = typeof latency === 'number' ? [latency, latency] : latency;
    if (!(min >= 0 && max >= min)) throw new SealcallError('INVALID_ARGUMENT', 'latencyMs must be >= 0 and min <= max');
    for (const key of ['lossRate', 'duplicateRate'] as const) {
      const rate = options[key] ?? 0;
      if (!(rate >= 0 && rate <= 1)) throw new SealcallError('INVALID_ARGUMENT', `${key} must be in 0..1`);
    }
    this.options = {
      latencyMs: [min, max],
      lossRate: options.lossRate ?? 0,
      duplicateRate: options.duplicateRate ?? 0,
      reorder: options.reorder ?? false,
    };
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.random = seededRandom(this.seed);
  }

  /** A new endpoint (device) for `peerId`. Messages held for `peerId` are delivered to it. */
  endpoint(peerId: PeerId): MemoryTransport {
    if (this.closed) throw new SealcallError('TRANSPORT_CLOSED', 'network is closed');
    const endpoint = new MemoryTransport(this, peerId);
    let set = this.endpoints.get(peerId);
    if (!set) this.endpoints.set(peerId, (set = new Set()));
    set.add(endpoint);
    const held = this.held.get(peerId);
    if (held) {
      this.held.delete(peerId);
      for (const { from, payload } of held) {
        this.stats.delivered++;
        endpoint.receive(from, payload.slice());
      }
    }
    return endpoint;
  }

  /** Resolves once no message is in flight. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops every message in flight and closes every endpoint. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const link of this.links.values()) if (link.timer) clearTimeout(link.timer);
    this.links.clear();
    for (const set of this.endpoints.values()) for (const endpoint of set) endpoint.close();
    this.inFlight = 0;
    this.notifyIdle();
  }

  /** @internal */
  submit(from: MemoryTransport, to: PeerId, payload: Uint8Array, hints?: SendHints): void {
    if (this.closed) throw new SealcallError('TRANSPORT_CLOSED', 'network is closed');
    const copy = payload.slice();
    this.observed.push({ from: from.peerId, to, payload: copy, ...(hints?.wake ? { wake: true as const } : {}) });
    this.stats.sent++;
    if (this.random() < this.options.lossRate) {
      this.stats.lost++;
      return;
    }
    const copies = this.random() < this.options.duplicateRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) this.schedule(from, to, copy);
  }

  /** @internal */
  detach(endpoint: MemoryTransport): void {
    this.endpoints.get(endpoint.peerId)?.delete(endpoint);
  }

  private schedule(from: MemoryTransport, to: PeerId, payload: Uint8Array): void {
    const [min, max] = this.options.latencyMs;
    const delay = min + this.random() * (max - min);
    this.inFlight++;
    if (this.options.reorder) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.deliver(from, to, payload);
      }, delay);
      this.timers.add(timer);
      return;
    }
    const key = `${from.peerId}\u0000${to}`;
    let link = this.links.get(key);
    if (!link) this.links.set(key, (link = { queue: [], timer: undefined }));
    const last = link.queue.at(-1)?.at ?? 0;
    link.queue.push({ at: Math.max(Date.now() + delay, last), from, payload });
    if (!link.timer) this.drain(to, link);
  }

  private drain(to: PeerId, link: Link): void {
    const head = link.queue[0];
    if (!head || this.closed) {
      link.timer = undefined;
      return;
    }
    link.timer = setTimeout(() => {
      const now = Date.now();
      try {
        while (link.queue[0] && link.queue[0].at <= now) {
          const { from, payload } = link.queue.shift()!;
          this.deliver(from, to, payload);
        }
      } finally {
        // A handler that throws must not stall the link: its error surfaces, later messages flow.
        this.drain(to, link);
      }
    }, Math.max(0, head.at - Date.now()));
  }

  private deliver(from: MemoryTransport, to: PeerId, payload: Uint8Array): void {
    if (this.closed) return; // closed by a handler earlier in this batch: drop the rest
    this.inFlight--;
    const targets = [...(this.endpoints.get(to) ?? [])].filter((e) => e !== from);
    if (targets.length === 0) {
      let held = this.held.get(to);
      if (!held) this.held.set(to, (held = []));
      held.push({ from: from.peerId, payload });
    }
    try {
      for (const target of targets) {
        this.stats.delivered++;
        target.receive(from.peerId, payload.slice());
      }
    } finally {
      if (this.inFlight === 0) this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** One device on a {@link MemoryNetwork}. */
export class MemoryTransport implements ChatTransport {
  private readonly handlers = new Set<(from: PeerId, payload: Uint8Array) => void>();
  private readonly inbox: { from: PeerId; payload: Uint8Array }[] = [];
  private closed = false;

  /** @internal Made by {@link MemoryNetwork.endpoint}. */
  constructor(
    private readonly network: MemoryNetwork,
    readonly peerId: PeerId,
  ) {}

  send(to: PeerId, payload: Uint8Array, hints?: SendHints): Promise<void> {
    if (this.closed) return Promise.reject(new SealcallError('TRANSPORT_CLOSED', 'endpoint is closed'));
    try {
      this.network.submit(this, to, payload, hints);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Messages that arrived while nobody listened are delivered to the first handler. */
  onMessage(handler: (from: PeerId, payload: Uint8Array) => void): () => void {
    this.handlers.add(handler);
    for (const { from, payload } of this.inbox.splice(0)) handler(from, payload);
    return () => this.handlers.delete(handler);
  }

  /** Leaves the network; later sends reject with `TRANSPORT_CLOSED`. */
  close(): void {
    this.closed = true;
    this.handlers.clear();
    this.network.detach(this);
  }

  /** @internal */
  receive(from: PeerId, payload: Uint8Array): void {
    if (this.closed) return;
    if (this.handlers.size === 0) {
      this.inbox.push({ from, payload });
      return;
    }
    for (const handler of [...this.handlers]) handler(from, payload);
  }
}
