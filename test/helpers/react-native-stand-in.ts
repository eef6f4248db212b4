/*
 * What react-native-callkeep's JavaScript imports from 'react-native' (NativeModules,
 * NativeEventEmitter, Platform, Alert), played by a CallKeepNativeStandIn. react-native itself is
 * not installed. Test files route the import here with
 * `vi.mock('react-native', () => import('./helpers/react-native-stand-in.js'))` and get a fresh
 * copy of callkeep per stand-in with `loadCallKeep`, because callkeep reads `Platform.OS` and
 * creates its NativeEventEmitter when its module is evaluated.
 */
import { vi } from 'vitest';
import type { CallKeep } from '../../src/callkit/callkeep-types.js';
import type { CallKeepNativeStandIn } from './callkeep-native-stand-in.js';

// On globalThis: vi.resetModules() evaluates this module again for each fresh copy of callkeep.
const slot = globalThis as { sealcallCallKeepStandIn?: CallKeepNativeStandIn };

function standIn(): CallKeepNativeStandIn {
  const current = slot.sealcallCallKeepStandIn;
  if (!current) throw new Error('no CallKeepNativeStandIn: call loadCallKeep() first');
  return current;
}

export const NativeModules = {
  get RNCallKeep() {
    return standIn().module;
  },
};

export const Platform = {
  get OS() {
    return standIn().platform;
  },
  /** Android API level 33 (ConnectionService and self-managed mode exist); an iOS version string. */
  get Version() {
    return standIn().platform === 'android' ? 33 : '17.0';
  },
};

/** RN's NativeEventEmitter, bound to the stand-in whose module it is given. */
export class NativeEventEmitter {
  private readonly native: CallKeepNativeStandIn;

  constructor(module: unknown) {
    const native = standIn();
    if (module !== native.module) throw new Error('NativeEventEmitter made for another module');
    this.native = native;
  }

  addListener(type: string, listener: (data: unknown) => void): { remove(): void } {
    return this.native.addJsListener(type, listener);
  }

  emit(type: string, data: unknown): void {
    this.native.emitJs(type, data);
  }
}

/** The user's answer to an alert, a moment after it shows (Android's phone-account prompt). */
export const Alert = {
  alert(_title: string, _message: string, buttons: { onPress?: () => void }[]): void {
    const choice = standIn().options.alertChoice ?? 'ok';
    const button = choice === 'ok' ? buttons[1] : buttons[0];
    queueMicrotask(() => button?.onPress?.());
  },
};

/** react-native-callkeep's default export and CONSTANTS, evaluated afresh against `native`. */
export async function loadCallKeep(native: CallKeepNativeStandIn): Promise<{
  RNCallKeep: CallKeep & Record<string, (...args: never[]) => unknown>;
  CONSTANTS: { END_CALL_REASONS: Record<string, number> };
}> {
  slot.sealcallCallKeepStandIn = native;
  vi.resetModules();
  const module = (await import('react-native-callkeep')) as unknown as {
    default: CallKeep & Record<string, (...args: never[]) => unknown>;
    CONSTANTS: { END_CALL_REASONS: Record<string, number> };
  };
  return { RNCallKeep: module.default, CONSTANTS: module.CONSTANTS };
}
