// Parent/child plumbing of the load benches: each server or group of peers runs in its own Node
// process (so its CPU and memory are its own, and @roamhq/wrtc's crashes stay contained), driven
// by request/reply messages over the IPC channel.
import { execFileSync, spawn } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import { exitNodeProcess } from 'sealcall';

/**
 * The soft and hard limits on open files of processes started from here (`ulimit -n`). Node
 * raises its own soft limit to the hard one at startup, so children inherit the hard limit.
 */
export function fdLimits() {
  try {
    const read = (flag) => execFileSync('sh', ['-c', `ulimit ${flag} -n`], { encoding: 'utf8' }).trim();
    const parse = (v) => (v === 'unlimited' ? Infinity : Number(v));
    return { soft: parse(read('-S')), hard: parse(read('-H')) };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

/**
 * Starts `script` in a new Node process with an IPC channel. With `minFds`, the child's soft
 * open-file limit is raised to at least that (up to the hard limit; beyond it, this throws).
 * Returns `{ request(type, payload, timeoutMs), exited, kill(), pid }`.
 */
export function startChild(script, { args = [], execArgv = [], minFds = 0, env = {}, label = script } = {}) {
  const limits = fdLimits();
  let command = process.execPath;
  let argv = [...execArgv, script, ...args];
  if (minFds > 0 && !(limits.soft >= minFds)) {
    if (!(limits.hard >= minFds)) {
      throw new Error(`${label} needs ${minFds} open files but the hard limit (ulimit -Hn) is ${limits.hard}`);
    }
    // Raise the soft limit for this child only, then exec node (the IPC fd survives the exec).
    argv = ['-c', `ulimit -S -n ${minFds} && exec "$0" "$@"`, process.execPath, ...argv];
    command = 'sh';
  }
  const child = spawn(command, argv, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const pending = new Map();
  let nextId = 0;
  let exitInfo;
  // 'close', not 'exit': a child's last reply may still be in the IPC channel when 'exit' fires
  // ('close' comes once the channel and stdio are drained too).
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      exitInfo = { code, signal };
      for (const { reject, timer } of pending.values()) {
        clearTimeout(timer);
        reject(new Error(`${label} exited (${signal ?? `code ${code}`}) before replying`));
      }
      pending.clear();
      resolve(exitInfo);
    });
  });
  // A send on a channel that just closed is reported here; its request is rejected at 'close'.
  child.on('error', () => {});
  child.on('message', (message) => {
    const waiter = pending.get(message?.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error) waiter.reject(new Error(`${label}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  return {
    pid: child.pid,
    exited,
    /** Sends a request and resolves with the child's result (rejects on its error, exit or timeout). */
    request(type, payload = {}, timeoutMs = 60_000) {
      if (exitInfo) return Promise.reject(new Error(`${label} already exited (${exitInfo.signal ?? `code ${exitInfo.code}`})`));
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${label}: no reply to ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.send({ id, type, payload });
      });
    },
    /** Ends the child if it is still running (by its pid only). */
    kill() {
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * In a child: answers the parent's requests with `handlers[type](payload)` (sync or async). The
 * process exits when the parent goes away. A handler may return `{ [EXIT]: code, ...result }` to
 * exit right after its reply is sent.
 */
export const EXIT = Symbol('exit');

export function serve(handlers) {
  if (!process.send) throw new Error('serve() needs an IPC channel (start the script with startChild)');
  process.on('disconnect', () => exitNodeProcess(0));
  process.on('message', async ({ id, type, payload }) => {
    let reply;
    let exitCode;
    try {
      const handler = handlers[type];
      if (!handler) throw new Error(`unknown request ${type}`);
      const result = await handler(payload);
      if (result && typeof result === 'object' && EXIT in result) {
        exitCode = result[EXIT];
        delete result[EXIT];
      }
      reply = { id, result };
    } catch (error) {
      reply = { id, error: error?.stack ?? String(error) };
    }
    process.send(reply, () => {
      // @roamhq/wrtc crashes at a natural exit after audio sources existed (see exitNodeProcess).
      if (exitCode !== undefined) void exitNodeProcess(exitCode);
    });
  });
}

/**
 * What every child reports about itself: memory (with the size of V8's young generation, which
 * V8 grows as allocation speeds up), CPU time and open handles.
 */
export function processSample({ gc = false } = {}) {
  if (gc) {
    if (typeof globalThis.gc !== 'function') throw new Error('start the child with --expose-gc to sample after GC');
    // Several passes: the first frees objects whose finalizers free more.
    for (let i = 0; i < 4; i++) globalThis.gc();
  }
  const handles = process.getActiveResourcesInfo();
  return {
    at: performance.timeOrigin + performance.now(),
    memory: process.memoryUsage(),
    newSpace: getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0,
    cpu: process.cpuUsage(),
    handles: handles.length,
    handleTypes: countBy(handles),
  };
}

function countBy(list) {
  const out = {};
  for (const item of list) out[item] = (out[item] ?? 0) + 1;
  return out;
}
