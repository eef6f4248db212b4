/*
 * sealcall in a React Native app: calls over the app's chat, media through react-native-webrtc,
 * the phone's own call screen through react-native-callkeep (CallKit on iOS, ConnectionService
 * on Android), and a sealed push that rings the callee's phone when the app is not running
 * (PushKit through react-native-voip-push-notification on iOS, the app's FCM library on Android).
 *
 * Call `startCalling()` once, at the top level of the app's index.js, not in a component: a push
 * can start the app with no UI (iOS in the background, Android's FCM handler headless), and the
 * call must be shown then. See README.md for the push flow and the native parts (ios/, android/).
 */
import { Platform } from 'react-native';
import RNCallKeep, { CONSTANTS } from 'react-native-callkeep';
import VoipPushNotification from 'react-native-voip-push-notification';
import * as RNWebRTC from 'react-native-webrtc';
import { CallClient, type Call, type ChatTransport, type Contacts, type Identity, type PeerId, type ReplayStore } from 'sealcall';
import {
  buildCallPush,
  CALL_PUSH_KEY,
  CallKeepBridge,
  decideCallKit,
  normalizeUuid,
  parseCallPush,
  unwrapCallPush,
  type CallKitPolicyInput,
  type CallPushPayload,
  type PushKeyPair,
} from 'sealcall/callkit';

/** What the app already has; sealcall brings none of it. */
export interface AppServices {
  /** This user's identity and their contacts' public keys (the app's contact verification). */
  identity: Identity;
  contacts: Contacts;
  /** The app's chat channel to contacts (its relay). */
  chat: ChatTransport;
  /** How the *callee* names this user: the push's caller hint, where their client expects the invitation from. */
  myPeerIdFor(contact: PeerId): string;
  /**
   * This device's push key pair (`generatePushKey()` once, kept in the keychain or keystore). Its
   * public key travels to contacts with the app's contact card.
   */
  pushKey: PushKeyPair;
  /** A contact's device push public key, from their contact card. */
  pushKeyOf(contact: PeerId): Uint8Array | undefined;
  /**
   * A few hundred bytes of app storage: sealcall's replay state, so a captured invitation pushed
   * again after the OS restarted the app never rings.
   */
  replayStore: ReplayStore;
  /**
   * The app server's push endpoint. It knows each contact's push token and platform, and delivers
   * `push` to an iPhone as a VoIP push (APNs, `apns-push-type: voip`, payload `{ "sealcall": push }`)
   * and to an Android phone as a high-priority FCM data message (`{ "sealcall": JSON text of push }`).
   */
  sendCallPush(to: PeerId, push: CallPushPayload): Promise<void>;
  /** iOS: this device's PushKit token, for the app server. (Android's FCM token comes from the app's FCM library.) */
  voipTokenChanged(token: string): void;
  /**
   * Inputs for the CallKit-free decision: on iOS the StoreKit storefront, locale and carrier MCCs
   * (China's App Store forbids CallKit) and the user's setting; on Android the setting alone.
   */
  region: CallKitPolicyInput;
  /** A contact's display name. */
  displayName(peer: PeerId): string;
  /** The in-app call UI: shows `call` (always in CallKit-free mode; as the in-call screen otherwise). */
  showCall(call: Call, uuid: string): void;
}

/** Running call integration. */
export interface Calling {
  bridge: CallKeepBridge;
  /** Places a call through the phone's call UI (or in-app in CallKit-free mode). */
  call(peer: PeerId, video: boolean): Promise<Call>;
  /**
   * Android: every FCM data message, from the app's FCM library (its foreground listener and its
   * background handler, which runs headless when the app was killed). Messages that are not a
   * sealcall push are left alone.
   */
  handleFcmData(data: Readonly<Record<string, string>>): void;
  stop(): Promise<void>;
}

const ios = Platform.OS === 'ios';

/**
 * callkeep's setup. On iOS AppDelegate sets CallKit up natively with the same values (see
 * ios/AppDelegate.mm), so that a push can be reported before JavaScript runs, and this call then
 * changes nothing there. On Android `foregroundService` keeps the microphone working while the
 * app is in the background during a call; its icon is required (without a small icon Android
 * refuses the service's notification, and callkeep then runs no foreground service at all).
 */
const CALLKEEP_OPTIONS: Parameters<typeof RNCallKeep.setup>[0] = {
  ios: { appName: 'Chat', supportsVideo: true, maximumCallGroups: '1', maximumCallsPerCallGroup: '1' },
  android: {
    alertTitle: 'Calls',
    alertDescription: 'Chat places and answers calls through your phone app',
    cancelButton: 'Cancel',
    okButton: 'OK',
    additionalPermissions: [],
    foregroundService: {
      channelId: 'chat.calls',
      channelName: 'Calls in progress',
      notificationTitle: 'Call in progress',
      notificationIcon: 'ic_launcher',
    },
  },
};

export function startCalling(app: AppServices): Calling {
  // 1. CallKit or not: the same bridge either way (enabled: false is the app's own call UI).
  const policy = decideCallKit(app.region);

  // 2. The client, on react-native-webrtc (its module as it is; or call its registerGlobals()
  //    once and leave `wrtc` out). There are no insertable streams there: calls are protected by
  //    DTLS-SRTP, end to end because its fingerprints travel in the authenticated signaling
  //    (`call.e2ee === 'transport'`). Passed to the bridge as a promise, so a pushed call is
  //    shown before libsodium has loaded.
  const client = CallClient.create({
    identity: app.identity,
    contacts: app.contacts,
    transport: withCallPushes(app),
    replayStore: app.replayStore,
    wrtc: RNWebRTC,
  });

  // 3. The bridge. It runs callkeep's setup once its listeners are in place (Android delivers
  //    the events queued before JavaScript ran, a lock-screen answer among them, during setup);
  //    reports wait for it (3 s at most, then CALLKIT_NOT_READY).
  const bridge = new CallKeepBridge({
    client,
    callKeep: RNCallKeep,
    enabled: policy.useCallKit,
    setup: CALLKEEP_OPTIONS,
    displayName: app.displayName,
    pushKey: app.pushKey,
  });
  bridge.coordinator.on('call', (call, uuid) => app.showCall(call, uuid));
  // CallKit owns the audio session on iOS: react-native-webrtc starts call audio when told (a no-op on Android).
  bridge.coordinator.on('audio-session', (active) =>
    active ? RNWebRTC.RTCAudioSession.audioSessionDidActivate() : RNWebRTC.RTCAudioSession.audioSessionDidDeactivate(),
  );
  bridge.coordinator.on('error', (error) => console.warn(`calls: ${error.code}`)); // codes, never key material
  // Android: ConnectionService refuses outgoing calls until the app says it can place them (a
  // no-op on iOS and without CallKit).
  bridge.setAvailable(true);

  // 4. iOS: PushKit. AppDelegate reported every push to CallKit before JavaScript saw it (iOS 13
  //    requires that even when JavaScript is not running) and kept PushKit's completion handler
  //    under the push's UUID; each push is taken here, and the handler released. Without CallKit
  //    there are no VoIP pushes (each would need a CallKit report).
  const pushKit = ios && policy.useCallKit;
  if (pushKit) {
    // The token is '' until PushKit gave one.
    const onToken = (token: string) => token !== '' && app.voipTokenChanged(token);
    VoipPushNotification.addEventListener('register', onToken);
    VoipPushNotification.addEventListener('notification', (payload) => takeVoipPush(bridge, payload));
    // Pushes (and the token) that arrived before JavaScript listened: a push that started the app.
    VoipPushNotification.addEventListener('didLoadWithEvents', (events) => {
      for (const event of events) {
        if (event.name === VoipPushNotification.RNVoipPushRemoteNotificationsRegisteredEvent) onToken(event.data);
        if (event.name === VoipPushNotification.RNVoipPushRemoteNotificationReceivedEvent) takeVoipPush(bridge, event.data);
      }
    });
    // AppDelegate registered with PushKit at launch; this re-emits the token to 'register'.
    VoipPushNotification.registerVoipToken();
  }

  // 5. callkeep events native code queued before JavaScript listened (a call reported from
  //    PushKit, a lock-screen answer): an answer is held until the invitation opens.
  void bridge.processInitialEvents();

  return {
    bridge,
    call: (peer, video) => bridge.startCall(peer, { media: video ? 'video' : 'audio' }),
    handleFcmData(data) {
      const text = data[CALL_PUSH_KEY];
      if (text === undefined) return;
      const payload = { [CALL_PUSH_KEY]: parseJson(text) };
      try {
        parseCallPush(unwrapCallPush(payload));
      } catch {
        return; // Android requires no call for a push: a malformed one is dropped
      }
      // Reports a neutral placeholder through ConnectionService at once, opens the push and the
      // sealed invitation once the client is up, and shows the authenticated contact.
      bridge.handlePush(payload);
    },
    async stop() {
      if (pushKit) {
        for (const type of ['register', 'notification', 'didLoadWithEvents'] as const) VoipPushNotification.removeEventListener(type);
      }
      bridge.setAvailable(false);
      const ready = await client;
      bridge.dispose(); // removes every callkeep listener it added
      await ready.close();
    },
  };
}

/**
 * A VoIP push that AppDelegate already reported to CallKit under its `sealcall.uuid` (it ends
 * pushes without a UUID itself). The bridge opens it, binds the call to that UUID, shows the
 * authenticated contact, and ends the call as failed if the invitation proves forged, stale or
 * replayed; a payload that does not even parse is ended here. Then PushKit's completion handler,
 * which AppDelegate keeps under the same UUID, is released.
 */
function takeVoipPush(bridge: CallKeepBridge, payload: object): void {
  let uuid: string;
  try {
    uuid = normalizeUuid((unwrapCallPush(payload) as { uuid?: unknown } | undefined)?.uuid);
  } catch {
    return; // AppDelegate never forwards one without a UUID
  }
  try {
    parseCallPush(unwrapCallPush(payload));
    bridge.handlePush(payload, { reported: true }); // a duplicate of callkeep's didDisplayIncomingCall is ignored
  } catch {
    RNCallKeep.reportEndCallWithUUID(uuid, CONSTANTS.END_CALL_REASONS.FAILED);
  }
  VoipPushNotification.onVoipNotificationCompleted(uuid);
}

/**
 * The caller's side: the chat transport, plus a push for every invitation (sealcall marks its
 * first copy with `hints.wake`) so the callee's phone rings even when the app is not running.
 * The push is sealed to the callee's device: Apple, Google and the app server see a UUID and
 * ciphertext. The relay still carries the same envelope (the callee drops whichever copy comes
 * second).
 */
function withCallPushes(app: AppServices): ChatTransport {
  return {
    maxPayloadBytes: app.chat.maxPayloadBytes,
    onMessage: (handler) => app.chat.onMessage(handler),
    async send(to, payload, hints) {
      await app.chat.send(to, payload);
      const pushKey = app.pushKeyOf(to);
      if (!hints?.wake || !pushKey) return;
      const push = buildCallPush({ envelope: payload, callerHint: app.myPeerIdFor(to), pushKey });
      // Best effort: the relay's copy still rings a callee whose app is running.
      await app.sendCallPush(to, push).catch(() => {});
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
