// Concurrent calls through one relay: a relay process (server.mjs) and `processes` peer
// processes (call-peers.mjs) holding 2 × `calls` CallClients on WebSocketTransports, real
// @roamhq/wrtc media. Pair i's caller lives in process i mod P and its callee in the next one, so
// every call crosses processes and each process both calls and answers.
//
// First `baselineCalls` calls of pair 0 alone, one after another (setup time without
// contention, same relay, same processes), then all pairs call at once; the calls are held for
// `holdMs` with media flowing (CPU per process), then hung up, and everything is closed.
import { fileURLToPath } from 'node:url';
import { startChild } from './child.mjs';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const PEERS = fileURLToPath(new URL('./call-peers.mjs', import.meta.url));

const DEFAULTS = { calls: 20, processes: 2, baselineCalls: 3, holdMs: 2000, clientOptions: {}, timeoutMs: 60_000 };

const cpuOf = (a, b) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000 / (b.at - a.at);

/** Runs the scenario; resolves with the figures. Every child is ended before it settles. */
export async function runConcurrentCalls(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const log = o.log ?? (() => {});
  const relay = startChild(SERVER, { args: ['relay'], execArgv: ['--expose-gc'], label: 'relay' });
  const groups = Array.from({ length: o.processes }, (_, i) => startChild(PEERS, { label: `peers ${i}` }));
  const everyone = [relay, ...groups];
  try {
    const { url } = await relay.request('start', {});
    const pairs = Array.from({ length: o.calls }, (_, i) => ({
      caller: { name: `caller${i}`, group: i % o.processes },
      callee: { name: `callee${i}`, group: (i + 1) % o.processes },
    }));
    // Create every peer, then tell each its partner.
    const made = new Map();
    await Promise.all(
      groups.map(async (group, g) => {
        const names = pairs.flatMap((p) => [p.caller, p.callee]).filter((p) => p.group === g).map((p) => p.name);
        for (const peer of await group.request('create', { url, names, clientOptions: o.clientOptions }, 120_000)) made.set(peer.name, peer);
      }),
    );
    await Promise.all(
      groups.map((group, g) => {
        const links = {};
        for (const p of pairs) {
          if (p.caller.group === g) links[p.caller.name] = made.get(p.callee.name);
          if (p.callee.group === g) links[p.callee.name] = made.get(p.caller.name);
        }
        return group.request('contacts', { links });
      }),
    );
    await Promise.all(groups.map((group) => group.request('answer')));
    const incomingSoFar = groups.map(() => 0);

    /** One round: the given pairs call at once; resolves with each call's setup and the CPU used. */
    const round = async (roundPairs) => {
      const since = performance.timeOrigin + performance.now();
      const before = await Promise.all(everyone.map((c) => c.request('sample')));
      for (const p of roundPairs) incomingSoFar[p.callee.group]++;
      const results = await Promise.all(
        groups.map((group, g) => {
          const mine = roundPairs.filter((p) => p.caller.group === g).map((p) => [p.caller.name, p.callee.name]);
          return Promise.all([
            mine.length ? group.request('call', { pairs: mine, timeoutMs: o.timeoutMs }, o.timeoutMs + 10_000) : { calls: [] },
            group.request('connected', { count: incomingSoFar[g], timeoutMs: o.timeoutMs }, o.timeoutMs + 10_000),
          ]);
        }),
      );
      const after = await Promise.all(everyone.map((c) => c.request('sample')));
      const all = results.flatMap(([outgoing, incoming]) => [...outgoing.calls, ...incoming.calls.filter((c) => c.direction === 'incoming')]);
      const fresh = all.filter((c) => (c.startedAt ?? c.rangAt) >= since);
      const calls = roundPairs.map((p) => {
        const caller = fresh.find((c) => c.peer === p.caller.name && c.direction === 'outgoing');
        const callee = fresh.find((c) => c.peer === p.callee.name && c.direction === 'incoming');
        const connected = caller?.connectedAt !== undefined && callee?.connectedAt !== undefined;
        return {
          pair: p.caller.name,
          connected,
          setupMs: connected ? Math.max(caller.connectedAt, callee.connectedAt) - caller.startedAt : undefined,
          callerState: caller?.state,
          calleeState: callee?.state,
          endedReason: caller?.endedReason ?? callee?.endedReason,
          ...(connected ? {} : { callerHistory: caller?.history, calleeHistory: callee?.history, callerWarnings: caller?.warnings, calleeWarnings: callee?.warnings }),
          errorCode: caller?.errorCode ?? callee?.errorCode,
        };
      });
      const wallMs = Math.max(...after.map((s) => s.at)) - since;
      return { calls, wallMs, cpu: everyone.map((c, i) => cpuOf(before[i], after[i])) };
    };

    /** Callers hang up; resolves when every call on both sides has ended, with the last round's calls. */
    const hangupAll = async (since) => {
      await Promise.all(groups.map((g) => g.request('hangup', { direction: 'outgoing' }, 30_000)));
      const done = await Promise.all(groups.map((g) => g.request('ended', {}, 30_000)));
      return done.flatMap((d) => d.calls).filter((c) => (c.startedAt ?? c.rangAt) >= since);
    };

    const baseline = [];
    for (let i = 0; i < o.baselineCalls; i++) {
      const since = performance.timeOrigin + performance.now();
      const r = await round([pairs[0]]);
      baseline.push(r.calls[0]);
      await hangupAll(since);
    }
    log(`1 call alone: ${baseline.map((c) => (c.connected ? `${c.setupMs.toFixed(0)} ms` : 'not connected')).join(', ')}`);

    const concurrentSince = performance.timeOrigin + performance.now();
    const concurrent = await round(pairs);
    const connectedCount = concurrent.calls.filter((c) => c.connected).length;
    log(`${o.calls} calls at once: ${connectedCount} connected, wall ${concurrent.wallMs.toFixed(0)} ms`);

    // Hold the calls with media flowing: CPU of every process.
    const holdBefore = await Promise.all(everyone.map((c) => c.request('sample')));
    const held = await Promise.all(groups.map((g) => g.request('hold', { ms: o.holdMs }, o.holdMs + 10_000)));
    const holdAfter = await Promise.all(everyone.map((c) => c.request('sample')));
    const hold = {
      ms: o.holdMs,
      live: held.reduce((n, h) => n + h.live, 0),
      cpu: everyone.map((c, i) => cpuOf(holdBefore[i], holdAfter[i])),
      rss: holdAfter.map((s) => s.memory.rss),
    };

    const fresh = await hangupAll(concurrentSince);
    const endReasons = {};
    for (const c of fresh) endReasons[`${c.direction}:${c.endedReason}`] = (endReasons[`${c.direction}:${c.endedReason}`] ?? 0) + 1;
    const stillLive = fresh.filter((c) => c.state !== 'disconnected').length;
    const relayBeforeClose = (await relay.request('sample')).stats;
    const closed = await Promise.all(groups.map((g) => g.request('close', {}, 30_000)));
    const exits = await Promise.all(groups.map((g) => g.exited));
    const deadline = Date.now() + 10_000;
    let relayAfter = await relay.request('sample');
    while (relayAfter.stats.connections > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      relayAfter = await relay.request('sample');
    }
    await relay.request('close');
    await relay.exited;
    return {
      options: { ...o, log: undefined },
      baseline,
      concurrent,
      hold,
      end: { endReasons, stillLive, closed, exits, relayBeforeClose, relayAfterClose: relayAfter.stats },
    };
  } finally {
    await Promise.all(everyone.map((c) => c.kill()));
  }
}
