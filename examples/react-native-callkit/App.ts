/*
 * Wiring sealcall into iOS CallKit in a React Native app with react-native-callkeep and
 * react-native-voip-push-notification. Framework-neutral: call `startCalling()` once at launch
 * (e.g. from your root component's effect) and `stop()` on sign-out. See README.md.
 *
 * In an app the imports read `from 'sealcall'` and `from 'sealcall/callkit'`; this example
 * imports the sources so the repository's `tsc` checks it.
 */
import RNCallKeep from 'react-native-callkeep';
import VoipPushNotification from 'react-native-voip-push-notification';
import { CallClient, type Call, type ChatTransport, type Contacts, type Identity, type PeerId, type ReplayStore } from '../../src/index.js';
import {
  buildCallPush,
  CALL_PUSH_KEY,
  CallKeepBridge,
  decideCallKit,
  parseCallPush,
  unwrapCallPush,
  type CallKitPolicyInput,
  type PushKeyPair,
} from '../../src/callkit/index.js';

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
   * This device's push key pair (`generatePushKey()` once, kept in the keychain). Its public
   * key travels to contacts with the app's contact card, next to the PushKit token the server has.
   */
  pushKey: PushKeyPair;
  /** A contact's device push public key, from their contact card. */
  pushKeyOf(contact: PeerId): Uint8Array | undefined;
  /**
   * A few hundred bytes of app storage (a file, the keychain): sealcall's replay state, so a
   * captured invitation pushed again after iOS restarted the app never rings.
   */
  replayStore: ReplayStore;
  /** The app server's VoIP push endpoint (it holds the contacts' PushKit tokens). */
  sendVoipPush(to: PeerId, data: Record<string, unknown>): Promise<void>;
  /** Inputs for the CallKit-free decision (StoreKit storefront, locale, CoreTelephony MCCs, a setting). */
  region: CallKitPolicyInput;
  /** A contact's display name. */
  displayName(peer: PeerId): string;
  /**
   * True when AppDelegate reports VoIP pushes to CallKit natively (README.md), which is what
   * rings a phone whose app was not running; JavaScript then must not report them again.
   */
  pushesReportedNatively: boolean;
  /** The in-app call UI: shows `call` (always in CallKit-free mode, as the in-call screen otherwise). */
  showCall(call: Call, uuid: string): void;
  /** The CallKit audio session turned on or off: forward to react-native-webrtc's RTCAudioSession. */
  audioSession(active: boolean): void;
}

/** Running call integration. */
export interface Calling {
  bridge: CallKeepBridge;
  /** Places a call through CallKit (or in-app in CallKit-free mode). */
  call(peer: PeerId, video: boolean): Promise<Call>;
  stop(): Promise<void>;
}

export function startCalling(app: AppServices): Calling {
  // 1. CallKit or not. China's App Store does not allow CallKit (storefront CHN, region CN or a
  //    460 carrier); the user may turn it off too. Either way the bridge has the same interface.
  const policy = decideCallKit(app.region);

  // 2. The client. Passed to the bridge as a promise: when a VoIP push wakes the app, CallKit
  //    must hear of the call before libsodium has even loaded.
  const client = CallClient.create({ identity: app.identity, contacts: app.contacts, transport: withVoipPushes(app), replayStore: app.replayStore });

  // 3. The bridge. `ready` is callkeep's setup; reports wait for it (3 s at most, then the
  //    coordinator emits CALLKIT_NOT_READY and the app falls back to its own UI).
  const bridge = new CallKeepBridge({
    client,
    callKeep: RNCallKeep,
    enabled: policy.useCallKit,
    ...(policy.useCallKit
      ? { ready: RNCallKeep.setup({ ios: { appName: 'Chat', supportsVideo: true, maximumCallGroups: '1', maximumCallsPerCallGroup: '1' }, android: ANDROID }) }
      : {}),
    displayName: app.displayName,
    pushKey: app.pushKey,
  });
  bridge.coordinator.on('call', (call, uuid) => app.showCall(call, uuid));
  bridge.coordinator.on('audio-session', (active) => app.audioSession(active));
  bridge.coordinator.on('error', (error) => {
    // Codes, never key material: CALLKIT_NOT_READY, CALLKIT_REPORT_FAILED, a malformed push…
    console.warn(`calls: ${error.code}`);
  });

  // 4. VoIP pushes that reach JavaScript.
  VoipPushNotification.addEventListener('notification', (dictionary) => {
    if (app.pushesReportedNatively || !policy.useCallKit) {
      // Already on screen (callkeep's didDisplayIncomingCall brings the payload to the bridge
      // too; duplicates are ignored), or no CallKit: the bridge opens it for the in-app UI.
      bridge.handlePush(dictionary, { reported: true });
      return;
    }
    let uuid = '';
    try {
      // Synchronous and libsodium-free: the call is on screen within iOS's few seconds. The push
      // is sealed to this device, so nothing about the caller is known yet: a neutral placeholder.
      const push = parseCallPush(unwrapCallPush(dictionary));
      uuid = push.uuid;
      RNCallKeep.displayIncomingCall(push.uuid, 'unknown', 'Incoming call', 'generic', false);
      // The bridge opens the push and the sealed invitation once the client is up, binds the
      // call to this UUID, shows the authenticated contact's name, and ends it as failed if the
      // invitation proves forged, stale or replayed.
      bridge.handlePush(dictionary, { reported: true });
    } catch {
      // Not ours or malformed: the bridge reports and ends a placeholder call, as iOS requires.
      bridge.handlePush(dictionary);
    }
    VoipPushNotification.onVoipNotificationCompleted(uuid);
  });
  // Cold start: pushes PushKit delivered before JavaScript listened.
  VoipPushNotification.addEventListener('didLoadWithEvents', (events) => {
    const pushes = events.filter((e) => e.name === 'RNVoipPushRemoteNotificationReceivedEvent').map((e) => e.data);
    bridge.coordinator.restorePushes(pushes);
  });
  VoipPushNotification.registerVoipToken();

  // 5. callkeep events native code queued before JavaScript listened: a lock-screen answer of a
  //    pushed call is held until the client opens the invitation, then fulfilled on connect.
  void bridge.processInitialEvents();

  return {
    bridge,
    call: (peer, video) => bridge.startCall(peer, { media: video ? 'video' : 'audio' }),
    async stop() {
      VoipPushNotification.removeEventListener('notification');
      VoipPushNotification.removeEventListener('didLoadWithEvents');
      const ready = await client;
      bridge.dispose(); // removes every callkeep listener it added
      await ready.close();
    },
  };
}

/**
 * The caller's side: the chat transport, plus a VoIP push for every invitation (sealcall marks
 * its first copy with `hints.wake`) so the callee's phone rings even when the app is not
 * running. The push is sealed to the callee's device: Apple and the app server see a UUID and
 * ciphertext. The relay still carries the same envelope (the callee's client drops whichever
 * copy comes second).
 */
function withVoipPushes(app: AppServices): ChatTransport {
  return {
    onMessage: (handler) => app.chat.onMessage(handler),
    async send(to, payload, hints) {
      await app.chat.send(to, payload);
      const pushKey = app.pushKeyOf(to);
      if (!hints?.wake || !pushKey) return;
      const push = buildCallPush({ envelope: payload, callerHint: app.myPeerIdFor(to), pushKey });
      // Best effort: the relay's copy still rings a callee whose app is running.
      await app.sendVoipPush(to, { [CALL_PUSH_KEY]: push }).catch(() => {});
    },
  };
}

const ANDROID = { alertTitle: 'Calls', alertDescription: 'Allow calls', cancelButton: 'Cancel', okButton: 'OK', additionalPermissions: [] };
