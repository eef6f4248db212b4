import { EventEmitter } from 'eventemitter3';
import { isSealcallError, SealcallError, type ErrorCode } from '../errors.js';
import { EnvelopeKind, parseEnvelope, type ParsedEnvelope } from '../signaling/envelope.js';
import { checkKey } from '../crypto/identity.js';
import { ReplayCache } from '../signaling/replay-cache.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from '../signaling/handshake.js';
import { ready, sodium } from '../crypto/sodium.js';
import { ExpiringMap } from '../expiring-map.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import { LIMITS } from '../protocol/limits.js';
import type { CancelMessage, CancelReason, InviteMessage, Message } from '../protocol/messages.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import { Call, type MediaOptions } from './call.js';
import type { CallContext } from './call-context.js';
import { isLive } from './call-state.js';
import { createFrameProtector, detectFrameTransformApi } from '../session/frame-protector.js';
import type { FrameSuiteName } from '../crypto/frame/types.js';
import { DEFAULT_FRAME_SUITES, e2eeUnavailable } from './frame-policy.js';
import { IceServerSource } from './ice-servers.js';
import { DEFAULTS, type CallClientOptions, type Contacts, type ResolvedOptions } from './options.js';

/** Events of a {@link CallClient}. */
export interface CallClientEvents {
  /** A contact's invitation is ringing. Answer with `call.accept()` or `call.reject()`. */
  incoming: (call: Call) => void;
  /**
   * Input was dropped: forged, malformed, stale or from an unknown sender. Informational; the
   * client keeps working. Never carries key material or SDP.
   */
  warning: (error: SealcallError) => void;
}

/** Options of {@link CallClient.call}. */
export interface CallOptions extends MediaOptions {
  /** Audio-only or video call. Default: video if `video` is true, else audio. */
  media?: 'audio' | 'video';
}

/**
 * The entry point: places and receives calls over the app's chat transport. One per signed-in
 * user and device; it holds at most one live call (a second invitation gets `busy`).
 */
export class CallClient extends EventEmitter<CallClientEvents> {
  private readonly calls = new Map<string, Call>();
  /** Cancels that arrived before their invitation, so the invitation never rings. */
  private readonly cancelled: ExpiringMap<CancelMessage>;
  private readonly options: ResolvedOptions;
  private readonly unsubscribe: () => void;
  private readonly context: CallContext;
  private readonly iceServers: IceServerSource;
  /** Frame-encryption suites this client can offer in this runtime (empty: none). */
  private readonly frameSuites: FrameSuiteName[];
  private closed = false;

  private constructor(options: ResolvedOptions, private readonly input: CallClientOptions) {
    super();
    this.options = options;
    this.cancelled = new ExpiringMap({ ttlMs: options.endedCallMemoryMs, maxEntries: 1000, now: options.now });
    const makeProtector =
      options.frameProtector ??
      ((suite) => createFrameProtector({ suite, ...(options.frameWorkerUrl ? { workerUrl: options.frameWorkerUrl } : {}) }));
    const canProtectFrames =
      options.frameEncryption !== 'disabled' && (options.frameProtector !== undefined || detectFrameTransformApi() !== undefined);
    this.frameSuites = canProtectFrames ? [...options.frameSuites] : [];
    const iceServers = new IceServerSource(input.iceServers ?? [], options.iceRefreshBufferMs, options.now);
    iceServers.on('updated', (servers) => {
      for (const call of this.calls.values()) call.updateIceServers(servers);
    });
    iceServers.on('error', (error) => this.warn(error));
    this.iceServers = iceServers;
    this.context = {
      options,
      transport: input.transport,
      iceServers,
      frameSuites: this.frameSuites,
      createFrameProtector: makeProtector,
      send: (to, envelope) => input.transport.send(to, envelope),
      cancel: (peer, callId, cancel) => this.sendCancel(peer, callId, cancel),
      warn: (error, quiet) => this.warn(error, quiet),
      ended: (call) => this.calls.delete(call.id),
      renamed: (call, previousId) => {
        this.calls.delete(previousId);
        this.calls.set(call.id, call);
      },
    };
    this.unsubscribe = input.transport.onMessage((from, payload) => this.route(from, payload));
  }

  /** Loads the crypto library and starts listening on the transport. */
  static async create(options: CallClientOptions): Promise<CallClient> {
    await ready();
    checkKey(options.identity?.secretKey, 'identity.secretKey');
    checkKey(options.identity?.publicKey, 'identity.publicKey');
    if (!options.transport || typeof options.transport.send !== 'function' || typeof options.transport.onMessage !== 'function') {
      throw new SealcallError('INVALID_ARGUMENT', 'transport must implement ChatTransport');
    }
    const resolved: ResolvedOptions = {
      ...DEFAULTS,
      now: Date.now,
      ...stripUndefined(options),
      identity: options.identity,
      transport: options.transport,
      contacts: options.contacts ?? contactsOf(options.transport),
      frameSuites: options.frameSuites ?? DEFAULT_FRAME_SUITES,
      replayCache: options.replayCache ?? new ReplayCache(),
    };
    return new CallClient(resolved, options);
  }

  /** The calls in progress. */
  get activeCalls(): Call[] {
    return [...this.calls.values()];
  }

  /** How long invitations ring (the `ringTimeoutMs` option), e.g. for a CallKit bridge. */
  get ringTimeoutMs(): number {
    return this.options.ringTimeoutMs;
  }

  /**
   * Hands the client a payload that arrived outside the transport, exactly as if the transport
   * had delivered it: typically the sealed invitation carried by a VoIP push. Duplicates (the
   * same invitation later arriving over the transport too) are recognised and dropped.
   */
  deliver(from: PeerId, payload: Uint8Array): void {
    this.route(from, payload);
  }

  /**
   * Calls a contact: gets local media, then sends the invitation (no SDP, no address). Resolves
   * once the invitation is sent; watch `call.on('state')` and `call.on('ended')`. If that
   * contact is ringing this user right now, their call is accepted instead (and returned).
   */
  async call(peer: PeerId, options: CallOptions = {}): Promise<Call> {
    if (this.closed) throw new SealcallError('INVALID_STATE', 'client is closed');
    const remoteKey = this.keyOf(peer);
    if (!remoteKey) throw new SealcallError('UNKNOWN_CONTACT', 'no public key for this contact');
    const ringing = this.activeCalls.find((c) => c.state === 'incoming' && sameKey(this.keyOf(c.peer), remoteKey));
    if (ringing) {
      await ringing.accept(options);
      return ringing;
    }
    if (this.activeCalls.some((c) => isLive(c.state))) throw new SealcallError('INVALID_STATE', 'already in a call');
    if (this.options.frameEncryption === 'required' && this.frameSuites.length === 0) {
      throw e2eeUnavailable('this runtime cannot encrypt frames');
    }
    const media = options.media ?? (options.video ? 'video' : 'audio');
    const handshake = new OutgoingHandshake({ identity: this.options.identity, remotePublicKey: remoteKey });
    const call = new Call(this.context, { peer, direction: 'outgoing', callId: handshake.callId, media });
    this.calls.set(call.id, call);
    const invite = encodeMessage({
      type: 'invite',
      callId: call.id,
      seq: 0,
      media,
      capabilities: { frameEncryption: this.frameSuites },
      sentAt: this.options.now(),
      lifetimeMs: Math.min(this.options.ringTimeoutMs, LIMITS.inviteLifetimeMs),
    });
    try {
      await call.start(handshake, options, invite);
    } catch (error) {
      handshake.dispose();
      throw error;
    }
    return call;
  }

  /** Hangs up every call and stops listening. The transport itself stays the app's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.activeCalls.map((call) => call.hangup()));
    this.iceServers.close();
    this.unsubscribe();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------

  private route(from: PeerId, payload: Uint8Array): void {
    if (this.closed) return;
    let parsed: ParsedEnvelope;
    try {
      parsed = parseEnvelope(payload);
    } catch (error) {
      this.warn(error);
      return;
    }
    switch (parsed.kind) {
      case EnvelopeKind.invite:
        this.onInvite(from, payload, parsed);
        return;
      case EnvelopeKind.oneShot:
        this.onOneShot(from, payload);
        return;
      case EnvelopeKind.response:
        this.calls.get(parsed.callId)?.handleReply(from, payload);
        return;
      case EnvelopeKind.transport:
        // Messages of calls that ended (or never were ours) are dropped without a word.
        this.calls.get(parsed.callId)?.handleTransport(from, payload, parsed.sessionTag);
    }
  }

  private onInvite(from: PeerId, envelope: Uint8Array, parsed: ParsedEnvelope): void {
    const remoteKey = this.keyOf(from);
    if (!remoteKey) return this.warn(new SealcallError('UNKNOWN_CONTACT', 'invitation from an unknown sender'));
    let incoming: IncomingHandshake;
    try {
      incoming = IncomingHandshake.open({
        identity: this.options.identity,
        remotePublicKey: remoteKey,
        envelope,
        replayCache: this.options.replayCache,
      });
    } catch (error) {
      return this.warn(error, 'REPLAYED');
    }
    let invite: InviteMessage;
    try {
      invite = this.checkInvite(decodeMessage(incoming.payload), parsed.callId);
    } catch (error) {
      incoming.dispose();
      return this.warn(error);
    }
    if (this.cancelled.has(invite.callId) || this.closed) {
      incoming.dispose();
      return;
    }
    const reply = (type: 'ringing' | 'busy') =>
      incoming.respond(
        encodeMessage(
          type === 'ringing'
            ? { type, callId: invite.callId, seq: 0, capabilities: { frameEncryption: this.frameSuites } }
            : { type, callId: invite.callId, seq: 0 },
        ),
      );

    // Glare: we are calling this same contact. The lower call id survives on both sides.
    const outgoing = this.activeCalls.find((c) => c.awaitingAnswer && sameKey(this.keyOf(c.peer), remoteKey));
    if (outgoing) {
      if (invite.callId < outgoing.id) {
        const { session, envelope: answer } = reply('ringing');
        void outgoing.adopt(from, session, invite, answer);
      } else {
        incoming.dispose(); // the peer adopts our call when our invitation reaches it
      }
      return;
    }
    if (this.activeCalls.some((c) => isLive(c.state))) {
      const { session, envelope: busy } = reply('busy');
      session.dispose();
      this.input.transport.send(from, busy).catch((error: unknown) => this.warn(error));
      return;
    }
    const { session, envelope: ringing } = reply('ringing');
    const call = new Call(this.context, { peer: from, direction: 'incoming', callId: invite.callId, media: invite.media });
    this.calls.set(call.id, call);
    if (call.ring(from, session, invite, ringing)) this.emit('incoming', call);
    else this.warn(e2eeUnavailable('an invitation could not use frame encryption'));
  }

  /** An invitation must match its envelope and be fresh; a stale one never rings. */
  private checkInvite(message: Message, callId: string): InviteMessage {
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
    const remoteKey = this.keyOf(from);
    if (!remoteKey) return this.warn(new SealcallError('UNKNOWN_CONTACT', 'message from an unknown sender'));
    let cancel: CancelMessage;
    try {
      const opened = openOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, envelope, replayCache: this.options.replayCache });
      const message = decodeMessage(opened.payload);
      if (message.type !== 'cancel' || message.callId !== opened.callId) throw new SealcallError('BAD_MESSAGE', 'one-shot is not a cancel');
      cancel = message;
    } catch (error) {
      return this.warn(error, 'REPLAYED');
    }
    const call = this.calls.get(cancel.callId);
    if (call && sameKey(this.keyOf(call.peer), remoteKey)) call.handleCancel(cancel);
    else if (!call) this.cancelled.set(cancel.callId, cancel);
  }

  private sendCancel(peer: PeerId, callId: string, cancel: { reason: CancelReason; keepSession?: string }): void {
    const remoteKey = this.keyOf(peer);
    if (!remoteKey) return;
    const payload = encodeMessage({ type: 'cancel', callId, seq: 0, ...cancel });
    const envelope = sealOneShot({ identity: this.options.identity, remotePublicKey: remoteKey, callId, payload });
    this.input.transport.send(peer, envelope).catch((error: unknown) => this.warn(error));
  }

  private keyOf(peer: PeerId): Uint8Array | undefined {
    const { contacts } = this.options;
    const key = typeof contacts === 'function' ? contacts(peer) : Object.hasOwn(contacts, peer) ? contacts[peer] : undefined;
    return key instanceof Uint8Array && key.length === 32 ? key : undefined;
  }

  private warn(error: unknown, quiet?: ErrorCode): void {
    if (quiet && isSealcallError(error, quiet)) return;
    const reported = isSealcallError(error)
      ? error
      : new SealcallError('BAD_MESSAGE', error instanceof Error ? error.message : String(error), { cause: error });
    this.emit('warning', reported);
  }
}

/** The transport's own contact keys, for a client created without `contacts`. */
function contactsOf(transport: ChatTransport): Contacts {
  const { contactKey } = transport;
  if (typeof contactKey !== 'function') {
    throw new SealcallError('INVALID_ARGUMENT', "contacts is required: this transport has no contactKey() to read the contacts' keys from");
  }
  return (peer) => contactKey.call(transport, peer);
}

function sameKey(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && sodium().memcmp(a, b);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
