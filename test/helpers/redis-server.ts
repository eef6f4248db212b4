import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/**
 * A real Redis for tests: Debian's `redis-server` as a child process on 127.0.0.1, on a free
 * port, with a temporary directory of its own. By default nothing is persisted (`--save ''
 * --appendonly no`), so a killed server comes back empty; `persist: true` turns on the
 * append-only file, fsynced at every write, so {@link RedisServer.restart} after
 * {@link RedisServer.kill} finds every acknowledged write again.
 */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, for `Relay({ redisUrl })`. */
  readonly url: string;
  /** Kills the server at once (SIGKILL, like a crash) and waits until it has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (after {@link kill}). */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered, as with a hung host. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and deletes its directory. */
  stop(): Promise<void>;
  /** What the server printed so far, for a failing test's message. */
  log(): string;
}

export interface RedisServerOptions {
  /** Keep data across {@link RedisServer.kill} + {@link RedisServer.restart} (AOF, `appendfsync always`). */
  persist?: boolean;
}

const STARTUP_TIMEOUT_MS = 10_000;
const PING = '*1\r\n$4\r\nPING\r\n';

/** True once the server on 127.0.0.1:port answers a PING with +PONG (not LOADING, not some other program). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write(PING));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Starts `redis-server` and resolves once it answers PING. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sealcall-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--dir', dir, '--save', ''];
  args.push(...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  let output = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // Should the test process die first (or a timed-out test never reach stop()), redis-server
  // must not outlive it, nor its directory.
  const killOnExit = () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const launch = async () => {
    const proc = (child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-100_000);
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    let failed: string | undefined;
    exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        failed = `redis-server exited (${code ?? signal})`;
        resolve();
      }),
    );
    proc.once('error', (error) => (failed = String(error)));
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    // Ready when this child says so (not some other process that took the port after
    // freePort()) and PING is answered (not LOADING).
    while (!(output.includes('Ready to accept connections') && (await pong(port)))) {
      if (failed) throw new Error(failed);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const kill = async () => {
    if (running()) child!.kill('SIGKILL');
    await exited;
  };

  const stop = async () => {
    process.off('exit', killOnExit);
    if (running()) {
      child!.kill('SIGCONT'); // a paused server handles SIGTERM only once it runs
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const withLog = async (start: () => Promise<void>) => {
    try {
      await start();
    } catch (error) {
      await stop();
      throw new Error(`${(error as Error).message}\n--- redis-server's output ---\n${output}`);
    }
  };

  await withLog(launch);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill();
      await withLog(launch);
    },
    pause: () => void (running() && child!.kill('SIGSTOP')),
    resume: () => void (running() && child!.kill('SIGCONT')),
    stop,
    log: () => output,
  };
}
