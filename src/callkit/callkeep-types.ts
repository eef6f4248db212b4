/*
 * The part of react-native-callkeep (4.3) that the bridge uses, typed here so that sealcall never
 * imports it (it is an optional peer). Pass the `RNCallKeep` default export; any object with
 * these methods works, which is how the tests use `FakeCallKeep`.
 */

/** How CallKit shows the handle. sealcall's handles are peer ids: `'generic'`. */
export type CallKeepHandleType = 'generic' | 'number' | 'email';

/**
 * The payload of each react-native-callkeep event the bridge listens to, on either platform.
 * Fields only one platform sends are optional; UUIDs come back lowercased on iOS (except in
 * `didDisplayIncomingCall`, which repeats the UUID as it was reported) and as given on Android.
 */
export interface CallKeepEventPayloads {
  /**
   * A start action: from `startCall()` (with `callUUID`), from Recents or Siri on iOS (`handle` and
   * `video` only), or from the Android dialer (with `callUUID` and `name`).
   */
  didReceiveStartCallAction: { handle: string; callUUID?: string; name?: string; video?: boolean };
  /** An answer; Android adds `withVideo`. */
  answerCall: { callUUID: string; withVideo?: boolean };
  endCall: { callUUID: string };
  didPerformSetMutedCallAction: { muted: boolean; callUUID: string };
  didToggleHoldCallAction: { hold: boolean; callUUID: string };
  /**
   * iOS: after every `displayIncomingCall` and every native `reportNewIncomingCall` (PushKit),
   * with `error` non-empty when CallKit refused the call. Android: only after the native
   * `reportNewIncomingCall` (an FCM service), with `name` instead of `localizedCallerName`,
   * `hasVideo` `'true'`/`'false'`, no `fromPushKit` and no `error`.
   */
  didDisplayIncomingCall: {
    error?: string;
    errorCode?: string;
    callUUID: string;
    handle: string;
    localizedCallerName?: string;
    name?: string;
    hasVideo?: string;
    fromPushKit?: string;
    /** The push payload (a JSON string when replayed from Android's queue). */
    payload?: object | string;
  };
  didActivateAudioSession: undefined;
  /** iOS only: Android has no such event. */
  didDeactivateAudioSession: undefined;
  /**
   * The audio route changed. iOS: on every `AVAudioSessionRouteChangeNotification`, `output` the
   * first output's port type (`'Receiver'`, `'Speaker'`, `'BluetoothHFP'`, `'Headphones'`, …) and
   * the change's `reason`. Android: on every `onCallAudioStateChanged` of a connection (a setMutedCall too),
   * `output` from `CallAudioState.audioRouteToString` (`'EARPIECE'`, `'SPEAKER'`, `'BLUETOOTH'`,
   * `'WIRED_HEADSET'`, …) with the call's `handle` and `callUUID`.
   */
  didChangeAudioRoute: { output: string; reason?: number; handle?: string; callUUID?: string };
  /** iOS only. */
  didResetProvider: undefined;
  /**
   * Events native code queued before JavaScript listened. Android sends them once, from
   * `setup()`, and forgets them; iOS sends them when the first listener is added and keeps them
   * for `getInitialEvents()` until `clearInitialEvents()`.
   */
  didLoadWithEvents: CallKeepInitialEvent[];
  /** Android: ConnectionService asks whether JavaScript runs (answer with `setReachable()`). */
  checkReachability: undefined;
  /** Android self-managed mode: show the app's own incoming call screen now. */
  showIncomingCallUi: { handle: string; callUUID: string; name: string; hasVideo?: string };
  /** Android: the user silenced the ringer (a volume key); stop the app's own ringtone. */
  silenceIncomingCall: { handle: string; callUUID: string; name: string };
  /** Android: Telecom refused to create the incoming call (e.g. another self-managed call is active). */
  createIncomingConnectionFailed: { handle: string; callUUID: string; name: string };
}

/** The react-native-callkeep events the bridge listens to. */
export type CallKeepEvent = keyof CallKeepEventPayloads;

/** A listener of one react-native-callkeep event. */
export type CallKeepHandler<E extends CallKeepEvent> = CallKeepEventPayloads[E] extends undefined
  ? () => void
  : (args: CallKeepEventPayloads[E]) => void;

/** The native names of those events, as `getInitialEvents()` and `didLoadWithEvents` report them. */
export const CALLKEEP_NATIVE_EVENTS: Readonly<Record<string, CallKeepEvent>> = {
  RNCallKeepDidReceiveStartCallAction: 'didReceiveStartCallAction',
  RNCallKeepPerformAnswerCallAction: 'answerCall',
  RNCallKeepPerformEndCallAction: 'endCall',
  RNCallKeepDidPerformSetMutedCallAction: 'didPerformSetMutedCallAction',
  RNCallKeepDidToggleHoldAction: 'didToggleHoldCallAction',
  RNCallKeepDidDisplayIncomingCall: 'didDisplayIncomingCall',
  RNCallKeepDidActivateAudioSession: 'didActivateAudioSession',
  RNCallKeepDidDeactivateAudioSession: 'didDeactivateAudioSession',
  RNCallKeepDidChangeAudioRoute: 'didChangeAudioRoute',
  RNCallKeepProviderReset: 'didResetProvider',
  RNCallKeepCheckReachability: 'checkReachability',
  RNCallKeepShowIncomingCallUi: 'showIncomingCallUi',
  RNCallKeepOnSilenceIncomingCall: 'silenceIncomingCall',
  RNCallKeepOnIncomingConnectionFailed: 'createIncomingConnectionFailed',
};

/** What newer react-native-callkeep versions return from `addEventListener`. */
export interface CallKeepSubscription {
  remove(): void;
}

/** An event queued by native code before JavaScript listened (cold start). */
export interface CallKeepInitialEvent {
  /** The native event name, e.g. `'RNCallKeepPerformAnswerCallAction'`. */
  name: string;
  data: unknown;
}

/** The `RNCallKeep` object, as far as sealcall uses it. */
export interface CallKeep {
  /*
   * One overload per event rather than one generic signature, so that RNCallKeep's own generic
   * typing is assignable to this interface. Older 4.3 releases return nothing; newer ones a
   * subscription.
   */
  addEventListener(type: 'didReceiveStartCallAction', handler: CallKeepHandler<'didReceiveStartCallAction'>): CallKeepSubscription | void;
  addEventListener(type: 'answerCall', handler: CallKeepHandler<'answerCall'>): CallKeepSubscription | void;
  addEventListener(type: 'endCall', handler: CallKeepHandler<'endCall'>): CallKeepSubscription | void;
  addEventListener(type: 'didPerformSetMutedCallAction', handler: CallKeepHandler<'didPerformSetMutedCallAction'>): CallKeepSubscription | void;
  addEventListener(type: 'didToggleHoldCallAction', handler: CallKeepHandler<'didToggleHoldCallAction'>): CallKeepSubscription | void;
  addEventListener(type: 'didDisplayIncomingCall', handler: CallKeepHandler<'didDisplayIncomingCall'>): CallKeepSubscription | void;
  addEventListener(type: 'didActivateAudioSession', handler: () => void): CallKeepSubscription | void;
  addEventListener(type: 'didDeactivateAudioSession', handler: () => void): CallKeepSubscription | void;
  addEventListener(type: 'didChangeAudioRoute', handler: CallKeepHandler<'didChangeAudioRoute'>): CallKeepSubscription | void;
  addEventListener(type: 'didResetProvider', handler: () => void): CallKeepSubscription | void;
  addEventListener(type: 'didLoadWithEvents', handler: CallKeepHandler<'didLoadWithEvents'>): CallKeepSubscription | void;
  addEventListener(type: 'checkReachability', handler: () => void): CallKeepSubscription | void;
  addEventListener(type: 'showIncomingCallUi', handler: CallKeepHandler<'showIncomingCallUi'>): CallKeepSubscription | void;
  addEventListener(type: 'silenceIncomingCall', handler: CallKeepHandler<'silenceIncomingCall'>): CallKeepSubscription | void;
  addEventListener(
    type: 'createIncomingConnectionFailed',
    handler: CallKeepHandler<'createIncomingConnectionFailed'>,
  ): CallKeepSubscription | void;
  /** Used only when `addEventListener` returned no subscription. */
  removeEventListener(type: CallKeepEvent, listener?: never): void;
  displayIncomingCall(
    uuid: string,
    handle: string,
    localizedCallerName?: string,
    handleType?: CallKeepHandleType,
    hasVideo?: boolean,
    options?: object,
  ): void;
  startCall(uuid: string, handle: string, contactIdentifier?: string, handleType?: CallKeepHandleType, hasVideo?: boolean): void;
  /** iOS only (a no-op on Android). */
  reportConnectingOutgoingCallWithUUID(uuid: string): void;
  /** iOS only (a no-op on Android). */
  reportConnectedOutgoingCallWithUUID(uuid: string): void;
  /**
   * iOS: 1 failed, 2 remote ended, 3 unanswered, 4 answered elsewhere, 5 declined elsewhere.
   * Android: 1 error, 2 and 5 remote, 3 busy, 4 answered elsewhere, 6 missed.
   */
  reportEndCallWithUUID(uuid: string, reason: number): void;
  /** iOS also takes `{ ios: { hasVideo } }`; Android changes the name and handle only. */
  updateDisplay(uuid: string, displayName: string, handle: string, options?: object): void;
  setMutedCall(uuid: string, muted: boolean): void;
  answerIncomingCall(uuid: string): void;
  endCall(uuid: string): void;
  /** Events native code queued before JavaScript listened (react-native-callkeep ≥ 4.3.4). */
  getInitialEvents?(): Promise<CallKeepInitialEvent[]>;
  clearInitialEvents?(): void;
  /** Sets callkeep up (CallKit provider; Android phone account, permissions and event delivery). */
  setup?(options: CallKeepSetupOptions): Promise<unknown>;
  /** True on Android with ConnectionService (API 23+), false on iOS: how the bridge tells the platforms apart. */
  supportConnectionService?(): boolean;
  /** Android: whether calls can be shown (phone account registered and enabled, permissions granted); iOS: true. */
  hasPhoneAccount?(): Promise<boolean>;
  /** Android: the call is connected (ACTIVE); without it the system shows it ringing or dialing. */
  setCurrentCallActive?(uuid: string): void;
  /** Tells native code that JavaScript runs (Android's `checkReachability`, iOS's `displayCallReachabilityTimeout`). */
  setReachable?(): void;
  /** Android: whether outgoing calls may be placed (false at sign-out). */
  setAvailable?(active: boolean): void;
  /** Android: brings the app to the foreground (after an answer on the lock screen). */
  backToForeground?(): void;
  /**
   * The audio routes: `{ name, type, selected? }[]`, `type` one of `'Phone'`, `'Speaker'`,
   * `'Bluetooth'`, `'Headset'` (iOS also `'CarAudio'`); `name` is the type on Android and the
   * port's name on iOS (but `'Speaker'`). Declared by callkeep as `Promise<void>`.
   */
  getAudioRoutes?(): Promise<unknown>;
  /**
   * Routes call audio to the route named `inputName` (a `name` from `getAudioRoutes`). iOS ignores
   * `uuid`, and never settles for a name it does not find; Android never settles without a
   * connection for `uuid`, and takes any name but `'Bluetooth'`, `'Headset'`, `'Speaker'` as
   * wired-or-earpiece.
   */
  setAudioRoute?(uuid: string, inputName: string): Promise<unknown>;
}

/** What `RNCallKeep.setup()` takes: `{ ios: { appName, … }, android: { alertTitle, …, selfManaged? } }`. */
export interface CallKeepSetupOptions {
  ios: { appName: string; [option: string]: unknown };
  android: { alertTitle: string; alertDescription: string; cancelButton: string; okButton: string; additionalPermissions: string[]; [option: string]: unknown };
}
