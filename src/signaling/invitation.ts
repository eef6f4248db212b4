import { isSealcallError, SealcallError, toSealcallError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import type { Capabilities, InviteMessage, Message } from '../protocol/messages.js';
import type { PeerId, SendHints } from '../transport/chat-transport.js';
import { SignalingChannel, type DeliveryOptions } from './channel.js';
import type { IncomingHandshake, OutgoingHandshake } from './handshake.js';
import type { SignalingSession } from './session.js';
import { Retransmitter } from './retransmitter.js';

/** What an invitation needs from the router that made it. */
export interface InvitationContext {
  readonly delivery: DeliveryOptions;
  send(to: PeerId, envelope: Uint8Array, hints?: SendHints): Promise<void>;
  /** Makes a channel reachable for envelopes of its session (`add`), until it closes (`closed`). */
  register(callId: string, tag: string): { add(channel: SignalingChannel): void; closed(): void };
  /** Remembers the reply to an invitation, to send again if the invitation comes again while it can be fresh. */
  answered(invitation: IncomingInvitation, reply: Uint8Array): void;
  /** Forgets an outgoing invitation. */
  forget(invitation: OutgoingInvitation): void;
  warn(error: SealcallError): void;
}

/** A device's reply to an outgoing invitation, opened and decoded. */
export type InvitationReply =
  | { type: 'ringing'; from: PeerId; channel: SignalingChannel }
  | { type: 'busy' | 'reject'; from: PeerId };

/** Most envelopes, and bytes, held for sessions whose reply has not arrived yet, all devices together. */
const HOLD_LIMIT = 64;
const HOLD_BYTES = 256 * 1024;

/**
 * The caller's side of one invitation: Noise message 1, sent again with backoff until `stop()`
 * (a device whose copy was lost still rings), and the replies of the callee's devices, each
 * opening its own {@link SignalingChannel}. Envelopes that overtake their device's reply wait
 * here, bounded.
 */
export class OutgoingInvitation {
  private readonly resend: Retransmitter;
  private readonly held = new Map<string, Uint8Array[]>();
  private heldCount = 0;
  private heldBytes = 0;
  private onReply: (reply: InvitationReply) => void = () => {};
  private disposed = false;

  constructor(
    private readonly context: InvitationContext,
    private readonly handshake: OutgoingHandshake,
    readonly peer: PeerId,
    private readonly envelope: Uint8Array,
  ) {
    const { retransmitMs, retransmitMaxMs } = context.delivery;
    this.resend = new Retransmitter({ initialMs: retransmitMs, maxMs: retransmitMaxMs }, () => {
      this.context.send(this.peer, this.envelope).catch((error: unknown) => this.context.warn(toSealcallError(error, 'TRANSPORT_FAILED').withCallId(this.callId)));
    });
  }

  get callId(): string {
    return this.handshake.callId;
  }

  /** Where replies go. */
  replies(handler: (reply: InvitationReply) => void): void {
    this.onReply = handler;
  }

  /**
   * Sends the invitation, and again later until {@link stop}. Resolves when the transport took
   * the first copy; rejects with its error, or `TRANSPORT_FAILED` if it has not settled within
   * `timeoutMs` (a transport that never settles must not hang the caller).
   */
  send(timeoutMs: number): Promise<void> {
    this.resend.track(0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SealcallError('TRANSPORT_FAILED', `the transport did not take the invitation within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.context.send(this.peer, this.envelope, { wake: true }), timeout]).finally(() => clearTimeout(timer));
  }

  /** No more copies of the invitation (a device answered, or the call is over). */
  stop(): void {
    this.resend.close();
  }

  /** @internal Router: a handshake reply for this call. */
  reply(from: PeerId, envelope: Uint8Array): void {
    if (this.disposed) return;
    let opened: ReturnType<OutgoingHandshake['accept']>;
    try {
      opened = this.handshake.accept(envelope);
    } catch (error) {
      if (!isSealcallError(error, 'REPLAYED')) this.context.warn(toSealcallError(error, 'BAD_MESSAGE'));
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(opened.payload);
      if (message.callId !== this.callId || message.seq !== 0) throw new SealcallError('BAD_MESSAGE', 'reply does not match the call');
      if (message.type !== 'ringing' && message.type !== 'busy' && message.type !== 'reject') {
        throw new SealcallError('BAD_MESSAGE', `unexpected ${message.type} as a handshake reply`);
      }
    } catch (error) {
      opened.session.dispose();
      this.context.warn(toSealcallError(error, 'BAD_MESSAGE'));
      return;
    }
    if (message.type !== 'ringing') {
      opened.session.dispose();
      this.onReply({ type: message.type, from });
      return;
    }
    const channel = this.open(opened.session, from, message.capabilities, this.callId);
    // The caller is heard from on this session soon, so the device stops resending its reply.
    channel.acknowledgeSoon();
    this.onReply({ type: 'ringing', from, channel });
    const held = this.held.get(channel.tag) ?? [];
    this.heldCount -= held.length;
    for (const envelope of held) this.heldBytes -= envelope.length;
    this.held.delete(channel.tag);
    for (const envelope of held) {
      try {
        channel.receive(envelope);
      } catch (error) {
        if (!isSealcallError(error, 'REPLAYED')) this.context.warn(toSealcallError(error, 'BAD_MESSAGE'));
      }
    }
  }

  private open(session: SignalingSession, from: PeerId, capabilities: Capabilities, callId: string): SignalingChannel {
    return openChannel(this.context, session, from, capabilities, callId);
  }

  /** @internal Router: an envelope of a session whose reply has not arrived (yet). */
  hold(tag: string, envelope: Uint8Array): void {
    if (this.disposed || this.heldCount >= HOLD_LIMIT || this.heldBytes + envelope.length > HOLD_BYTES) return;
    const list = this.held.get(tag) ?? [];
    list.push(envelope);
    this.held.set(tag, list);
    this.heldCount++;
    this.heldBytes += envelope.length;
  }

  /** Stops resending, wipes the handshake and drops what was held. Channels already made live on. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.resend.close();
    this.handshake.dispose();
    this.held.clear();
    this.heldCount = 0;
    this.heldBytes = 0;
    this.context.forget(this);
  }
}

/**
 * The callee's side of one authenticated, fresh invitation from a contact: answer it `ringing`
 * (which opens the channel), `busy`, or drop it.
 */
export class IncomingInvitation {
  private done = false;

  constructor(
    private readonly context: InvitationContext,
    private readonly handshake: IncomingHandshake,
    /** Who sent it, as the transport names them. */
    readonly from: PeerId,
    /** The contact's public key. */
    readonly remoteKey: Uint8Array,
    /** The decoded invitation. */
    readonly invite: InviteMessage,
    /** The invitation's ephemeral key (hex): what a repeat of it is recognised by. */
    readonly inviteKey: string,
  ) {}

  /** Replies `ringing` (Noise message 2) and returns the channel of this call with that device. */
  ring(capabilities: Capabilities): SignalingChannel {
    const { session, envelope } = this.respond({ type: 'ringing', callId: this.invite.callId, seq: 0, capabilities });
    return openChannel(this.context, session, this.from, this.invite.capabilities, this.invite.callId, envelope);
  }

  /** Replies `busy`; the caller's call ends `busy` (if no other device answers). */
  busy(): void {
    this.respond({ type: 'busy', callId: this.invite.callId, seq: 0 }).session.dispose();
  }

  /** Drops the invitation without a reply. */
  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.handshake.dispose();
  }

  private respond(message: Parameters<typeof encodeMessage>[0]) {
    if (this.done) throw new SealcallError('HANDSHAKE_STATE', 'the invitation was already answered');
    this.done = true;
    const reply = this.handshake.respond(encodeMessage(message), this.context.delivery.envelopeBytes);
    this.context.answered(this, reply.envelope);
    this.context.send(this.from, reply.envelope).catch((error: unknown) => this.context.warn(toSealcallError(error, 'TRANSPORT_FAILED')));
    return reply;
  }
}

/** A channel for a fresh session, reachable through the router until it closes. */
function openChannel(
  context: InvitationContext,
  session: SignalingSession,
  peer: PeerId,
  capabilities: Capabilities,
  callId: string,
  handshakeReply?: Uint8Array,
): SignalingChannel {
  const registration = context.register(callId, session.sessionTag);
  const hooks = { messages: () => {}, warn: (error: SealcallError) => context.warn(error) };
  const channel = new SignalingChannel(session, peer, (to, payload) => context.send(to, payload), capabilities, context.delivery, hooks, registration.closed, handshakeReply);
  registration.add(channel);
  return channel;
}
