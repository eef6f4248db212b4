import { EventEmitter } from 'eventemitter3';
import { SealcallError, toSealcallError } from '../errors.js';
import { checkKey } from '../crypto/identity.js';
import { ready, sodium } from '../crypto/sodium.js';
import { LIMITS } from '../protocol/limits.js';
import type { CancelMessage } from '../protocol/messages.js';
import { ReplayGuard } from '../signaling/replay-guard.js';
import type { IncomingInvitation } from '../signaling/invitation.js';
import { SignalingRouter } from '../signaling/router.js';
import { envelopeBytesFor } from '../signaling/envelope.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import { Call, type MediaOptions } from './call.js';
import type { CallContext } from './call-context.js';
import { isLive } from './call-state.js';
import { createFrameProtector, detectFrameTransformApi } from '../session/frame-protector.js';
import type { FrameSuiteName } from '../crypto/frame/types.js';
import { DEFAULT_FRAME_SUITES, e2eeUnavailable } from './frame-policy.js';
import { IceServerSource } from './ice-servers.js';
import { DEFAULTS, sessionWebRtc, type CallClientOptions, type Contacts, type ResolvedOptions } from './options.js';

/** Events of a {@link CallClient}. */
export interface CallClientEvents {
  /** A contact's invitation is ringing. Answer with `call.accept()` or `call.reject()`. */
  incoming: (call: Call) => void;
  /**
   * This user placed a call (`client.call()`), synchronously inside `call()`: before devices and
   * ICE servers are fetched and the invitation is sent. The call's `state` moves to `outgoing` right after.
   */
  outgoing: (call: Call) => void;
  /**
   * Input was dropped (forged, malformed, stale, from an unknown sender) or a send failed and
   * is being retried. Informational; the client keeps working. `error.callId` names the call
   * when one is concerned. Never carries key material or SDP.
   */
  warning: (error: SealcallError) => void;
}

/** Options of {@link CallClient.call}. */
export interface CallOptions extends MediaOptions {
  /** Audio-only or video call. Default: video if `video` is true, else audio. */
  media?: 'audio' | 'video';
}

/**
 * What became of a payload handed to {@link CallClient.deliver}: `accepted` when it was
 * sealcall's and taken, else the reason it was dropped (a replayed invitation: `REPLAYED`).
 * `callId` names the call inside once the payload proved to come from the contact (its pair
 * seal opened): an invitation may ring a moment later, once the replay state is saved.
 */
export type DeliveryOutcome = { accepted: true; callId?: string } | { accepted: false; error: SealcallError; callId?: string };

/**
 * The entry point: places and receives calls over the app's chat transport. One per signed-in
 * user and device; it holds at most one live call (a second invitation gets `busy`, unless it
 * comes from the same contact and replaces a call of theirs that never connected).
 */
export class CallClient extends EventEmitter<CallClientEvents> {
  private readonly calls = new Map<string, Call>();
  private readonly options: ResolvedOptions;
  private readonly router: SignalingRouter;
  private readonly context: CallContext;
  private readonly iceServers: IceServerSource;
  /** Frame-encryption suites this client can offer in this runtime (empty: none). */
  private readonly frameSuites: FrameSuiteName[];
  /** Set while `deliver()` routes a payload: the first warning it caused. */
  private delivering: { error?: SealcallError } | undefined;
  private closed = false;

  private constructor(options: ResolvedOptions, input: CallClientOptions, replayGuard: ReplayGuard) {
    super();
    this.options = options;
    const makeProtector =
      options.frameProtector ??
      ((suite) => createFrameProtector({ suite, ...(options.frameWorkerUrl ? { workerUrl: options.frameWorkerUrl } : {}) }));
    const canProtectFrames =
      options.frameEncryption !== 'disabled' && (options.frameProtector !== undefined || detectFrameTransformApi() !== undefined);
    this.frameSuites = canProtectFrames ? [...options.frameSuites] : [];
    const iceServers = new IceServerSource(input.iceServers ?? [], options.iceRefreshBufferMs, options.now);
    iceServers.on('updated', (servers) => {
      for (const call of this.calls.values()) call.protocol.plane.updateIceServers(servers);
    });
    iceServers.on('error', (error) => this.warn(error));
    this.iceServers = iceServers;
    this.router = new SignalingRouter({
      identity: options.identity,
      transport: input.transport,
      keyOf: (peer) => this.keyOf(peer),
      replayGuard,
      replayStore: options.replayStore,
      now: options.now,
      memoryMs: options.endedCallMemoryMs,
      delivery: {
        retransmitMs: options.retransmitMs,
        retransmitMaxMs: options.retransmitMaxMs,
        ackDelayMs: options.ackDelayMs,
        lingerMs: options.lingerMs,
        envelopeBytes: envelopeBytesFor(input.transport.maxPayloadBytes),
      },
    });
    this.router.on('invitation', (invitation) => this.onInvitation(invitation));
    this.router.on('cancel', (_from, senderKey, cancel, taken) => this.onCancel(senderKey, cancel, taken));
    this.router.on('ownCancel', (callerKey, cancel, taken) => this.onOwnCancel(callerKey, cancel, taken));
    this.router.on('warning', (error) => this.warn(error));
    this.context = {
      options,
      iceServers,
      frameSuites: this.frameSuites,
      createFrameProtector: makeProtector,
      cancel: (peer, callId, cancel) => this.router.cancel(peer, callId, cancel),
      declinedSilently: (call) => {
        const callerKey = this.keyOf(call.peer);
        if (options.ownDevices !== undefined && callerKey) this.router.cancelOwn(options.ownDevices, call.id, callerKey);
      },
      warn: (error, callId) => this.warn(error, callId),
      ended: (call) => this.calls.delete(call.id),
      renamed: (call, previousId) => {
        this.calls.delete(previousId);
        this.calls.set(call.id, call);
      },
    };
  }

  /** Loads the crypto library and starts listening on the transport. */
  static async create(options: CallClientOptions): Promise<CallClient> {
    await ready();
    checkKey(options.identity?.secretKey, 'identity.secretKey');
    checkKey(options.identity?.publicKey, 'identity.publicKey');
    if (!options.transport || typeof options.transport.send !== 'function' || typeof options.transport.onMessage !== 'function') {
      throw new SealcallError('INVALID_ARGUMENT', 'transport must implement ChatTransport');
    }
    const limit = options.transport.maxPayloadBytes;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= MIN_PAYLOAD_BYTES)) {
      throw new SealcallError('INVALID_ARGUMENT', `transport.maxPayloadBytes must be an integer of at least ${MIN_PAYLOAD_BYTES}`);
    }
    const own = options.ownDevices;
    if (own !== undefined && !(typeof own === 'string' && own !== '')) {
      throw new SealcallError('INVALID_ARGUMENT', 'ownDevices must be a non-empty peer id');
    }
    const quality = options.qualityIntervalMs;
    if (quality !== undefined && !(typeof quality === 'number' && Number.isFinite(quality) && quality >= 0)) {
      throw new SealcallError('INVALID_ARGUMENT', 'qualityIntervalMs must be a number of milliseconds, 0 or more');
    }
    const resolved: ResolvedOptions = {
      ...DEFAULTS,
      now: Date.now,
      ...stripUndefined(options),
      wrtc: sessionWebRtc(options.wrtc),
      identity: options.identity,
      transport: options.transport,
      contacts: options.contacts ?? contactsOf(options.transport),
      frameSuites: options.frameSuites ?? DEFAULT_FRAME_SUITES,
    };
    let saved: Uint8Array | undefined;
    let replayGuard: ReplayGuard;
    try {
      saved = await options.replayStore?.load();
      replayGuard = new ReplayGuard({ now: resolved.now }, saved);
    } catch (error) {
      throw new SealcallError('REPLAY_STORE_FAILED', 'the replay state could not be loaded', { cause: error });
    }
    return new CallClient(resolved, options, replayGuard);
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
   * same invitation later arriving over the transport too) are recognised and dropped. Returns
   * whether it was taken, or why not (the same error is also emitted as a `warning`).
   */
  deliver(from: PeerId, payload: Uint8Array): DeliveryOutcome {
    if (this.closed) return { accepted: false, error: new SealcallError('INVALID_STATE', 'client is closed') };
    const delivering: { error?: SealcallError } = {};
    this.delivering = delivering;
    let callId: string | undefined;
    try {
      callId = this.router.deliver(from, payload);
    } finally {
      this.delivering = undefined;
    }
    const named = callId === undefined ? {} : { callId };
    return delivering.error ? { accepted: false, error: delivering.error, ...named } : { accepted: true, ...named };
  }

  /**
   * Calls a contact. The call is `outgoing` at once (see the `outgoing` event), then gets local
   * media and ICE servers and sends the invitation (no SDP, no address). Resolves once the
   * invitation is sent; watch `call.on('state')` and `call.on('ended')`. When media or ICE
   * servers cannot be had, the call ends `media-failed` (nothing was sent) and this rejects with
   * the same typed error (`MIC_PERMISSION_DENIED`, `CAMERA_PERMISSION_DENIED`, `MEDIA_UNAVAILABLE`,
   * or the ICE server provider's). If that contact is ringing this user right now, their call is
   * accepted instead (and returned).
   */
  async call(peer: PeerId, options: CallOptions = {}): Promise<Call> {
    if (this.closed) throw new SealcallError('INVALID_STATE', 'client is closed');
    if (peer === this.options.ownDevices) throw new SealcallError('INVALID_ARGUMENT', "ownDevices is this user's other devices, not a contact to call");
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
    const invitation = this.router.invite(peer, remoteKey, (callId) => ({
      type: 'invite',
      callId,
      seq: 0,
      media,
      capabilities: { frameEncryption: this.frameSuites },
      sentAt: this.options.now(),
      lifetimeMs: Math.min(this.options.ringTimeoutMs, LIMITS.inviteLifetimeMs),
    }));
    const call = new Call(this.context, { peer, direction: 'outgoing', callId: invitation.callId, media });
    this.calls.set(call.id, call);
    this.emit('outgoing', call);
    try {
      await call.protocol.start(invitation, options);
    } catch (error) {
      invitation.dispose();
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
    this.router.close();
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------------------------------------

  private onInvitation(invitation: IncomingInvitation, waiting = false): void {
    if (this.closed) return invitation.dispose();
    const same = (call: Call) => sameKey(this.keyOf(call.peer), invitation.remoteKey);
    // Glare: we are calling this same contact. The lower call id survives on both sides.
    const outgoing = this.activeCalls.find((c) => c.protocol.awaitingAnswer && same(c));
    if (outgoing) {
      if (invitation.invite.callId < outgoing.id) outgoing.protocol.adopt(invitation);
      else invitation.dispose(); // the peer adopts our call when our invitation reaches it
      return;
    }
    // A redial: the contact's earlier call with us never connected here, or lost its connection,
    // so its end was overtaken or lost. The new invitation replaces it instead of meeting busy.
    for (const stale of this.activeCalls.filter((c) => same(c) && c.protocol.supersedable)) stale.protocol.supersede();
    // Still connected with that contact: the old call's end is most likely just behind the new
    // invitation. Wait for it (as long as for any peer's missing end); busy if it does not come.
    const connected = waiting ? undefined : this.activeCalls.find((c) => same(c) && isLive(c.state));
    if (connected) return this.afterEnd(connected, () => this.onInvitation(invitation, true));
    if (this.activeCalls.some((c) => isLive(c.state))) return invitation.busy();
    const call = new Call(this.context, { peer: invitation.from, direction: 'incoming', callId: invitation.invite.callId, media: invitation.invite.media });
    this.calls.set(call.id, call);
    if (call.protocol.ring(invitation)) this.emit('incoming', call);
    else this.warn(e2eeUnavailable('an invitation could not use frame encryption'), call.id);
  }

  /** Runs `then` once `call` ended, or after `remoteEndGraceMs` if it has not. */
  private afterEnd(call: Call, then: () => void): void {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      then();
    };
    const timer = setTimeout(once, this.options.remoteEndGraceMs);
    call.once('ended', () => queueMicrotask(once));
  }

  private onCancel(senderKey: Uint8Array, cancel: CancelMessage, taken: () => void): void {
    const call = this.calls.get(cancel.callId);
    // Only the call's own contact can withdraw it; anything else waits, bound to its sender.
    if (!call || !sameKey(this.keyOf(call.peer), senderKey)) return;
    taken();
    call.protocol.handleCancel(cancel);
  }

  /**
   * Another device of this user declined a call silently: the call with that id, from that
   * caller, stops ringing here too. A call answered already, or any other, is not concerned.
   */
  private onOwnCancel(callerKey: Uint8Array, cancel: CancelMessage, taken: () => void): void {
    const call = this.calls.get(cancel.callId);
    if (!call || call.direction !== 'incoming' || !sameKey(this.keyOf(call.peer), callerKey)) return;
    taken();
    call.protocol.declinedElsewhere();
  }

  private keyOf(peer: PeerId): Uint8Array | undefined {
    if (peer === this.options.ownDevices) return this.options.identity.publicKey;
    const { contacts } = this.options;
    const key = typeof contacts === 'function' ? contacts(peer) : Object.hasOwn(contacts, peer) ? contacts[peer] : undefined;
    return key instanceof Uint8Array && key.length === 32 ? key : undefined;
  }

  private warn(error: unknown, callId?: string): void {
    let reported = toSealcallError(error, 'BAD_MESSAGE');
    if (callId !== undefined && reported.callId === undefined) reported = reported.withCallId(callId);
    if (this.delivering && !this.delivering.error) this.delivering.error = reported;
    this.emit('warning', reported);
  }
}

/** The smallest `maxPayloadBytes` a transport may declare: an invitation and a part must fit. */
const MIN_PAYLOAD_BYTES = 512;

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
