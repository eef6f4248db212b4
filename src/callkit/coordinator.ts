import { EventEmitter } from 'eventemitter3';
import type { CallClient, CallOptions } from '../call/call-client.js';
import type { Call, MediaOptions } from '../call/call.js';
import { SealcallError, toSealcallError } from '../errors.js';
import type { PeerId } from '../transport/chat-transport.js';
import { askOs, DEFAULT_AUDIO_ROUTE_TIMEOUT_MS, pickAudioRoute, sameAudioRoute } from './audio-routes.js';
import { AudioSessionGate, DEFAULT_AUDIO_SESSION_TIMEOUT_MS } from './audio-session-gate.js';
import { DEFAULT_READY_TIMEOUT_MS } from './provider-readiness.js';
import { PushInbox, type PendingInvitation } from './push-inbox.js';
import type { PushKeyPair } from './push-payload.js';
import { SessionRegistry } from './session-registry.js';
import type {
  AudioRoute,
  AudioRouteKind,
  AudioRouteOption,
  CallKitAction,
  CallKitReceiver,
  CallKitReporter,
  SetHeldAction,
  SetMutedAction,
  StartCallAction,
} from './types.js';
import { normalizeUuid } from './uuid.js';

/** Options of {@link CallKitCoordinator}. */
export interface CallKitCoordinatorOptions {
  /**
   * The client whose calls CallKit shows. A promise is accepted so that a cold start can report
   * a pushed call before `CallClient.create()` (which loads libsodium) has resolved.
   */
  client: CallClient | PromiseLike<CallClient>;
  /** Where reports go: a CallKit bridge, a `FakeCallKitProvider`, or `NoopCallKitReporter` (CallKit-free mode). */
  reporter: CallKitReporter;
  /**
   * This device's push key pair (see `generatePushKey`): pushes are sealed to its public key,
   * which the app registers wherever pushes are built. Without it, pushes cannot be opened and
   * end as failed.
   */
  pushKey?: PushKeyPair;
  /** How long the provider may take to become ready. Default 3,000 ms (the seed's). */
  readyTimeoutMs?: number;
  /** The name shown for a peer. Default: the peer id. */
  displayName?: (peer: PeerId) => string;
  /**
   * The peer a CallKit handle or a push's caller hint names (Recents, Siri, pushes); undefined
   * refuses it. Default: the handle is the peer id.
   */
  peerFromHandle?: (handle: string) => PeerId | undefined;
  /** Media for a call answered from CallKit. Default: the call's own (audio, plus video for a video call). */
  answerMedia?: (call: Call) => MediaOptions;
  /** How long a pushed invitation may ring unopened. Default: the client's `ringTimeoutMs` (30 s). */
  ringTimeoutMs?: number;
  /**
   * How long a delivered push may take to ring before it counts as invalid, stale or replayed
   * and its CallKit call ends as failed. Default 2,000 ms.
   */
  inviteOpenTimeoutMs?: number;
  /**
   * How long the OS may take to perform the start action `startCall` asked for. Past it, the
   * start counts as refused: `startCall` rejects with `CALLKIT_REPORT_FAILED`, the OS call (if
   * any) ends as failed and a late start action is failed. The OS can refuse without a word:
   * CallKit's failed transaction is only logged by react-native-callkeep, and Android ignores a
   * start without permissions, phone account or availability. Default 5,000 ms.
   */
  startTimeoutMs?: number;
  /**
   * With a reporter that manages the audio session (CallKit, react-native-callkeep), each call's
   * audio stays off until the OS activated the session; an answered call (from `joining` on) whose
   * session the OS still has not activated after this long starts its audio anyway. Default 2,000 ms.
   */
  audioSessionTimeoutMs?: number;
  /** How long the OS may take to list or change audio routes before that counts as refused. Default 2,000 ms. */
  audioRouteTimeoutMs?: number;
  /** UUID source, for tests. Default: random version-4 UUIDs. */
  randomUuid?: () => string;
}

/** How long the OS may take to start a call the coordinator asked for (`startTimeoutMs`). */
export const DEFAULT_START_TIMEOUT_MS = 5_000;

/** How many refused start UUIDs are remembered, so a late start action for one is failed. */
const REFUSED_MEMORY = 16;

/** Events of a {@link CallKitCoordinator}. */
export interface CallKitCoordinatorEvents {
  /** `call` is now shown by CallKit under `uuid`. */
  call: (call: Call, uuid: string) => void;
  /** Something failed without a call to carry it: `CALLKIT_NOT_READY`, `CALLKIT_REPORT_FAILED`, a bad push. */
  error: (error: SealcallError) => void;
  /** The OS reset the provider; every call was ended. */
  reset: () => void;
  /**
   * The OS (de)activated the call audio session: start or stop call audio (react-native-webrtc's
   * `RTCAudioSession`). The coordinator itself keeps its calls' microphone off until it is active.
   */
  'audio-session': (active: boolean) => void;
  /** Call audio now takes another route (speaker, earpiece, Bluetooth, wired headset); repeats of the same route are dropped. */
  'audio-route': (route: AudioRoute) => void;
  /**
   * Android self-managed mode: the OS shows nothing for the incoming call under `uuid`; show the
   * app's own incoming call screen now. `call` is undefined while a pushed invitation is sealed.
   */
  'show-incoming-ui': (uuid: string, call: Call | undefined) => void;
  /** The user silenced the ringer (Android's volume key): stop the app's own ringtone for `uuid`. */
  'silence-ringer': (uuid: string) => void;
}

interface StartRequest {
  peer: PeerId;
  options: CallOptions;
  resolve: (call: Call) => void;
  reject: (error: unknown) => void;
  /** Runs out when the OS never performs the start action (`startTimeoutMs`). */
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Owns the mapping between calls and CallKit: a fresh UUID per call session, reports to the OS
 * through a {@link CallKitReporter}, and the OS's actions as the {@link CallKitReceiver}. It only
 * subscribes to call events and calls the Call's own methods; the Call stays the source of truth.
 *
 * Every OS action is fulfilled or failed exactly once: answer when media is connected (failed if
 * the call ends first), end when the call has ended, start when the invitation is sent.
 */
export class CallKitCoordinator extends EventEmitter<CallKitCoordinatorEvents> implements CallKitReceiver {
  private readonly registry: SessionRegistry;
  private readonly pushes: PushInbox;
  private readonly requestedStarts = new Map<string, StartRequest>();
  /** Starts given up on (refused or timed out): their late start actions are failed. */
  private readonly refusedStarts: string[] = [];
  private readonly startTimeoutMs: number;
  private readonly reporter: CallKitReporter;
  /** Holds calls' audio until the OS activated the session; absent without CallKit. */
  private readonly audioGate: AudioSessionGate | undefined;
  private readonly audioRouteTimeoutMs: number;
  private audioRoute: AudioRoute | undefined;
  private readonly detach: () => void;
  private readonly clientReady: Promise<CallClient>;
  private readonly unsubscribeClient: (() => void)[] = [];
  private disposed = false;

  constructor(options: CallKitCoordinatorOptions) {
    super();
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    this.reporter = options.reporter;
    this.audioRouteTimeoutMs = options.audioRouteTimeoutMs ?? DEFAULT_AUDIO_ROUTE_TIMEOUT_MS;
    if (options.reporter.managesAudioSession === true) {
      this.audioGate = new AudioSessionGate(options.audioSessionTimeoutMs ?? DEFAULT_AUDIO_SESSION_TIMEOUT_MS);
    }
    this.registry = new SessionRegistry({
      ...options,
      readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      onCall: (call, uuid) => {
        this.audioGate?.follow(call);
        this.emit('call', call, uuid);
      },
      onError: (error) => this.fail(error),
      onProviderFailed: (error) => {
        this.rejectStarts(error);
        this.fail(error);
      },
    });
    this.pushes = new PushInbox(this.registry);
    this.detach = options.reporter.attach?.(this) ?? (() => {});
    const client = options.client;
    this.clientReady = Promise.resolve(client);
    if (isThenable(client)) {
      this.clientReady.then(
        (ready) => this.useClient(ready),
        (error: unknown) => this.fail(error),
      );
    } else {
      this.useClient(client); // at once, so no invitation can slip past before we listen
    }
  }

  /** Resolves once the provider is ready; rejects with `CALLKIT_NOT_READY` after the timeout. */
  ready(): Promise<void> {
    return this.registry.readiness.whenReady();
  }

  /**
   * Places a call through CallKit: asks the OS to start it (so it appears in Recents and the
   * system UI), and calls the peer when the OS performs the start action. Resolves with the
   * call once the invitation is sent. Rejects with the call's error, `CALLKIT_NOT_READY`,
   * `CALLKIT_RESET`, or `CALLKIT_REPORT_FAILED` when the OS refused or never performed the start
   * (within `startTimeoutMs`).
   */
  startCall(peer: PeerId, options: CallOptions = {}): Promise<Call> {
    if (this.disposed) return Promise.reject(new SealcallError('INVALID_STATE', 'the coordinator is disposed'));
    const uuid = this.registry.newUuid();
    const media = options.media ?? (options.video ? 'video' : 'audio');
    const info = this.registry.infoFor(peer, media === 'video');
    return new Promise<Call>((resolve, reject) => {
      if (this.registry.readiness.state === 'failed') return void this.ready().catch(reject);
      const request: StartRequest = { peer, options: { ...options, media }, resolve, reject };
      this.requestedStarts.set(uuid, request);
      this.registry.report(undefined, (r) => {
        if (this.requestedStarts.get(uuid) !== request) return; // refused or rejected meanwhile
        // Armed before asking: a reporter may refuse synchronously (see refuseStart).
        request.timer = setTimeout(
          () => this.refuseStart(uuid, new SealcallError('CALLKIT_REPORT_FAILED', `the OS did not start the call within ${this.startTimeoutMs} ms`)),
          this.startTimeoutMs,
        );
        r.requestStartCall(uuid, info);
      });
    });
  }

  /**
   * Shows a call the app placed or received without the coordinator (an outgoing call from
   * `client.call()`, an incoming one from before the coordinator existed). Returns its UUID.
   */
  track(call: Call): string {
    const known = this.registry.of(call);
    if (known) return known.uuid;
    if (call.direction === 'incoming') return this.onIncoming(call);
    const info = this.registry.infoFor(call.peer, call.media === 'video');
    const session = this.registry.add(this.registry.newUuid(), 'outgoing', info, call);
    this.registry.report(session, (r) => r.requestStartCall(session.uuid, session.shown));
    return session.uuid;
  }

  /**
   * Handles a VoIP push synchronously: reports a neutral placeholder call to CallKit at once
   * (unless `reported`, when native code already did, as PushKit handlers in AppDelegate do),
   * then, once the client is there, opens the sealed push and lets the client open the
   * invitation; CallKit is updated with the authenticated contact and media. Returns the
   * invitation, or undefined for a duplicate or an invalid payload (reported as `error`; if it
   * was not reported yet, the placeholder is reported and ended at once, because iOS requires a
   * call for every VoIP push).
   */
  handlePush(payload: unknown, options: { reported?: boolean } = {}): PendingInvitation | undefined {
    if (this.disposed) return undefined;
    return this.pushes.handle(payload, options.reported ?? false);
  }

  /**
   * Cold start: takes the push payloads the app persisted or native code queued (all of them
   * already shown by CallKit) and tracks them like {@link handlePush}. Returns the accepted ones.
   */
  restorePushes(payloads: readonly unknown[]): PendingInvitation[] {
    return payloads.flatMap((payload) => this.handlePush(payload, { reported: true }) ?? []);
  }

  /** Invitations CallKit shows that the client has not opened yet (nor the user ended). */
  pendingInvitations(): PendingInvitation[] {
    return this.pushes.pending();
  }

  /** The CallKit UUID of `call`, while CallKit shows it. */
  uuidOf(call: Call): string | undefined {
    return this.registry.of(call)?.uuid;
  }

  /** The call CallKit shows under `uuid` (any case). */
  callOf(uuid: string): Call | undefined {
    try {
      return this.registry.get(normalizeUuid(uuid))?.call;
    } catch {
      return undefined;
    }
  }

  /**
   * The audio routes the OS offers now, the one in use `selected`. Rejects with `INVALID_STATE`
   * when the reporter has no routes (the CallKit-free mode: the app routes audio itself), or
   * `CALLKIT_REPORT_FAILED` when the OS cannot list them or does not answer within
   * `audioRouteTimeoutMs`.
   */
  audioRoutes(): Promise<AudioRouteOption[]> {
    const reporter = this.reporter;
    if (this.disposed) return Promise.reject(new SealcallError('INVALID_STATE', 'the coordinator is disposed'));
    if (!reporter.listAudioRoutes) return Promise.reject(new SealcallError('INVALID_STATE', 'this reporter has no audio routes'));
    return askOs(() => reporter.listAudioRoutes!(), this.audioRouteTimeoutMs, 'list audio routes');
  }

  /**
   * Sends call audio to `route`: a kind (`'speaker'`, `'earpiece'`, `'bluetooth'`, `'wired'`: the
   * first such route the OS offers) or the `name` of one of {@link audioRoutes}. `call` is the
   * call to route (Android routes per call); default: the latest call CallKit shows. Resolves
   * with the route asked for once the OS accepted; the change itself arrives as `'audio-route'`.
   * Rejects with `INVALID_ARGUMENT` when the OS offers no such route, `INVALID_STATE` without
   * a call CallKit shows or without routes (the CallKit-free mode), `CALLKIT_REPORT_FAILED`
   * when the OS refuses or does not answer within `audioRouteTimeoutMs`.
   */
  async setAudioRoute(route: AudioRouteKind | string, call?: Call): Promise<AudioRouteOption> {
    const reporter = this.reporter;
    if (!reporter.routeAudio) throw new SealcallError('INVALID_STATE', 'this reporter cannot route audio');
    const session = call ? this.registry.of(call) : this.registry.all().filter((s) => s.call && s.call.state !== 'disconnected' && !s.osGone).pop();
    if (!session || session.osGone) throw new SealcallError('INVALID_STATE', call ? 'CallKit does not show this call' : 'CallKit shows no call');
    const option = pickAudioRoute(await this.audioRoutes(), route);
    await askOs(() => reporter.routeAudio!(session.uuid, option), this.audioRouteTimeoutMs, `route audio to ${option.name}`);
    return option;
  }

  /**
   * Stops following calls and the OS: fails pending actions, removes every listener. Calls
   * carry on (with their audio on); hang them up first if they should end too.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.detach();
    this.audioGate?.dispose();
    this.registry.clear();
    this.rejectStarts(new SealcallError('INVALID_STATE', 'the coordinator is disposed'));
    for (const off of this.unsubscribeClient.splice(0)) off();
    this.removeAllListeners();
  }

  /** @internal Reports a failure as an `error` event (as a SealcallError). */
  fail(error: unknown): void {
    if (this.disposed) return;
    this.emit('error', toSealcallError(error, 'CALLKIT_REPORT_FAILED'));
  }

  /**
   * @internal The OS refused a start `startCall` asked for: rejects it with `error`, ends
   * whatever the OS may show under `uuid` as failed, and fails a late start action for it.
   */
  refuseStart(uuid: string, error: SealcallError): void {
    const request = this.requestedStarts.get(uuid);
    if (!request) return;
    this.requestedStarts.delete(uuid);
    clearTimeout(request.timer);
    this.refusedStarts.push(uuid);
    if (this.refusedStarts.length > REFUSED_MEMORY) this.refusedStarts.shift();
    this.registry.report(undefined, (r) => r.reportCallEnded(uuid, 'failed'));
    request.reject(error);
  }

  /**
   * @internal The OS refused (or later dropped) the incoming call it was asked to show under
   * `uuid`: nothing more is reported about it, a pending answer fails, and the app hears
   * `CALLKIT_REPORT_FAILED` (the call may still ring in its own UI).
   */
  incomingRefused(uuid: string, cause: unknown): void {
    const session = this.registry.get(uuid);
    if (session) this.registry.refused(session, cause);
    else this.fail(new SealcallError('CALLKIT_REPORT_FAILED', 'the OS refused to show the incoming call', { cause }));
  }

  /** @internal The peer a handle names, per the `peerFromHandle` option. */
  peerFromHandle(handle: string): PeerId | undefined {
    return this.registry.peerFromHint(handle);
  }

  // ---------------------------------------------------------------------------------------------
  // CallKitReceiver: actions from the OS.

  performStartCall(action: StartCallAction): void {
    const uuid = this.uuidFrom(action);
    if (uuid === undefined) return;
    const { registry } = this;
    const tracked = registry.get(uuid);
    if (tracked) return registry.actions.settleNow(action, tracked.direction === 'outgoing' && tracked.call !== undefined);
    const refused = this.refusedStarts.indexOf(uuid);
    if (refused >= 0) {
      this.refusedStarts.splice(refused, 1);
      return registry.actions.settleNow(action, false);
    }
    const request = this.requestedStarts.get(uuid);
    this.requestedStarts.delete(uuid);
    clearTimeout(request?.timer);
    const peer = request?.peer ?? registry.peerFromHint(action.handle);
    if (peer === undefined) return registry.actions.settleNow(action, false);
    const media = request?.options.media ?? (action.video ? 'video' : 'audio');
    registry.actions.add('start', uuid, action);
    this.clientReady
      .then((client) => {
        if (this.disposed) throw new SealcallError('INVALID_STATE', 'the coordinator is disposed');
        return client.call(peer, { ...request?.options, media });
      })
      .then(
        (call) => {
          if (registry.of(call) || this.disposed) {
            // Glare: the contact was ringing us and client.call() accepted that call instead,
            // which CallKit already shows under its own UUID.
            registry.actions.fail(uuid, 'start');
          } else {
            registry.add(uuid, 'outgoing', registry.infoFor(peer, media === 'video'), call);
            registry.actions.fulfill(uuid, 'start');
          }
          request?.resolve(call);
        },
        (error: unknown) => {
          registry.actions.fail(uuid, 'start');
          request?.reject(error);
        },
      );
  }

  performAnswerCall(action: CallKitAction): void {
    const uuid = this.uuidFrom(action);
    if (uuid === undefined) return;
    const session = this.registry.get(uuid);
    if (!session || session.direction !== 'incoming' || session.osGone) return this.registry.actions.settleNow(action, false);
    this.registry.actions.add('answer', uuid, action);
    session.answer();
  }

  performEndCall(action: CallKitAction): void {
    const { actions, endEchoes } = this.registry;
    let uuid: string;
    try {
      uuid = normalizeUuid(action.uuid);
    } catch {
      return actions.settleNow(action, true); // nothing of ours to end; let the OS drop it
    }
    const session = this.registry.get(uuid);
    if (endEchoes.delete(uuid) || !session) return actions.settleNow(action, true);
    if (!session.call) {
      // Declined on the lock screen before the invitation was opened: reject it once it is.
      session.declined = true;
      session.osGone = true;
      actions.fail(uuid, 'answer');
      return actions.settleNow(action, true);
    }
    actions.add('end', uuid, action);
    void session.call.hangup();
  }

  performSetMuted(action: SetMutedAction): void {
    const uuid = this.uuidFrom(action);
    if (uuid === undefined) return;
    const session = this.registry.get(uuid);
    if (!session) return this.registry.actions.settleNow(action, false);
    this.registry.actions.add('set-muted', uuid, action);
    session.setMuted(action.muted);
  }

  performSetHeld(action: SetHeldAction): void {
    const uuid = this.uuidFrom(action);
    if (uuid === undefined) return;
    const session = this.registry.get(uuid);
    if (!session) return this.registry.actions.settleNow(action, false);
    this.registry.actions.add('set-held', uuid, action);
    session.setHeld(action.onHold);
  }

  providerDidReset(): void {
    if (this.disposed) return;
    // CallKit already removed every call: void the actions and requests, end the calls without
    // reporting anything, then wait for the provider again so new calls work.
    this.registry.actions.failAll();
    this.rejectStarts(new SealcallError('CALLKIT_RESET', 'the CallKit provider was reset'));
    this.registry.endEchoes.clear();
    for (const session of this.registry.all()) {
      session.osGone = true;
      if (session.call) void session.call.hangup();
      else session.declined = true; // a sealed invitation is rejected once opened
    }
    this.registry.readiness.restart();
    this.audioGate?.setActive(false); // CallKit dropped the session with the calls
    this.emit('reset');
  }

  didActivateAudioSession(): void {
    if (this.disposed) return;
    this.audioGate?.setActive(true);
    this.emit('audio-session', true);
  }

  didDeactivateAudioSession(): void {
    if (this.disposed) return;
    this.audioGate?.setActive(false);
    this.emit('audio-session', false);
  }

  didChangeAudioRoute(route: AudioRoute): void {
    if (this.disposed || sameAudioRoute(this.audioRoute, route)) return;
    this.audioRoute = route;
    this.emit('audio-route', route);
  }

  showIncomingCallUi(uuid: string): void {
    const known = this.callUuid(uuid);
    if (known !== undefined) this.emit('show-incoming-ui', known, this.registry.get(known)?.call);
  }

  silenceRinger(uuid: string): void {
    const known = this.callUuid(uuid);
    if (known !== undefined) this.emit('silence-ringer', known);
  }

  // ---------------------------------------------------------------------------------------------

  private useClient(client: CallClient): void {
    if (this.disposed) return;
    this.registry.client = client;
    const onIncoming = (call: Call) => void this.onIncoming(call);
    client.on('incoming', onIncoming);
    this.unsubscribeClient.push(() => client.off('incoming', onIncoming));
    this.pushes.deliverAll(client);
  }

  private onIncoming(call: Call): string {
    const known = this.registry.of(call) ?? this.pushes.claim(call);
    if (known) return known.uuid;
    const info = this.registry.infoFor(call.peer, call.media === 'video');
    const session = this.registry.add(this.registry.newUuid(), 'incoming', info, call);
    this.registry.reportIncoming(session);
    return session.uuid;
  }

  private rejectStarts(error: SealcallError): void {
    const starts = [...this.requestedStarts.values()];
    this.requestedStarts.clear();
    for (const start of starts) {
      clearTimeout(start.timer);
      start.reject(error);
    }
  }

  /** The normalised UUID of a session the coordinator tracks; undefined for anything else. */
  private callUuid(uuid: string): string | undefined {
    try {
      const normalized = normalizeUuid(uuid);
      return this.registry.get(normalized) ? normalized : undefined;
    } catch {
      return undefined;
    }
  }

  private uuidFrom(action: CallKitAction): string | undefined {
    try {
      return normalizeUuid(action.uuid);
    } catch {
      this.registry.actions.settleNow(action, false);
      return undefined;
    }
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}
