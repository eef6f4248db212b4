import { EventEmitter } from 'eventemitter3';
import { isSealcallError, SealcallError, toSealcallError } from '../errors.js';
import type { Identity } from '../crypto/identity.js';
import { sodium } from '../crypto/sodium.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import type { CancelMessage, CancelReason, InviteMessage, OutgoingMessage } from '../protocol/messages.js';
import type { ChatTransport, PeerId, SendHints } from '../transport/chat-transport.js';
import type { DeliveryOptions, SignalingChannel } from './channel.js';
import { ENVELOPE_BUCKETS, EnvelopeKind, parseEnvelope, type ParsedEnvelope } from './envelope.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from './handshake.js';
import { IncomingInvitation, OutgoingInvitation, type InvitationContext } from './invitation.js';
import { ContactMemory } from './contact-memory.js';
import { openPair, sealPair } from './pair-seal.js';
import { PairKeyCache } from './pair-key-cache.js';
import type { ReplayGuard, ReplayStore } from './replay-guard.js';
import { ExpiringMap } from '../expiring-map.js';

/** What the router needs to know. */
export interface RouterOptions {
  identity: Identity;
  transport: ChatTransport;
  /** A contact's public key, or undefined for a stranger. */
  keyOf(peer: PeerId): Uint8Array | undefined;
  /** Refuses invitations accepted before. */
  replayGuard: ReplayGuard;
  /** Where the guard's state is saved after each invitation accepted, before it rings. */
  replayStore?: ReplayStore | undefined;
  now(): number;
  delivery: DeliveryOptions;
  /** How long early cancels are remembered. */
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
  /**
   * Another device of this user declined an invitation this device let ring: an authenticated
   * cancel `declined-elsewhere` sealed with this user's own identity key at both ends and bound
   * to the invitation's caller, `callerKey`. `taken` as for `cancel` (one not taken is kept,
   * bound to that caller, so the invitation never rings).
   */
  ownCancel: (callerKey: Uint8Array, cancel: CancelMessage, taken: () => void) => void;
  /** Input that was dropped, or a send that failed (and is retried). Never fatal. */
  warning: (error: SealcallError) => void;
}

/** When a one-shot cancel is sent again (ms after the first), since nothing acknowledges it. */
const CANCEL_REPEATS_MS = [1_000, 3_000];

/**
 * The inbound side of signaling and the owner of its keys: every payload from the chat transport
 * is parsed once here, authenticated, decoded and handed to exactly one place: a new invitation
 * to the call layer, a handshake reply to its outgoing invitation, a transport envelope to the
 * channel of its session, a cancel (a caller's, or one from this user's other devices) to the
 * call layer. Noise objects never leave `signaling/`.
 */
export class SignalingRouter extends EventEmitter<RouterEvents> {
  private readonly outgoing = new Map<string, OutgoingInvitation>();
  private readonly channels = new Map<string, SignalingChannel>();
  /** Cancels that arrived before their invitation, by sender and call id. */
  private readonly earlyCancels: ContactMemory<CancelMessage>;
  /**
   * Replies to invitations, by the invitation's ephemeral key, to send again when the caller
   * sends its invitation again (it did not hear us). Only while the invitation can be fresh: a
   * replay later learns nothing.
   */
  private readonly replies: ContactMemory<{ from: PeerId; envelope: Uint8Array; until: number }>;
  /**
   * The caller of each invitation this device let through, by call id, while it can ring: a
   * cancel from this user's other devices opens only bound to that caller's key.
   */
  private readonly invitedBy: ExpiringMap<Uint8Array>;
  private readonly pairs: PairKeyCache;
  /** Replay-state saves, one after another so the last state wins. */
  private saving: Promise<void> = Promise.resolve();
  /** Cancels to send again, soonest first, on one timer however many calls ended. */
  private readonly repeats: { at: number; peer: PeerId; envelope: Uint8Array }[] = [];
  private repeatTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribe: () => void;
  private readonly context: InvitationContext;
  private closed = false;

  constructor(private readonly options: RouterOptions) {
    super();
    this.earlyCancels = new ContactMemory({ ttlMs: options.memoryMs, perContact: 16, maxContacts: 1024, now: options.now });
    this.replies = new ContactMemory({ ttlMs: LIMITS.inviteLifetimeMs + LIMITS.clockSkewMs, perContact: 16, maxContacts: 1024, now: options.now });
    this.invitedBy = new ExpiringMap({ ttlMs: LIMITS.inviteLifetimeMs + LIMITS.clockSkewMs, maxEntries: 256, now: options.now });
    this.pairs = new PairKeyCache(options.identity);
    this.context = {
      delivery: options.delivery,
      send: (to, envelope, hints) => this.send(to, envelope, hints),
      register: (callId, tag) => this.register(callId, tag),
      answered: (invitation, envelope) => {
        // Repeated only while the invitation can pass the freshness check: a replay later learns nothing.
        const until = invitation.invite.sentAt + invitation.invite.lifetimeMs + LIMITS.clockSkewMs;
        this.replies.set(invitation.remoteKey, invitation.inviteKey, { from: invitation.from, envelope, until });
      },
      forget: (invitation) => {
        if (this.outgoing.get(invitation.callId) === invitation) this.outgoing.delete(invitation.callId);
      },
      warn: (error) => this.warn(error),
    };
    this.unsubscribe = options.transport.onMessage((from, payload) => void this.route(from, payload));
  }

  /** Seals an invitation to `peer` (not sent yet: `invitation.send()`). */
  invite(peer: PeerId, remoteKey: Uint8Array, message: (callId: string) => OutgoingMessage): OutgoingInvitation {
    const handshake = new OutgoingHandshake({ identity: this.options.identity, remotePublicKey: remoteKey });
    let envelope: Uint8Array;
    try {
      envelope = handshake.invite(encodeMessage(message(handshake.callId)), this.options.delivery.envelopeBytes);
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
   * over a few seconds since nothing acknowledges it (a repeat is applied again: it changes nothing).
   */
  cancel(peer: PeerId, callId: string, cancel: { reason: CancelReason; keepSession?: string }): void {
    const remoteKey = this.options.keyOf(peer);
    if (!remoteKey || this.closed) return;
    const payload = encodeMessage({ type: 'cancel', callId, seq: 0, ...cancel });
    this.sendOneShot(peer, sealOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, callId, payload, envelopeBytes: this.options.delivery.envelopeBytes }));
  }

  /**
   * Tells this user's other devices, which the transport reaches at `ownDevices`, that this
   * device declined call `callId` of the contact whose key is `callerKey`: a one-shot cancel
   * `declined-elsewhere` sealed with this user's identity key at both ends (only the user's
   * devices can make or open it) and bound to the caller's key, sent like {@link cancel}. Nothing
   * goes to the caller. Nothing at all unless `ownDevices` has this user's own key.
   */
  cancelOwn(ownDevices: PeerId, callId: string, callerKey: Uint8Array): void {
    const { identity } = this.options;
    if (this.closed || !this.isKey(ownDevices, identity.publicKey)) return;
    const payload = encodeMessage({ type: 'cancel', callId, seq: 0, reason: 'declined-elsewhere' });
    const envelopeBytes = this.options.delivery.envelopeBytes;
    this.sendOneShot(ownDevices, sealOneShot({ identity, remotePublicKey: identity.publicKey, callId, callerKey, payload, envelopeBytes }));
  }

  /** Sends a one-shot now and twice more over a few seconds, since nothing acknowledges it. */
  private sendOneShot(peer: PeerId, envelope: Uint8Array): void {
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

  /**
   * Hands a payload that arrived outside the transport (a VoIP push) to the same path. Returns
   * the call id inside once the pair seal opened (its warnings name it too).
   */
  deliver(from: PeerId, payload: Uint8Array): string | undefined {
    return this.route(from, payload);
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
    this.pairs.clear();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------

  /** Seals an inner envelope for `to` afresh (a new nonce every time, retransmissions too) and sends it. */
  private send(to: PeerId, envelope: Uint8Array, hints?: SendHints): Promise<void> {
    const remoteKey = this.options.keyOf(to);
    if (!remoteKey) return Promise.reject(new SealcallError('UNKNOWN_CONTACT', 'no public key for this contact'));
    if (this.closed) return Promise.reject(new SealcallError('TRANSPORT_CLOSED', 'the client is closed'));
    const sealed = sealPair(this.pairs.get(remoteKey), envelope);
    return hints ? this.options.transport.send(to, sealed, hints) : this.options.transport.send(to, sealed);
  }

  private register(callId: string, tag: string): { closed: () => void; add: (channel: SignalingChannel) => void } {
    const key = `${callId}:${tag}`;
    return {
      add: (channel) => this.channels.set(key, channel),
      closed: () => this.channels.delete(key),
    };
  }

  /**
   * Opens the pair seal with the key of the contact the transport names (one AEAD, whatever the
   * number of calls), reads the inner header and hands the envelope to one place. Everything the
   * seal authenticates is bound to that contact from here on.
   */
  private route(from: PeerId, payload: Uint8Array): string | undefined {
    if (this.closed) return undefined;
    const remoteKey = this.options.keyOf(from);
    if (!remoteKey) {
      this.warn(new SealcallError('UNKNOWN_CONTACT', 'envelope from an unknown sender'));
      return undefined;
    }
    let inner: Uint8Array;
    let parsed: ParsedEnvelope;
    try {
      if (!(payload instanceof Uint8Array) || !(ENVELOPE_BUCKETS as readonly number[]).includes(payload.length)) {
        throw new SealcallError('BAD_MESSAGE', 'envelope length is not a padding bucket');
      }
      inner = openPair(this.pairs.get(remoteKey), payload);
      parsed = parseEnvelope(inner);
    } catch (error) {
      this.warn(toSealcallError(error, 'BAD_MESSAGE'));
      return undefined;
    }
    this.dispatch(from, remoteKey, inner, parsed);
    return parsed.callId;
  }

  private dispatch(from: PeerId, remoteKey: Uint8Array, inner: Uint8Array, parsed: ParsedEnvelope): void {
    switch (parsed.kind) {
      case EnvelopeKind.invite:
        return this.onInvite(from, remoteKey, inner, parsed);
      case EnvelopeKind.oneShot:
        if (this.isOwnKey(remoteKey)) return this.onOwnCancel(inner, parsed.callId);
        return this.onOneShot(from, remoteKey, inner);
      case EnvelopeKind.response: {
        const invitation = this.outgoing.get(parsed.callId);
        if (invitation && this.isKey(invitation.peer, remoteKey)) invitation.reply(from, inner);
        return;
      }
      case EnvelopeKind.transport:
        return this.onTransport(remoteKey, inner, parsed);
    }
  }

  private onTransport(remoteKey: Uint8Array, envelope: Uint8Array, parsed: ParsedEnvelope): void {
    const channel = this.channels.get(`${parsed.callId}:${parsed.sessionTag}`);
    if (channel) {
      if (!this.isKey(channel.peer, remoteKey)) return;
      try {
        channel.receive(envelope);
      } catch (error) {
        if (!isSealcallError(error, 'REPLAYED')) this.warn(toSealcallError(error, 'BAD_MESSAGE'));
      }
      return;
    }
    // The reply that opens this session may still be on its way; only the invited contact's
    // envelopes are held for it, bounded. Envelopes of calls that ended are dropped without a word.
    const invitation = this.outgoing.get(parsed.callId);
    if (invitation && this.isKey(invitation.peer, remoteKey)) invitation.hold(parsed.sessionTag, envelope);
  }

  private onInvite(from: PeerId, remoteKey: Uint8Array, envelope: Uint8Array, parsed: ParsedEnvelope): void {
    const ephemeral = parsed.body.subarray(0, 32);
    const inviteKey = sodium().to_hex(ephemeral);
    if (this.options.replayGuard.has(remoteKey, ephemeral)) return this.repeatReply(inviteKey, from, remoteKey);
    let handshake: IncomingHandshake;
    try {
      handshake = IncomingHandshake.open({ identity: this.options.identity, remotePublicKey: remoteKey, envelope });
    } catch (error) {
      return this.warn(toSealcallError(error, 'BAD_MESSAGE').withCallId(parsed.callId));
    }
    let invite: InviteMessage;
    try {
      invite = this.checkInvite(decodeMessage(handshake.payload), parsed.callId);
      this.options.replayGuard.admit(remoteKey, ephemeral, invite.sentAt);
    } catch (error) {
      handshake.dispose();
      if (isSealcallError(error, 'REPLAYED')) return this.repeatReply(inviteKey, from, remoteKey);
      return this.warn(toSealcallError(error, 'BAD_MESSAGE').withCallId(parsed.callId));
    }
    if (this.earlyCancels.has(remoteKey, invite.callId)) {
      handshake.dispose();
      return;
    }
    this.invitedBy.set(invite.callId, remoteKey);
    const ring = () => {
      // A cancel may have come while the replay state was being saved.
      if (this.closed || this.earlyCancels.has(remoteKey, invite.callId)) return handshake.dispose();
      this.emit('invitation', new IncomingInvitation(this.context, handshake, from, remoteKey, invite, inviteKey));
    };
    const store = this.options.replayStore;
    if (!store) return ring();
    // Saved before it rings: after a restart, this invitation is refused, never answered.
    // A failed save is reported and the call still rings: refusing a real call is worse.
    const state = this.options.replayGuard.serialize();
    const saved = this.saving.then(() => store.save(state));
    this.saving = saved.catch(() => {});
    saved.then(ring, (error: unknown) => {
      this.warn(new SealcallError('REPLAY_STORE_FAILED', 'the replay state could not be saved', { cause: error }).withCallId(invite.callId));
      ring();
    });
  }

  /** The caller sends its invitation again until it hears a reply: repeat ours, if we made one. */
  private repeatReply(inviteKey: string, from: PeerId, remoteKey: Uint8Array): void {
    const reply = this.replies.get(remoteKey, inviteKey);
    if (reply && reply.from === from && this.options.now() <= reply.until) this.send(from, reply.envelope).catch(() => {});
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

  private onOneShot(from: PeerId, remoteKey: Uint8Array, envelope: Uint8Array): void {
    let cancel: CancelMessage;
    try {
      const opened = openOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, envelope });
      const message = decodeMessage(opened.payload);
      if (message.type !== 'cancel' || message.callId !== opened.callId) throw new SealcallError('BAD_MESSAGE', 'one-shot is not a cancel');
      cancel = message;
    } catch (error) {
      return this.warn(toSealcallError(error, 'BAD_MESSAGE'));
    }
    let taken = false;
    this.emit('cancel', from, remoteKey, cancel, () => (taken = true));
    if (!taken) this.earlyCancels.set(remoteKey, cancel.callId, cancel);
  }

  /**
   * A one-shot from another device of this user (its pair seal opened with this user's own key:
   * only a holder of the identity key made it). It must open bound to the caller of an invitation
   * this device let through, and decline: anything else is dropped with a warning. A call id this
   * device never let ring, or no longer remembers, is dropped without a word: nothing of it rings
   * here. The sender's own echo opens too and finds no call (it ended before sending): kept like
   * any cancel not taken, it changes nothing.
   */
  private onOwnCancel(envelope: Uint8Array, callId: string): void {
    const { identity } = this.options;
    const callerKey = this.invitedBy.get(callId);
    if (!callerKey) return;
    let cancel: CancelMessage;
    try {
      const opened = openOneShot({ identity, remotePublicKey: identity.publicKey, envelope, callId, callerKey });
      const message = decodeMessage(opened.payload);
      if (message.type !== 'cancel' || message.callId !== callId || message.reason !== 'declined-elsewhere' || message.keepSession !== undefined) {
        throw new SealcallError('BAD_MESSAGE', "a one-shot from this user's own devices is not a decline");
      }
      cancel = message;
    } catch (error) {
      return this.warn(toSealcallError(error, 'BAD_MESSAGE').withCallId(callId));
    }
    let taken = false;
    this.emit('ownCancel', callerKey, cancel, () => (taken = true));
    if (!taken) this.earlyCancels.set(callerKey, callId, cancel);
  }

  /** Whether `key` is this user's own identity key (the other devices of this user). */
  private isOwnKey(key: Uint8Array): boolean {
    return sodium().memcmp(key, this.options.identity.publicKey);
  }

  /** Whether `peer` is the contact whose key is `key`. */
  private isKey(peer: PeerId, key: Uint8Array): boolean {
    const a = this.options.keyOf(peer);
    return a !== undefined && sodium().memcmp(a, key);
  }

  private warn(error: SealcallError): void {
    if (!this.closed) this.emit('warning', error);
  }
}
