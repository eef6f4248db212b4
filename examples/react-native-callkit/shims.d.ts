/*
 * Type stand-ins for the two React Native modules this example uses, so that `tsc` can check it
 * without them installed. In an app, delete this file: the packages bring their own types, and
 * `RNCallKeep` is assignable to sealcall's `CallKeep` interface as it is.
 */

declare module 'react-native-callkeep' {
  /** The subset of react-native-callkeep 4.3 sealcall uses, plus `setup`. */
  const RNCallKeep: import('../../src/callkit/index.js').CallKeep & {
    setup(options: {
      ios: { appName: string; supportsVideo?: boolean; maximumCallGroups?: string; maximumCallsPerCallGroup?: string; includesCallsInRecents?: boolean };
      android: { alertTitle: string; alertDescription: string; cancelButton: string; okButton: string; additionalPermissions: string[] };
    }): Promise<boolean>;
  };
  export default RNCallKeep;
}

declare module 'react-native-voip-push-notification' {
  /** react-native-voip-push-notification 3.x: PushKit in JavaScript. */
  const VoipPushNotification: {
    addEventListener(type: 'register', handler: (token: string) => void): void;
    /** A VoIP push arrived while JavaScript runs: `payload` is the PushKit dictionary. */
    addEventListener(type: 'notification', handler: (payload: Record<string, unknown>) => void): void;
    /** Pushes (and tokens) native code received before JavaScript listened (cold start). */
    addEventListener(type: 'didLoadWithEvents', handler: (events: { name: string; data: unknown }[]) => void): void;
    removeEventListener(type: 'register' | 'notification' | 'didLoadWithEvents'): void;
    registerVoipToken(): void;
    /** Tells PushKit the push was handled (its completion handler). */
    onVoipNotificationCompleted(uuid: string): void;
  };
  export default VoipPushNotification;
}
