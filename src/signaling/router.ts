import { EventEmitter } from 'eventemitter3';
import { isSealcallError, SealcallError, toSealcallError } from '../errors.js';
import { ExpiringMap } from '../expiring-map.js';
import type { Identity } from '../crypto/identity.js';
import { sodium } from '../crypto/sodium.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import type { CancelMessage, CancelReason, InviteMessage, OutgoingMessage } from '../protocol/messages.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import type { DeliveryOptions, SignalingChannel } from './channel.js';
import { EnvelopeKind, parseEnvelope, type ParsedEnvelope } from './envelope.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from './handshake.js';
import { IncomingInvitation, OutgoingInvitation, type InvitationContext } from './invitation.js';
import type { ReplayCache } from './replay-cache.js';

/** What the router needs to know. */
export interface RouterOptions {
  identity: Identity;
  transport: ChatTransport;
  /** A contact's public key, or undefined for a stranger. */
  keyOf(peer: PeerId): Uint8Array | undefined;
  replayCache: ReplayCache;
  now(): number;
  delivery: DeliveryOptions;
  /** How long early cancels and answered invitations are remembered. */
  memoryMs: number;
}

/** What the router tells the call layer. */
export interface RouterEvents {
  /** A fresh, authenticated invitation from a contact, not withdrawn already. */
  invitation: (invitation: IncomingInvitation) => void;
  /**
   * An authenticated cancel. `take` returns true when a call took it; otherwise it is kept, bound
   * to its sender, so the invitation it withdraws never rings.
   */
  cancel: (from: PeerId, senderKey: Uint8Array, cancel: CancelMessage, taken: () => void) => void;
  /** Input that was dropped, or a send that failed (and is retried). Never fatal. */
  warning: (error: SealcallError) => void;
}

/** When a one-shot cancel is sent again (ms after the first), since nothing acknowledges it. */
const CANCEL_REPEATS_MS = [1_000, 3_000];

/**
 * The inbound side of signaling and the owner of its keys: every payload from the chat transport
 * is parsed once here, authenticated, decoded and handed to exactly one place: a new invitation
 * to the call layer, a handshake reply to its outgoing invitation, a transport envelope to the
 * channel of its session, a cancel to the call layer. Noise objects never leave `signaling/`.
 */
export class SignalingRouter extends EventEmitter<RouterEvents> {
  private readonly outgoing = new Map<string, OutgoingInvitation>();
  private readonly channels = new Map<string, SignalingChannel>();
  /** Cancels that arrived before their invitation, by sender key and call id. */
  private readonly earlyCancels: ExpiringMap<CancelMessage>;
  /** Replies to invitations, by the invitation's ephemeral key, to send again on a repeat. */
  private readonly replies: ExpiringMap<{ from: PeerId; envelope: Uint8Array }>;
  /** Cancels to send again, soonest first, on one timer however many calls ended. */
  private readonly repeats: { at: number; peer: PeerId; envelope: Uint8Array }[] = [];
  private repeatTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribe: () => void;
  private readonly context: InvitationContext;
  private closed = false;

  constructor(private readonly options: RouterOptions) {
    super();
    this.earlyCancels = new ExpiringMap({ ttlMs: options.memoryMs, maxEntries: 1000, now: options.now });
    this.replies = new ExpiringMap({ ttlMs: options.memoryMs, maxEntries: 1000, now: options.now });
    this.context = {
      delivery: options.delivery,
      send: (to, envelope) => this.send(to, envelope),
      register: (callId, tag) => this.register(callId, tag),
      answered: (key, from, envelope) => this.replies.set(key, { from, envelope }),
      forget: (invitation) => {
        if (this.outgoing.get(invitation.callId) === invitation) this.outgoing.delete(invitation.callId);
      },
      warn: (error) => this.warn(error),
    };
    this.unsubscribe = options.transport.onMessage((from, payload) => this.route(from, payload));
  }

  /** Seals an invitation to `peer` (not sent yet: `invitation.send()`). */
  invite(peer: PeerId, remoteKey: Uint8Array, message: (callId: string) => OutgoingMessage): OutgoingInvitation {
    const handshake = new OutgoingHandshake({ identity: this.options.identity, remotePublicKey: remoteKey });
    let envelope: Uint8Array;
    try {
      envelope = handshake.invite(encodeMessage(message(handshake.callId)));
    } catch (error) {
      handshake.dispose();
      throw error;
    }
    const invitation = new OutgoingInvitation(this.context, handshake, peer, envelope);
    this.outgoing.set(invitation.callId, invitation);
    return invitation;
  }

  /**
   * Withdraws call `callId` at every device of `peer` with a one-shot cancel, sent three times
   * over a few seconds since nothing acknowledges it (repeats are dropped as replays).
   */
  cancel(peer: PeerId, callId: string, cancel: { reason: CancelReason; keepSession?: string }): void {
    const remoteKey = this.options.keyOf(peer);
    if (!remoteKey || this.closed) return;
    const payload = encodeMessage({ type: 'cancel', callId, seq: 0, ...cancel });
    const envelope = sealOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, callId, payload });
    this.putCancel(peer, envelope);
    const now = Date.now();
    for (const ms of CANCEL_REPEATS_MS) this.repeats.push({ at: now + ms, peer, envelope });
    this.repeats.sort((a, b) => a.at - b.at);
    this.scheduleRepeats();
  }

  private putCancel(peer: PeerId, envelope: Uint8Array): void {
    this.send(peer, envelope).catch((error: unknown) => this.warn(toSealcallError(error, 'TRANSPORT_FAILED')));
  }

  private scheduleRepeats(): void {
    if (this.repeatTimer !== undefined || this.repeats.length === 0 || this.closed) return;
    this.repeatTimer = setTimeout(() => {
      this.repeatTimer = undefined;
      const now = Date.now();
      while (this.repeats.length > 0 && this.repeats[0]!.at <= now) {
        const due = this.repeats.shift()!;
        this.putCancel(due.peer, due.envelope);
      }
      this.scheduleRepeats();
    }, Math.max(0, this.repeats[0]!.at - Date.now()));
  }

  /** Hands a payload that arrived outside the transport (a VoIP push) to the same path. */
  deliver(from: PeerId, payload: Uint8Array): void {
    this.route(from, payload);
  }

  /** Stops listening, closes every channel at once and wipes every key. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearTimeout(this.repeatTimer);
    this.repeats.length = 0;
    for (const invitation of [...this.outgoing.values()]) invitation.dispose();
    for (const channel of [...this.channels.values()]) channel.close();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------

  private send(to: PeerId, envelope: Uint8Array): Promise<void> {
    return this.options.transport.send(to, envelope);
  }

  private register(callId: string, tag: string): { closed: () => void; add: (channel: SignalingChannel) => void } {
    const key = `${callId}:${tag}`;
    return {
      add: (channel) => this.channels.set(key, channel),
      closed: () => this.channels.delete(key),
    };
  }

  private route(from: PeerId, payload: Uint8Array): void {
    if (this.closed) return;
    let parsed: ParsedEnvelope;
    try {
      parsed = parseEnvelope(payload);
    } catch (error) {
      return this.warn(toSealcallError(error, 'BAD_MESSAGE'));
    }
    switch (parsed.kind) {
      case EnvelopeKind.invite:
        return this.onInvite(from, payload, parsed);
      case EnvelopeKind.oneShot:
        return this.onOneShot(from, payload);
      case EnvelopeKind.response:
        return this.outgoing.get(parsed.callId)?.reply(from, payload);
      case EnvelopeKind.transport:
        return this.onTransport(from, payload, parsed);
    }
  }

  private onTransport(from: PeerId, envelope: Uint8Array, parsed: ParsedEnvelope): void {
    const channel = this.channels.get(`${parsed.callId}:${parsed.sessionTag}`);
    if (channel) {
      try {
        channel.receive(envelope);
      } catch (error) {
        if (!isSealcallError(error, 'REPLAYED')) this.warn(toSealcallError(error, 'BAD_MESSAGE'));
      }
      return;
    }
    // The reply that opens this session may still be on its way; only the invited contact's
    // envelopes are held for it. Envelopes of calls that ended are dropped without a word.
    const invitation = this.outgoing.get(parsed.callId);
    if (invitation && this.sameKey(from, invitation.peer)) invitation.hold(parsed.sessionTag, envelope);
  }

  private onInvite(from: PeerId, envelope: Uint8Array, parsed: ParsedEnvelope): void {
    const remoteKey = this.options.keyOf(from);
    if (!remoteKey) return this.warn(new SealcallError('UNKNOWN_CONTACT', 'invitation from an unknown sender'));
    const inviteKey = sodium().to_hex(parsed.body.subarray(0, 32));
    let handshake: IncomingHandshake;
    try {
      handshake = IncomingHandshake.open({ identity: this.options.identity, remotePublicKey: remoteKey, envelope, replayCache: this.options.replayCache });
    } catch (error) {
      if (!isSealcallError(error, 'REPLAYED')) return this.warn(toSealcallError(error, 'BAD_MESSAGE'));
      // The caller sends its invitation again until it hears a reply: repeat ours, if we made one.
      const reply = this.replies.get(inviteKey);
      if (reply && reply.from === from) this.send(from, reply.envelope).catch(() => {});
      return;
    }
    let invite: InviteMessage;
    try {
      invite = this.checkInvite(decodeMessage(handshake.payload), parsed.callId);
    } catch (error) {
      handshake.dispose();
      return this.warn(toSealcallError(error, 'BAD_MESSAGE'));
    }
    if (this.earlyCancels.has(cancelKey(remoteKey, invite.callId))) {
      handshake.dispose();
      return;
    }
    this.emit('invitation', new IncomingInvitation(this.context, handshake, from, remoteKey, invite, inviteKey));
  }

  /** An invitation must match its envelope and be fresh; a stale one never rings. */
  private checkInvite(message: ReturnType<typeof decodeMessage>, callId: string): InviteMessage {
    if (message.type !== 'invite' || message.callId !== callId || message.seq !== 0) {
      throw new SealcallError('BAD_MESSAGE', 'invitation envelope without a matching invite');
    }
    const now = this.options.now();
    const skew = LIMITS.clockSkewMs;
    if (now < message.sentAt - skew || now > message.sentAt + message.lifetimeMs + skew) {
      throw new SealcallError('STALE', 'invitation is outside its lifetime');
    }
    return message;
  }

  private onOneShot(from: PeerId, envelope: Uint8Array): void {
    const remoteKey = this.options.keyOf(from);
    if (!remoteKey) return this.warn(new SealcallError('UNKNOWN_CONTACT', 'message from an unknown sender'));
    let cancel: CancelMessage;
    try {
      const opened = openOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, envelope, replayCache: this.options.replayCache });
      const message = decodeMessage(opened.payload);
      if (message.type !== 'cancel' || message.callId !== opened.callId) throw new SealcallError('BAD_MESSAGE', 'one-shot is not a cancel');
      cancel = message;
    } catch (error) {
      if (!isSealcallError(error, 'REPLAYED')) this.warn(toSealcallError(error, 'BAD_MESSAGE'));
      return;
    }
    let taken = false;
    this.emit('cancel', from, remoteKey, cancel, () => (taken = true));
    if (!taken) this.earlyCancels.set(cancelKey(remoteKey, cancel.callId), cancel);
  }

  private sameKey(peer: PeerId, other: PeerId): boolean {
    const a = this.options.keyOf(peer);
    const b = this.options.keyOf(other);
    return a !== undefined && b !== undefined && sodium().memcmp(a, b);
  }

  private warn(error: SealcallError): void {
    if (!this.closed) this.emit('warning', error);
  }
}

/** Early cancels are bound to their sender: one contact cannot withdraw another's invitation. */
function cancelKey(senderKey: Uint8Array, callId: string): string {
  return `${sodium().to_hex(senderKey)}:${callId}`;
}
