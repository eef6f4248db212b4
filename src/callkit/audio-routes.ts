import { SealcallError, toSealcallError } from '../errors.js';
import type { AudioRoute, AudioRouteKind, AudioRouteOption } from './types.js';

/** How long the OS may take to list or change audio routes (`audioRouteTimeoutMs`). */
export const DEFAULT_AUDIO_ROUTE_TIMEOUT_MS = 2_000;

const CHOOSABLE: readonly string[] = ['speaker', 'earpiece', 'bluetooth', 'wired'] satisfies AudioRouteKind[];

/**
 * The option `wanted` names: a kind (the first route of that kind) or a route's exact name.
 * @throws SealcallError `INVALID_ARGUMENT` when the OS offers no such route.
 */
export function pickAudioRoute(options: readonly AudioRouteOption[], wanted: unknown): AudioRouteOption {
  if (typeof wanted !== 'string') throw new SealcallError('INVALID_ARGUMENT', 'an audio route is a kind or a route name');
  const found = CHOOSABLE.includes(wanted) ? options.find((o) => o.kind === wanted) : options.find((o) => o.name === wanted);
  if (found) return found;
  const offered = options.map((o) => `${o.kind} (${o.name})`).join(', ') || 'none';
  throw new SealcallError('INVALID_ARGUMENT', `the OS offers no ${wanted} audio route; it offers: ${offered}`);
}

/** Whether two routes are the same (the OS repeats unchanged routes, e.g. on a category change). */
export function sameAudioRoute(a: AudioRoute | undefined, b: AudioRoute): boolean {
  return a !== undefined && a.kind === b.kind && a.name === b.name;
}

/**
 * Settles with what the OS answered, as a `CALLKIT_REPORT_FAILED` rejection when it refused, or
 * that rejection after `timeoutMs` when it never answers (callkeep leaves some requests pending).
 */
export function askOs<T>(request: () => PromiseLike<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SealcallError('CALLKIT_REPORT_FAILED', `the OS did not ${what} within ${timeoutMs} ms`)), timeoutMs);
    const refused = (error: unknown) => {
      clearTimeout(timer);
      reject(toSealcallError(error, 'CALLKIT_REPORT_FAILED'));
    };
    try {
      Promise.resolve(request()).then((value) => {
        clearTimeout(timer);
        resolve(value);
      }, refused);
    } catch (error) {
      refused(error);
    }
  });
}
