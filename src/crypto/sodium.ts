import _sodium from 'libsodium-wrappers';
import { SealcallError } from '../errors.js';
import { poolRandomness } from './random-pool.js';

/** The libsodium API sealcall uses (libsodium-wrappers' shape). */
export type Sodium = typeof _sodium;

let instance: Sodium | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads libsodium once. Every other crypto call needs it; await it before anything else.
 * Safe to call many times and from Node, browsers and workers.
 *
 * @param provider - another libsodium-wrappers-compatible object (for example
 *   react-native-libsodium where WebAssembly is missing); default libsodium-wrappers.
 */
export function ready(provider?: Sodium): Promise<void> {
  if (provider) {
    loading = provider.ready.then(() => {
      poolRandomness(provider);
      instance = provider;
    });
  }
  loading ??= _sodium.ready.then(() => {
    poolRandomness(_sodium);
    instance = _sodium;
  });
  return loading;
}

/** The loaded libsodium, or `NOT_READY` if {@link ready} has not resolved yet. */
export function sodium(): Sodium {
  if (!instance) throw new SealcallError('NOT_READY', 'call `await ready()` before using sealcall crypto');
  return instance;
}
