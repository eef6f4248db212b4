/*
 * react-native-callkeep's audio route names, mapped to sealcall's kinds. Written from
 * ios/RNCallKeep/RNCallKeep.m (getAudioInputType, formatAudioInputs, onAudioRouteChange) and
 * android/.../RNCallKeepModule.java (getAudioRouteType, getSelectedAudioRoute) and
 * VoiceConnection.java (onCallAudioStateChanged).
 */
import type { AudioRoute, AudioRouteKind, AudioRouteOption } from './types.js';

/** `getAudioRoutes()`'s `type`, the same on both platforms (iOS adds `'CarAudio'`: unknown). */
const ROUTE_TYPES: Readonly<Record<string, AudioRouteKind>> = {
  Phone: 'earpiece', // iOS: the built-in microphone (receiver output); Android: TYPE_BUILTIN_MIC
  Speaker: 'speaker',
  Bluetooth: 'bluetooth', // iOS: HFP and A2DP ports; Android: TYPE_BLUETOOTH_SCO and _A2DP
  Headset: 'wired', // iOS: wired headset microphone, headphones; Android: wired headset, headphones
};

/** iOS `didChangeAudioRoute.output`: the current route's first output port type (`AVAudioSessionPort…`). */
const IOS_OUTPUTS: Readonly<Record<string, AudioRouteKind>> = {
  Receiver: 'earpiece',
  Speaker: 'speaker',
  BluetoothHFP: 'bluetooth',
  BluetoothA2DPOutput: 'bluetooth',
  BluetoothLE: 'bluetooth',
  Headphones: 'wired',
  USBAudio: 'wired',
  LineOut: 'wired',
};

/** Android `didChangeAudioRoute.output`: `CallAudioState.audioRouteToString(route)`. */
const ANDROID_OUTPUTS: Readonly<Record<string, AudioRouteKind>> = {
  EARPIECE: 'earpiece',
  SPEAKER: 'speaker',
  BLUETOOTH: 'bluetooth',
  WIRED_HEADSET: 'wired',
};

/**
 * The route a `didChangeAudioRoute` names.
 * @throws TypeError for a payload without an `output` string (the bridge reports `BAD_MESSAGE`).
 */
export function callKeepRoute(platform: 'ios' | 'android', data: { output?: unknown } | undefined): AudioRoute {
  const output = data?.output;
  if (typeof output !== 'string') throw new TypeError('didChangeAudioRoute without an output');
  const table = platform === 'ios' ? IOS_OUTPUTS : ANDROID_OUTPUTS;
  return { kind: kindIn(table, output), name: output };
}

/** The routes `getAudioRoutes()` resolved with; entries without a name are skipped. */
export function callKeepRouteOptions(routes: unknown): AudioRouteOption[] {
  if (!Array.isArray(routes)) return [];
  return routes.flatMap((route: { name?: unknown; type?: unknown; selected?: unknown } | null) => {
    if (typeof route?.name !== 'string') return [];
    const kind = typeof route.type === 'string' ? kindIn(ROUTE_TYPES, route.type) : 'unknown';
    return [{ kind, name: route.name, selected: route.selected === true }];
  });
}

function kindIn(table: Readonly<Record<string, AudioRouteKind>>, name: string): AudioRouteKind {
  return Object.hasOwn(table, name) ? table[name]! : 'unknown';
}
