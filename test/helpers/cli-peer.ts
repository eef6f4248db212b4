import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** The built CLI (`npx tsup` / `npm test` build it first). */
export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** One JSON line a `sealcall … --json` process printed. */
export type CliEvent = { event: string } & Record<string, unknown>;

/**
 * A `sealcall` CLI process (`node dist/cli.js …`) whose JSON event lines can be awaited, and
 * which a test can kill like a crash (SIGKILL). Every process is tracked in {@link cliProcesses}
 * so `afterEach` can make sure none outlives its test.
 */
export class CliProcess {
  readonly events: CliEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly pid: number | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { match: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  private stderrText = '';

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    cliProcesses.add(this);
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => {
        cliProcesses.delete(this);
        done({ code, signal });
      }),
    );
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const event = JSON.parse(line) as CliEvent;
      this.events.push(event);
      for (const w of this.waiters.filter((w) => w.match(event))) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(event);
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderrText.length < 10_000) this.stderrText += chunk.toString();
    });
    this.child.stdin.on('error', () => {}); // writing to a killed process
  }

  /** What the process wrote to stderr (for failure messages). */
  get stderr(): string {
    return this.stderrText;
  }

  /** The first event of `kind` (already printed or future) matching `where`; rejects after `timeoutMs`. */
  next(kind: string, where: (e: CliEvent) => boolean = () => true, timeoutMs = 20_000): Promise<CliEvent> {
    const match = (e: CliEvent) => e.event === kind && where(e);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no "${kind}" event within ${timeoutMs} ms; stderr: ${this.stderrText.slice(0, 500)}`));
      }, timeoutMs);
      const done = (e: CliEvent) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** Writes one command line to the process's stdin. */
  send(line: string): void {
    if (this.running) this.child.stdin.write(`${line}\n`);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` (default SIGTERM) to this process only, if it still runs. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }
}

/** Width of the pseudo-terminal a {@link TextCliProcess} runs in. */
export const TERMINAL_COLUMNS = 120;

/**
 * A `sealcall` CLI process read as text, as a person would see it (no `--json`): in a real
 * pseudo-terminal with `pty` (util-linux `script` opens it, no native module needed), else with
 * its output in a pipe. Its output, escape sequences included, can be awaited; keys are typed
 * into its stdin. Tracked in {@link cliProcesses} too.
 */
export class TextCliProcess {
  /** Everything the process wrote to stdout so far, as written (in a pty: `\r\n`, ANSI sequences). */
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { check: () => boolean }[] = [];

  constructor(args: string[], { pty }: { pty: boolean }) {
    const words = [process.execPath, CLI, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`);
    // A new pty has no size (0 columns): give it a common one. `exec`: the CLI replaces script's
    // shell, so it is the pty's process and ends with script.
    const inPty = `stty cols ${TERMINAL_COLUMNS} rows 40 && exec ${words.join(' ')}`;
    const [file, argv] = pty
      ? ['script', ['--quiet', '--flush', '--return', '--command', inPty, '/dev/null']]
      : [process.execPath, [CLI, ...args]];
    this.child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm-256color' } });
    cliProcesses.add(this);
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => {
        cliProcesses.delete(this);
        done({ code, signal });
      }),
    );
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.output += text;
      this.waiters = this.waiters.filter((w) => !w.check());
    });
    this.child.stderr.resume();
    this.child.stdin.on('error', () => {}); // typing into a terminal that is gone
  }

  /**
   * Waits until `pattern` matches the output from offset `from` on; resolves with the match
   * (its `index` counts from the start of the output). Rejects after `timeoutMs`.
   */
  waitFor(pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<RegExpExecArray> {
    const find = () => {
      const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(this.output.slice(from));
      if (match) match.index += from;
      return match;
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${String(pattern)} within ${timeoutMs} ms; output ends: ${JSON.stringify(this.output.slice(-600))}`));
      }, timeoutMs);
      const waiter = {
        check: () => {
          const match = find();
          if (!match) return false;
          clearTimeout(timer);
          resolve(match);
          return true;
        },
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  /** Types into stdin (in a pty, a command ends with "\r", the Enter key). */
  type(keys: string): void {
    if (this.running) this.child.stdin.write(keys);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to the process (`script` ends the CLI in its terminal and waits for it). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }
}

/** CLI processes started and not yet exited. */
export const cliProcesses = new Set<CliProcess | TextCliProcess>();

/** Stops every CLI process still running (SIGTERM, then SIGKILL after `graceMs`) and waits for each. */
export async function stopCliProcesses(graceMs = 3000): Promise<void> {
  await Promise.all(
    [...cliProcesses].map(async (p) => {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(timer);
    }),
  );
}
