import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/test.mjs (npm test's runner) re-runs a file once only when its worker died natively.
const dir = mkdtempSync(join(tmpdir(), 'sealcall-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(files: string[], env: Record<string, string> = {}): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, ['scripts/test.mjs', '--config', 'test/fixtures/runner/vitest.config.ts', ...files.map((f) => `test/fixtures/runner/${f}`)], {
    encoding: 'utf8',
    env: { ...process.env, ...env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: result.status, output: result.stdout + result.stderr };
}

describe('npm test runner', () => {
  it('re-runs a file whose worker died from a native signal once, says so, and passes when the re-run does', () => {
    const { code, output } = run(['crash.fixture.ts', 'pass.fixture.ts'], { SEALCALL_FIXTURE_MARKER: join(dir, 'crashed-once') });
    expect(output).toContain('the worker process running test/fixtures/runner/crash.fixture.ts died without a JavaScript error');
    expect(output).toContain('the re-run of test/fixtures/runner/crash.fixture.ts passed');
    expect(code).toBe(0);
  });

  it('fails when the re-run crashes again', () => {
    const { code, output } = run(['crash.fixture.ts']);
    expect(output).toContain('the re-run of test/fixtures/runner/crash.fixture.ts failed');
    expect(code).not.toBe(0);
  });

  it('never re-runs when an assertion failed', () => {
    const { code, output } = run(['crash.fixture.ts', 'fail.fixture.ts'], { SEALCALL_FIXTURE_MARKER: join(dir, 'crashed-once-2') });
    expect(output).toContain('failures besides a crashed worker; nothing is re-run');
    expect(output).not.toContain('re-running it once');
    expect(code).not.toBe(0);
  });

  it('passes through a green run untouched', () => {
    const { code, output } = run(['pass.fixture.ts']);
    expect(output).not.toContain('sealcall tests:');
    expect(code).toBe(0);
  });
});
