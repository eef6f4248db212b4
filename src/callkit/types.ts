/**
 * The two small interfaces between sealcall and an OS call UI such as iOS CallKit, as in the
 * seeds' CallKit coordinator design: a {@link CallKitReporter} tells the OS about calls, a
 * {@link CallKitReceiver} takes the actions the OS asks for. The coordinator sits between them
 * and the `Call`s, which stay the single source of truth.
 *
 * UUIDs are strings in lowercase canonical form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`). The OS
 * may hand them back in any case (react-native-callkeep lowercases them on iOS); the coordinator
 * normalises every UUID it receives.
 */

/**
 * Why a call ended, in CallKit's terms (`CXCallEndedReason`). Only used for ends the OS did not
 * ask for: a local hang-up is the fulfilment of an end action, never a report.
 */
export type CallKitEndReason = 'failed' | 'remoteEnded' | 'unanswered' | 'answeredElsewhere' | 'declinedElsewhere';

/** What the OS shows for a call. */
export interface CallKitCallInfo {
  /** The remote handle (`CXHandle` value): sealcall uses the peer id. */
  handle: string;
  /** The caller's name as shown on screen (`localizedCallerName`). */
  displayName: string;
  /** Whether the call is a video call. */
  hasVideo: boolean;
}

/** A change of what the OS shows (`CXCallUpdate`); absent fields stay as they were. */
export type CallKitCallUpdate = Partial<CallKitCallInfo>;

/** Where call audio plays: the kinds an app shows, whatever each platform calls them. */
export type AudioRouteKind = 'speaker' | 'earpiece' | 'bluetooth' | 'wired' | 'unknown';

/** The route call audio takes now. */
export interface AudioRoute {
  kind: AudioRouteKind;
  /** The OS's name for it (e.g. iOS's port type `'BluetoothHFP'`, Android's `'WIRED_HEADSET'`). */
  name?: string;
}

/** A route the OS offers for call audio. */
export interface AudioRouteOption {
  kind: AudioRouteKind;
  /** What to ask the OS for (e.g. `'Speaker'`, a Bluetooth device's name on iOS). */
  name: string;
  /** Whether call audio takes this route now. */
  selected: boolean;
}

/**
 * Outbound: tells the OS about calls. Pure reporting, no business logic. Methods named
 * `request…` ask the OS for a transaction (`CXCallController.request`); the OS then performs the
 * matching action on the {@link CallKitReceiver} (the echo the coordinator expects and absorbs).
 */
export interface CallKitReporter {
  /**
   * True when the OS activates a call audio session for answered and started calls and says so
   * (`didActivateAudioSession`), as CallKit does: the coordinator then keeps each call's audio
   * off until it has. Absent or false (the CallKit-free mode): audio starts at once.
   */
  readonly managesAudioSession?: boolean;
  /**
   * Resolves once the OS provider can take reports (the CXProvider exists and has its delegate;
   * react-native-callkeep's `setup()` resolved); undefined (or no method) when it already can,
   * so reports go out synchronously. Called again after a provider reset, so an implementation
   * may recreate its provider there.
   */
  ready?(): PromiseLike<unknown> | undefined;
  /**
   * Gives the reporter the receiver its OS actions go to. Called once by the coordinator; the
   * returned function detaches (removes every listener the reporter added).
   */
  attach?(receiver: CallKitReceiver): () => void;
  /**
   * A new incoming call (`reportNewIncomingCall`). Rejects if the OS refused to show it (Do Not
   * Disturb, block list, UUID already in use); the coordinator reports that as
   * `CALLKIT_REPORT_FAILED`.
   */
  reportIncomingCall(uuid: string, info: CallKitCallInfo): void | PromiseLike<void>;
  /** The remote side began connecting an outgoing call (`reportOutgoingCall(startedConnectingAt:)`). */
  reportOutgoingConnecting(uuid: string): void;
  /** The remote peer really joined an outgoing call (`reportOutgoingCall(connectedAt:)`): the call timer starts. */
  reportOutgoingConnected(uuid: string): void;
  /** The call ended for a reason the OS did not ask for (`reportCall(endedAt:reason:)`). */
  reportCallEnded(uuid: string, reason: CallKitEndReason): void;
  /** What the OS shows changed (`reportCall(updated:)`). */
  reportCallUpdated(uuid: string, update: CallKitCallUpdate): void;
  /** Asks the OS to start an outgoing call (`CXStartCallAction`); a start action follows. */
  requestStartCall(uuid: string, info: CallKitCallInfo): void;
  /** Asks the OS to answer a call the app answered itself (`CXAnswerCallAction`); an answer action follows. */
  requestAnswerCall(uuid: string): void;
  /** Asks the OS to end a call the app ended itself (`CXEndCallAction`); an end action follows. */
  requestEndCall(uuid: string): void;
  /** Tells the OS the confirmed mute state changed (`CXSetMutedCallAction`); a set-muted action follows. */
  requestSetMuted(uuid: string, muted: boolean): void;
  /** The audio routes the OS offers now. Rejects when the OS cannot list them. */
  listAudioRoutes?(): PromiseLike<AudioRouteOption[]>;
  /**
   * Sends call audio (of the call under `uuid`, on platforms that route per call) to `route`, one
   * of {@link listAudioRoutes}. Rejects when the OS refuses; the receiver hears the new route.
   */
  routeAudio?(uuid: string, route: AudioRouteOption): PromiseLike<unknown>;
}

/**
 * One action the OS asks for (`CXAction`). The receiver settles it exactly once: `fulfill()`
 * when done, `fail()` when it cannot be done. An action left unsettled makes CallKit time out.
 */
export interface CallKitAction {
  /** The call the action is for (any case; normalised by the coordinator). */
  readonly uuid: string;
  fulfill(): void;
  fail(): void;
}

/** Start an outgoing call (`CXStartCallAction`): from the app's own request, Recents or Siri. */
export interface StartCallAction extends CallKitAction {
  /** The handle the call is for (a peer id when the app asked; whatever Recents stored otherwise). */
  readonly handle: string;
  /** Whether a video call was asked for; undefined when the OS does not say. */
  readonly video?: boolean;
}

/** Mute or unmute the microphone (`CXSetMutedCallAction`). */
export interface SetMutedAction extends CallKitAction {
  readonly muted: boolean;
}

/** Put a call on hold or take it off hold (`CXSetHeldCallAction`). */
export interface SetHeldAction extends CallKitAction {
  readonly onHold: boolean;
}

/**
 * Inbound: the callbacks the OS triggers (`CXProviderDelegate`). The coordinator implements it;
 * a concrete bridge forwards the OS's callbacks here.
 */
export interface CallKitReceiver {
  performStartCall(action: StartCallAction): void;
  performAnswerCall(action: CallKitAction): void;
  performEndCall(action: CallKitAction): void;
  performSetMuted(action: SetMutedAction): void;
  performSetHeld(action: SetHeldAction): void;
  /** The OS reset the provider (`providerDidReset`): every call it showed is gone. */
  providerDidReset(): void;
  /** The OS activated the call audio session: start call audio now (e.g. react-native-webrtc's `RTCAudioSession`). */
  didActivateAudioSession(): void;
  /** The OS deactivated the call audio session. */
  didDeactivateAudioSession(): void;
  /** Call audio now takes `route` (a headset plugged in, the user chose the speaker, …). */
  didChangeAudioRoute?(route: AudioRoute): void;
  /** Android self-managed mode: the OS asks the app to show its own incoming call screen. */
  showIncomingCallUi?(uuid: string): void;
  /** The user silenced the ringer (Android): stop the app's own ringtone. */
  silenceRinger?(uuid: string): void;
}
