// Relay under load: one relay process, many WebSocket clients in another (or several: clientProcesses;
// see server.mjs, clients.mjs and client-group.mjs), and the same traffic through a bare `ws` forwarder as the baseline and, with
// `redis`, through the same relay keeping its queues in a redis-server started for that run;
// with `sharedConnection`, through the same relay again for clients that send on their receive
// connection (closed loop only: what the separate send connection costs).
//
// For each server: memory per idle subscribed client (server heap and RSS after GC, before and
// after connecting them all; a relay client idles with its receive connection only, as a
// WebSocketTransport that has not sent yet), then the relay clients open their send connections
// (memory sampled again), then for each body size a closed-loop phase (every ring link keeps
// `window` messages in flight: the saturated throughput) and an open-loop phase at `pacedFraction`
// of the relay's saturated rate, or of the server's own if that is lower (latency under a steady
// load the server can carry; with `ownHalfLoad`, the baseline again at that share of its own
// saturated rate), then the server's state once the traffic stopped. In the `redis`
// mode redis-server's CPU time (over the same windows) and RSS are sampled too.
//
// LOAD_SERVER_ARGS adds Node flags to the server process, e.g. LOAD_SERVER_ARGS='--cpu-prof' to
// see where the relay's time goes; LOAD_CLIENT_ARGS, to the client process.
import { fileURLToPath } from 'node:url';
import { fdLimits, startChild } from './child.mjs';
import { clientGroup } from './client-group.mjs';
import { redisServerVersion, startRedis } from './redis.mjs';
import { summarize } from '../stats.mjs';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const CLIENTS = fileURLToPath(new URL('./clients.mjs', import.meta.url));

/** Bytes WebSocketTransport adds to every envelope (the sealed-sender header): a relay body is envelope + this. */
export const SEALED_SENDER_BYTES = 80;

const DEFAULTS = {
  clients: 1000,
  // sealcall's envelope length (DEFAULT_ENVELOPE_BYTES), and the smallest a small transport may force.
  envelopes: [512, 3072],
  window: 1,
  warmupMs: 1000,
  durationMs: 3000,
  pacedFraction: 0.5,
  /** A fixed open-loop rate (msg/s) for every server instead of `pacedFraction`, for A/B runs of a change (no `p99OwnRate` then); 0: none. */
  pacedRate: 0,
  pacedWarmupMs: 500,
  /**
   * Saturated traffic (closed loop, not measured) each server carries right before each of its
   * open-loop phases, in ms; 0: none. While the other servers take their turns a server sits idle
   * (20 s and more), and V8 shrinks a process's young generation (down to 1 MiB) when it collects
   * garbage after a stretch of allocating little: during such a pause (a heartbeat's pings) or at
   * the first collection after it. At half load it grows back over seconds, as objects survive, so
   * a phase would measure a server that has just woken up. In driver runs without this, the
   * relay's p99 at half load was 5.9 to 57.9 ms over four rounds, its young generation shrunk and
   * regrowing in all but the first; after 3 s of saturated traffic it was at full size at the
   * start of every window. Each phase reports the server's young generation at both ends.
   */
  pacedPrimeMs: 3000,
  /**
   * How often the open loop sends what is due (ms; 1 is Node's finest timer). Each tick's messages
   * leave together and reach the server as one burst, which independent clients would not make,
   * and the relay answers a burst once it has read all of it. In two driver runs of 5 rounds at
   * about 12,000 msg/s, 2 ms ticks gave the relay a p50 of 0.86 ms and a p99 of 9.2 ms, 1 ms ticks
   * 0.59 and 3.9 ms (the baseline's p99: 1.7 and 1.5 ms).
   */
  pacedTickMs: 1,
  // Ten seconds: a p99 over three was set by one or two stalls of the shared machine, and moved
  // between rounds by a factor of five.
  pacedDurationMs: 10_000,
  /** Extra open-loop phase of this length on the relay only (a soak); 0: none. */
  soakMs: 0,
  soakRate: 0,
  baseline: true,
  /**
   * Traffic rounds, each taking every server in turn; figures are the median round's. Five, as
   * single rounds on this shared 2-core machine move by 20 points and more.
   */
  rounds: 5,
  /** Also run the relay with its queues in Redis (`redisUrl`), if there is a redis-server: bench.mjs does; tests leave it off. */
  redis: false,
  /**
   * Also run the relay with clients that send on their receive connection (mode `shared`), closed
   * loop only: a diagnostic of what the separate send connection costs. WebSocketTransport never
   * sends that way (it would let the relay link a sender to its queue). bench.mjs does; tests leave it off.
   */
  sharedConnection: false,
  relayOptions: {},
  /**
   * Also pace the baseline at `pacedFraction` of its own saturated rate (`pacedOwn`), besides the
   * relay's rate. bench.mjs does; tests leave it off.
   */
  ownHalfLoad: false,
  /**
   * Processes the clients are spread over, each a ring of its own with its share of the traffic
   * (client-group.mjs). More than one: less of the latency is the clients queueing behind each
   * other in one event loop, but on 2 cores a third busy process takes CPU from the server.
   */
  clientProcesses: 1,
  /** Relay clients open their send connections after the idle memory sample (false: memory only, no traffic after). */
  openSenders: true,
};

/**
 * Runs the whole relay load bench; resolves with the figures (see the returned object). Every
 * child is ended before it resolves or rejects.
 */
export async function runRelayLoad(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const log = o.log ?? (() => {});
  const limits = fdLimits();
  // A relay client has two connections (receive and send): two sockets per client in each process
  // (one in a memory-only run without send connections).
  const minFds = (o.openSenders ? 2 : 1) * o.clients + 256;
  const out = { options: { ...o, log: undefined }, fdLimits: limits, minFds, servers: {} };
  const modes = ['relay'];
  if (o.baseline) modes.push('baseline');
  if (o.sharedConnection) modes.push('shared');
  if (o.redis) {
    // { version } of the redis-server used, or { missing: true }: then the `redis` mode is skipped.
    const version = redisServerVersion();
    out.redis = version ? { version } : { missing: true };
    if (version) modes.push('redis');
    else log('redis: no redis-server on the PATH, skipping the Redis-store relay');
  }
  const running = {};
  try {
    // Every server is set up first and stays up, idle, while the others run: the traffic phases
    // then take the servers in turn, round after round, so that a change in the machine's load
    // (it is shared, and the ratios moved by 20 points between runs when each server ran alone
    // a minute apart) weighs on every server alike. Each figure is the median round's.
    for (const mode of modes) running[mode] = await setUp(mode, o, minFds, log);
    out.comparisons = {};
    for (const envelope of o.envelopes) {
      const bodyBytes = envelope + SEALED_SENDER_BYTES;
      const closed = await rounds(modes, o.rounds, (mode) =>
        measured(running[mode], 'closed', { bodyBytes, window: o.window, warmupMs: o.warmupMs, durationMs: o.durationMs }),
      );
      // The relay's paced rate for every server, unless it is more than `pacedFraction` of this
      // server's own saturated rate (the Redis store's may be): then that, a load it can carry.
      const own = (mode) => Math.max(100, Math.round(summarize(closed[mode].map((c) => c.messagesPerSecond)).median * o.pacedFraction));
      const rate = (mode) => o.pacedRate || Math.min(own('relay'), own(mode));
      const pacedModes = modes.filter((mode) => mode !== 'shared');
      // `baselineOwn`: the baseline again, at `pacedFraction` of its own saturated rate, so that
      // each server's latency at the same share of what it can carry is on record too.
      if (o.ownHalfLoad && o.baseline) pacedModes.splice(pacedModes.indexOf('baseline') + 1, 0, 'baselineOwn');
      const server = (key) => (key === 'baselineOwn' ? 'baseline' : key);
      const pacedRate = (key) => (key === 'baselineOwn' ? own('baseline') : rate(key));
      const paced = await rounds(pacedModes, o.rounds, async (key) => {
        const { clients } = running[server(key)];
        if (o.pacedPrimeMs > 0) await clients.request('closed', { bodyBytes, window: o.window, warmupMs: 0, durationMs: o.pacedPrimeMs });
        return measured(running[server(key)], 'paced', { bodyBytes, rate: pacedRate(key), warmupMs: o.pacedWarmupMs, durationMs: o.pacedDurationMs, tickMs: o.pacedTickMs });
      });
      for (const mode of modes) {
        const c = medianRound(closed[mode], (r) => r.messagesPerSecond);
        const p = paced[mode] && medianRound(paced[mode], (r) => r.latencyMs.p99);
        const pOwn = mode === 'baseline' && paced.baselineOwn && medianRound(paced.baselineOwn, (r) => r.latencyMs.p99);
        running[mode].result.phases.push({
          envelope,
          bodyBytes,
          closed: c,
          ...(p && { paced: { ...p, rate: rate(mode) } }),
          ...(pOwn && { pacedOwn: { ...pOwn, rate: own(mode) } }),
        });
        log(
          `${mode}, ${bodyBytes} B bodies: saturated ${Math.round(c.messagesPerSecond)} msg/s (rounds: ${c.rounds.map(Math.round).join(', ')}; ` +
            `${(c.bytesPerSecond / 2 ** 20).toFixed(1)} MiB/s, p50 ${c.latencyMs.p50?.toFixed(1)} ms, server CPU ${pct(c.serverCpu)}${running[mode].redis ? ` + Redis ${pct(c.redisCpu)}` : ''}, clients CPU ${pct(c.clientCpu)})` +
            (p ? `; at ${rate(mode)} msg/s: p50 ${p.latencyMs.p50?.toFixed(2)} ms, p99 ${p.latencyMs.p99?.toFixed(2)} ms (rounds: ${p.rounds.map((x) => x.toFixed(2)).join(', ')})` : '') +
            (pOwn ? `; at ${own(mode)} msg/s: p50 ${pOwn.latencyMs.p50?.toFixed(2)} ms, p99 ${pOwn.latencyMs.p99?.toFixed(2)} ms (rounds: ${pOwn.rounds.map((x) => x.toFixed(2)).join(', ')})` : ''),
        );
      }
      // Each round's ratio to the baseline's in the same round (run moments apart).
      if (o.baseline) {
        const perRound = (mode, phases, value) => phases[mode].map((r, i) => value(r) / value(phases.baseline[i]));
        out.comparisons[envelope] = Object.fromEntries(
          modes
            .filter((mode) => mode !== 'baseline')
            .map((mode) => [
              mode,
              { throughput: perRound(mode, closed, (r) => r.messagesPerSecond), ...(paced[mode] && { p99: perRound(mode, paced, (r) => r.latencyMs.p99) }) },
            ]),
        );
        // The relay's paced rate is its own `pacedFraction` (unless `pacedRate` fixed it): against the baseline at its own.
        if (paced.baselineOwn && !o.pacedRate) out.comparisons[envelope].relay.p99OwnRate = paced.relay.map((r, i) => r.latencyMs.p99 / paced.baselineOwn[i].latencyMs.p99);
      }
    }
    if (o.soakMs > 0) running.relay.result.soak = await soak(running.relay, o, log);
    for (const mode of modes) out.servers[mode] = await tearDown(running[mode]);
    return out;
  } finally {
    for (const child of Object.values(running)) await child.kill();
  }
}

/** `measure(mode)` for every mode in turn, `count` times over; each mode's results in round order. */
async function rounds(modes, count, measure) {
  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let round = 0; round < count; round++) for (const mode of modes) results[mode].push(await measure(mode));
  return results;
}

/** The round whose `value` is the median (the lower middle of an even count), with every round's value and young generation. */
function medianRound(results, value) {
  const sorted = [...results].sort((a, b) => value(a) - value(b));
  return { ...sorted[(sorted.length - 1) >> 1], rounds: results.map(value), serverNewSpaceAtStart: results.map((r) => r.serverNewSpace.start) };
}

/**
 * Starts one mode's server and clients, connects the clients (memory sampled on the way) and opens
 * the relay clients' send connections. Returns what the phases and {@link tearDown} need.
 */
async function setUp(mode, o, minFds, log) {
  const flags = (name) => process.env[name]?.split(' ').filter(Boolean) ?? [];
  // The `redis` mode is the relay with a Redis store: the same server and clients.
  const redis = mode === 'redis' ? await startRedis() : undefined;
  const options = redis ? { ...o.relayOptions, redisUrl: redis.url } : o.relayOptions;
  const clientMode = mode === 'redis' ? 'relay' : mode;
  const server = startChild(SERVER, { args: [mode], execArgv: ['--expose-gc', ...flags('LOAD_SERVER_ARGS')], minFds, label: `${mode} server` });
  const clients = clientGroup(
    Array.from({ length: o.clientProcesses }, (_, i) =>
      startChild(CLIENTS, { args: [clientMode], execArgv: ['--expose-gc', ...flags('LOAD_CLIENT_ARGS')], minFds, label: `${mode} clients${o.clientProcesses > 1 ? ` ${i + 1}` : ''}` }),
    ),
  );
  const kill = async () => {
    await clients.kill();
    await server.kill();
    await redis?.stop();
  };
  try {
    const { url } = await server.request('start', { options });
    const empty = await server.request('sample', { gc: true });
    const redisEmpty = redis?.sample();
    // Half the clients first: the second half's cost is what each further client adds, without
    // the one-time growth the first connections cause.
    const half = Math.floor(o.clients / 2);
    const firstHalf = await clients.request('connect', { url, count: half }, 120_000);
    const halfway = await server.request('sample', { gc: true });
    const secondHalf = await clients.request('connect', { url, count: o.clients }, 120_000);
    const connect = { clients: secondHalf.clients, ms: firstHalf.ms + secondHalf.ms };
    const idle = await server.request('sample', { gc: true });
    const redisIdle = redis?.sample();
    const idleClients = await clients.request('sample', { gc: true });
    const perClient = (key, after = idle) => (after.memory[key] - empty.memory[key]) / o.clients;
    // Relay: every client opens its send connection (WebSocketTransport does at its first send).
    const senders = o.openSenders ? await clients.request('senders', {}, 120_000) : { connections: 0, ms: 0 };
    const active = o.openSenders ? await server.request('sample', { gc: true }) : idle;
    const result = {
      connect,
      connectedAtServer: idle.stats.connections,
      idle: {
        clients: o.clients,
        empty: empty.memory,
        idle: idle.memory,
        perClient: {
          rss: perClient('rss'),
          heapUsed: perClient('heapUsed'),
          external: perClient('external'),
          arrayBuffers: perClient('arrayBuffers'),
        },
        /** Per client of the second half: what each further client adds. */
        marginal: {
          clients: o.clients - half,
          rss: (idle.memory.rss - halfway.memory.rss) / (o.clients - half),
          heapUsed: (idle.memory.heapUsed - halfway.memory.heapUsed) / (o.clients - half),
          external: (idle.memory.external - halfway.memory.external) / (o.clients - half),
        },
        newSpace: { empty: empty.newSpace, idle: idle.newSpace },
        clientProcessRss: idleClients.memory.rss,
      },
      senders: {
        ...senders,
        connectedAtServer: active.stats.connections,
        memory: active.memory,
        perClient: {
          rss: perClient('rss', active),
          heapUsed: perClient('heapUsed', active),
          external: perClient('external', active),
          arrayBuffers: perClient('arrayBuffers', active),
        },
      },
      phases: [],
    };
    if (redis) {
      // redis-server's RSS with no client and with the idle clients (their queues live there).
      result.redis = {
        rss: { empty: redisEmpty.rss, idle: redisIdle.rss },
        rssPerIdleClient: (redisIdle.rss - redisEmpty.rss) / o.clients,
      };
    }
    log(
      `${mode}: ${o.clients} clients connected in ${(connect.ms / 1000).toFixed(1)} s; per idle client ` +
        `heap ${(result.idle.perClient.heapUsed / 1024).toFixed(1)} KiB, rss ${(result.idle.perClient.rss / 1024).toFixed(1)} KiB` +
        (clientMode === 'relay' && o.openSenders
          ? `; with send connections (${senders.connections} in all, ${(senders.ms / 1000).toFixed(1)} s) heap ${(result.senders.perClient.heapUsed / 1024).toFixed(1)} KiB, rss ${(result.senders.perClient.rss / 1024).toFixed(1)} KiB`
          : ''),
    );
    return { server, clients, redis, result, kill };
  } catch (error) {
    await kill();
    throw error;
  }
}

/** An open-loop phase on the relay alone, for `soakMs`, with its heap and RSS before and after. */
async function soak(running, o, log) {
  const before = await running.server.request('sample', { gc: true });
  const phase = await measured(
    running,
    'paced',
    { bodyBytes: o.envelopes[0] + SEALED_SENDER_BYTES, rate: o.soakRate || running.result.phases[0].paced.rate, warmupMs: 0, durationMs: o.soakMs },
    o.soakMs + 60_000,
  );
  const after = await running.server.request('sample', { gc: true });
  log(`relay soak: ${phase.delivered} messages in ${(phase.elapsedMs / 1000).toFixed(0)} s, heap ${mib(before.memory.heapUsed)} → ${mib(after.memory.heapUsed)} MiB`);
  return { ...phase, heapBefore: before.memory.heapUsed, heapAfter: after.memory.heapUsed, rssBefore: before.memory.rss, rssAfter: after.memory.rss };
}

/** Ends one mode's clients and server, once everything is answered; returns its result, complete. */
async function tearDown({ server, clients, result, kill }) {
  try {
    // Clients first, once every request has its reply (the last acks' `ok`s): the relay has then
    // handled everything they sent.
    const clientTotals = (await clients.request('sample', { settle: true }, 30_000)).totals;
    const afterTraffic = await server.request('sample', { gc: true });
    const closing = await clients.request('close', {}, 30_000);
    await clients.exited;
    // The server sees each close on its own schedule: wait (bounded) until it counts none.
    const deadline = Date.now() + 10_000;
    let final = await server.request('sample');
    while (final.stats.connections > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      final = await server.request('sample');
    }
    result.afterTraffic = { memory: afterTraffic.memory, stats: afterTraffic.stats, handles: afterTraffic.handles };
    result.clientTotals = clientTotals;
    result.closing = { ...closing, serverConnections: final.stats.connections };
    await server.request('close', {}, 30_000);
    await server.exited;
    return result;
  } finally {
    await kill();
  }
}

/**
 * Runs a traffic phase and samples the server's CPU over (about) the phase's measurement window;
 * with `redis`, redis-server's CPU too (`redisCpu`, share of one core).
 */
async function measured({ server, clients, redis }, kind, params, timeoutMs = 120_000) {
  let first;
  let second;
  const sample = () => ({ server: server.request('sample'), redis: redis?.sample() });
  const timers = [
    setTimeout(() => (first = sample()), params.warmupMs),
    setTimeout(() => (second ??= sample()), params.warmupMs + params.durationMs),
  ];
  try {
    const result = await clients.request(kind, params, timeoutMs);
    // The clients' window may close a moment before this process's timer: sample now then.
    second ??= sample();
    const [a, b] = await Promise.all([first?.server, second.server]);
    const share = (key) => (a && b ? (b.cpu[key] - a.cpu[key]) / 1000 / (b.at - a.at) : NaN);
    // User space (JavaScript, msgpack, crypto) and the kernel (socket reads and writes) apart too.
    const cpu = { serverCpu: share('user') + share('system'), serverUserCpu: share('user'), serverSystemCpu: share('system') };
    // V8's young generation (bytes) when the window opened and closed: see `pacedPrimeMs`.
    const serverNewSpace = { start: a?.newSpace ?? NaN, end: b.newSpace };
    if (!redis) return { ...result, ...cpu, serverNewSpace };
    const [ra, rb] = [first?.redis, second.redis];
    const redisCpu = ra ? (rb.cpuMs - ra.cpuMs) / (rb.at - ra.at) : NaN;
    return { ...result, ...cpu, serverNewSpace, redisCpu };
  } finally {
    timers.forEach(clearTimeout);
  }
}

const pct = (x) => `${Math.round(x * 100)}%`;
const mib = (b) => (b / 2 ** 20).toFixed(1);
