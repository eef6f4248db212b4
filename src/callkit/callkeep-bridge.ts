import type { CallOptions } from '../call/call-client.js';
import type { Call } from '../call/call.js';
import { SealcallError, toSealcallError } from '../errors.js';
import type { PeerId } from '../transport/chat-transport.js';
import {
  CALLKEEP_NATIVE_EVENTS,
  type CallKeep,
  type CallKeepEvent,
  type CallKeepEventPayloads,
  type CallKeepHandler,
  type CallKeepHandleType,
  type CallKeepInitialEvent,
  type CallKeepSetupOptions,
  type CallKeepSubscription,
} from './callkeep-types.js';
import { callKeepRoute, callKeepRouteOptions } from './callkeep-audio-routes.js';
import { CallKitCoordinator, type CallKitCoordinatorOptions } from './coordinator.js';
import { CALLKEEP_ANDROID_END_REASONS, CALLKEEP_END_REASONS } from './end-reasons.js';
import { NoopCallKitReporter } from './noop-reporter.js';
import type { PendingInvitation } from './push-inbox.js';
import { PUSH_PLACEHOLDER } from './push-inbox.js';
import type {
  AudioRouteKind,
  AudioRouteOption,
  CallKitCallInfo,
  CallKitCallUpdate,
  CallKitEndReason,
  CallKitReceiver,
  CallKitReporter,
} from './types.js';
import { isUuid, normalizeUuid } from './uuid.js';

/** Options of {@link CallKeepBridge}: the coordinator's, with react-native-callkeep as the reporter. */
export interface CallKeepBridgeOptions extends Omit<CallKitCoordinatorOptions, 'reporter'> {
  /** The `RNCallKeep` default export (or anything with its methods). */
  callKeep: CallKeep;
  /**
   * What to pass to `RNCallKeep.setup()`: the bridge calls it once its listeners are in place,
   * which Android needs (its `setup()` delivers the events queued before JavaScript ran, a
   * lock-screen answer among them, once, as `didLoadWithEvents`, and forgets them). Reports wait
   * for it (3 s at most, then `CALLKIT_NOT_READY`). Prefer it to `ready`; not both.
   */
  setup?: CallKeepSetupOptions;
  /**
   * The promise `RNCallKeep.setup(...)` returned, when the app calls `setup()` itself; reports
   * wait for it (3 s at most). On Android call `setup()` only after constructing the bridge, or
   * the events it delivers are lost. Default: set up already.
   */
  ready?: PromiseLike<unknown>;
  /**
   * False for the CallKit-free mode (`shouldUseCallKit(...)` said no): callkeep is not touched,
   * no listener is added, and calls work through the app's own UI. Default true.
   */
  enabled?: boolean;
  /** How CallKit shows handles. Default `'generic'` (handles are peer ids). */
  handleType?: CallKeepHandleType;
  /**
   * Which native module callkeep drives. Default: `'android'` when
   * `callKeep.supportConnectionService()` says so, `'ios'` otherwise.
   */
  platform?: 'ios' | 'android';
  /**
   * Android: bring the app to the foreground (`backToForeground()`) when the user answers in the
   * system UI, so the call screen (and video) shows over the lock screen. Default true.
   */
  foregroundOnAnswer?: boolean;
}

/** A `displayIncomingCall` waiting for the OS's verdict. */
interface Display {
  resolve: () => void;
  reject: (error: Error) => void;
  /** `displayIncomingCall` was called (Android checks the phone account first). */
  sent: boolean;
  /** Requests about the call made before it was displayed, sent right after it is. */
  queued: (() => void)[];
}

const nothing = (): void => {};

/**
 * The CallKit bridge for React Native apps using react-native-callkeep, on iOS (CallKit) and
 * Android (ConnectionService, managed or self-managed): a {@link CallKitReporter} made of
 * callkeep's methods, whose events are fed to a {@link CallKitCoordinator}.
 *
 * react-native-callkeep fulfils every CallKit action natively as soon as it emits the event, so
 * here "fulfil" is a no-op (on Android, fulfilling an answer marks the connection active) and
 * "fail" for a start or answer ends the call as failed. Its `endCall`/`setMutedCall`/`startCall`/
 * `answerIncomingCall` come back as events; the coordinator recognises those echoes (no loops,
 * no double end). What the platforms do differently (no `didDisplayIncomingCall` on Android, its
 * own end reasons, `setCurrentCallActive`, events queued at cold start) is handled here.
 */
export class CallKeepBridge implements CallKitReporter {
  /** The coordinator: `startCall`, `pendingInvitations`, `uuidOf`, events. */
  readonly coordinator: CallKitCoordinator;
  /** The platform callkeep runs on (see {@link CallKeepBridgeOptions.platform}). */
  readonly platform: 'ios' | 'android';
  /** @internal Both platforms activate the audio session for answered and started calls. */
  readonly managesAudioSession = true;
  private readonly callKeep: CallKeep;
  private readonly enabled: boolean;
  private readonly handleType: CallKeepHandleType;
  private readonly foregroundOnAnswer: boolean;
  private readonly setupPromise: PromiseLike<unknown> | undefined;
  private setupDone = false;
  private available = true;
  /** The handlers added, by event, for replaying queued events. */
  private readonly handlers = new Map<CallKeepEvent, (data: unknown) => void>();
  /** Queued events already replayed (iOS keeps its queue after sending it). */
  private readonly replayed = new Set<string>();
  /** What each call shows, because `updateDisplay` wants every field. */
  private readonly shown = new Map<string, CallKitCallInfo>();
  /** Calls the OS shows, by normalised UUID, spelled as the OS spells them (Android matches UUIDs exactly). */
  private readonly live = new Map<string, string>();
  private readonly displaying = new Map<string, Display>();
  /** Answers this side asked for: their echo is not the user answering in the system UI. */
  private readonly answersAsked = new Set<string>();
  /** Android sends no deactivation: the bridge reports it when the last call is gone. */
  private audioActive = false;
  private receiver: CallKitReceiver | undefined;

  /**
   * @throws SealcallError `INVALID_ARGUMENT` for a `callKeep` without callkeep's methods (when
   * enabled), both `setup` and `ready`, or an unknown `platform`.
   */
  constructor(options: CallKeepBridgeOptions) {
    const { callKeep, ready, setup, enabled = true, handleType = 'generic', platform, foregroundOnAnswer = true, ...coordinatorOptions } =
      options;
    if (enabled && (typeof callKeep?.addEventListener !== 'function' || typeof callKeep.displayIncomingCall !== 'function')) {
      throw new SealcallError('INVALID_ARGUMENT', 'callKeep must be the RNCallKeep object');
    }
    if (setup !== undefined && (ready !== undefined || typeof callKeep.setup !== 'function')) {
      throw new SealcallError('INVALID_ARGUMENT', 'pass either setup (with a callKeep that has setup()) or ready, not both');
    }
    if (platform !== undefined && platform !== 'ios' && platform !== 'android') {
      throw new SealcallError('INVALID_ARGUMENT', "platform must be 'ios' or 'android'");
    }
    this.callKeep = callKeep;
    this.enabled = enabled;
    this.handleType = handleType;
    this.foregroundOnAnswer = foregroundOnAnswer;
    this.platform = platform ?? (enabled && callKeep.supportConnectionService?.() === true ? 'android' : 'ios');
    let startSetup: (() => void) | undefined;
    if (setup !== undefined && enabled) {
      // Called only after the coordinator attached (below): listeners first, then setup().
      let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
      this.setupPromise = new Promise((resolve, reject) => (settle = { resolve, reject }));
      startSetup = () => {
        try {
          callKeep.setup!(setup).then(settle.resolve, (error: unknown) =>
            settle.reject(error ?? new Error('RNCallKeep.setup was refused (the phone account prompt was cancelled)')),
          );
        } catch (error) {
          settle.reject(error);
        }
      };
    } else {
      this.setupPromise = ready;
    }
    this.setupPromise?.then(() => (this.setupDone = true), nothing);
    const reporter = enabled ? this : new NoopCallKitReporter();
    this.coordinator = new CallKitCoordinator({ ...coordinatorOptions, reporter });
    startSetup?.();
  }

  /** See `CallKitCoordinator.startCall`. */
  startCall(peer: PeerId, options?: CallOptions): Promise<Call> {
    return this.coordinator.startCall(peer, options);
  }

  /** See `CallKitCoordinator.handlePush`: a VoIP (iOS) or FCM (Android) push that JavaScript received itself. */
  handlePush(payload: unknown, options?: { reported?: boolean }): PendingInvitation | undefined {
    return this.coordinator.handlePush(payload, options);
  }

  /**
   * Cold start: replays the events native code queued before JavaScript listened (a push shown
   * by PushKit, a lock-screen answer, …) through the same handlers, then clears them. Events
   * already replayed from `didLoadWithEvents` are skipped. Resolves with how many were replayed.
   * On Android the queue is empty once `setup()` ran: it arrives as `didLoadWithEvents` instead.
   */
  async processInitialEvents(): Promise<number> {
    if (!this.enabled) return 0;
    let events: CallKeepInitialEvent[];
    try {
      events = (await this.callKeep.getInitialEvents?.()) ?? [];
    } catch (error) {
      this.coordinator.fail(toSealcallError(error, 'CALLKIT_REPORT_FAILED'));
      return 0;
    }
    return this.replay(events);
  }

  /**
   * Whether this user can place calls now. Pass false at sign-out: on Android ConnectionService
   * is told (`RNCallKeep.setAvailable`) and refuses outgoing calls, and on either platform
   * `startCall` then rejects at once with `CALLKIT_REPORT_FAILED` instead of asking the OS. True
   * again at sign-in. Default true (callkeep's `setup()` makes Android available by itself).
   */
  setAvailable(available: boolean): void {
    this.available = available;
    if (this.enabled && this.platform === 'android') this.callKeep.setAvailable?.(available);
  }

  /**
   * See `CallKitCoordinator.audioRoutes`: callkeep's `getAudioRoutes()`, each `type` mapped to a
   * kind (`Phone` earpiece, `Speaker` speaker, `Bluetooth` bluetooth, `Headset` wired).
   */
  audioRoutes(): Promise<AudioRouteOption[]> {
    return this.coordinator.audioRoutes();
  }

  /**
   * See `CallKitCoordinator.setAudioRoute`: callkeep's `setAudioRoute(uuid, name)` with the name
   * of the route `getAudioRoutes()` offers. Settles even where callkeep never would (a route
   * gone meanwhile, a connection Android no longer has): `CALLKIT_REPORT_FAILED` after
   * `audioRouteTimeoutMs`.
   */
  setAudioRoute(route: AudioRouteKind | string, call?: Call): Promise<AudioRouteOption> {
    return this.coordinator.setAudioRoute(route, call);
  }

  /** Android: brings the app to the foreground (e.g. to show a call answered elsewhere); a no-op on iOS. */
  backToForeground(): void {
    if (this.enabled && this.platform === 'android') this.callKeep.backToForeground?.();
  }

  /** Removes every listener this bridge added and disposes the coordinator; calls carry on. */
  dispose(): void {
    this.coordinator.dispose(); // detaches: see attach()
    for (const waiter of this.displaying.values()) waiter.resolve();
    this.displaying.clear();
    this.shown.clear();
    this.live.clear();
    this.answersAsked.clear();
    this.receiver = undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // CallKitReporter

  /** @internal */
  ready(): PromiseLike<unknown> | undefined {
    return this.setupDone ? undefined : this.setupPromise;
  }

  /** @internal */
  attach(receiver: CallKitReceiver): () => void {
    this.receiver = receiver;
    const removers = [
      this.listen('answerCall', ({ callUUID }) => this.onAnswer(receiver, callUUID)),
      this.listen('endCall', ({ callUUID }) => {
        receiver.performEndCall({ uuid: callUUID, fulfill: nothing, fail: nothing });
        if (isUuid(callUUID)) this.forget(normalizeUuid(callUUID));
      }),
      this.listen('didPerformSetMutedCallAction', ({ callUUID, muted }) =>
        receiver.performSetMuted({ uuid: callUUID, muted, fulfill: nothing, fail: nothing }),
      ),
      this.listen('didToggleHoldCallAction', ({ callUUID, hold }) =>
        receiver.performSetHeld({ uuid: callUUID, onHold: hold, fulfill: nothing, fail: nothing }),
      ),
      this.listen('didReceiveStartCallAction', (data) => this.onStart(receiver, data)),
      this.listen('didDisplayIncomingCall', (data) => this.onDisplayed(data)),
      this.listen('didResetProvider', () => {
        this.live.clear();
        receiver.providerDidReset();
      }),
      this.listen('didActivateAudioSession', () => {
        this.audioActive = true;
        receiver.didActivateAudioSession();
      }),
      this.listen('didDeactivateAudioSession', () => {
        this.audioActive = false;
        receiver.didDeactivateAudioSession();
      }),
      this.listen('didChangeAudioRoute', (data) => receiver.didChangeAudioRoute?.(callKeepRoute(this.platform, data))),
      this.listen('didLoadWithEvents', (events) => void this.replay(events)),
      this.listen('checkReachability', () => this.callKeep.setReachable?.()),
      this.listen('showIncomingCallUi', ({ callUUID }) => {
        this.settleDisplay(callUUID);
        receiver.showIncomingCallUi?.(callUUID);
      }),
      this.listen('silenceIncomingCall', ({ callUUID }) => receiver.silenceRinger?.(callUUID)),
      this.listen('createIncomingConnectionFailed', ({ callUUID }) => this.onIncomingFailed(callUUID)),
    ];
    // JavaScript listens: native code need not wake it (Android's reachability check) nor end
    // calls it shows for want of it (iOS's `displayCallReachabilityTimeout`).
    this.callKeep.setReachable?.();
    return () => {
      for (const remove of removers) remove();
      this.handlers.clear();
    };
  }

  /** @internal */
  reportIncomingCall(uuid: string, info: CallKitCallInfo): Promise<void> {
    this.shown.set(uuid, info);
    this.live.set(uuid, uuid);
    return new Promise<void>((resolve, reject) => {
      const display: Display = { resolve, reject, sent: false, queued: [] };
      this.displaying.set(uuid, display);
      // iOS answers every display with didDisplayIncomingCall. Android answers none and drops
      // the call silently without a phone account or permissions: ask first.
      const check = this.platform === 'android' ? this.callKeep.hasPhoneAccount?.() : undefined;
      if (check === undefined) return this.display(uuid, display);
      Promise.resolve(check).then(
        (has) => {
          if (this.displaying.get(uuid) !== display) return; // ended meanwhile
          if (has) this.display(uuid, display);
          else this.refuseDisplay(uuid, new Error('NoPhoneAccount'));
        },
        (error: unknown) => this.displaying.get(uuid) === display && this.refuseDisplay(uuid, toError(error)),
      );
    });
  }

  /** @internal */
  reportOutgoingConnecting(uuid: string): void {
    if (this.platform === 'ios') this.callKeep.reportConnectingOutgoingCallWithUUID(uuid);
  }

  /** @internal On Android the connection stays DIALING until it is made active. */
  reportOutgoingConnected(uuid: string): void {
    if (this.platform === 'ios') this.callKeep.reportConnectedOutgoingCallWithUUID(uuid);
    else this.callKeep.setCurrentCallActive?.(this.osUuid(uuid));
  }

  /** @internal */
  reportCallEnded(uuid: string, reason: CallKitEndReason): void {
    const osUuid = this.osUuid(uuid);
    const table = this.platform === 'ios' ? CALLKEEP_END_REASONS : CALLKEEP_ANDROID_END_REASONS;
    this.forget(uuid);
    this.callKeep.reportEndCallWithUUID(osUuid, table[reason]);
  }

  /** @internal Android can change the name and handle; iOS also whether the call has video. */
  reportCallUpdated(uuid: string, update: CallKitCallUpdate): void {
    // A call native code reported from a push is not in `shown`: native code could read nothing
    // of the sealed push and showed a placeholder, which the authenticated contact replaces.
    const before = this.shown.get(uuid) ?? PUSH_PLACEHOLDER;
    const after = { ...before, ...update };
    this.shown.set(uuid, after);
    if (this.displaying.get(uuid)?.sent === false) return; // displayed with `after` once checked
    const video = this.platform === 'ios' && update.hasVideo !== undefined && update.hasVideo !== before.hasVideo;
    if (update.displayName === undefined && update.handle === undefined && !video) return;
    const osUuid = this.osUuid(uuid);
    if (video) this.callKeep.updateDisplay(osUuid, after.displayName, after.handle, { ios: { hasVideo: after.hasVideo } });
    else this.callKeep.updateDisplay(osUuid, after.displayName, after.handle);
  }

  /** @internal */
  requestStartCall(uuid: string, info: CallKitCallInfo): void {
    this.shown.set(uuid, info);
    if (!this.available) {
      this.refuseStart(uuid, 'calls are unavailable (setAvailable(false))');
      return;
    }
    const start = () => {
      this.live.set(uuid, uuid);
      this.callKeep.startCall(uuid, info.handle, info.displayName, this.handleType, info.hasVideo);
    };
    // Android ignores a start without phone account or permissions, without a word.
    const check = this.platform === 'android' ? this.callKeep.hasPhoneAccount?.() : undefined;
    if (check === undefined) return start();
    Promise.resolve(check).then(
      (has) => (has ? start() : this.refuseStart(uuid, 'Android cannot place calls: no phone account or permission')),
      () => this.refuseStart(uuid, 'Android cannot place calls: no phone account or permission'),
    );
  }

  /** @internal */
  requestAnswerCall(uuid: string): void {
    this.answersAsked.add(uuid);
    this.afterDisplay(uuid, () => this.callKeep.answerIncomingCall(this.osUuid(uuid)));
  }

  /** @internal */
  requestEndCall(uuid: string): void {
    const osUuid = this.osUuid(uuid);
    this.forget(uuid);
    this.callKeep.endCall(osUuid);
  }

  /** @internal */
  requestSetMuted(uuid: string, muted: boolean): void {
    this.afterDisplay(uuid, () => this.callKeep.setMutedCall(this.osUuid(uuid), muted));
  }

  /** @internal */
  async listAudioRoutes(): Promise<AudioRouteOption[]> {
    if (!this.callKeep.getAudioRoutes) throw new SealcallError('INVALID_STATE', 'this react-native-callkeep has no getAudioRoutes');
    return callKeepRouteOptions(await this.callKeep.getAudioRoutes());
  }

  /** @internal */
  async routeAudio(uuid: string, route: AudioRouteOption): Promise<void> {
    if (!this.callKeep.setAudioRoute) throw new SealcallError('INVALID_STATE', 'this react-native-callkeep has no setAudioRoute');
    await this.callKeep.setAudioRoute(this.osUuid(uuid), route.name);
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Adds one callkeep listener; returns what removes exactly that listener. A payload the
   * handler cannot read is reported as `BAD_MESSAGE`, never thrown into callkeep.
   */
  private listen<E extends CallKeepEvent>(event: E, handler: CallKeepHandler<E>): () => void {
    const guarded = (data: unknown) => {
      try {
        (handler as (data: unknown) => void)(data);
      } catch (error) {
        this.coordinator.fail(toSealcallError(error, 'BAD_MESSAGE'));
      }
    };
    this.handlers.set(event, guarded);
    // One call site for every event: the per-event overloads cannot see that `handler` fits `event`.
    const add = this.callKeep.addEventListener as (type: CallKeepEvent, handler: (data: unknown) => void) => CallKeepSubscription | void;
    let subscription: CallKeepSubscription | void;
    try {
      subscription = add.call(this.callKeep, event, guarded);
    } catch {
      return nothing; // an older callkeep without this event
    }
    // Newer callkeep returns a subscription; older 4.3 releases remove by event type.
    return subscription && typeof subscription.remove === 'function'
      ? () => subscription.remove()
      : () => this.callKeep.removeEventListener(event);
  }

  /** Feeds queued events to their handlers, each once however often native code sends the queue. */
  private replay(events: unknown): number {
    if (!Array.isArray(events)) return 0;
    const batch: string[] = [];
    let count = 0;
    for (const event of events as CallKeepInitialEvent[]) {
      const name = typeof event?.name === 'string' ? event.name : '';
      const key = `${name} ${safeJson(event?.data)}`;
      batch.push(key);
      if (this.replayed.has(key)) continue;
      const type = CALLKEEP_NATIVE_EVENTS[name];
      const handler = type === undefined ? undefined : this.handlers.get(type);
      if (!handler) continue;
      count++;
      handler(event.data);
    }
    for (const key of batch) this.replayed.add(key);
    this.callKeep.clearInitialEvents?.();
    return count;
  }

  private onAnswer(receiver: CallKitReceiver, callUUID: string): void {
    const uuid = isUuid(callUUID) ? normalizeUuid(callUUID) : undefined;
    if (uuid !== undefined) {
      const asked = this.answersAsked.delete(uuid);
      if (!asked && this.platform === 'android' && this.foregroundOnAnswer) this.callKeep.backToForeground?.();
      this.settleDisplay(callUUID);
    }
    receiver.performAnswerCall({
      uuid: callUUID,
      // Android shows the call ringing until it is made active; CallKit needs nothing more.
      fulfill: () => this.platform === 'android' && this.callKeep.setCurrentCallActive?.(callUUID),
      fail: () => this.failCall(callUUID),
    });
  }

  private onStart(receiver: CallKitReceiver, data: CallKeepEventPayloads['didReceiveStartCallAction']): void {
    if (data.callUUID !== undefined) {
      const uuid = data.callUUID;
      if (isUuid(uuid)) this.live.set(normalizeUuid(uuid), uuid);
      receiver.performStartCall({
        uuid,
        handle: data.handle,
        ...(data.video !== undefined ? { video: data.video } : {}),
        fulfill: nothing,
        fail: () => this.failCall(uuid),
      });
      return;
    }
    // Recents or Siri without a UUID yet: place the call, which asks callkeep for a start action.
    const peer = this.coordinator.peerFromHandle(data.handle);
    if (peer === undefined) return this.coordinator.fail(new SealcallError('UNKNOWN_CONTACT', 'no contact for this handle'));
    this.coordinator.startCall(peer, { media: data.video ? 'video' : 'audio' }).catch((error: unknown) => this.coordinator.fail(error));
  }

  private onDisplayed(data: CallKeepEventPayloads['didDisplayIncomingCall']): void {
    if (!isUuid(data.callUUID)) return;
    const uuid = normalizeUuid(data.callUUID);
    const waiter = this.displaying.get(uuid);
    if (data.error) {
      const error = new Error(data.errorCode || data.error);
      if (waiter) this.refuseDisplay(uuid, error);
      else this.coordinator.fail(error);
      return;
    }
    if (waiter) return this.settleDisplay(uuid);
    // Shown by native code from a push (iOS PushKit: fromPushKit '1'; Android's native
    // reportNewIncomingCall has no such field): track it without showing it again.
    if (data.fromPushKit !== '0' && data.payload !== undefined && data.payload !== '') {
      this.live.set(uuid, data.callUUID);
      this.coordinator.handlePush(typeof data.payload === 'string' ? parseJson(data.payload) : data.payload, { reported: true });
    }
  }

  private onIncomingFailed(callUUID: string): void {
    if (!isUuid(callUUID)) return;
    const uuid = normalizeUuid(callUUID);
    const error = new Error('IncomingConnectionFailed');
    if (this.displaying.has(uuid)) return this.refuseDisplay(uuid, error);
    this.forget(uuid);
    this.coordinator.incomingRefused(uuid, error);
  }

  private display(uuid: string, display: Display): void {
    display.sent = true;
    const info = this.shown.get(uuid) ?? PUSH_PLACEHOLDER;
    this.callKeep.displayIncomingCall(uuid, info.handle, info.displayName, this.handleType, info.hasVideo);
    for (const request of display.queued.splice(0)) request();
  }

  /** Runs `request` once the call is displayed: Android would ignore it for a call it does not show yet. */
  private afterDisplay(uuid: string, request: () => void): void {
    const display = this.displaying.get(uuid);
    if (display && !display.sent) display.queued.push(request);
    else request();
  }

  /** The OS showed the call (or the user acted on it): its report is settled. */
  private settleDisplay(callUUID: string): void {
    if (!isUuid(callUUID)) return;
    const uuid = normalizeUuid(callUUID);
    this.displaying.get(uuid)?.resolve();
    this.displaying.delete(uuid);
  }

  private refuseDisplay(uuid: string, error: Error): void {
    const waiter = this.displaying.get(uuid);
    this.displaying.delete(uuid);
    this.forget(uuid);
    waiter?.reject(error);
  }

  private refuseStart(uuid: string, message: string): void {
    this.forget(uuid);
    this.coordinator.refuseStart(uuid, new SealcallError('CALLKIT_REPORT_FAILED', message));
  }

  /** Ends a call whose action failed, as failed. */
  private failCall(callUUID: string): void {
    const uuid = isUuid(callUUID) ? normalizeUuid(callUUID) : undefined;
    if (uuid !== undefined) this.forget(uuid);
    const reason = this.platform === 'ios' ? CALLKEEP_END_REASONS.failed : CALLKEEP_ANDROID_END_REASONS.failed;
    this.callKeep.reportEndCallWithUUID(callUUID, reason);
  }

  /** The UUID as the OS spells it (a native report may use upper case, which Android matches exactly). */
  private osUuid(uuid: string): string {
    return this.live.get(uuid) ?? uuid;
  }

  /** The OS no longer shows the call: settle its report, and on Android end the audio session after the last call. */
  private forget(uuid: string): void {
    this.shown.delete(uuid);
    this.answersAsked.delete(uuid);
    this.displaying.get(uuid)?.resolve();
    this.displaying.delete(uuid);
    const wasLive = this.live.delete(uuid);
    if (wasLive && this.platform === 'android' && this.audioActive && this.live.size === 0) {
      this.audioActive = false;
      this.receiver?.didDeactivateAudioSession();
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // parseCallPush reports it as BAD_MESSAGE
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
