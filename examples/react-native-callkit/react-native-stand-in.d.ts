/*
 * A type stand-in for the `react-native` module, and for nothing else. react-native itself is not
 * installed in this repository (its toolchain is large; .npmrc's legacy-peer-deps installs the
 * three React Native packages below without it), yet their .d.ts files import a few of its types
 * and this example imports `Platform`. Those few symbols are declared here with react-native's
 * own shapes, so that tsconfig.json checks the example against the real types of
 * react-native-callkeep, react-native-voip-push-notification and react-native-webrtc.
 * In an app, delete this file: react-native brings its own types.
 */
declare module 'react-native' {
  /** The platform the app runs on (the example's only import from react-native). */
  export const Platform: { OS: 'ios' | 'android' | 'macos' | 'windows' | 'web'; Version: number | string };
  /** An Android permission name (react-native-webrtc's Permissions.d.ts). */
  export type Permission = `android.permission.${string}` | `com.android.voicemail.permission.${string}`;
  /** A native view's props, as far as react-native-webrtc's RTCView.d.ts extends them. */
  export interface ViewProps {
    testID?: string;
    nativeID?: string;
    style?: unknown;
  }
  /** The methods of a native component instance (react-native-webrtc's RTCPIPView.d.ts). */
  export interface NativeMethods {
    focus(): void;
    blur(): void;
  }
}
