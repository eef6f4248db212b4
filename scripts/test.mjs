// `npm test`'s runner: vitest over every test file, then, only when a test file lost its worker
// process to a native crash (vitest: "Worker exited unexpectedly", no JavaScript error; seen
// rarely with @roamhq/wrtc), that file alone once more, saying so. A failed assertion, a
// failed hook or any other error is never re-run. Arguments go to vitest; the re-run keeps
// only `--config`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'sealcall-test-'));
const vitest = (args, report) =>
  spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args], {
    stdio: 'inherit',
    env: { ...process.env, SEALCALL_CRASH_REPORT: report },
  }).status ?? 1;
const read = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
};

const args = process.argv.slice(2);
// The re-run keeps the config of the first run (`--config F` or `--config=F`) and names the file.
const configAt = args.findIndex((a) => a === '--config' || a.startsWith('--config='));
const config = configAt < 0 ? [] : args[configAt].includes('=') ? [args[configAt]] : args.slice(configAt, configAt + 2);

let code = vitest(args, join(dir, 'first.json'));
const first = read(join(dir, 'first.json'));
if (code !== 0 && first?.workerDied) {
  const crashed = first.files.filter((f) => f.unfinished).map((f) => relative(process.cwd(), f.file));
  const otherFailures = first.files.some((f) => f.failed.length > 0 || f.moduleErrors > 0) || first.otherErrors.length > 0;
  if (otherFailures || crashed.length === 0) {
    console.error('\nsealcall tests: failures besides a crashed worker; nothing is re-run.');
  } else {
    console.error(
      `\nsealcall tests: the worker process running ${crashed.join(', ')} died without a JavaScript error ` +
        '(a native crash, as @roamhq/wrtc rarely does); re-running it once (nothing else failed).\n',
    );
    code = vitest([...config, ...crashed], join(dir, 'rerun.json'));
    console.error(`\nsealcall tests: the re-run of ${crashed.join(', ')} ${code === 0 ? 'passed' : 'failed'}.`);
  }
}
rmSync(dir, { recursive: true, force: true });
process.exit(code);
