import type {
  CallKeep,
  CallKeepEvent,
  CallKeepEventPayloads,
  CallKeepHandler,
  CallKeepHandleType,
  CallKeepInitialEvent,
  CallKeepSetupOptions,
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
  /** Refuses every `startCall` transaction, which callkeep only logs: no start action follows. */
  refuseStart?: boolean;
  /** `setAudioRoute` rejects, as when iOS refuses to change the port. */
  refuseAudioRoute?: boolean;
}

/** A headset the fake phone can have besides its earpiece and speaker. */
export type FakeCallKeepHeadset = 'wired' | 'bluetooth';

type Output = 'earpiece' | 'speaker' | FakeCallKeepHeadset;

/** iOS: the first output port's type for each output (`didChangeAudioRoute.output`). */
const OUTPUT_PORTS: Record<Output, string> = { earpiece: 'Receiver', speaker: 'Speaker', wired: 'Headphones', bluetooth: 'BluetoothHFP' };
/** iOS: the input ports (`getAudioRoutes`): name and callkeep's type. */
const INPUT_PORTS: Record<'earpiece' | FakeCallKeepHeadset, { name: string; type: string }> = {
  earpiece: { name: 'iPhone Microphone', type: 'Phone' },
  wired: { name: 'Headset Microphone', type: 'Headset' },
  bluetooth: { name: 'AirPods', type: 'Bluetooth' },
};
const SELECTED_TYPES: Record<Output, string> = { earpiece: 'Phone', speaker: 'Speaker', wired: 'Headset', bluetooth: 'Bluetooth' };

/** One method call the app (or the bridge) made on the fake. */
export interface FakeCallKeepCall {
  method: string;
  args: unknown[];
}

type Handler = (data: never) => void;

/**
 * A stand-in for react-native-callkeep 4.3's `RNCallKeep` object on iOS, for tests: records every
 * method call and, like the native module over CallKit, answers with the matching events a moment
 * later. `displayIncomingCall` is answered by `didDisplayIncomingCall` (the UUID as given, an
 * error code when refused); `startCall`, `answerIncomingCall`, `endCall` and `setMutedCall` by
 * their action's event with the UUID lowercased, but only for a call CallKit shows (a failed
 * transaction is only logged); start and answer activate the audio session, the last call's end
 * deactivates it. Audio routes are iOS's: `getAudioRoutes` lists the speaker and the input
 * ports (the built-in microphone, and the headsets plugged in), `setAudioRoute` moves audio and
 * sends `didChangeAudioRoute` with the output port type, and never settles for a port it does
 * not know (as callkeep on iOS). Test methods play the user and the OS (answer on the lock
 * screen, end, mute, hold, a headset plugged in, a PushKit report from native code, a provider reset). `test/callkit-callkeep-native.test.ts`
 * checks that it sends what react-native-callkeep's own JavaScript does over its iOS module.
 * Not react-native-callkeep; Android's behaviour differs (see `CallKeepBridge`).
 */
export class FakeCallKeep implements CallKeep {
  /** Every method call, in order. */
  readonly calls: FakeCallKeepCall[] = [];
  /** What `getInitialEvents()` returns (events native code queued before JavaScript listened). */
  initialEvents: CallKeepInitialEvent[] = [];
  private readonly listeners = new Map<CallKeepEvent, Set<Handler>>();
  /** Calls CallKit shows, by lowercased UUID. */
  private readonly shown = new Set<string>();
  private audioActive = false;
  private readonly headsets = new Set<FakeCallKeepHeadset>();
  private output: Output = 'earpiece';
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
    // Like RCTEventEmitter's startObserving: the first listener gets the queue (which stays queued).
    if (this.listenerCount() === 0 && this.initialEvents.length > 0) this.later('didLoadWithEvents', [...this.initialEvents]);
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(handler as Handler);
    if (this.options.legacyListeners) return;
    return { remove: () => set.delete(handler as Handler) };
  }

  removeEventListener(type: CallKeepEvent): void {
    this.listeners.delete(type);
  }

  setup(options: CallKeepSetupOptions): Promise<undefined> {
    this.record('setup', options);
    return Promise.resolve(undefined);
  }

  /** iOS: false (how the bridge tells iOS from Android). */
  supportConnectionService(): boolean {
    return false;
  }

  setReachable(): void {
    this.record('setReachable');
  }

  displayIncomingCall(uuid: string, handle: string, localizedCallerName?: string, handleType?: CallKeepHandleType, hasVideo?: boolean): void {
    this.record('displayIncomingCall', uuid, handle, localizedCallerName, handleType, hasVideo);
    const errorCode = this.shown.has(uuid.toLowerCase()) ? 'CallUUIDAlreadyExists' : this.options.refuseDisplay?.(uuid);
    if (!errorCode) this.shown.add(uuid.toLowerCase());
    this.later('didDisplayIncomingCall', {
      error: errorCode ? `The operation couldn't be completed (${errorCode})` : '',
      errorCode: errorCode ?? '',
      callUUID: uuid,
      handle,
      localizedCallerName: localizedCallerName ?? '',
      hasVideo: hasVideo ? '1' : '0',
      fromPushKit: '0',
      payload: '',
    });
  }

  startCall(uuid: string, handle: string, contactIdentifier?: string, handleType?: CallKeepHandleType, hasVideo?: boolean): void {
    this.record('startCall', uuid, handle, contactIdentifier, handleType, hasVideo);
    if (this.options.refuseStart || this.shown.has(uuid.toLowerCase())) return;
    this.shown.add(uuid.toLowerCase());
    this.later('didReceiveStartCallAction', { callUUID: uuid.toLowerCase(), handle });
    this.activateAudio();
  }

  reportConnectingOutgoingCallWithUUID(uuid: string): void {
    this.record('reportConnectingOutgoingCallWithUUID', uuid);
  }

  reportConnectedOutgoingCallWithUUID(uuid: string): void {
    this.record('reportConnectedOutgoingCallWithUUID', uuid);
  }

  reportEndCallWithUUID(uuid: string, reason: number): void {
    this.record('reportEndCallWithUUID', uuid, reason);
    if (reason >= 1 && reason <= 6) this.gone(uuid);
  }

  updateDisplay(uuid: string, displayName: string, handle: string, options?: object): void {
    if (options === undefined) this.record('updateDisplay', uuid, displayName, handle);
    else this.record('updateDisplay', uuid, displayName, handle, options);
  }

  setMutedCall(uuid: string, muted: boolean): void {
    this.record('setMutedCall', uuid, muted);
    if (this.shown.has(uuid.toLowerCase())) this.mute(uuid, muted, true);
  }

  answerIncomingCall(uuid: string): void {
    this.record('answerIncomingCall', uuid);
    if (this.shown.has(uuid.toLowerCase())) this.answer(uuid, true);
  }

  endCall(uuid: string): void {
    this.record('endCall', uuid);
    if (this.shown.has(uuid.toLowerCase())) this.end(uuid, true);
  }

  getInitialEvents(): Promise<CallKeepInitialEvent[]> {
    this.record('getInitialEvents');
    return Promise.resolve([...this.initialEvents]);
  }

  clearInitialEvents(): void {
    this.record('clearInitialEvents');
    this.initialEvents = [];
  }

  getAudioRoutes(): Promise<{ name: string; type: string; selected?: boolean }[]> {
    this.record('getAudioRoutes');
    const selected = SELECTED_TYPES[this.output];
    const ports = [{ name: 'Speaker', type: 'Speaker' }, ...(['earpiece', ...this.headsets] as const).map((port) => INPUT_PORTS[port])];
    return Promise.resolve(ports.map((port) => ({ ...port, ...(port.type === selected ? { selected: true } : {}) })));
  }

  setAudioRoute(uuid: string, inputName: string): Promise<string> {
    this.record('setAudioRoute', uuid, inputName);
    if (this.options.refuseAudioRoute) return Promise.reject(new Error('Failure to set audio route'));
    const port = inputName === 'Speaker' ? 'speaker' : (['earpiece', ...this.headsets] as const).find((p) => INPUT_PORTS[p].name === inputName);
    if (port === undefined) return new Promise(() => {}); // callkeep neither resolves nor rejects
    this.routeTo(port, port === 'speaker' ? 4 : 8, true);
    return Promise.resolve(inputName);
  }

  // ---------------------------------------------------------------------------------------------
  // The user and the OS (synchronous unless `later`, so a test controls the order).

  /** The user answers in the system UI. */
  answer(uuid: string, later = false): void {
    this.send(later, 'answerCall', { callUUID: uuid.toLowerCase() });
    this.activateAudio(later);
  }

  /** The user ends or declines in the system UI. */
  end(uuid: string, later = false): void {
    this.send(later, 'endCall', { callUUID: uuid.toLowerCase() });
    this.gone(uuid, later);
  }

  /** The user taps mute in the system UI. */
  mute(uuid: string, muted: boolean, later = false): void {
    this.send(later, 'didPerformSetMutedCallAction', { muted, callUUID: uuid.toLowerCase() });
  }

  /** The OS holds or resumes the call. */
  hold(uuid: string, hold: boolean): void {
    this.emit('didToggleHoldCallAction', { hold, callUUID: uuid.toLowerCase() });
  }

  /** Native code reported a call from a PushKit handler (`RNCallKeep.reportNewIncomingCall`). */
  pushKitIncoming(uuid: string, payload: object, info: { handle: string; localizedCallerName?: string; hasVideo?: boolean }): void {
    this.shown.add(uuid.toLowerCase());
    this.emit('didDisplayIncomingCall', {
      error: '',
      errorCode: '',
      callUUID: uuid,
      handle: info.handle,
      localizedCallerName: info.localizedCallerName ?? '',
      hasVideo: info.hasVideo ? '1' : '0',
      fromPushKit: '1',
      payload,
    });
  }

  /** The user plugs in a headset (or connects AirPods): audio moves to it. */
  plugAudioDevice(headset: FakeCallKeepHeadset): void {
    this.headsets.add(headset);
    this.routeTo(headset, 1);
  }

  /** The user unplugs a headset: audio moves to the headset left (or the earpiece) if it played there. */
  unplugAudioDevice(headset: FakeCallKeepHeadset): void {
    this.headsets.delete(headset);
    if (this.output === headset) this.routeTo([...this.headsets].pop() ?? 'earpiece', 2);
  }

  /** The OS resets the provider: CallKit drops every call. */
  resetProvider(): void {
    this.shown.clear();
    this.audioActive = false;
    this.emit('didResetProvider', undefined);
  }

  /** The OS activates the call audio session. */
  activateAudioSession(): void {
    this.audioActive = true;
    this.emit('didActivateAudioSession', undefined);
  }

  /** Fires any event as the native module would. */
  emit<E extends CallKeepEvent>(type: E, data: CallKeepEventPayloads[E]): void {
    for (const handler of [...(this.listeners.get(type) ?? [])]) (handler as (data: CallKeepEventPayloads[E]) => void)(data);
  }

  /** AVAudioSession's route change notification, sent only when the output changes. */
  private routeTo(output: Output, reason: number, later = false): void {
    if (output === this.output) return;
    this.output = output;
    this.send(later, 'didChangeAudioRoute', { output: OUTPUT_PORTS[output], reason });
  }

  private activateAudio(later = true): void {
    if (this.audioActive) return;
    this.audioActive = true;
    this.send(later, 'didActivateAudioSession', undefined);
  }

  /** CallKit no longer shows the call; the last one's end deactivates the audio session. */
  private gone(uuid: string, later = true): void {
    if (!this.shown.delete(uuid.toLowerCase())) return;
    if (this.shown.size > 0 || !this.audioActive) return;
    this.audioActive = false;
    this.send(later, 'didDeactivateAudioSession', undefined);
  }

  private send<E extends CallKeepEvent>(later: boolean, type: E, data: CallKeepEventPayloads[E]): void {
    if (later) this.later(type, data);
    else this.emit(type, data);
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  /** Native events reach JavaScript asynchronously. */
  private later<E extends CallKeepEvent>(type: E, data: CallKeepEventPayloads[E]): void {
    this.pending.push(Promise.resolve().then(() => this.emit(type, data)));
  }
}
