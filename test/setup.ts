import { expect } from 'vitest';
import { isSealcallError } from '../src/errors.js';

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
