/**
 * What a new user runs first: the README's Node example (examples/call.mjs, shown verbatim in
 * the README), `npm run demo`, and the clean way for a Node process to end. `npm test` builds
 * dist/ before vitest runs; alone, run `npx tsup --silent` first.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** Runs a command to its end; the output and how it ended. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', NODE_OPTIONS: '' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, output });
    });
  });
}

describe("the README's Node example", () => {
  const source = readFileSync(join(ROOT, 'examples/call.mjs'), 'utf8');

  it('is examples/call.mjs, shown whole in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${source}\`\`\``);
  });

  it('places a call that connects and hangs up, and exits 0', { timeout: 60_000 }, async () => {
    const { code, signal, output } = await run(process.execPath, ['examples/call.mjs'], 50_000);
    expect(output).toContain('alice: connected');
    expect(output).toContain('alice: ended (hangup)');
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
  });
});

describe('exitNodeProcess', () => {
  // A process that made an @roamhq/wrtc audio source, as every call with audio does.
  const script = (ending: string) => `
    import wrtc from '@roamhq/wrtc';
    import { exitNodeProcess } from 'sealcall';
    globalThis.source = new wrtc.nonstandard.RTCAudioSource();
    globalThis.source.createTrack().stop();
    process.stdout.write('x'.repeat(200_000) + 'end\\n');
    ${ending}`;

  it('ends with the given code, after stdout has flushed', async () => {
    const { code, signal, output } = await run(process.execPath, ['--input-type=module', '-e', script('await exitNodeProcess(3);')], 20_000);
    expect({ code, signal }).toEqual({ code: 3, signal: null });
    expect(output).toContain('x'.repeat(1000) + 'end');
  });

  it('defaults to process.exitCode', async () => {
    const { code } = await run(process.execPath, ['--input-type=module', '-e', script('process.exitCode = 4; await exitNodeProcess();')], 20_000);
    expect(code).toBe(4);
  });

  it('is needed: the same process ending on its own is killed by SIGSEGV (@roamhq/wrtc 0.10; drop the helper once this fails)', async () => {
    const { code, signal } = await run(process.execPath, ['--input-type=module', '-e', script('')], 20_000);
    expect(signal ?? code).toSatisfy((ending: unknown) => ending === 'SIGSEGV' || ending === 139);
  });
});

describe('npm run demo', () => {
  it('builds, places a call between two peer processes over a local relay, both hear the right tone, exit 0', { timeout: 120_000 }, async () => {
    const { code, signal, output } = await run('npm', ['run', '--silent', 'demo'], 110_000);
    expect(output).toMatch(/alice heard\s+(8[0-9]{2}|9[0-6][0-9]) Hz/);
    expect(output).toMatch(/bob heard\s+(4[0-8][0-9]) Hz/);
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
  });
});
