import { SignalingChannel } from '../../src/signaling/channel.js';
import { SignalingRouter } from '../../src/signaling/router.js';
import type { ChatTransport, PeerId, SendHints } from '../../src/transport/chat-transport.js';
import { seededRandom } from '../../src/testing/seeded-random.js';

/** Envelope kinds, as byte 1 of the inner envelope says (hidden from the transport by the pair seal). */
export const KIND = { invite: 1, response: 2, transport: 3, oneShot: 4 } as const;
export type KindName = keyof typeof KIND;
const KIND_NAME: Record<number, KindName> = { 1: 'invite', 2: 'response', 3: 'transport', 4: 'oneShot' };

/** One payload a {@link FaultTransport} was asked to send. */
export interface SentRecord {
  to: PeerId;
  kind: KindName | 'unknown';
  /** 1-based position among this transport's sends of the same kind. */
  nth: number;
  /** The plaintext type, when the test installed the {@link installSignalOracle} (transport envelopes only). */
  type: string | undefined;
  /** ms since the transport was made. */
  at: number;
  dropped: boolean;
  /** Extra delay added (latency spike), ms. */
  delayedMs: number;
}

/** A rule picking payloads to drop. */
export type DropRule = (record: SentRecord) => boolean;

export interface FaultTransportOptions {
  /**
   * Latency spikes: with probability `rate` a message is held `minMs..maxMs` before it is handed to
   * the inner transport (the send itself resolves at once, as a store-and-forward relay would).
   * Messages may overtake each other while one is held.
   */
  spikes?: { rate: number; minMs: number; maxMs: number };
  /** Seed of the spike draws. */
  seed?: number;
  /** Called for every payload before it is dropped, delayed or passed on (a test's trigger point). */
  onSend?: (record: SentRecord) => void;
}

// --- kind oracle -----------------------------------------------------------------------------------
// A chat transport sees only pair-sealed envelopes of one length; a test still wants to say "drop
// the second invitation". The router's (private) send notes the inner envelope's kind for the
// duration of its synchronous call, during which it hands the sealed envelope to the transport.
// Always on where this helper is imported: it only observes.
let currentKind: number | undefined;
type RouterInternals = { send(to: PeerId, envelope: Uint8Array, hints?: SendHints): Promise<void> };
const routerProto = SignalingRouter.prototype as unknown as RouterInternals;
const routerSend = routerProto.send;
routerProto.send = function (this: RouterInternals, to: PeerId, envelope: Uint8Array, hints?: SendHints) {
  const previous = currentKind;
  currentKind = envelope[1];
  try {
    return routerSend.call(this, to, envelope, hints);
  } finally {
    currentKind = previous;
  }
};

// --- plaintext oracle ---------------------------------------------------------------------------
// A chat transport sees only ciphertext; a test still wants to say "drop the offer". While
// installed, SignalingChannel's (private) transmit and ack paths note the message type for the
// duration of their synchronous call, during which they hand the sealed envelope to the
// transport: first sends and retransmissions alike.
let current: string | undefined;
type Internals = { transmit(seq: number, encoded?: Uint8Array): void; sealAck(): Uint8Array; unacknowledged: Map<number, { type: string }> };
let original: { transmit: Internals['transmit']; sealAck: Internals['sealAck'] } | undefined;

/** Lets {@link FaultTransport} see the type of each transport envelope it sends. Test-only instrumentation. */
export function installSignalOracle(): void {
  if (original) return;
  const proto = SignalingChannel.prototype as unknown as Internals;
  const { transmit, sealAck } = (original = { transmit: proto.transmit, sealAck: proto.sealAck });
  proto.transmit = function (this: Internals, seq: number, encoded?: Uint8Array) {
    const previous = current;
    current = this.unacknowledged.get(seq)?.type;
    try {
      transmit.call(this, seq, encoded);
    } finally {
      current = previous;
    }
  };
  // The ack is sealed, then handed over right after: note it until the next transmit.
  proto.sealAck = function (this: Internals) {
    current = 'ack';
    queueMicrotask(() => {
      if (current === 'ack') current = undefined;
    });
    return sealAck.call(this);
  };
}

/** Removes {@link installSignalOracle}'s instrumentation. */
export function uninstallSignalOracle(): void {
  if (!original) return;
  Object.assign(SignalingChannel.prototype, original);
  original = undefined;
}

/**
 * A {@link ChatTransport} wrapper that injects faults into what one endpoint sends: targeted drops
 * (by envelope kind and position, or by plaintext type with the oracle), latency spikes, and a
 * transport that goes down (`down`: sends reject) or swallows everything (`blackhole`: sends never
 * settle, like a relay that accepts a frame and never answers).
 */
export class FaultTransport implements ChatTransport {
  readonly sent: SentRecord[] = [];
  mode: 'normal' | 'down' | 'blackhole' | 'silent' = 'normal';
  private readonly rules: { rule: DropRule; once: boolean }[] = [];
  private readonly counts = new Map<string, number>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly random: () => number;
  private readonly started = Date.now();
  private idle: (() => void)[] = [];
  /** Sends handed to the inner transport and not settled yet. */
  private inFlight = 0;

  constructor(
    private readonly inner: ChatTransport,
    private readonly options: FaultTransportOptions = {},
  ) {
    this.random = seededRandom(options.seed ?? 1);
  }

  /** Drops the `nth` (1-based) payload of `kind` this endpoint sends. */
  dropNth(kind: KindName, nth: number): this {
    return this.dropWhen((r) => r.kind === kind && r.nth === nth, true);
  }

  /** Drops the next transport envelope carrying a message of `type` (needs the oracle). */
  dropNextOfType(type: string): this {
    return this.dropWhen((r) => r.type === type, true);
  }

  /** Drops every payload `rule` picks (or only the first, with `once`). */
  dropWhen(rule: DropRule, once = false): this {
    this.rules.push({ rule, once });
    return this;
  }

  /** The payloads dropped so far. */
  get dropped(): SentRecord[] {
    return this.sent.filter((r) => r.dropped);
  }

  send(to: PeerId, payload: Uint8Array): Promise<void> {
    const kind = KIND_NAME[currentKind ?? 0] ?? 'unknown';
    const nth = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, nth);
    const record: SentRecord = { to, kind, nth, type: kind === 'transport' ? current : undefined, at: Date.now() - this.started, dropped: false, delayedMs: 0 };
    this.sent.push(record);
    this.options.onSend?.(record);
    if (this.mode === 'down') return Promise.reject(new Error('transport is down'));
    if (this.mode === 'blackhole') return new Promise<void>(() => {});
    const hit = this.rules.findIndex(({ rule }) => rule(record));
    if (this.mode === 'silent' || hit >= 0) {
      if (hit >= 0 && this.rules[hit]!.once) this.rules.splice(hit, 1);
      record.dropped = true;
      return Promise.resolve(); // handed off, then lost on the way
    }
    const spikes = this.options.spikes;
    if (spikes && this.random() < spikes.rate) {
      record.delayedMs = Math.round(spikes.minMs + this.random() * (spikes.maxMs - spikes.minMs));
      const copy = payload.slice();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.inner.send(to, copy).catch(() => {});
        if (this.timers.size === 0) for (const done of this.idle.splice(0)) done();
      }, record.delayedMs);
      this.timers.add(timer);
      return Promise.resolve();
    }
    this.inFlight++;
    return this.inner.send(to, payload).finally(() => this.inFlight--);
  }

  /** Sends handed to the inner transport that have not settled yet (e.g. waiting for a relay). */
  get pending(): number {
    return this.inFlight;
  }

  onMessage(handler: (from: PeerId, payload: Uint8Array) => void): () => void {
    return this.inner.onMessage(handler);
  }

  /** Resolves once no delayed message is waiting. */
  settled(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Drops every delayed message still waiting. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const done of this.idle.splice(0)) done();
  }

  /** A one-line summary of what was sent, for failure messages. */
  describe(): string {
    return this.sent
      .map((r) => `${r.kind}#${r.nth}${r.type ? `(${r.type})` : ''}${r.dropped ? ' DROPPED' : ''}${r.delayedMs ? ` +${r.delayedMs}ms` : ''}`)
      .join(', ');
  }
}
