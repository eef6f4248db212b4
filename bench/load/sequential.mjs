// Runs bench/load/sequential-calls.mjs in a fresh process with --expose-gc (and, for
// `network: 'relay'`, a relay in another), and summarizes heap growth and handles.
import { fileURLToPath } from 'node:url';
import { startChild } from './child.mjs';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const CALLS = fileURLToPath(new URL('./sequential-calls.mjs', import.meta.url));

export async function runSequentialCalls(options = {}) {
  const o = { calls: 200, every: 50, warmup: 3, network: 'memory', clientOptions: {}, ...options };
  const relay = o.network === 'relay' ? startChild(SERVER, { args: ['relay'], execArgv: ['--expose-gc'], label: 'relay' }) : undefined;
  const child = startChild(CALLS, { execArgv: ['--expose-gc'], label: 'sequential calls' });
  try {
    const url = relay ? (await relay.request('start', {})).url : undefined;
    const result = await child.request('run', { ...o, log: undefined, url }, o.timeoutMs ?? 600_000);
    await child.request('close');
    const exit = await child.exited;
    let relayStats;
    if (relay) {
      relayStats = (await relay.request('sample')).stats;
      await relay.request('close');
      await relay.exited;
    }
    const [first] = result.checkpoints;
    const last = result.checkpoints[result.checkpoints.length - 1];
    return {
      ...result,
      exit,
      relayStats,
      heapGrowth: last.heapUsed - first.heapUsed,
      heapGrowthPerCall: (last.heapUsed - first.heapUsed) / result.calls,
      rssGrowth: last.rss - first.rss,
      handleGrowth: last.handles - first.handles,
    };
  } finally {
    await child.kill();
    await relay?.kill();
  }
}
