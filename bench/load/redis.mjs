// A redis-server for the load bench's `redis` mode, as test/helpers/redis-server.ts starts one for
// the tests: Debian's `redis-server` on 127.0.0.1, on a free port, in a temporary directory of its
// own, persisting nothing (`--save '' --appendonly no`). Its CPU time and RSS are read from /proc,
// so the bench can count them with the relay's.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STARTUP_TIMEOUT_MS = 10_000;

/** redis-server's version (e.g. "7.0.15"), or undefined when there is no usable `redis-server` on the PATH. */
export function redisServerVersion() {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
}

/**
 * Starts redis-server and resolves once it answers PING. Returns `{ pid, url, sample(), stop() }`:
 * `sample()` reads its CPU time (user + system, ms) and RSS (bytes) now; `stop()` ends it (SIGTERM,
 * SIGKILL after 3 s) and deletes its directory.
 */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'sealcall-bench-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let failed;
  const collect = (chunk) => (output = (output + chunk).slice(-100_000));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.once('error', (error) => (failed ??= error));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      failed ??= new Error(`redis-server exited (${signal ?? `code ${code}`})`);
      resolve();
    }),
  );
  // Should this process die first, redis-server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Ready when this child says so (not some other process that took the port) and PING is answered.
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!(output.includes('Ready to accept connections') && (await pong(port)))) {
      if (failed) throw failed;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (error) {
    await stop();
    throw new Error(`${error.message}\n--- redis-server's output ---\n${output}`);
  }
  return { pid: child.pid, url: `redis://127.0.0.1:${port}`, sample: () => procSample(child.pid), stop };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();

/** A process's CPU time (utime + stime of /proc/<pid>/stat, in ms) and RSS (VmRSS, bytes), now. */
function procSample(pid) {
  // Fields after the command name (in parentheses, which may hold spaces): state is field 3,
  // utime field 14, stime field 15.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').at(-1).trim().split(' ');
  const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { at: performance.timeOrigin + performance.now(), cpuMs: (ticks * 1000) / CLOCK_TICKS, rss: rssKiB * 1024 };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True once the server on 127.0.0.1:port answers a PING with +PONG (not LOADING, not some other program). */
function pong(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
