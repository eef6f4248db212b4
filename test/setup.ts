import { expect } from 'vitest';
import { isSealcallError } from '../src/errors.js';

// vitest stops a fork with SIGTERM. When a library has installed a SIGTERM handler (Playwright
// does while a browser runs), the fork lives on and ends by running out of work; Node's
// environment teardown would then run @roamhq/wrtc's native finalizers (RTCRtpReceiver, MediaStream), which crash in
// napi_reference_unref after teardown freed what they release — the same crash
// exitNodeProcess() avoids for apps. process.exit() skips that teardown. Registered once per
// process: setup files run again for every test file a worker takes.
const exitHook = Symbol.for('sealcall.test.exitOnBeforeExit');
const processWithHook = process as typeof process & { [exitHook]?: true };
if (!processWithHook[exitHook]) {
  processWithHook[exitHook] = true;
  process.on('beforeExit', (code) => process.exit(code));
}

expect.extend({
  /** Passes when the function throws a SealcallError (of any code), never another error. */
  toThrowSealcallError(received: () => unknown) {
    try {
      received();
    } catch (error) {
      return {
        pass: isSealcallError(error),
        message: () => `expected a SealcallError, got ${String(error)}`,
      };
    }
    return { pass: false, message: () => 'expected a SealcallError, nothing was thrown' };
  },
});

declare module 'vitest' {
  interface Assertion {
    toThrowSealcallError(): void;
  }
}
