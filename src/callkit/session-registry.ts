import type { CallClient } from '../call/call-client.js';
import type { Call, CallEnded, MediaOptions } from '../call/call.js';
import { SealcallError } from '../errors.js';
import type { PeerId } from '../transport/chat-transport.js';
import { CallSession, type PushedInvitation, type SessionHost } from './call-session.js';
import { callKitEnd } from './end-reasons.js';
import { PendingActions } from './pending-actions.js';
import { ProviderReadiness } from './provider-readiness.js';
import type { PushKeyPair } from './push-payload.js';
import type { CallKitCallInfo, CallKitReporter } from './types.js';
import { normalizeUuid, randomUuid } from './uuid.js';

/** What the registry needs from the coordinator's options. */
export interface SessionRegistryOptions {
  reporter: CallKitReporter;
  readyTimeoutMs: number;
  displayName?: ((peer: PeerId) => string) | undefined;
  peerFromHandle?: ((handle: string) => PeerId | undefined) | undefined;
  answerMedia?: ((call: Call) => MediaOptions) | undefined;
  ringTimeoutMs?: number | undefined;
  inviteOpenTimeoutMs?: number | undefined;
  randomUuid?: (() => string) | undefined;
  pushKey?: PushKeyPair | undefined;
  /** A call got its UUID. */
  onCall(call: Call, uuid: string): void;
  /** Something failed that no call carries. */
  onError(error: unknown): void;
  /** The provider did not become ready in time. */
  onProviderFailed(error: SealcallError): void;
}

/** How many ended call ids are remembered, so a late push for them does not ring. */
const ENDED_MEMORY = 64;

/**
 * The coordinator's mapping: CallKit UUID ↔ session ↔ Call, the pending OS actions, and the
 * reports (held until the provider is ready). Also decides how an ended call reaches CallKit.
 */
export class SessionRegistry implements SessionHost {
  readonly actions: PendingActions;
  readonly readiness: ProviderReadiness;
  /** Ends this side asked the OS for: the end action that echoes back is fulfilled, nothing more. */
  readonly endEchoes = new Set<string>();
  /** The client, once it is there. */
  client: CallClient | undefined;
  private readonly sessions = new Map<string, CallSession>();
  private readonly byCall = new Map<Call, CallSession>();
  private readonly endedCallIds: string[] = [];

  constructor(private readonly options: SessionRegistryOptions) {
    this.actions = new PendingActions((error) => options.onError(error));
    this.readiness = new ProviderReadiness(() => options.reporter.ready?.(), options.readyTimeoutMs, (error) => {
      // Their reports were dropped: CallKit does not show these calls, so nothing more is said
      // about them (the app shows them in its own UI; pushed ones stay pending).
      for (const session of this.sessions.values()) session.osGone = true;
      options.onProviderFailed(error);
    });
  }

  get(uuid: string): CallSession | undefined {
    return this.sessions.get(uuid);
  }

  of(call: Call): CallSession | undefined {
    return this.byCall.get(call);
  }

  all(): CallSession[] {
    return [...this.sessions.values()];
  }

  /** A new session; bound to `call` when given. */
  add(uuid: string, direction: 'incoming' | 'outgoing', info: CallKitCallInfo, call?: Call, push?: PushedInvitation): CallSession {
    const session = new CallSession(uuid, direction, info, this, push);
    // A provider that never became ready never shows it: say nothing about it later either.
    if (this.readiness.state === 'failed') session.osGone = true;
    this.sessions.set(uuid, session);
    if (call) this.bind(session, call);
    return session;
  }

  bind(session: CallSession, call: Call): void {
    this.byCall.set(call, session);
    session.bind(call);
    this.options.onCall(call, session.uuid);
  }

  remove(session: CallSession): void {
    session.forget();
    if (this.sessions.get(session.uuid) === session) this.sessions.delete(session.uuid);
    if (session.call && this.byCall.get(session.call) === session) this.byCall.delete(session.call);
  }

  /** Forgets everything (dispose): listeners, timers, pending actions. */
  clear(): void {
    this.readiness.dispose();
    this.actions.failAll();
    for (const session of this.sessions.values()) session.forget();
    this.sessions.clear();
    this.byCall.clear();
    this.endEchoes.clear();
  }

  /** Whether a call with this id ended recently. */
  wasEnded(callId: string): boolean {
    return this.endedCallIds.includes(callId);
  }

  newUuid(): string {
    return normalizeUuid((this.options.randomUuid ?? randomUuid)());
  }

  infoFor(peer: PeerId, hasVideo: boolean): CallKitCallInfo {
    return { handle: peer, displayName: this.options.displayName?.(peer) ?? peer, hasVideo };
  }

  /** This device's push key pair, if the app gave one. */
  get pushKey(): PushKeyPair | undefined {
    return this.options.pushKey;
  }

  /** The peer a handle or push hint names (undefined: refused). */
  peerFromHint(hint: string): PeerId | undefined {
    return this.options.peerFromHandle ? this.options.peerFromHandle(hint) : hint;
  }

  get timeouts(): { ringMs: number; openMs: number } {
    return {
      ringMs: this.options.ringTimeoutMs ?? this.client?.ringTimeoutMs ?? 30_000,
      openMs: this.options.inviteOpenTimeoutMs ?? 2_000,
    };
  }

  fail(error: unknown): void {
    this.options.onError(error);
  }

  // ---------------------------------------------------------------------------------------------
  // SessionHost

  answerMedia(call: Call): MediaOptions {
    return this.options.answerMedia?.(call) ?? {};
  }

  /** Sends a report once the provider is ready, unless the OS no longer shows the session's call. */
  report(session: CallSession | undefined, send: (reporter: CallKitReporter) => void): void {
    if (session?.osGone) return;
    this.readiness.run(() => {
      if (session?.osGone) return;
      try {
        send(this.options.reporter);
      } catch (error) {
        this.options.onError(error);
      }
    });
  }

  /** Reports a new incoming call; a refusal by the OS is `CALLKIT_REPORT_FAILED`. */
  reportIncoming(session: CallSession): void {
    this.report(session, (r) => {
      const result = r.reportIncomingCall(session.uuid, session.shown);
      if (result && typeof result.then === 'function') result.then(undefined, (error: unknown) => this.refused(session, error));
    });
  }

  /** The OS refused to show (or dropped) the session's incoming call: `CALLKIT_REPORT_FAILED`. */
  refused(session: CallSession, cause: unknown): void {
    if (session.osGone) return;
    session.osGone = true;
    this.actions.fail(session.uuid, 'answer');
    this.options.onError(new SealcallError('CALLKIT_REPORT_FAILED', 'the OS refused to show the incoming call', { cause }));
  }

  /** The bound call ended: settle its actions and tell CallKit, unless it asked for the end itself. */
  ended(session: CallSession, ended: CallEnded): void {
    const { uuid } = session;
    const call = session.call!;
    this.remove(session);
    this.endedCallIds.push(call.id);
    if (this.endedCallIds.length > ENDED_MEMORY) this.endedCallIds.shift();
    this.actions.fail(uuid, 'answer');
    this.actions.fail(uuid, 'start');
    const endAsked = this.actions.has(uuid, 'end');
    this.actions.fulfill(uuid, 'end');
    if (session.osGone || endAsked) return;
    const end = callKitEnd(ended.reason, call.direction);
    if (end === 'local') {
      // Hung up in the app's UI: CallKit learns it as an end action, which comes back to us.
      this.endEchoes.add(uuid);
      this.report(undefined, (r) => r.requestEndCall(uuid));
    } else {
      this.report(undefined, (r) => r.reportCallEnded(uuid, end));
    }
  }
}
