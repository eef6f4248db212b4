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

/** CLI processes started and not yet exited. */
export const cliProcesses = new Set<CliProcess>();

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
