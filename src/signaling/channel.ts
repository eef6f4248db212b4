import { isSealcallError, SealcallError, toSealcallError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { MAX_PARTS, type Capabilities, type Message, type OutgoingMessage } from '../protocol/messages.js';
import type { PeerId } from '../transport/chat-transport.js';
import { InboundSequencer } from './inbound-sequencer.js';
import { Reassembler } from './reassembler.js';
import { Retransmitter } from './retransmitter.js';
import { transportPayloadCapacity, type FrameBaseKeys, type SignalingSession } from './session.js';

/** A message as a call writes it: the channel fills in call id, sequence and delivery fields. */
export type ChannelMessage = OutgoingMessage extends infer M
  ? M extends OutgoingMessage
    ? Omit<M, 'callId' | 'seq' | 'ack' | 'sacks' | 'order'>
    : never
  : never;

/** Timing of a channel's reliable delivery. */
export interface DeliveryOptions {
  /** First retransmission after this long without an acknowledgement; doubles up to `retransmitMaxMs`. */
  retransmitMs: number;
  retransmitMaxMs: number;
  /** How long an acknowledgement may wait for a message to ride on before it is sent alone. */
  ackDelayMs: number;
  /** How long a closed channel still answers retransmissions and resends its last `end`. */
  lingerMs: number;
  /** The length of every envelope sent (see `envelopeBytesFor`); larger messages travel in parts. */
  envelopeBytes: number;
}

/** Room left in a part's envelope for its own fields and the acknowledgements riding on it. */
const PART_OVERHEAD = 320;

/** What a channel reports to the call that uses it. */
export interface ChannelHooks {
  /** Messages now due, in the order they apply. */
  messages(messages: Message[]): void;
  /** A failed send (it is retried); never fatal. */
  warn(error: SealcallError): void;
}

/** Messages whose relative order matters: they are numbered and applied in that order. */
const ORDERED = new Set<Message['type']>(['offer', 'answer', 'ice', 'renegotiate']);

/**
 * The encrypted conversation with one device of the peer, after the handshake. Every message is
 * numbered (`seq`), sealed, sent, and sent again with backoff until the peer acknowledges it;
 * acknowledgements ride on the next message or go alone after `ackDelayMs`. What arrives is
 * opened, de-duplicated and handed on: ordered messages (SDP, ICE) in order, the rest at once.
 * A failed send is retried like a lost one. The callee's side also resends its handshake reply
 * (Noise message 2) until it hears from the caller.
 */
export class SignalingChannel {
  private nextSeq = 1; // seq 0: handshake messages and acks
  private nextOrder = 1;
  private readonly unacknowledged = new Map<number, ChannelMessage & { order?: number }>();
  private readonly inbound = new InboundSequencer();
  private readonly reassembler = new Reassembler();
  private readonly retransmitter: Retransmitter;
  private hooks: ChannelHooks;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private replyResend: Retransmitter | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** The code of the send failure last reported, until a send succeeds again. */
  private failure: string | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';

  constructor(
    private readonly session: SignalingSession,
    /** Where this device is reached on the chat transport. */
    readonly peer: PeerId,
    private readonly sendEnvelope: (to: PeerId, envelope: Uint8Array) => Promise<void>,
    /** What this device said it supports (in its invitation or ringing reply). */
    readonly capabilities: Capabilities,
    private readonly delivery: DeliveryOptions,
    hooks: ChannelHooks,
    /** Called once, when the channel has closed for good and its keys are wiped. */
    private readonly onClosed: () => void,
    /** Callee: the handshake reply, resent until the caller is heard on this session. */
    handshakeReply?: Uint8Array,
  ) {
    this.hooks = hooks;
    const backoff = { initialMs: delivery.retransmitMs, maxMs: delivery.retransmitMaxMs };
    this.retransmitter = new Retransmitter(backoff, (seq) => this.transmit(seq));
    if (handshakeReply) {
      this.replyResend = new Retransmitter(backoff, () => this.put(handshakeReply));
      this.replyResend.track(0);
    }
  }

  /** The session tag that names this device's session. */
  get tag(): string {
    return this.session.sessionTag;
  }

  /** Whether the channel still carries the call's messages. */
  get open(): boolean {
    return this.state === 'open';
  }

  /** Messages sent and not yet acknowledged. */
  get pending(): number {
    return this.retransmitter.size;
  }

  /** Replaces who is told about messages and failures (a call adopts a channel the router opened). */
  attach(hooks: ChannelHooks): void {
    this.hooks = hooks;
  }

  /**
   * Seals and sends one message, and keeps sending it until acknowledged. Throws (synchronously)
   * only when the message cannot be encoded, e.g. `MESSAGE_TOO_LARGE`; transport failures are
   * retried and reported as warnings.
   */
  send(message: ChannelMessage): void {
    if (this.state !== 'open') throw new SealcallError('INVALID_STATE', 'the signaling channel is closed');
    const stored = ORDERED.has(message.type) ? { ...message, order: this.nextOrder } : message;
    const { pieces, encoded } = this.split(stored); // encodes: throws before anything is counted
    if (stored !== message) this.nextOrder++;
    for (const piece of pieces) {
      const seq = this.nextSeq++;
      this.unacknowledged.set(seq, piece);
      this.retransmitter.track(seq);
      // A whole message goes out as the split check encoded it (SDP deflated once).
      this.transmit(seq, pieces.length === 1 ? encoded : undefined);
    }
  }

  /**
   * The message itself, or, when its envelope would exceed what the transport carries, its
   * encoding (with seq 0) cut into parts that each fit, for consecutive seqs from the next one.
   */
  private split(message: ChannelMessage & { order?: number }): { pieces: (ChannelMessage & { order?: number })[]; encoded?: Uint8Array } {
    const whole = this.nextSeq;
    const full = this.encode(whole, message);
    if (full.length <= transportPayloadCapacity(this.delivery.envelopeBytes)) return { pieces: [message], encoded: full };
    const inner = encodeMessage({ ...message, callId: this.session.callId, seq: 0 } as OutgoingMessage);
    const size = transportPayloadCapacity(this.delivery.envelopeBytes) - PART_OVERHEAD;
    const count = Math.ceil(inner.length / size);
    if (size <= 0 || count > MAX_PARTS) throw new SealcallError('MESSAGE_TOO_LARGE', `message of ${inner.length} bytes does not fit ${MAX_PARTS} parts`);
    return { pieces: Array.from({ length: count }, (_, index) => ({ type: 'part' as const, whole, index, count, data: inner.subarray(index * size, (index + 1) * size) })) };
  }

  /**
   * Opens one envelope of this session: acknowledgements are applied, duplicates dropped (and
   * acknowledged again), and the messages now due go to `hooks.messages`. Throws SealcallError
   * for anything forged, replayed at the envelope level, malformed or of another call.
   */
  receive(envelope: Uint8Array): void {
    if (this.state === 'closed') return;
    const message = decodeMessage(this.session.open(envelope));
    if (message.callId !== this.session.callId) throw new SealcallError('WRONG_CALL', 'message names another call');
    // The peer is heard on this session: our handshake reply, if we sent one, arrived.
    this.replyResend?.close();
    this.replyResend = undefined;
    if (message.ack !== undefined) this.acknowledged(message.ack, message.sacks ?? []);
    if (message.seq === 0) {
      if (message.type !== 'ack') throw new SealcallError('BAD_MESSAGE', 'a transport message needs a sequence number');
      return;
    }
    if (this.inbound.isDuplicate(message.seq)) return this.scheduleAck();
    // Refused before it is recorded: unacknowledged, it comes again once there is room.
    this.inbound.check(message.seq);
    if (message.type === 'part') this.reassembler.check(message);
    this.inbound.record(message.seq);
    this.scheduleAck();
    const complete = message.type === 'part' ? this.join(message) : message;
    const due = complete ? this.inbound.release(complete) : [];
    if (this.state === 'open' && due.length > 0) this.hooks.messages(due);
  }

  /** Adds a part; returns the message it completes, checked like any other. */
  private join(part: Extract<Message, { type: 'part' }>): Message | undefined {
    const joined = this.reassembler.add(part);
    if (!joined) return undefined;
    const message = decodeMessage(joined);
    if (message.callId !== this.session.callId || message.seq !== 0 || message.type === 'part' || message.type === 'ack') {
      throw new SealcallError('BAD_MESSAGE', 'parts joined into something that is not a message of this call');
    }
    return message;
  }

  /**
   * Acknowledges what was received (nothing yet, for a handshake reply: it tells the device it
   * was heard) with the next message, or alone after `ackDelayMs`.
   */
  acknowledgeSoon(): void {
    this.scheduleAck();
  }

  /**
   * Stops carrying the call. With `linger`, the channel stays reachable until its final `end` is
   * acknowledged and it owes no acknowledgement itself, for `lingerMs` at most: it resends that
   * `end` and acknowledges what arrives, then wipes its keys. Without, it closes at once.
   */
  close(options: { linger: boolean } = { linger: false }): void {
    if (this.state === 'closed') return;
    if (!options.linger) return this.shutdown();
    if (this.state === 'closing') return;
    this.state = 'closing';
    this.replyResend?.close();
    // The call is over: of what is unacknowledged only a final `end` still matters.
    for (const [seq, message] of [...this.unacknowledged]) {
      if (message.type === 'end') continue;
      this.unacknowledged.delete(seq);
      this.retransmitter.acknowledge(-1, [seq]);
    }
    this.lingerTimer = setTimeout(() => this.shutdown(), this.delivery.lingerMs);
    // Nothing else will carry an acknowledgement we owe: send it now.
    if (this.ackTimer !== undefined) this.flushAck();
    this.shutdownIfSettled();
  }

  /** A lingering channel goes as soon as everything it sent was acknowledged and it owes no ack. */
  private shutdownIfSettled(): void {
    if (this.state === 'closing' && this.retransmitter.size === 0 && this.ackTimer === undefined) this.shutdown();
  }

  /** This session's frame-encryption base keys (fresh copies the caller wipes). */
  frameBaseKeys(): FrameBaseKeys {
    return this.session.frameBaseKeys();
  }

  // ---------------------------------------------------------------------------------------------

  private acknowledged(ack: number, sacks: readonly number[]): void {
    this.retransmitter.acknowledge(ack, sacks);
    for (const seq of [...this.unacknowledged.keys()]) if (!this.retransmitter.has(seq)) this.unacknowledged.delete(seq);
    this.shutdownIfSettled();
  }

  private scheduleAck(): void {
    // A closing channel carries no more messages for an acknowledgement to ride on.
    if (this.state === 'closing') return this.flushAck();
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => this.flushAck(), this.delivery.ackDelayMs);
  }

  private flushAck(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.state === 'closed') return;
    this.put(this.sealAck());
    this.shutdownIfSettled();
  }

  /** (Re)sends message `seq`, sealed afresh with the latest acknowledgement riding on it. */
  private transmit(seq: number, encoded?: Uint8Array): void {
    const message = this.unacknowledged.get(seq);
    if (!message || this.state === 'closed') return;
    let envelope: Uint8Array;
    try {
      envelope = this.seal(encoded ?? this.encode(seq, message));
    } catch (error) {
      this.hooks.warn(toSealcallError(error, 'BAD_MESSAGE'));
      return;
    }
    this.put(envelope);
  }

  private encode(seq: number, message: ChannelMessage & { order?: number }): Uint8Array {
    const acks = this.inbound.ackState();
    const full = { ...message, callId: this.session.callId, seq, ack: acks.ack, ...(acks.sacks.length ? { sacks: acks.sacks } : {}) };
    return encodeMessage(full as OutgoingMessage);
  }

  private seal(encoded: Uint8Array): Uint8Array {
    const envelope = this.session.seal(encoded, this.delivery.envelopeBytes);
    // Whatever was owed rides on this message.
    if (this.ackTimer !== undefined) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
    return envelope;
  }

  private sealAck(): Uint8Array {
    const acks = this.inbound.ackState();
    const message = { type: 'ack', callId: this.session.callId, seq: 0, ack: acks.ack, ...(acks.sacks.length ? { sacks: acks.sacks } : {}) };
    return this.session.seal(encodeMessage(message as OutgoingMessage), this.delivery.envelopeBytes);
  }

  /**
   * Hands an envelope to the transport. A failure is retried by the timers and reported once
   * per outage and code (a transport that gives up for good says so with a new code).
   */
  private put(envelope: Uint8Array): void {
    this.sendEnvelope(this.peer, envelope).then(
      () => {
        this.failure = undefined;
      },
      (error: unknown) => {
        const failure = transportError(error);
        if (this.failure === failure.code || this.state === 'closed') return;
        this.failure = failure.code;
        this.hooks.warn(failure);
      },
    );
  }

  private shutdown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.retransmitter.close();
    this.replyResend?.close();
    this.replyResend = undefined;
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.ackTimer = undefined;
    this.unacknowledged.clear();
    this.session.dispose();
    this.onClosed();
  }
}

/** A transport's refusal as a SealcallError: its own code if it has one, else `TRANSPORT_FAILED`. */
function transportError(error: unknown): SealcallError {
  return isSealcallError(error) ? error : toSealcallError(error, 'TRANSPORT_FAILED');
}
