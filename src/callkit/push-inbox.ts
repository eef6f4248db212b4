import type { CallClient } from '../call/call-client.js';
import type { Call } from '../call/call.js';
import { isLive } from '../call/call-state.js';
import { SealcallError, toSealcallError } from '../errors.js';
import type { CallSession } from './call-session.js';
import { openCallPush, parseCallPush, unwrapCallPush, type CallPush, type OpenedCallPush } from './push-payload.js';
import type { SessionRegistry } from './session-registry.js';
import type { CallKitCallInfo, CallKitCallUpdate, CallKitEndReason } from './types.js';
import { isUuid, normalizeUuid } from './uuid.js';

/** A pushed invitation as the coordinator tracks it, before it became a Call. */
export interface PendingInvitation {
  /** The CallKit UUID the push chose. */
  uuid: string;
  /** The call id, once the client opened the push (until then nothing about the call is known). */
  callId?: string;
  /** When the push was handled (ms since epoch). */
  receivedAt: number;
  /** The user already answered it in CallKit; the call is accepted as soon as it opens. */
  answered: boolean;
}

/**
 * The pushed invitations of a coordinator: shown by CallKit at once as a neutral placeholder
 * (the push says nothing readable about the call), opened with the device's push key and by the
 * CallClient when it is there, and bound to the Call it yields (so CallKit never shows the call
 * twice), which updates CallKit with the authenticated contact and media. An invitation that
 * does not open (forged, stale, replayed) ends as failed; one still unopened when the call would
 * have stopped ringing ends as unanswered.
 */
export class PushInbox {
  /** The session whose invitation the client is opening right now: a call ringing meanwhile is its. */
  private delivering: CallSession | undefined;

  constructor(private readonly registry: SessionRegistry) {}

  /** See `CallKitCoordinator.handlePush`. */
  handle(payload: unknown, reported: boolean): PendingInvitation | undefined {
    let push: CallPush;
    try {
      push = parseCallPush(unwrapCallPush(payload));
    } catch (error) {
      this.registry.fail(error);
      if (!reported) {
        // The payload's own UUID if it has a usable one, so native code and CallKit agree.
        const own = placeholderUuid(payload);
        const uuid = own !== undefined && !this.registry.get(own) ? own : this.registry.newUuid();
        this.showBriefly(uuid, PUSH_PLACEHOLDER, false, 'failed');
      }
      return undefined;
    }
    const existing = this.registry.get(push.uuid);
    if (existing) return existing.push && !existing.call && !existing.declined ? describe(existing) : undefined;
    const session = this.registry.add(push.uuid, 'incoming', PUSH_PLACEHOLDER, undefined, { ...push, receivedAt: Date.now() });
    if (!reported) this.registry.reportIncoming(session);
    this.armRing(session);
    const client = this.registry.client;
    if (client) this.deliver(session, client);
    // Ended already (a duplicate of a call shown, a push that does not open): nothing pending.
    return this.registry.get(session.uuid) === session ? describe(session) : undefined;
  }

  /** Invitations shown but not yet opened nor ended. */
  pending(): PendingInvitation[] {
    return this.registry.all().filter((s) => s.push && !s.call && !s.declined).map(describe);
  }

  /** Binds an opened invitation to the session its push created. Undefined when it was not pushed. */
  claim(call: Call): CallSession | undefined {
    const delivering = this.delivering && !this.delivering.call ? this.delivering : undefined;
    const session = delivering ?? this.registry.all().find((s) => !s.call && s.push?.callId === call.id);
    if (!session) return undefined;
    session.forget(); // its timers: the call's own ring timer takes over
    this.registry.bind(session, call);
    if (session.declined) {
      call.reject().catch(() => {});
      return session;
    }
    // The push's hints were untrusted; the opened invitation is authenticated.
    const authentic = this.registry.infoFor(call.peer, call.media === 'video');
    const update: CallKitCallUpdate = {};
    if (authentic.displayName !== session.shown.displayName) update.displayName = authentic.displayName;
    if (authentic.handle !== session.shown.handle) update.handle = authentic.handle;
    if (authentic.hasVideo !== session.shown.hasVideo) update.hasVideo = authentic.hasVideo;
    session.shown = authentic;
    if (Object.keys(update).length > 0) this.registry.report(session, (r) => r.reportCallUpdated(session.uuid, update));
    return session;
  }

  /** The client is there: open every invitation that waited for it. */
  deliverAll(client: CallClient): void {
    for (const session of this.registry.all()) {
      if (session.push && !session.call) this.deliver(session, client);
    }
  }

  private deliver(session: CallSession, client: CallClient): void {
    const push = session.push!;
    if (push.callId !== undefined) return; // opened already
    this.armRing(session); // the client's ring timeout is known now
    // The client loaded libsodium: the sealed part can be opened now.
    let opened: OpenedCallPush;
    try {
      const pushKey = this.registry.pushKey;
      if (!pushKey) throw new SealcallError('DECRYPT_FAILED', 'no push key: pass pushKey to the coordinator');
      opened = openCallPush(push, pushKey);
    } catch (error) {
      return this.expire(session, 'failed', toSealcallError(error, 'BAD_MESSAGE'));
    }
    const from = this.registry.peerFromHint(opened.callerHint);
    if (from === undefined) {
      return this.expire(session, 'failed', new SealcallError('UNKNOWN_CONTACT', 'the push names no known contact'));
    }
    // 'incoming' (and so claim()) happens inside, or a moment later once the replay state is
    // saved; otherwise the outcome says why not.
    this.delivering = session;
    let outcome: ReturnType<CallClient['deliver']>;
    try {
      outcome = client.deliver(from, opened.envelope);
    } finally {
      this.delivering = undefined;
    }
    if (session.call || this.registry.get(session.uuid) !== session) return;
    if (outcome.callId !== undefined) push.callId = outcome.callId;
    const callId = outcome.callId;
    // Already shown under another UUID (the transport was faster), adopted by our own outgoing
    // call to this contact (glare), or already over: the placeholder goes.
    if (callId !== undefined && (this.findByCallId(callId, session) || this.registry.wasEnded(callId) || client.activeCalls.some((c) => c.id === callId))) {
      return this.expire(session, 'answeredElsewhere');
    }
    if (!outcome.accepted) return this.expire(session, 'failed', outcome.error);
    // Busy: the client answered "busy" to the caller; CallKit shows a missed call.
    if (client.activeCalls.some((c) => isLive(c.state))) return this.expire(session, 'unanswered');
    // Not ringing yet (its replay state being saved) or silently dropped (a caller's cancel that
    // came first): give it a moment, then fail.
    session.openTimer = setTimeout(() => this.expire(session, 'failed'), this.registry.timeouts.openMs);
  }

  /** Rings a pushed invitation as long as the call itself would ring, counted from the push. */
  private armRing(session: CallSession): void {
    clearTimeout(session.ringTimer);
    const left = session.push!.receivedAt + this.registry.timeouts.ringMs - Date.now();
    session.ringTimer = setTimeout(() => this.expire(session, 'unanswered'), Math.max(0, left));
  }

  private expire(session: CallSession, reason: CallKitEndReason, error?: SealcallError): void {
    if (session.call || this.registry.get(session.uuid) !== session) return;
    this.registry.remove(session);
    this.registry.actions.fail(session.uuid); // e.g. a lock-screen answer for a call that never came
    this.registry.report(session, (r) => r.reportCallEnded(session.uuid, reason));
    if (error) this.registry.fail(error);
  }

  /**
   * Shows a push that leads nowhere only as long as iOS insists (every VoIP push must report a
   * call), ending it at once.
   */
  private showBriefly(uuid: string, info: CallKitCallInfo, reported: boolean, reason: CallKitEndReason): void {
    if (!reported) {
      this.registry.report(undefined, (r) => {
        const result = r.reportIncomingCall(uuid, info);
        if (result && typeof result.then === 'function') result.then(undefined, () => {});
      });
    }
    this.registry.report(undefined, (r) => r.reportCallEnded(uuid, reason));
  }

  private findByCallId(callId: string, except: CallSession): CallSession | undefined {
    return this.registry.all().find((s) => s !== except && (s.push?.callId === callId || s.call?.id === callId));
  }
}

/** What CallKit shows until the invitation is authenticated: nothing the push could have lied about. */
export const PUSH_PLACEHOLDER: CallKitCallInfo = { handle: 'unknown', displayName: 'Incoming call', hasVideo: false };

function placeholderUuid(payload: unknown): string | undefined {
  const inner = unwrapCallPush(payload);
  const uuid = typeof inner === 'object' && inner !== null ? (inner as { uuid?: unknown }).uuid : undefined;
  return isUuid(uuid) ? normalizeUuid(uuid) : undefined;
}

function describe(session: CallSession): PendingInvitation {
  const push = session.push!;
  return {
    uuid: session.uuid,
    ...(push.callId !== undefined ? { callId: push.callId } : {}),
    receivedAt: push.receivedAt,
    answered: session.answerWanted,
  };
}
