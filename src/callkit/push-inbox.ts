import type { CallClient } from '../call/call-client.js';
import type { Call } from '../call/call.js';
import { isLive } from '../call/call-state.js';
import { SealcallError } from '../errors.js';
import type { CallMedia } from '../protocol/messages.js';
import type { CallSession } from './call-session.js';
import { parseCallPush, unwrapCallPush, type CallPush } from './push-payload.js';
import type { SessionRegistry } from './session-registry.js';
import type { CallKitCallInfo, CallKitCallUpdate, CallKitEndReason } from './types.js';
import { isUuid, normalizeUuid } from './uuid.js';

/** A pushed invitation as the coordinator tracks it. */
export interface PendingInvitation {
  /** The CallKit UUID the push chose. */
  uuid: string;
  callId: string;
  /** Untrusted until the client opened the invitation. */
  callerHint: string;
  /** Untrusted until the client opened the invitation. */
  media: CallMedia;
  /** When the push was handled (ms since epoch). */
  receivedAt: number;
  /** The user already answered it in CallKit; the call is accepted as soon as it opens. */
  answered: boolean;
}

/**
 * The pushed invitations of a coordinator: shown by CallKit at once, opened by the CallClient
 * when it is there, and bound to the Call it yields (so CallKit never shows the call twice).
 * An invitation that does not open (forged, stale, replayed) ends as failed; one still unopened
 * when the call would have stopped ringing ends as unanswered.
 */
export class PushInbox {
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
        this.showBriefly(uuid, PLACEHOLDER, false, 'failed');
      }
      return undefined;
    }
    const existing = this.registry.get(push.uuid);
    if (existing) return existing.push && !existing.call && !existing.declined ? describe(existing) : undefined;
    const peer = this.registry.peerFromHint(push.callerHint) ?? push.callerHint;
    const info = this.registry.infoFor(peer, push.media === 'video');
    if (this.findByCallId(push.callId) || this.registry.wasEnded(push.callId)) {
      // Already shown under another UUID (the transport was faster), or already over.
      this.showBriefly(push.uuid, info, reported, 'answeredElsewhere');
      return undefined;
    }
    const session = this.registry.add(push.uuid, 'incoming', info, undefined, { ...push, receivedAt: Date.now() });
    if (!reported) this.registry.reportIncoming(session);
    this.armRing(session);
    const client = this.registry.client;
    if (client) this.deliver(session, client);
    return describe(session);
  }

  /** Invitations shown but not yet opened nor ended. */
  pending(): PendingInvitation[] {
    return this.registry.all().filter((s) => s.push && !s.call && !s.declined).map(describe);
  }

  /** Binds an opened invitation to the session its push created. Undefined when it was not pushed. */
  claim(call: Call): CallSession | undefined {
    const session = this.registry.all().find((s) => !s.call && s.push?.callId === call.id);
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
    this.armRing(session); // the client's ring timeout is known now
    const from = this.registry.peerFromHint(push.callerHint);
    if (from === undefined) {
      return this.expire(session, 'failed', new SealcallError('UNKNOWN_CONTACT', 'the push names no known contact'));
    }
    // Opens synchronously: 'incoming' (and so claim()) happens inside, or the outcome says why not.
    const outcome = client.deliver(from, push.envelope);
    if (session.call || this.registry.get(session.uuid) !== session) return;
    if (!outcome.accepted) return this.expire(session, 'failed', outcome.error);
    // Glare: our own outgoing call to this contact adopted the invitation, and CallKit shows it.
    if (client.activeCalls.some((c) => c.id === push.callId)) return this.expire(session, 'answeredElsewhere');
    // Busy: the client answered "busy" to the caller; CallKit shows a missed call.
    if (client.activeCalls.some((c) => isLive(c.state))) return this.expire(session, 'unanswered');
    // Silently dropped (a replay, a caller's cancel that came first): give it a moment, then fail.
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

  private findByCallId(callId: string): CallSession | undefined {
    return this.registry.all().find((s) => s.push?.callId === callId || s.call?.id === callId);
  }
}

const PLACEHOLDER: CallKitCallInfo = { handle: 'unknown', displayName: 'Unknown caller', hasVideo: false };

function placeholderUuid(payload: unknown): string | undefined {
  const inner = unwrapCallPush(payload);
  const uuid = typeof inner === 'object' && inner !== null ? (inner as { uuid?: unknown }).uuid : undefined;
  return isUuid(uuid) ? normalizeUuid(uuid) : undefined;
}

function describe(session: CallSession): PendingInvitation {
  const push = session.push!;
  return {
    uuid: session.uuid,
    callId: push.callId,
    callerHint: push.callerHint,
    media: push.media,
    receivedAt: push.receivedAt,
    answered: session.answerWanted,
  };
}
