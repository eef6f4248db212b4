import type {
  CallKeep,
  CallKeepEvent,
  CallKeepEventPayloads,
  CallKeepHandler,
  CallKeepHandleType,
  CallKeepInitialEvent,
  CallKeepSubscription,
} from '../callkit/callkeep-types.js';

/** Options of {@link FakeCallKeep}. */
export interface FakeCallKeepOptions {
  /**
   * Behave like older react-native-callkeep 4.3 releases: `addEventListener` returns nothing and
   * `removeEventListener(type)` removes every listener of that type. Default false.
   */
  legacyListeners?: boolean;
  /** Refuses `displayIncomingCall` with this error code (e.g. `'FilteredByDoNotDisturb'`). */
  refuseDisplay?: (uuid: string) => string | undefined;
}

/** One method call the app (or the bridge) made on the fake. */
export interface FakeCallKeepCall {
  method: string;
  args: unknown[];
}

type Handler = (data: never) => void;

/**
 * A stand-in for react-native-callkeep's `RNCallKeep` object on iOS, for tests: records every
 * method call and, like the native module, answers `startCall`, `answerIncomingCall`, `endCall`,
 * `setMutedCall` and `displayIncomingCall` with the matching event a moment later, with the UUID
 * lowercased. Test methods play the user and the OS (answer on the lock screen, end, mute, hold,
 * a PushKit report from native code, a provider reset). Not react-native-callkeep.
 */
export class FakeCallKeep implements CallKeep {
  /** Every method call, in order. */
  readonly calls: FakeCallKeepCall[] = [];
  /** What `getInitialEvents()` returns (events native code queued before JavaScript listened). */
  initialEvents: CallKeepInitialEvent[] = [];
  private readonly listeners = new Map<CallKeepEvent, Set<Handler>>();
  private pending: Promise<void>[] = [];

  constructor(private readonly options: FakeCallKeepOptions = {}) {}

  /** The arguments of every call to `method`, in order. */
  callsTo(method: keyof CallKeep): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Resolves once every event the fake owes (echoes of method calls) has been delivered. */
  async flushed(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  /** How many listeners are registered (for one event, or in all). */
  listenerCount(type?: CallKeepEvent): number {
    if (type) return this.listeners.get(type)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // RNCallKeep

  addEventListener<E extends CallKeepEvent>(type: E, handler: CallKeepHandler<E>): CallKeepSubscription | void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(handler as Handler);
    if (this.options.legacyListeners) return;
    return { remove: () => set.delete(handler as Handler) };
  }

  removeEventListener(type: CallKeepEvent): void {
    this.listeners.delete(type);
  }

  displayIncomingCall(uuid: string, handle: string, localizedCallerName?: string, handleType?: CallKeepHandleType, hasVideo?: boolean): void {
    this.record('displayIncomingCall', uuid, handle, localizedCallerName, handleType, hasVideo);
    const errorCode = this.options.refuseDisplay?.(uuid);
    this.later('didDisplayIncomingCall', {
      error: errorCode ? `The operation couldn't be completed (${errorCode})` : '',
      ...(errorCode ? { errorCode } : {}),
      callUUID: uuid.toLowerCase(),
      handle,
      localizedCallerName: localizedCallerName ?? '',
      hasVideo: hasVideo ? '1' : '0',
      fromPushKit: '0',
      payload: '',
    });
  }

  startCall(uuid: string, handle: string, contactIdentifier?: string, handleType?: CallKeepHandleType, hasVideo?: boolean): void {
    this.record('startCall', uuid, handle, contactIdentifier, handleType, hasVideo);
    this.later('didReceiveStartCallAction', { callUUID: uuid.toLowerCase(), handle });
  }

  reportConnectingOutgoingCallWithUUID(uuid: string): void {
    this.record('reportConnectingOutgoingCallWithUUID', uuid);
  }

  reportConnectedOutgoingCallWithUUID(uuid: string): void {
    this.record('reportConnectedOutgoingCallWithUUID', uuid);
  }

  reportEndCallWithUUID(uuid: string, reason: number): void {
    this.record('reportEndCallWithUUID', uuid, reason);
  }

  updateDisplay(uuid: string, displayName: string, handle: string): void {
    this.record('updateDisplay', uuid, displayName, handle);
  }

  setMutedCall(uuid: string, muted: boolean): void {
    this.record('setMutedCall', uuid, muted);
    this.later('didPerformSetMutedCallAction', { muted, callUUID: uuid.toLowerCase() });
  }

  answerIncomingCall(uuid: string): void {
    this.record('answerIncomingCall', uuid);
    this.later('answerCall', { callUUID: uuid.toLowerCase() });
  }

  endCall(uuid: string): void {
    this.record('endCall', uuid);
    this.later('endCall', { callUUID: uuid.toLowerCase() });
  }

  getInitialEvents(): Promise<CallKeepInitialEvent[]> {
    this.record('getInitialEvents');
    return Promise.resolve([...this.initialEvents]);
  }

  clearInitialEvents(): void {
    this.record('clearInitialEvents');
    this.initialEvents = [];
  }

  // ---------------------------------------------------------------------------------------------
  // The user and the OS (synchronous, so a test controls the order).

  /** The user answers in the system UI. */
  answer(uuid: string): void {
    this.emit('answerCall', { callUUID: uuid.toLowerCase() });
  }

  /** The user ends or declines in the system UI. */
  end(uuid: string): void {
    this.emit('endCall', { callUUID: uuid.toLowerCase() });
  }

  /** The user taps mute in the system UI. */
  mute(uuid: string, muted: boolean): void {
    this.emit('didPerformSetMutedCallAction', { muted, callUUID: uuid.toLowerCase() });
  }

  /** The OS holds or resumes the call. */
  hold(uuid: string, hold: boolean): void {
    this.emit('didToggleHoldCallAction', { hold, callUUID: uuid.toLowerCase() });
  }

  /** Native code reported a call from a PushKit handler (`RNCallKeep.reportNewIncomingCall`). */
  pushKitIncoming(uuid: string, payload: object, info: { handle: string; localizedCallerName?: string; hasVideo?: boolean }): void {
    this.emit('didDisplayIncomingCall', {
      error: '',
      callUUID: uuid.toLowerCase(),
      handle: info.handle,
      localizedCallerName: info.localizedCallerName ?? '',
      hasVideo: info.hasVideo ? '1' : '0',
      fromPushKit: '1',
      payload,
    });
  }

  /** The OS resets the provider. */
  resetProvider(): void {
    this.emit('didResetProvider', undefined);
  }

  /** The OS activates the call audio session. */
  activateAudioSession(): void {
    this.emit('didActivateAudioSession', undefined);
  }

  /** Fires any event as the native module would. */
  emit<E extends CallKeepEvent>(type: E, data: CallKeepEventPayloads[E]): void {
    for (const handler of [...(this.listeners.get(type) ?? [])]) (handler as (data: CallKeepEventPayloads[E]) => void)(data);
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  /** Native events reach JavaScript asynchronously. */
  private later<E extends CallKeepEvent>(type: E, data: CallKeepEventPayloads[E]): void {
    this.pending.push(Promise.resolve().then(() => this.emit(type, data)));
  }
}
