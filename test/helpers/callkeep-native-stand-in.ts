/*
 * A stand-in for react-native-callkeep 4.3.16's native module (`NativeModules.RNCallKeep`) and the
 * OS behind it, so that tests run callkeep's real JavaScript (index.js, actions.js) unchanged.
 * Written from node_modules/react-native-callkeep's native sources, one mode per platform; what it
 * does not model (DTMF, conferences, wake-ups of a killed app) the bridge never uses.
 *
 * iOS (ios/RNCallKeep/RNCallKeep.m, CallKit behind it):
 * - Events go out through `sendEventWithNameWrapper`: delivered while JavaScript listens, queued in
 *   `_delayedEvents` otherwise. `startObserving` (the first JavaScript listener) sends the queue as
 *   `RNCallKeepDidLoadWithEvents` and does NOT clear it; `getInitialEvents` returns it and only
 *   `clearInitialEvents` empties it.
 * - `displayIncomingCall` → `reportNewIncomingCall` → CXProvider completion → always
 *   `RNCallKeepDidDisplayIncomingCall` with `error`/`errorCode` ('' when shown), the `callUUID`
 *   string exactly as passed (not lowercased), `fromPushKit` '0' and `payload` ''. A PushKit
 *   report from AppDelegate is the same with `fromPushKit` '1' and the push dictionary.
 * - Transactions (`startCall`, `answerIncomingCall`, `endCall`, `setMutedCall`, `setOnHold`)
 *   perform the CXProvider action, whose delegate sends the matching event with the UUID
 *   lowercased and fulfils it at once. A failed transaction (unknown UUID, CallKit refusing a
 *   start) is only logged (`requestTransaction`): no event at all.
 * - Start and answer actions activate the audio session (`didActivateAudioSession`); it is
 *   deactivated when the last call ends. `reportEndCallWithUUID` maps 1 failed, 2 and 6 remote
 *   ended, 3 unanswered, 4 answered elsewhere, 5 declined elsewhere, and sends no event.
 * - `updateDisplay` takes `options.hasVideo`; `providerDidReset` sends `RNCallKeepProviderReset`.
 *
 * Android (android/.../RNCallKeepModule.java, VoiceConnection.java, VoiceConnectionService.java):
 * - `sendEventToJS` emits only once `registerEvents` ran (`setup` runs it) and queues before;
 *   `startObserving` (run by `setup`) emits the queue ONCE as `RNCallKeepDidLoadWithEvents` and
 *   clears it, so `getInitialEvents` afterwards returns nothing.
 * - Without ConnectionService, a phone account or permissions (`hasPhoneAccount()` needs all, or
 *   self-managed mode), `displayIncomingCall`, `answerIncomingCall`, `endCall`,
 *   `reportEndCallWithUUID` return silently; `startCall` does too without permissions. There is
 *   never a `didDisplayIncomingCall` for `displayIncomingCall`: Telecom creates a RINGING
 *   connection (self-managed: then `RNCallKeepShowIncomingCallUi`) or fails
 *   (`RNCallKeepOnIncomingConnectionFailed`).
 * - The native `reportNewIncomingCall` (an FCM service) sends `RNCallKeepDidDisplayIncomingCall`
 *   with `handle`, `callUUID`, `name`, `hasVideo` 'true'/'false' and the payload as a JSON string:
 *   no `fromPushKit`, no `error`.
 * - Answering (`onAnswer`, once) sends `RNCallKeepPerformAnswerCallAction` (with `withVideo`)
 *   and `RNCallKeepDidActivateAudioSession`; the connection stays RINGING (DIALING when outgoing)
 *   until `setCurrentCallActive`. There is no deactivate event.
 * - `startCall` → `onCreateOutgoingConnection`: not initialized and not reachable sends
 *   `RNCallKeepCheckReachability`; unavailable (`setAvailable(false)`) and reachable makes a failed
 *   connection without telling JavaScript; otherwise a DIALING connection,
 *   `RNCallKeepDidReceiveStartCallAction` (`handle`, `callUUID`, `name`) and an audio session event.
 * - `setMutedCall` sends the mute event only when the state changes; `endCall` and the user's
 *   hang-up disconnect LOCAL, a decline REJECTED, both with `RNCallKeepPerformEndCallAction`;
 *   `reportEndCallWithUUID` maps 1 ERROR, 2 and 5 REMOTE, 3 BUSY, 4 ANSWERED_ELSEWHERE, 6 MISSED
 *   and sends no event. `updateDisplay` has no video flag. Silencing the ringer sends
 *   `RNCallKeepOnSilenceIncomingCall`.
 *
 * Audio routes: the phone has an earpiece, a speaker and a built-in microphone, plus the wired
 * headset and Bluetooth headset a test plugs in (`plugAudioDevice`, which routes audio to it, as
 * both platforms do with a new headset; `unplugAudioDevice` routes to the headset left, or the
 * earpiece).
 * - iOS: `onAudioRouteChange` (an `AVAudioSessionRouteChangeNotification` observer added in `init`)
 *   sends `RNCallKeepDidChangeAudioRoute` `{ output, reason }` through `sendEventWithName`, not
 *   the wrapper: never queued, lost while JavaScript does not listen; `output` is the first
 *   output's port type ('Receiver', 'Speaker', 'Headphones', 'BluetoothHFP'); reason 1 new device,
 *   2 old device gone, 4 override, 8 route configuration change (a preferred input; the speaker
 *   override is modelled as ending with that route change, per AVAudioSession's documentation,
 *   unverified on a device). AVAudioSession posts it only when the route changes.
 *   `getAudioRoutes` (`formatAudioInputs`) lists `{ name: 'Speaker', type: 'Speaker' }` first, then
 *   each input port with its `getAudioInputType` ('iPhone Microphone' Phone, 'Headset Microphone'
 *   Headset, 'AirPods' Bluetooth), `selected` where the type matches `getSelectedAudioRoute`
 *   (Receiver counts as Phone). `setAudioRoute(uuid, name)` ignores `uuid`: 'Speaker' overrides
 *   the output port; another name sets that input port as preferred; a name no port has is
 *   neither resolved nor rejected; a refused change rejects ('Failure to set audio route').
 * - Android: `VoiceConnection.onCallAudioStateChanged` (Telecom, on a route change, and
 *   `setMutedCall`) sends `RNCallKeepDidChangeAudioRoute` `{ handle, callUUID, output }`, `output`
 *   from `CallAudioState.audioRouteToString` ('EARPIECE', 'SPEAKER', 'WIRED_HEADSET', 'BLUETOOTH').
 *   `getAudioRoutes` lists the AudioManager's devices by `getAudioRouteType`, each type once
 *   (Speaker, Phone for the built-in microphone, Headset, Bluetooth; the earpiece is not listed),
 *   `name` = `type`, `selected` per `getSelectedAudioRoute`. `setAudioRoute(uuid, name)`: no
 *   connection for `uuid` returns without settling; 'Bluetooth', 'Headset', 'Speaker' ask Telecom
 *   for that route, anything else for wired-or-earpiece; resolves true; Telecom ignores a route
 *   without its device. A refused change rejects ('SetAudioRoute').
 *
 * Native events reach JavaScript asynchronously (a microtask here); `flushed()` waits for them.
 */

/** Which native module to play, and how the device is set up. */
export interface NativeStandInOptions {
  platform: 'ios' | 'android';
  /** iOS: CallKit refuses to show a call with this `CXErrorCodeIncomingCallError` name. */
  refuseIncoming?: (uuid: string) => string | undefined;
  /** iOS: CallKit refuses start transactions (native code only logs it). */
  refuseStart?: boolean;
  /** Android: ConnectionService exists (API 23+). Default true. */
  connectionService?: boolean;
  /** Android: the app holds its phone permissions. Default true. */
  permissions?: boolean;
  /** Android: the permission prompt grants them. Default true. */
  grantPermissions?: boolean;
  /** Android: the phone account is registered already (Telecom keeps it from an earlier run). Default true. */
  accountRegistered?: boolean;
  /** Android: the user enabled the (managed) phone account. Default true. */
  accountEnabled?: boolean;
  /** Android: the user's answer to callkeep's "open phone accounts" alert. Default 'ok'. */
  alertChoice?: 'ok' | 'cancel';
  /** Android: Telecom fails to create incoming connections for these UUIDs. */
  failIncoming?: (uuid: string) => boolean;
  /** Headsets plugged in from the start (audio takes the last one). */
  audioDevices?: AudioDevice[];
  /** Route changes fail natively (iOS `overrideOutputAudioPort`/`setPreferredInput`, Android's exception path). */
  refuseAudioRoute?: boolean;
  /**
   * The audio session's activation arrives only when the test calls `activateAudioSession()`:
   * CallKit activates it asynchronously after the start or answer action (iOS), and
   * `ACTION_AUDIO_SESSION` is a broadcast of its own after the answer or start (Android).
   */
  deferAudioSession?: boolean;
}

/** A headset the phone can have besides its earpiece and speaker. */
export type AudioDevice = 'wired' | 'bluetooth';

/** Where call audio plays. */
export type AudioOutput = 'earpiece' | 'speaker' | AudioDevice;

/** iOS: the first output port's type (`AVAudioSessionPort…`) for each output. */
const IOS_OUTPUT_PORTS: Record<AudioOutput, string> = { earpiece: 'Receiver', speaker: 'Speaker', wired: 'Headphones', bluetooth: 'BluetoothHFP' };
/** iOS: the input ports a headset adds (`availableInputs`), name and `getAudioInputType`. */
const IOS_INPUT_PORTS: Record<'earpiece' | AudioDevice, { name: string; type: string }> = {
  earpiece: { name: 'iPhone Microphone', type: 'Phone' },
  wired: { name: 'Headset Microphone', type: 'Headset' },
  bluetooth: { name: 'AirPods', type: 'Bluetooth' },
};
/** iOS `getSelectedAudioRoute`. */
const IOS_SELECTED: Record<AudioOutput, string> = { earpiece: 'Phone', speaker: 'Speaker', wired: 'Headset', bluetooth: 'Bluetooth' };
/** Android `CallAudioState.audioRouteToString`. */
const ANDROID_ROUTES: Record<AudioOutput, string> = { earpiece: 'EARPIECE', speaker: 'SPEAKER', wired: 'WIRED_HEADSET', bluetooth: 'BLUETOOTH' };
/** Android `getAudioRouteType` (and `getSelectedAudioRoute`). */
const ANDROID_TYPES: Record<AudioOutput, string> = { earpiece: 'Phone', speaker: 'Speaker', wired: 'Headset', bluetooth: 'Bluetooth' };

/** One call as the OS shows it. */
export interface OsCall {
  uuid: string;
  handle: string;
  name: string;
  hasVideo: boolean;
  outgoing: boolean;
  /** iOS: ringing, dialing, connecting, connected; Android: ringing, dialing, active, holding. Then ended. */
  state: 'ringing' | 'dialing' | 'connecting' | 'connected' | 'active' | 'holding' | 'ended';
  muted: boolean;
  onHold: boolean;
  /** How it ended: `CXCallEndedReason` (iOS) or `DisconnectCause` (Android), e.g. 'unanswered', 'MISSED'. */
  endedAs?: string;
  /** Android: `onAnswer` ran (it runs once). */
  answered?: boolean;
}

type Listener = (data: unknown) => void;

const IOS_END_REASONS: Record<number, string> = { 1: 'failed', 2: 'remoteEnded', 3: 'unanswered', 4: 'answeredElsewhere', 5: 'declinedElsewhere', 6: 'remoteEnded' };
const ANDROID_DISCONNECT_CAUSES: Record<number, string> = { 1: 'ERROR', 2: 'REMOTE', 3: 'BUSY', 4: 'ANSWERED_ELSEWHERE', 5: 'REMOTE', 6: 'MISSED' };

/** The native RNCallKeep module of one platform, the OS behind it, and the user in front of it. */
export class CallKeepNativeStandIn {
  /** What `NativeModules.RNCallKeep` is: only the methods this platform's native module exports. */
  readonly module: Record<string, (...args: never[]) => unknown>;
  /** Every native method callkeep's JavaScript called, in order. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Every event delivered to JavaScript (including `RNCallKeepDidLoadWithEvents`), in order. */
  readonly delivered: { name: string; data: unknown }[] = [];
  /** Native log lines of what was silently ignored (what a developer would see in logcat/Xcode). */
  readonly log: string[] = [];
  readonly platform: 'ios' | 'android';
  private readonly osCalls = new Map<string, OsCall>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private delayed: { name: string; data: unknown }[] = [];
  private pending: Promise<void>[] = [];
  private jsListenerCount = 0;
  /** iOS `_hasListeners`; Android `hasListeners` (set by registerEvents). */
  private hasListeners = false;
  private audioActive = false;
  /** An activation held back by `deferAudioSession`. */
  private activationDue = false;
  private readonly devices = new Set<AudioDevice>();
  private output: AudioOutput = 'earpiece';
  private settings: Record<string, unknown> = {};
  private readonly android = { available: false, initialized: false, reachable: false, accountRegistered: false, permissions: true };

  constructor(readonly options: NativeStandInOptions) {
    this.platform = options.platform;
    this.android.permissions = options.permissions ?? true;
    this.android.accountRegistered = options.accountRegistered ?? true;
    for (const device of options.audioDevices ?? []) {
      this.devices.add(device);
      this.output = device;
    }
    this.module = this.platform === 'ios' ? this.iosModule() : this.androidModule();
  }

  /** The OS's record of a call (ended ones included), by UUID in any case. */
  call(uuid: string): OsCall | undefined {
    return this.osCalls.get(uuid.toLowerCase());
  }

  /** Calls the OS shows now. */
  liveCalls(): OsCall[] {
    return [...this.osCalls.values()].filter((c) => c.state !== 'ended');
  }

  /** The arguments of every call to a native method. */
  callsTo(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** Events delivered to JavaScript under one native name. */
  deliveredAs(name: string): unknown[] {
    return this.delivered.filter((e) => e.name === name).map((e) => e.data);
  }

  /** What the native queue holds (events sent while JavaScript did not listen). */
  get queued(): readonly { name: string; data: unknown }[] {
    return this.delayed;
  }

  /** Resolves once every event already sent has reached JavaScript. */
  async flushed(): Promise<void> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
  }

  // ---------------------------------------------------------------------------------------------
  // The JavaScript side of RN's NativeEventEmitter (react-native's stand-in delegates here).

  /** @internal `new NativeEventEmitter(module).addListener(type, fn)`. */
  addJsListener(type: string, listener: Listener): { remove(): void } {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    this.module.addListener?.(type as never);
    let removed = false;
    return {
      remove: () => {
        if (removed) return;
        removed = true;
        set.delete(listener);
        this.module.removeListeners?.(1 as never);
      },
    };
  }

  /** @internal `NativeEventEmitter.emit` (callkeep's exported `emit`). */
  emitJs(type: string, data: unknown): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(data);
  }

  /** How many JavaScript listeners there are (for one event, or in all). */
  jsListeners(type?: string): number {
    if (type) return this.listeners.get(type)?.size ?? 0;
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // The user and the OS.

  /** The user answers in the system UI (iOS: a CXAnswerCallAction; Android: Telecom's onAnswer). */
  userAnswers(uuid: string): void {
    if (this.platform === 'ios') this.performIos('answer', uuid);
    else this.onAnswer(uuid);
  }

  /** The user declines a ringing call in the system UI (Android: onReject, REJECTED). */
  userDeclines(uuid: string): void {
    if (this.platform === 'ios') this.performIos('end', uuid);
    else this.disconnectAndroid(uuid, 'REJECTED');
  }

  /** The user hangs up in the system UI (Android: onDisconnect, LOCAL). */
  userEnds(uuid: string): void {
    if (this.platform === 'ios') this.performIos('end', uuid);
    else this.disconnectAndroid(uuid, 'LOCAL');
  }

  /** The user taps mute in the system UI. */
  userMutes(uuid: string, muted: boolean): void {
    if (this.platform === 'ios') this.performIos('mute', uuid, muted);
    else this.audioStateChanged(uuid, muted);
  }

  /** The OS holds or resumes the call (another call, the user). */
  osHolds(uuid: string, hold: boolean): void {
    if (this.platform === 'ios') this.performIos('hold', uuid, hold);
    else this.holdAndroid(uuid, hold);
  }

  /** Android: the user silences the ringer (`onSilence`, API 29). */
  userSilences(uuid: string): void {
    const call = this.live(uuid);
    if (call) this.sendEvent('RNCallKeepOnSilenceIncomingCall', { handle: call.handle, callUUID: call.uuid, name: call.name });
  }

  /** Delivers the audio session activation `deferAudioSession` held back (if any). */
  activateAudioSession(): void {
    if (!this.activationDue) return;
    this.activationDue = false;
    this.sendEvent('RNCallKeepDidActivateAudioSession', this.platform === 'ios' ? null : {});
  }

  /** Where call audio plays now. */
  get audioOutput(): AudioOutput {
    return this.output;
  }

  /** The user plugs in a headset (or connects one over Bluetooth): audio moves to it. */
  plugAudioDevice(device: AudioDevice): void {
    this.devices.add(device);
    this.routeTo(device, 1);
  }

  /** The user unplugs (or disconnects) a headset: audio moves to the headset left (or the earpiece) if it played there. */
  unplugAudioDevice(device: AudioDevice): void {
    this.devices.delete(device);
    if (this.output === device) this.routeTo([...this.devices].pop() ?? 'earpiece', 2);
  }

  /** iOS: `providerDidReset`: CallKit drops every call. */
  resetProvider(): void {
    for (const call of this.liveCalls()) call.state = 'ended';
    this.audioActive = false;
    this.sendEvent('RNCallKeepProviderReset', null);
  }

  /**
   * A call native code reports before JavaScript is involved: iOS AppDelegate's PushKit handler
   * (`[RNCallKeep reportNewIncomingCall:… fromPushKit:YES payload:…]`), Android an FCM service
   * calling `RNCallKeepModule.reportNewIncomingCall(uuid, number, name, hasVideo, payload)`.
   */
  nativeReportsIncoming(uuid: string, handle: string, name: string, hasVideo: boolean, payload: object): void {
    if (this.platform === 'ios') {
      this.reportNewIncomingIos(uuid, handle, name, hasVideo, true, payload);
      return;
    }
    this.displayAndroid(uuid, handle, name, hasVideo);
    this.sendEvent('RNCallKeepDidDisplayIncomingCall', {
      handle,
      callUUID: uuid,
      name,
      hasVideo: String(hasVideo),
      payload: JSON.stringify(payload),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Event delivery (sendEventWithNameWrapper / sendEventToJS).

  private sendEvent(name: string, data: unknown): void {
    if (!this.hasListeners) {
      this.delayed.push({ name, data });
      return;
    }
    this.deliver(name, data);
  }

  private deliver(name: string, data: unknown): void {
    this.pending.push(
      Promise.resolve().then(() => {
        this.delivered.push({ name, data });
        this.emitJs(name, data);
      }),
    );
  }

  private record(method: string, args: unknown[]): void {
    this.calls.push({ method, args });
  }

  private live(uuid: string): OsCall | undefined {
    const call = this.call(uuid);
    return call && call.state !== 'ended' ? call : undefined;
  }

  private add(call: Omit<OsCall, 'muted' | 'onHold'>): OsCall {
    const made = { ...call, muted: false, onHold: false };
    this.osCalls.set(call.uuid.toLowerCase(), made);
    return made;
  }

  private ended(call: OsCall, as: string | undefined): void {
    call.state = 'ended';
    if (as !== undefined) call.endedAs = as;
    if (this.platform === 'ios' && this.audioActive && this.liveCalls().length === 0) {
      this.audioActive = false;
      this.sendEvent('RNCallKeepDidDeactivateAudioSession', null);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // iOS

  private iosModule(): Record<string, (...args: never[]) => unknown> {
    const m: Record<string, (...args: never[]) => unknown> = {
      // RCTEventEmitter: startObserving on the first listener, stopObserving after the last.
      addListener: () => {
        if (++this.jsListenerCount === 1) {
          this.hasListeners = true;
          if (this.delayed.length > 0) this.deliver('RNCallKeepDidLoadWithEvents', [...this.delayed]);
        }
      },
      removeListeners: (count: number) => {
        this.jsListenerCount = Math.max(0, this.jsListenerCount - count);
        if (this.jsListenerCount === 0) this.hasListeners = false;
      },
      setup: (options: Record<string, unknown>) => void (this.settings = { ...options }),
      setSettings: (options: Record<string, unknown>) => void (this.settings = { ...options }),
      setReachable: () => undefined,
      checkIfBusy: () => Promise.resolve(this.liveCalls().length > 0),
      checkSpeaker: () => Promise.resolve(false),
      displayIncomingCall: (uuid: string, handle: string, _handleType: string, hasVideo: boolean, name: string) =>
        this.reportNewIncomingIos(uuid, handle, name, hasVideo, false, undefined),
      getInitialEvents: () => Promise.resolve([...this.delayed]),
      clearInitialEvents: () => void (this.delayed = []),
      startCall: (uuid: string, handle: string, contactIdentifier: string | undefined, _handleType: string, video: boolean) => {
        if (this.options.refuseStart || this.call(uuid)) {
          this.log.push(`[RNCallKeep][requestTransaction] Error requesting transaction (CXStartCallAction ${uuid})`);
          return;
        }
        this.add({ uuid: uuid.toLowerCase(), handle, name: contactIdentifier ?? '', hasVideo: video, outgoing: true, state: 'dialing' });
        this.sendEvent('RNCallKeepDidReceiveStartCallAction', { callUUID: uuid.toLowerCase(), handle });
        this.activateAudioIos();
      },
      answerIncomingCall: (uuid: string) => this.performIos('answer', uuid),
      endCall: (uuid: string) => this.performIos('end', uuid),
      endAllCalls: () => this.liveCalls().forEach((c) => this.performIos('end', c.uuid)),
      setOnHold: (uuid: string, hold: boolean) => this.performIos('hold', uuid, hold),
      _startCallActionEventListenerAdded: () => undefined,
      reportConnectingOutgoingCallWithUUID: (uuid: string) => {
        const call = this.live(uuid);
        if (call) call.state = 'connecting';
      },
      reportConnectedOutgoingCallWithUUID: (uuid: string) => {
        const call = this.live(uuid);
        if (call) call.state = 'connected';
      },
      reportEndCallWithUUID: (uuid: string, reason: number) => {
        const call = this.live(uuid);
        const as = IOS_END_REASONS[reason];
        if (call && as !== undefined) this.ended(call, as); // `default: break;` for other numbers
      },
      updateDisplay: (uuid: string, displayName: string, uri: string, options: { hasVideo?: boolean }) => {
        const call = this.live(uuid);
        if (!call) return;
        call.name = displayName;
        call.handle = uri;
        if (options?.hasVideo !== undefined) call.hasVideo = Boolean(options.hasVideo);
      },
      setMutedCall: (uuid: string, muted: boolean) => this.performIos('mute', uuid, muted),
      isCallActive: (uuid: string) => Promise.resolve(this.live(uuid)?.state === 'connected'),
      getCalls: () => Promise.resolve(this.liveCalls().map((c) => ({ callUUID: c.uuid.toUpperCase(), outgoing: c.outgoing }))),
      getAudioRoutes: () => {
        const selected = IOS_SELECTED[this.output];
        const speaker = { name: 'Speaker', type: 'Speaker', ...(selected === 'Speaker' ? { selected: true } : {}) };
        const inputs = (['earpiece', ...this.devices] as const).map((port) => IOS_INPUT_PORTS[port]);
        return Promise.resolve([speaker, ...inputs.map((input) => ({ ...input, ...(input.type === selected ? { selected: true } : {}) }))]);
      },
      setAudioRoute: (_uuid: string, inputName: string) => {
        if (this.options.refuseAudioRoute) return Promise.reject(Object.assign(new Error('overrideOutputAudioPort failed'), { code: 'Failure to set audio route' }));
        if (inputName === 'Speaker') {
          this.routeTo('speaker', 4);
          return Promise.resolve('Speaker');
        }
        const port = (['earpiece', ...this.devices] as const).find((p) => IOS_INPUT_PORTS[p].name === inputName);
        if (port === undefined) {
          this.log.push(`[RNCallKeep][setAudioRoute] no input named ${inputName}: the promise is never settled`);
          return new Promise(() => {});
        }
        this.routeTo(port, 8);
        return Promise.resolve(inputName);
      },
    };
    return this.recorded(m);
  }

  private reportNewIncomingIos(uuid: string, handle: string, name: string, hasVideo: boolean, fromPushKit: boolean, payload: object | undefined): void {
    const errorCode = this.call(uuid) ? 'CallUUIDAlreadyExists' : this.options.refuseIncoming?.(uuid);
    if (!errorCode) this.add({ uuid, handle, name: name ?? '', hasVideo, outgoing: false, state: 'ringing' });
    this.sendEvent('RNCallKeepDidDisplayIncomingCall', {
      error: errorCode ? `The operation couldn’t be completed. (com.apple.CallKit.error.incomingcall error)` : '',
      errorCode: errorCode ?? '',
      callUUID: uuid,
      handle,
      localizedCallerName: name ?? '',
      hasVideo: hasVideo ? '1' : '0',
      supportsHolding: '1',
      supportsDTMF: '1',
      supportsGrouping: '1',
      supportsUngrouping: '1',
      fromPushKit: fromPushKit ? '1' : '0',
      payload: payload ?? '',
    });
  }

  /** A CXProvider action from a transaction or the system UI; unknown calls fail the transaction (logged). */
  private performIos(kind: 'answer' | 'end' | 'mute' | 'hold', uuid: string, flag?: boolean): void {
    const call = this.live(uuid);
    if (!call) {
      this.log.push(`[RNCallKeep][requestTransaction] Error requesting transaction (${kind} ${uuid}): unknown call UUID`);
      return;
    }
    const callUUID = uuid.toLowerCase();
    switch (kind) {
      case 'answer':
        call.state = 'connected';
        this.sendEvent('RNCallKeepPerformAnswerCallAction', { callUUID });
        this.activateAudioIos();
        return;
      case 'end':
        this.sendEvent('RNCallKeepPerformEndCallAction', { callUUID });
        this.ended(call, 'local');
        return;
      case 'mute':
        call.muted = flag!;
        this.sendEvent('RNCallKeepDidPerformSetMutedCallAction', { muted: flag, callUUID });
        return;
      case 'hold':
        call.onHold = flag!;
        this.sendEvent('RNCallKeepDidToggleHoldAction', { hold: flag, callUUID });
    }
  }

  private activateAudioIos(): void {
    if (this.audioActive) return;
    this.audioActive = true;
    this.activation();
  }

  // ---------------------------------------------------------------------------------------------
  // Android

  private androidModule(): Record<string, (...args: never[]) => unknown> {
    const a = this.android;
    const cs = this.options.connectionService ?? true;
    const m: Record<string, (...args: never[]) => unknown> = {
      addListener: () => undefined,
      removeListeners: () => undefined,
      setSettings: (options: Record<string, unknown>) => void (this.settings = { ...options }),
      setup: (options: Record<string, unknown>) => {
        a.available = false;
        a.initialized = true;
        this.settings = { ...options };
        if (!cs) return;
        a.accountRegistered = true;
        this.registerEvents();
        this.startObservingAndroid();
        a.available = true;
      },
      registerPhoneAccount: () => void (a.accountRegistered = cs),
      registerEvents: () => cs && this.registerEvents(),
      unregisterEvents: () => void (this.hasListeners = false),
      displayIncomingCall: (uuid: string, number: string, name: string, hasVideo: boolean) => this.displayAndroid(uuid, number, name, hasVideo),
      answerIncomingCall: (uuid: string) => this.withAccount('answerIncomingCall', () => this.onAnswer(uuid)),
      startCall: (uuid: string, number: string, name: string, hasVideo: boolean) => this.startAndroid(uuid, number, name, hasVideo),
      endCall: (uuid: string) => this.withAccount('endCall', () => this.disconnectAndroid(uuid, 'LOCAL')),
      rejectCall: (uuid: string) => this.withAccount('rejectCall', () => this.disconnectAndroid(uuid, 'REJECTED')),
      endAllCalls: () => this.withAccount('endAllCalls', () => this.liveCalls().forEach((c) => this.disconnectAndroid(c.uuid, 'LOCAL'))),
      checkPhoneAccountPermission: () => {
        if (!cs) return Promise.reject(new Error('ConnectionService not available for this version of Android.'));
        if (!a.permissions) {
          a.permissions = this.options.grantPermissions ?? true;
          return Promise.resolve(a.permissions);
        }
        return Promise.resolve(!this.hasPhoneAccount());
      },
      checkDefaultPhoneAccount: () => Promise.resolve(true),
      getInitialEvents: () => Promise.resolve([...this.delayed]),
      clearInitialEvents: () => void (this.delayed = []),
      setOnHold: (uuid: string, hold: boolean) => this.holdAndroid(uuid, hold),
      reportEndCallWithUUID: (uuid: string, reason: number) =>
        this.withAccount('reportEndCallWithUUID', () => {
          const call = this.connection(uuid);
          if (call) this.ended(call, ANDROID_DISCONNECT_CAUSES[reason]);
        }),
      setConnectionState: () => undefined,
      setMutedCall: (uuid: string, muted: boolean) => this.audioStateChanged(uuid, muted),
      updateDisplay: (uuid: string, displayName: string, uri: string) => {
        const call = this.connection(uuid);
        if (!call) return;
        call.name = displayName;
        call.handle = uri;
      },
      hasPhoneAccount: () => Promise.resolve(this.hasPhoneAccount()),
      hasOutgoingCall: () => Promise.resolve(this.liveCalls().some((c) => c.outgoing)),
      hasPermissions: () => Promise.resolve(a.permissions),
      setAvailable: (active: boolean) => void (a.available = active),
      setForegroundServiceSettings: () => undefined,
      canMakeMultipleCalls: () => undefined,
      setReachable: () => void (a.reachable = true),
      setCurrentCallActive: (uuid: string) => {
        const call = this.connection(uuid);
        if (call) call.state = 'active';
      },
      openPhoneAccounts: () => undefined,
      openPhoneAccountSettings: () => undefined,
      isConnectionServiceAvailable: () => Promise.resolve(cs),
      checkPhoneAccountEnabled: () => Promise.resolve(this.hasPhoneAccount()),
      backToForeground: () => undefined,
      checkIsInManagedCall: () => Promise.resolve(false),
      getAudioRoutes: () => {
        const selected = ANDROID_TYPES[this.output];
        const types = [...new Set(['speaker', 'earpiece', ...this.devices] as const)].map((d) => ANDROID_TYPES[d]);
        return Promise.resolve(types.map((type) => ({ name: type, type, ...(type === selected ? { selected: true } : {}) })));
      },
      setAudioRoute: (uuid: string, audioRoute: string) => {
        if (!this.connection(uuid)) return new Promise(() => {}); // `return;` before settling the promise
        if (this.options.refuseAudioRoute) return Promise.reject(Object.assign(new Error('route change failed'), { code: 'SetAudioRoute' }));
        const wanted: AudioOutput =
          audioRoute === 'Bluetooth' ? 'bluetooth' : audioRoute === 'Headset' ? 'wired' : audioRoute === 'Speaker' ? 'speaker' : this.devices.has('wired') ? 'wired' : 'earpiece';
        if (wanted === 'speaker' || wanted === 'earpiece' || this.devices.has(wanted)) this.routeTo(wanted, 0);
        else this.log.push(`[Telecom] setAudioRoute ${audioRoute}: no such device, ignored`);
        return Promise.resolve(true);
      },
    };
    return this.recorded(m);
  }

  private get selfManaged(): boolean {
    return this.settings.selfManaged === true;
  }

  private hasPhoneAccount(): boolean {
    if (this.selfManaged) return true;
    const a = this.android;
    return (this.options.connectionService ?? true) && a.permissions && a.accountRegistered && (this.options.accountEnabled ?? true);
  }

  /** The `!isConnectionServiceAvailable() || !hasPhoneAccount()` guard most methods start with. */
  private withAccount(method: string, run: () => void): void {
    if (!this.hasPhoneAccount()) {
      this.log.push(`[RNCallKeepModule] ${method} ignored due to no ConnectionService or no phone account`);
      return;
    }
    run();
  }

  /** `VoiceConnectionService.getConnection(uuid)`: keyed by the UUID string as given. */
  private connection(uuid: string): OsCall | undefined {
    const call = this.live(uuid);
    if (call?.uuid !== uuid) {
      this.log.push(`[RNCallKeepModule] ignored because no connection found, uuid: ${uuid}`);
      return undefined;
    }
    return call;
  }

  private registerEvents(): void {
    this.hasListeners = true;
    this.startObservingAndroid();
  }

  private startObservingAndroid(): void {
    if (this.delayed.length === 0) return;
    this.deliver('RNCallKeepDidLoadWithEvents', this.delayed);
    this.delayed = [];
  }

  private displayAndroid(uuid: string, number: string, name: string, hasVideo: boolean): void {
    this.withAccount('displayIncomingCall', () => {
      if (this.options.failIncoming?.(uuid)) {
        this.sendEvent('RNCallKeepOnIncomingConnectionFailed', { handle: number, callUUID: uuid, name });
        return;
      }
      this.add({ uuid, handle: number, name, hasVideo, outgoing: false, state: 'ringing' });
      if (this.selfManaged) {
        this.sendEvent('RNCallKeepShowIncomingCallUi', { handle: number, callUUID: uuid, name, hasVideo: String(hasVideo) });
      }
    });
  }

  private startAndroid(uuid: string, number: string, name: string, hasVideo: boolean): void {
    const a = this.android;
    if (!(this.options.connectionService ?? true) || !this.hasPhoneAccount() || !a.permissions || number == null) {
      this.log.push(`[RNCallKeepModule] startCall ignored`);
      return;
    }
    if (!a.initialized && !a.reachable) this.sendEvent('RNCallKeepCheckReachability', null);
    if (!a.available && a.reachable) {
      this.log.push('[VoiceConnectionService] onCreateOutgoingConnection: not available');
      return; // Connection.createFailedConnection(LOCAL): JavaScript hears nothing
    }
    this.add({ uuid, handle: number, name, hasVideo, outgoing: true, state: 'dialing' });
    this.sendEvent('RNCallKeepDidReceiveStartCallAction', { handle: number, callUUID: uuid, name });
    this.activation();
  }

  private onAnswer(uuid: string): void {
    const call = this.connection(uuid);
    if (!call || call.answered) return;
    call.answered = true;
    this.sendEvent('RNCallKeepPerformAnswerCallAction', { callUUID: call.uuid, withVideo: call.hasVideo });
    this.activation();
  }

  private disconnectAndroid(uuid: string, cause: 'LOCAL' | 'REJECTED'): void {
    const call = this.connection(uuid);
    if (!call) return;
    this.ended(call, cause);
    this.sendEvent('RNCallKeepPerformEndCallAction', { callUUID: call.uuid });
  }

  private audioStateChanged(uuid: string, muted: boolean): void {
    const call = this.connection(uuid);
    if (!call) return;
    this.sendEvent('RNCallKeepDidChangeAudioRoute', { handle: call.handle, callUUID: call.uuid, output: ANDROID_ROUTES[this.output] });
    if (call.muted === muted) return;
    call.muted = muted;
    this.sendEvent('RNCallKeepDidPerformSetMutedCallAction', { muted, callUUID: call.uuid });
  }

  private holdAndroid(uuid: string, hold: boolean): void {
    const call = this.connection(uuid);
    if (!call) return;
    call.onHold = hold;
    call.state = hold ? 'holding' : 'active';
    this.sendEvent('RNCallKeepDidToggleHoldAction', { hold, callUUID: call.uuid });
  }

  /** The OS activates the audio session, now or (`deferAudioSession`) when the test says. */
  private activation(): void {
    if (this.options.deferAudioSession) this.activationDue = true;
    else this.sendEvent('RNCallKeepDidActivateAudioSession', this.platform === 'ios' ? null : {});
  }

  /**
   * Audio moves to `output`. iOS: the route change notification (`reason`), sent straight to
   * JavaScript or lost; Android: Telecom tells every connection (`onCallAudioStateChanged`).
   */
  private routeTo(output: AudioOutput, reason: number): void {
    if (output === this.output) return;
    this.output = output;
    if (this.platform === 'ios') {
      if (this.hasListeners) this.deliver('RNCallKeepDidChangeAudioRoute', { output: IOS_OUTPUT_PORTS[output], reason });
      else this.log.push('[RNCallKeep] RNCallKeepDidChangeAudioRoute sent without listeners: lost');
      return;
    }
    for (const call of this.liveCalls()) {
      this.sendEvent('RNCallKeepDidChangeAudioRoute', { handle: call.handle, callUUID: call.uuid, output: ANDROID_ROUTES[output] });
    }
  }

  /** Wraps every native method so that `calls` records it. */
  private recorded(methods: Record<string, (...args: never[]) => unknown>): Record<string, (...args: never[]) => unknown> {
    const out: Record<string, (...args: never[]) => unknown> = {};
    for (const [name, fn] of Object.entries(methods)) {
      out[name] = (...args: never[]) => {
        if (name !== 'addListener' && name !== 'removeListeners') this.record(name, args);
        return fn(...args);
      };
    }
    return out;
  }
}
