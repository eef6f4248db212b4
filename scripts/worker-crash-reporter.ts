import { writeFileSync } from 'node:fs';
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Writes, to the file named by `SEALCALL_CRASH_REPORT`, which test files lost their worker
 * process (vitest's "Worker exited unexpectedly": the process died without a JavaScript error,
 * as in @roamhq/wrtc's rare native crash) and which had failing tests. `scripts/test.mjs`
 * reads it to re-run a crashed file once; an assertion failure is never re-run.
 */
export default class WorkerCrashReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<SerializedError>): void {
    const out = process.env.SEALCALL_CRASH_REPORT;
    if (!out) return;
    const workerDied = errors.some((e) => describeChain(e).includes('Worker exited unexpectedly'));
    const files = modules.map((m) => {
      const tests = [...m.children.allTests()];
      return {
        file: m.moduleId,
        failed: tests.filter((t) => t.result().state === 'failed').map((t) => t.fullName),
        // A file whose worker died keeps tests that never reported a result.
        unfinished: tests.filter((t) => t.result().state === 'pending').length > 0 || m.state() === 'pending' || m.state() === 'queued',
        moduleErrors: m.errors().length,
      };
    });
    const otherErrors = errors.filter((e) => !describeChain(e).includes('Worker exited unexpectedly')).map((e) => describeChain(e));
    writeFileSync(out, JSON.stringify({ workerDied, otherErrors, files }, null, 1));
  }
}

function describeChain(error: SerializedError | undefined): string {
  const parts: string[] = [];
  for (let e: SerializedError | undefined = error, depth = 0; e && depth < 5; e = e.cause as SerializedError | undefined, depth++) parts.push(String(e.message));
  return parts.join(' ← ');
}
