/*
 * The part of react-native-callkeep (4.3) that the bridge uses, typed here so that sealcall never
 * imports it (it is an optional peer). Pass the `RNCallKeep` default export; any object with
 * these methods works, which is how the tests use `FakeCallKeep`.
 */

/** How CallKit shows the handle. sealcall's handles are peer ids: `'generic'`. */
export type CallKeepHandleType = 'generic' | 'number' | 'email';

/** The payload of each react-native-callkeep event the bridge listens to (UUIDs lowercased on iOS). */
export interface CallKeepEventPayloads {
  /** A start action: from `startCall()` (with `callUUID`), or from Recents/Siri (handle only on some versions). */
  didReceiveStartCallAction: { handle: string; callUUID?: string; name?: string; video?: boolean };
  answerCall: { callUUID: string };
  endCall: { callUUID: string };
  didPerformSetMutedCallAction: { muted: boolean; callUUID: string };
  didToggleHoldCallAction: { hold: boolean; callUUID: string };
  /** After `displayIncomingCall` or a native `reportNewIncomingCall` (PushKit); `error` non-empty when refused. */
  didDisplayIncomingCall: {
    error?: string;
    errorCode?: string;
    callUUID: string;
    handle: string;
    localizedCallerName?: string;
    hasVideo?: '1' | '0';
    fromPushKit?: '1' | '0';
    /** The PushKit payload dictionary (a JSON string on Android). */
    payload?: object | string;
  };
  didActivateAudioSession: undefined;
  didDeactivateAudioSession: undefined;
  didResetProvider: undefined;
}

/** The react-native-callkeep events the bridge listens to. */
export type CallKeepEvent = keyof CallKeepEventPayloads;

/** A listener of one react-native-callkeep event. */
export type CallKeepHandler<E extends CallKeepEvent> = CallKeepEventPayloads[E] extends undefined
  ? () => void
  : (args: CallKeepEventPayloads[E]) => void;

/** The native names of those events, as `getInitialEvents()` reports them. */
export const CALLKEEP_NATIVE_EVENTS: Readonly<Record<string, CallKeepEvent>> = {
  RNCallKeepDidReceiveStartCallAction: 'didReceiveStartCallAction',
  RNCallKeepPerformAnswerCallAction: 'answerCall',
  RNCallKeepPerformEndCallAction: 'endCall',
  RNCallKeepDidPerformSetMutedCallAction: 'didPerformSetMutedCallAction',
  RNCallKeepDidToggleHoldAction: 'didToggleHoldCallAction',
  RNCallKeepDidDisplayIncomingCall: 'didDisplayIncomingCall',
  RNCallKeepDidActivateAudioSession: 'didActivateAudioSession',
  RNCallKeepDidDeactivateAudioSession: 'didDeactivateAudioSession',
  RNCallKeepProviderReset: 'didResetProvider',
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
  addEventListener(type: 'didResetProvider', handler: () => void): CallKeepSubscription | void;
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
  reportConnectingOutgoingCallWithUUID(uuid: string): void;
  reportConnectedOutgoingCallWithUUID(uuid: string): void;
  /** iOS reasons: 1 failed, 2 remote ended, 3 unanswered, 4 answered elsewhere, 5 declined elsewhere. */
  reportEndCallWithUUID(uuid: string, reason: number): void;
  updateDisplay(uuid: string, displayName: string, handle: string, options?: object): void;
  setMutedCall(uuid: string, muted: boolean): void;
  answerIncomingCall(uuid: string): void;
  endCall(uuid: string): void;
  /** Events native code queued before JavaScript listened (react-native-callkeep ≥ 4.3.4). */
  getInitialEvents?(): Promise<CallKeepInitialEvent[]>;
  clearInitialEvents?(): void;
}
