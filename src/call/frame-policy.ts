import { SealcallError } from '../errors.js';
import { FRAME_SUITES, type FrameSuiteName } from '../crypto/frame/types.js';

/**
 * Whether calls must, may or must not use frame encryption.
 * - `required`: a call that cannot encrypt frames end to end ends `media-failed` with
 *   `E2EE_UNAVAILABLE` before any media flows.
 * - `preferred` (default): frame encryption when both sides can, DTLS-SRTP otherwise.
 * - `disabled`: never (for runtimes or tests that must not use a worker).
 */
export type FrameEncryptionPolicy = 'required' | 'preferred' | 'disabled';

/** The suites this build implements, most preferred first. */
export const DEFAULT_FRAME_SUITES: FrameSuiteName[] = ['chacha20poly1305', 'aes128gcm'];

/**
 * The suite a call uses: the first of the caller's list that the callee also offers. Both sides
 * compute it from the same two lists (the invitation's and the ringing reply's), so they agree
 * without another message. Unknown names are ignored.
 */
export function negotiateSuite(callerSuites: readonly string[], calleeSuites: readonly string[]): FrameSuiteName | undefined {
  return callerSuites.find((s): s is FrameSuiteName => Object.hasOwn(FRAME_SUITES, s) && calleeSuites.includes(s));
}

/** The error a `required` policy reports when no suite could be agreed. */
export function e2eeUnavailable(why: string): SealcallError {
  return new SealcallError('E2EE_UNAVAILABLE', `frame encryption is required but ${why}`);
}
