// The load sections of BENCHMARKS.md: relay throughput, latency and memory per idle client
// against a bare `ws` forwarder and against the same relay with its queues in Redis (in a
// redis-server the bench starts, if installed); concurrent calls through one relay against one
// call alone; heap and handles over many sequential calls. `npm run bench` runs it after the
// other sections; `node bench/load/bench.mjs` runs it alone (after `npm run build`: the children
// use dist/).
//
// Sizes (environment): BENCH_LOAD_CLIENTS (1000), BENCH_CALLS (20), BENCH_CALL_PROCESSES (10),
// BENCH_SEQUENTIAL_CALLS (200).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeMachine } from '../machine.mjs';
import { writeSection } from '../report.mjs';
import { summarize } from '../stats.mjs';
import { runConcurrentCalls } from './concurrent-calls.mjs';
import { fdLimits } from './child.mjs';
import { relayMicroCosts } from './micro.mjs';
import { runRelayLoad, SEALED_SENDER_BYTES } from './relay-load.mjs';
import { runSequentialCalls } from './sequential.mjs';
import { exitNodeProcess } from 'sealcall';

const OUTPUT = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
const CLIENTS = Number(process.env.BENCH_LOAD_CLIENTS ?? 1000);
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const CALL_PROCESSES = Number(process.env.BENCH_CALL_PROCESSES ?? 10);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL_CALLS ?? 200);

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => (n === undefined || Number.isNaN(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const kib = (b) => (Math.abs(b) < 51.2 ? 0 : b / 1024).toFixed(1);
const mib = (b) => (b / 2 ** 20).toFixed(1);
const pct = (x) => `${Math.round(x * 100)}%`;
const times = (x) => `${x.toFixed(1)}×`;
const cores = (x) => x.toFixed(2);
const seconds = (t) => (t / 1000).toFixed(1);

/** Rendered right after the section ran, so the load average read here is the one at its end. */
function header(machine, startLoad, tookMs) {
  return `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM; Node ${machine.node}; ${machine.os}.
Run: ${machine.date}; load average (1 min) when it started: ${startLoad.toFixed(2)}, when it ended: ${os.loadavg()[0].toFixed(2)}. This section took ${seconds(tookMs)} s.`;
}

// ---- relay -------------------------------------------------------------------------------------

export function renderRelay(machine, load, r, micro, scale, split, tookMs) {
  const relay = r.servers.relay;
  const base = r.servers.baseline;
  const redis = r.servers.redis;
  const shared = r.servers.shared;
  const label = {
    relay: 'sealcall relay',
    baseline: 'baseline: bare `ws` forwarder',
    redis: 'sealcall relay, Redis store',
    shared: 'diagnostic: sealcall relay, clients sending on their receive connection',
  };
  const bodyLabel = (p) => `${int(p.bodyBytes)} B (${int(p.envelope)} B envelope)`;
  const redisCpu = (phase) => (phase.redisCpu === undefined ? '–' : pct(phase.redisCpu));
  const closedRows = [];
  const pacedRows = [];
  for (let i = 0; i < relay.phases.length; i++) {
    for (const [mode, server] of [['relay', relay], ['baseline', base], ['redis', redis], ['shared', shared]]) {
      if (!server) continue;
      const p = server.phases[i];
      const c = p.closed;
      closedRows.push(
        `| ${label[mode]} | ${bodyLabel(p)} | ${int(c.messagesPerSecond)} | ${(c.bytesPerSecond / 2 ** 20).toFixed(1)} | ${pct(c.serverCpu)} | ${redisCpu(c)} | ${cpuPerMessage(c).toFixed(0)} | ${pct(c.clientCpu)} | ${ms(c.latencyMs.p50)} | ${ms(c.latencyMs.p99)} |`,
      );
      const q = p.paced;
      if (!q) continue; // the diagnostic runs the closed loop only
      const pacedRow = (name, q) =>
        `| ${name} | ${bodyLabel(p)} | ${int(q.rate)} | ${int(q.messagesPerSecond)} | ${pct(q.serverCpu)} | ${redisCpu(q)} | ${pct(q.clientCpu)} | ${ms(q.latencyMs.p50)} | ${ms(q.latencyMs.p90)} | ${ms(q.latencyMs.p99)} | ${ms(q.latencyMs.max)} |`;
      pacedRows.push(pacedRow(label[mode], q));
      if (p.pacedOwn) pacedRows.push(pacedRow(`${label[mode]}, at ${pct(r.options.pacedFraction)} of its own saturated rate`, p.pacedOwn));
    }
  }
  const memRow = (name, clients, perClient, marginal, before, after) =>
    `| ${name} | ${int(clients)} | ${kib(perClient.heapUsed)} | ${marginal ? kib(marginal.heapUsed) : '–'} | ${kib(perClient.external)} | ${kib(perClient.rss)} | ${marginal ? kib(marginal.rss) : '–'} | ${mib(before.rss)} → ${mib(after.rss)} |`;
  const heapRatio = (key) => relay.idle[key].heapUsed / base.idle[key].heapUsed;
  // Per body size: the median of the rounds' ratios (relay against the baseline run moments before).
  const compared = (i, key, mode = 'relay') => summarize(r.comparisons[relay.phases[i].envelope][mode][key]).median;
  const roundsOf = (i, key, show, mode = 'relay') => r.comparisons[relay.phases[i].envelope][mode][key].map(show).join(', ');
  // The server's and its clients' CPU at the paced rate, summed, for each body size: relay, then baseline.
  const busyAtPacedRate = () => {
    const busy = (server, i) => (server.phases[i].paced.serverCpu + server.phases[i].paced.clientCpu).toFixed(2);
    return `At that rate the relay and its clients kept ${busy(relay, 0)} and ${busy(relay, 1)} cores busy between them (small and large bodies),
the baseline and its clients ${busy(base, 0)} and ${busy(base, 1)}, of the machine's 2: with less idle time, a burst or a pause (a GC,
the machine's own stalls) takes the relay's side longer to drain. ${cpuSplit()}`;
  };
  // Each server at the same share of its own saturated rate: the relay's paced rate is its own.
  const ownRateLatency = () => {
    if (!base.phases[0].pacedOwn) return '';
    const at = (i) => base.phases[i].pacedOwn;
    return `At half load, each server at ${pct(r.options.pacedFraction)} of its own saturated rate (the relay's rows above, and the baseline's rows
"at ${pct(r.options.pacedFraction)} of its own saturated rate", ${int(at(0).rate)} and ${int(at(1).rate)} msg/s, paced in the same rounds), the relay's p99 latency was
${compared(0, 'p99OwnRate').toFixed(1)}× the baseline's with small bodies (rounds: ${roundsOf(0, 'p99OwnRate', times)}) and ${compared(1, 'p99OwnRate').toFixed(1)}× with large ones (rounds:
${roundsOf(1, 'p99OwnRate', times)}): the median of the rounds' ratios, each round's relay against the baseline run right after it.
This is the comparison "p99 at half load" means here. A server's queueing delay grows with the share of its capacity in use,
so each is measured at the same share: at one offered rate the faster server is simply less loaded.

`;
  };
  // The servers' young generation (MiB) when each paced window opened, every round of every server.
  const newSpaceAtStart = () => {
    const all = Object.values(r.servers)
      .flatMap((server) => server.phases.flatMap((p) => [p.paced, p.pacedOwn]))
      .flatMap((q) => q?.serverNewSpaceAtStart ?? []);
    return `${mib(Math.min(...all))} to ${mib(Math.max(...all))} MiB`;
  };
  const primed = () =>
    r.options.pacedPrimeMs > 0
      ? ` Right before each, the server and its clients carry ${seconds(r.options.pacedPrimeMs)} s of saturated traffic, not measured: a
server sits idle while the others take their turns, V8 shrinks a process's young generation (down to 1 MiB) when it collects garbage after a
stretch of allocating little, during such a pause or right after it, and at half load it grows back only over seconds, so the window would
otherwise catch a server still waking up (see \`pacedPrimeMs\` in
bench/load/relay-load.mjs). The servers' young generation when their windows opened: ${newSpaceAtStart()}.`
      : '';
  // At the relay's half-load rate, the share of its own saturated rate the baseline ran at (body size i).
  const baselineShare = (i) => relay.phases[i].paced.rate / base.phases[i].closed.messagesPerSecond;
  // Microseconds of CPU per delivered message at the paced rate, small bodies: user space and kernel apart.
  const cpuSplit = () => {
    const split = (server) => {
      const q = server.phases[0].paced;
      const us = (share) => (share * 1e6) / q.messagesPerSecond;
      return { serverUser: us(q.serverUserCpu), serverSystem: us(q.serverSystemCpu), clientUser: us(q.clientUserCpu), clientSystem: us(q.clientSystemCpu) };
    };
    const [a, b] = [split(relay), split(base)];
    const kernel = (x) => x.serverSystem + x.clientSystem;
    const user = (x) => x.serverUser + x.clientUser;
    const f = (x) => x.toFixed(0);
    const kernelRatio = kernel(a) / kernel(b);
    const reading =
      kernelRatio < 1.2 && user(a) - user(b) > kernel(a) - kernel(b)
        ? `Both make about the same socket reads and writes per message (the baseline answers \`ok\` to acks too), and the kernel time is
close (${kernelRatio.toFixed(2)}×); most of the difference is user space: the relay's msgpack, checks, crypto and queue bookkeeping on both ends.`
        : `Kernel time: ${kernelRatio.toFixed(2)}× the baseline's, user time ${(user(a) / user(b)).toFixed(2)}×.`;
    return `Per message with small bodies, the relay's server spent ${f(a.serverUser)} µs of CPU in user space and ${f(a.serverSystem)} µs in the kernel
(the baseline's ${f(b.serverUser)} and ${f(b.serverSystem)}), its clients ${f(a.clientUser)} and ${f(a.clientSystem)} µs (the baseline's ${f(b.clientUser)} and ${f(b.clientSystem)}).
${reading}`;
  };
  const totals = relay.clientTotals;
  const errors = Object.entries(totals.errors);
  // Each connection sends one frame per message: a send connection its client's `send`s, a
  // receive connection its client's `ack`s; around a ring every client sends and receives alike.
  const framesPerConnection = Math.max(...relay.phases.map((p) => p.closed.messagesPerSecond)) / r.options.clients;
  const stats = relay.afterTraffic.stats;
  const connections = relay.senders.connectedAtServer;
  // Blocks and frames of the closed-loop phases, per message sent in them.
  const closedSum = (key) => relay.phases.reduce((n, p) => n + p.closed.blocks[key], 0);
  const closedSent = relay.phases.reduce((n, p) => n + p.closed.sent, 0);
  const perSent = (key) => (closedSum(key) / closedSent).toFixed(2);
  const framesPerBlock = (frames, blocks) => (closedSum(frames) / closedSum(blocks)).toFixed(2);
  const everyMessage =
    totals.delivered === totals.sent && stats.messagesDelivered === stats.messagesReceived
      ? 'every client saw every message it was sent'
      : `the clients received ${int(totals.delivered)} of the ${int(totals.sent)} messages they sent`;
  return `## Relay under load

${header(machine, load, tookMs)}
Open files (\`ulimit -n\` as the bench's processes see it; Node raises its soft limit to the hard one at startup): soft
${r.fdLimits.soft}, hard ${r.fdLimits.hard}. Each server and client process needs about ${int(r.minFds)} here (two sockets per relay client)${r.fdLimits.soft >= r.minFds ? ', within the limit' : ', so the bench raised the soft limit for its children'}.

One server process; ${int(r.options.clients)} clients in one other process, all connected at once, each with its own queue,
sending around a ring (client *i* to client *i*+1), so every client sends and receives. As
\`WebSocketTransport\` does, each relay client receives on one connection (it created its queue
there, is subscribed to it, and acknowledges there what it gets) and sends on a second connection
to the same relay that carries nothing else: ${int(connections)} connections to the relay during the traffic. The
baseline's clients have one connection each, for both. The relay runs with its default options:
at most ${framesPerConnection.toFixed(0)} frames/s per connection were needed here (a connection sends one frame per message its client
sends or receives), far below its limit of 500/s (burst 1,000), and no request was refused
(${errors.length ? errors.map(([c, n]) => `${c} ×${n}`).join(', ') : 'no `err` reply at all'}). Bodies are envelopes of the length sealcall sends (3,072 bytes) and of the smallest it
may use (512, over a transport that carries little), plus the ${SEALED_SENDER_BYTES}-byte sealed-sender header, as
WebSocketTransport sends them.
${redisSetup(r)}
### Throughput, saturated

Closed loop: every ring link keeps ${r.options.window} message in flight (${int(r.options.clients * r.options.window)} in all); each delivery sends the
next one. ${seconds(r.options.warmupMs)} s warm-up, then ${seconds(r.options.durationMs)} s measured, in ${r.options.rounds} rounds: every server and its clients stay up,
idle, while the others run, and each round takes every server in turn, so that a change in the
shared machine's load weighs on all alike. Each row is its server's median round. CPU: share of one core over the measured
window. Latency here is mostly queueing (${int(r.options.clients * r.options.window)} messages waiting their turn), see the next table for latency.

| Server | body | messages/s | MiB/s | server CPU | Redis CPU | server + Redis CPU µs/message | clients CPU | p50 ms | p99 ms |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${closedRows.join('\n')}

In this run the relay carried ${pct(compared(0, 'throughput'))} of the baseline's message rate with small bodies (rounds:
${roundsOf(0, 'throughput', pct)}) and ${pct(compared(1, 'throughput'))} with large ones (rounds: ${roundsOf(1, 'throughput', pct)}): the median of the ${r.options.rounds} rounds'
ratios, each round's relay against the baseline run right after it. The difference is the relay's own work per message (CPU
µs/message) and, since the server, its clients and the bench share ${machine.cores} cores, its clients' heavier work too (msgpack,
opening every body, an authenticator per \`ack\`): see the clients' CPU${shared ? ', and the second connection each relay client keeps (below)' : ''}.${shared ? `\n\n${sharedThroughput(compared, roundsOf)}` : ''}${redis ? `\n\n${redisThroughput(relay, redis)}` : ''}

### Latency under a steady load

Open loop: messages sent at a fixed total rate, ${pct(r.options.pacedFraction)} of the relay's saturated rate for that body size (the
same rate for the other servers, or ${pct(r.options.pacedFraction)} of their own saturated rate where that is lower${r.options.ownHalfLoad ? `; the baseline also at ${pct(r.options.pacedFraction)} of its own, in the rows that say so` : ''}), spread over all ${int(r.options.clients)} clients; what is due leaves every ${r.options.pacedTickMs} ms (each tick's messages reach the server together, so
the finer the tick, the closer to independent clients). ${seconds(r.options.pacedWarmupMs)} s warm-up, ${seconds(r.options.pacedDurationMs)} s measured, in ${r.options.rounds} rounds taking the servers in turn; each row is its server's round with the median p99.${primed()} Latency: from the sender's \`send\` to the recipient reading the message (for the relay:
once its body is opened), both in the same process and clock. The clients keep their samples in chunks allocated once: a
growing array's old copies, left as garbage in the old generation, brought major GCs of the clients' process into the window.

| Server | body | offered msg/s | delivered msg/s | server CPU | Redis CPU | clients CPU | p50 ms | p90 ms | p99 ms | max ms |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${pacedRows.join('\n')}

${ownRateLatency()}At the same offered rate (the relay's half-load rate, which was ${pct(baselineShare(0))} and ${pct(baselineShare(1))} of the baseline's saturated rate
with small and large bodies), the relay's p99 latency was ${compared(0, 'p99').toFixed(1)}× the baseline's with small bodies (rounds: ${roundsOf(0, 'p99', times)})
and ${compared(1, 'p99').toFixed(1)}× with large ones (rounds: ${roundsOf(1, 'p99', times)}), the median of the rounds' ratios likewise. ${busyAtPacedRate()}
${splitClients(split, machine)}
${redis ? `\n${redisLatency(relay, redis)}\n` : ''}
### Memory per idle client

Server memory after forced GC with no client, then with half the clients connected, subscribed and
idle, then with all ${int(r.options.clients)}. Per client: the growth from none to all, divided by the number of
clients; per further client: the growth over the second half (${int(relay.idle.marginal.clients)} clients), which leaves out the
one-time growth the first connections cause. An idle relay client has its receive connection
only (\`WebSocketTransport\` opens its send connection at its first send): that is the first relay
row. The second is after every client also opened its send connection, as during the traffic
(${int(connections)} connections, before any message).

| Server | clients | heap KiB/client | heap KiB per further client | external KiB/client | RSS KiB/client | RSS KiB per further client | server RSS MiB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${memRow(`${label.relay}, idle (receive connection)`, relay.idle.clients, relay.idle.perClient, relay.idle.marginal, relay.idle.empty, relay.idle.idle)}
${memRow(`${label.relay}, receive + send connection`, relay.idle.clients, relay.senders.perClient, undefined, relay.idle.empty, relay.senders.memory)}
${memRow(label.baseline, base.idle.clients, base.idle.perClient, base.idle.marginal, base.idle.empty, base.idle.idle)}
${redis ? `${memRow(`${label.redis}, idle (receive connection)`, redis.idle.clients, redis.idle.perClient, redis.idle.marginal, redis.idle.empty, redis.idle.idle)}

With the Redis store the queues live in redis-server, whose memory that row leaves out: its RSS grew by
${kib(redis.redis.rssPerIdleClient)} KiB per idle client (${mib(redis.redis.rss.empty)} → ${mib(redis.redis.rss.idle)} MiB).
` : ''}
In this run an idle relay client held ${heapRatio('perClient').toFixed(2)}× the baseline's heap per client
(${kib(relay.idle.perClient.heapUsed)} against ${kib(base.idle.perClient.heapUsed)} KiB), and ${heapRatio('marginal').toFixed(2)}× per further client (${kib(relay.idle.marginal.heapUsed)} against
${kib(base.idle.marginal.heapUsed)} KiB). RSS per client is mostly not the clients' own: V8 enlarges its young generation
(new space) as allocation speeds up, and connecting ${int(r.options.clients)} clients took the relay's from ${mib(relay.idle.newSpace.empty)} to
${mib(relay.idle.newSpace.idle)} MiB (the baseline's from ${mib(base.idle.newSpace.empty)} to ${mib(base.idle.newSpace.idle)} MiB), space it keeps after the forced GC, and the memory
that connecting used and freed stays with the process (V8's free pages, malloc's free lists); the relay's setup of a
connection (keys, \`hello\`, \`new\`, \`sub\`: exchanges the forwarder does not have) allocates more of it. So RSS per client reads high at
${int(r.options.clients)} clients and moves between runs. ${scaleMemory(scale, r.options.clients)}

### Where the relay's time goes

Per message the relay decodes and validates two client frames (\`send\` on the sender's send
connection, \`ack\` on the recipient's receive connection), draws a fresh random 16-byte message id
and seals the body for the recipient as it stores it (ChaCha20-Poly1305 under the queue's delivery
key, 16 bytes longer), recomputes the \`ack\`'s keyed BLAKE2b authenticator under the receive
connection's command key and compares it, and encodes three frames (\`ok\` to the sender, \`msg\` and
\`ok\` to the recipient). In the closed-loop phases that took ${perSent('blocksOut')} client blocks (WebSocket messages) per
message, ${framesPerBlock('framesOut', 'blocksOut')} frames each, and ${perSent('blocksIn')} relay blocks carrying ${perSent('framesIn')} frames (an \`ok\` and the next \`msg\` often
share one). Keys cost an X25519 each only per connection (its session key pair) and per queue and
connection (command and delivery keys, at \`new\` and \`sub\`), never per message. The baseline
forwards the same frames untouched. The costs of the crypto steps alone, measured in this run (µs
per call, one thread, the libsodium build the relay uses):

| Operation | µs |
| --- | ---: |
| Keyed BLAKE2b-256 authenticator of an \`ack\` (${micro.sizes.authContent}-byte \`authContent\`; recipient, every \`ack\`) | ${micro.authenticate.toFixed(1)} |
| The relay's check of an \`ack\`: \`authContent\`, authenticator, constant-time compare (relay, every \`ack\`) | ${micro.verifyAck.toFixed(1)} |
| ChaCha20-Poly1305 seal of a ${int(micro.sizes.large)}-byte body (relay, every stored message) | ${micro.sealLarge.toFixed(1)} |
| ChaCha20-Poly1305 seal of a ${int(micro.sizes.small)}-byte body (relay, every stored message) | ${micro.sealSmall.toFixed(1)} |
| ChaCha20-Poly1305 open of a ${int(micro.sizes.large)}-byte body (recipient, every delivered message) | ${micro.openLarge.toFixed(1)} |
| X25519 command key, \`commandKey\` (both sides, at \`new\` and once per queue per connection; never per message) | ${micro.commandKey.toFixed(1)} |
| X25519 key pair, \`generateRelayKeyPair\` (relay, every connection's session key) | ${micro.keyPair.toFixed(1)} |
| 16 random bytes from a pool of 4 KiB drawn from WebCrypto at once, \`RandomPool\` (relay, every stored message's id) | ${micro.pooledRandom16.toFixed(2)} |
| Node \`crypto\`, 16 random bytes, one \`randomFillSync\` call each (for comparison) | ${micro.nodeRandom16.toFixed(1)} |
| libsodium \`randombytes_buf(16)\`, its randomness drawn from WebCrypto 4 KiB at a time (src/crypto/random-pool.ts) | ${micro.sodiumRandom16.toFixed(1)} |

${cryptoShare(relay, micro)}

### How to read this

- **What is measured.** The relay is sealcall's \`Relay\` from the built package with its default
  store, in memory only (no \`storePath\`, no \`redisUrl\`${redis ? '; the Redis-store rows aside' : ''}), in its own process. The clients, in another process, are raw protocol v2
  clients doing what \`WebSocketTransport\` does on the wire: on each connection they check the
  relay's signed \`hello\` against the key the URL pins; on the receive connection they create
  their queue (\`new\`) and subscribe (\`sub\`) with authenticators, open every delivered body with
  the queue's delivery key and acknowledge it with an authenticated \`ack\` (the acks of one
  incoming block leave as one block); they \`send\` on the other connection. Like
  \`WebSocketTransport\` on Node's \`ws\`, they write each block into one buffer after its
  WebSocket header, masked, in one socket write (the baseline's clients use \`ws.send\`). They skip what does
  not reach the relay: the sealed-sender layer (bodies are random bytes of its length), the
  duplicate filter, pings. Throughput counts messages *delivered to their recipient* (and opened)
  in the window, not merely accepted. After all phases the relay had accepted
  ${int(stats.messagesReceived)} messages and delivered ${int(stats.messagesDelivered)}, with ${int(stats.bytesQueued)} bytes still queued; ${everyMessage}.
- **The baseline** is a bare \`ws\` server in the same setup that forwards each message to the
  connection named in its first bytes and answers \`ok\` to sends and acks as the relay does, so
  the frames per message are the same; it stores nothing, parses no msgpack, checks no
  authenticator and encrypts nothing, and its clients keep one connection each where the relay's
  keep two. Its clients' side is cheaper too (no msgpack, no authenticators, nothing to open),
  except that they send through \`ws.send\` where the relay's clients write their frames to the
  socket themselves, as \`WebSocketTransport\` does.
- **${machine.cores} cores, shared.** Every server and its client process are up at once${redis ? ' (and redis-server for the Redis rows)' : ''},
  but only one server carries traffic at a time while the others wait, idle. They share the
  machine's cores with the bench (and, on a shared machine, other work: see the load averages
  above), so absolute rates move between runs; the ratios are the useful figures, each taken
  between a relay round and the baseline round run right after it.
- **Memory** counts the JavaScript heap, \`external\` (buffers) and RSS of the server process;
  kernel socket buffers are not in it. The relay's share per idle client is its receive
  connection's \`RelayConnection\` (its token bucket's counts, command-key cache, subscriptions)
  and \`ws\` socket, the queue (its hex key, message list) and its delivery subscription, and
  their bytes in the relay's shared slabs (\`external\`: 64 for the connection's X25519 session secret
  key and command key, 96 for the queue's two ids, the recipient's X25519 key and the delivery key);
  a send connection adds another \`RelayConnection\`, socket and 64 slab bytes.`;
}

/** The diagnostic run with the clients spread over several processes: relay against baseline, small bodies. */
function splitClients(split, machine) {
  const envelope = split.options.envelopes[0];
  const c = split.comparisons[envelope].relay;
  const median = (xs) => summarize(xs).median;
  const paced = (mode) => split.servers[mode].phases[0].paced;
  const own = split.servers.baseline.phases[0].pacedOwn;
  const k = split.options.clientProcesses;
  return `
Diagnostic, ${int(envelope + SEALED_SENDER_BYTES)}-byte bodies only, in a run of its own after the one above: the same relay and baseline, each with its
${int(split.options.clients)} clients spread over ${k} processes (each a ring of ${int(split.options.clients / k)} carrying its share of the traffic; the percentiles over
all their samples together). Less of the latency is then the clients queueing behind one another in one event loop, which
separate devices would not do; but a further busy process on ${machine.cores} cores takes CPU from the server. There the relay carried
${pct(median(c.throughput))} of the baseline's rate (rounds: ${c.throughput.map(pct).join(', ')}); at the same rate its p99 was ${median(c.p99).toFixed(1)}× the
baseline's (rounds: ${c.p99.map(times).join(', ')}; ${ms(paced('relay').latencyMs.p99)} against ${ms(paced('baseline').latencyMs.p99)} ms in the median rounds, p50 ${ms(paced('relay').latencyMs.p50)} against
${ms(paced('baseline').latencyMs.p50)} ms), and each at ${pct(split.options.pacedFraction)} of its own saturated rate ${median(c.p99OwnRate).toFixed(1)}× (rounds: ${c.p99OwnRate.map(times).join(', ')}; the baseline's
p99 at ${int(own.rate)} msg/s: ${ms(own.latencyMs.p99)} ms).`;
}

/** Server CPU (and redis-server's, if any) per message delivered in a phase, µs. */
const cpuPerMessage = (phase) => ((phase.serverCpu + (phase.redisCpu ?? 0)) * 1e6) / phase.messagesPerSecond;

/** How the Redis-store rows were set up, or why there are none ('' when they were not asked for). */
function redisSetup(r) {
  if (!r.redis) return '';
  if (r.redis.missing) return '\nThere is no `redis-server` on this machine, so the relay with a Redis store (`redisUrl`) was not measured: its rows are missing.\n';
  return `
The rows "sealcall relay, Redis store" are the same relay keeping its queues in Redis (\`redisUrl\`): a redis-server
${r.redis.version} the bench started for them on 127.0.0.1, persisting nothing (\`--save '' --appendonly no\`), on the same
machine. Its CPU (user + system time from /proc) is in the Redis CPU column and counted in the CPU per message.
`;
}

/** The diagnostic rows' paragraph: the relay against the baseline when its clients send on their receive connection. */
function sharedThroughput(compared, roundsOf) {
  return `In the diagnostic rows the same relay's clients send on their receive connection too: one connection each,
like the baseline's clients, and each \`ack\` leaves in one block with the \`send\` it triggers.
\`WebSocketTransport\` never sends that way, because the relay could then link each sender to the queue it receives
from (docs/ARCHITECTURE.md, threat model). That relay carried ${pct(compared(0, 'throughput', 'shared'))} of the baseline's message rate with small
bodies (rounds: ${roundsOf(0, 'throughput', pct, 'shared')}) and ${pct(compared(1, 'throughput', 'shared'))} with large ones (rounds: ${roundsOf(1, 'throughput', pct, 'shared')}), in the same
rounds: the difference from the relay's own rows is what the separate send connection costs here.`;
}

/** Redis-backed against embedded: saturated rate and CPU per message, per body size. */
function redisThroughput(relay, redis) {
  const part = (p, i) => {
    const e = relay.phases[i].closed;
    const c = p.closed;
    return `${pct(c.messagesPerSecond / e.messagesPerSecond)} of the embedded store's message rate with ${int(p.bodyBytes)}-byte bodies (${int(c.messagesPerSecond)} against ${int(e.messagesPerSecond)} msg/s),
spending ${cpuPerMessage(c).toFixed(0)} µs of relay + Redis CPU per message against ${cpuPerMessage(e).toFixed(0)} µs`;
  };
  return `With its queues in Redis the relay carried ${redis.phases.map(part).join(';\nand ')}.`;
}

/** Redis-backed against embedded: p99 latency under a steady load, per body size. */
function redisLatency(relay, redis) {
  const part = (p, i) => {
    const e = relay.phases[i].paced;
    const q = p.paced;
    // Compared as printed in the table.
    const [a, b] = [Number(ms(q.latencyMs.p99)), Number(ms(e.latencyMs.p99))];
    const times = a > 0 && b > 0 ? ` (${(a / b).toFixed(1)}×)` : '';
    const load =
      q.rate === e.rate
        ? `at the same ${int(q.rate)} msg/s`
        : `at ${int(q.rate)} msg/s (${pct(q.rate / p.closed.messagesPerSecond)} of its own saturated rate, less than the embedded store's ${int(e.rate)} msg/s)`;
    const behind = q.messagesPerSecond < 0.95 * q.rate ? `; it fell behind there (${int(q.messagesPerSecond)} msg/s delivered), so that latency includes a growing backlog` : '';
    return `${ms(q.latencyMs.p99)} ms against ${ms(e.latencyMs.p99)} ms${times} with ${int(p.bodyBytes)}-byte bodies,\n${load}${behind}`;
  };
  return `With the Redis store the relay's p99 latency was ${redis.phases.map(part).join(';\nand ')}.`;
}

/** The share of the relay's CPU per message that the `ack` check, the sealing and the id's random bytes take. */
function cryptoShare(relay, micro) {
  const perMessage = (p) => (p.closed.serverCpu * 1e6) / p.closed.messagesPerSecond;
  const seal = (p) => (p.bodyBytes === micro.sizes.small ? micro.sealSmall : micro.sealLarge);
  const cost = (p) => micro.verifyAck + micro.pooledRandom16 + seal(p);
  const part = (p) => `about ${cost(p).toFixed(0)} µs (${pct(cost(p) / perMessage(p))}) of the ${perMessage(p).toFixed(0)} µs of CPU it spent per message with ${int(p.bodyBytes)}-byte bodies`;
  return `The relay's \`ack\` check, its sealing and the message id's random bytes account for
${relay.phases.map(part).join(',\nand ')}.
The rest is its other work per message: decoding, validating and encoding frames, WebSocket I/O
and queue bookkeeping. The relay draws ids from WebCrypto 4 KiB at a time:
one \`randomFillSync\` call per id would cost about ${(micro.nodeRandom16 - micro.pooledRandom16).toFixed(1)} µs more per message, libsodium's
\`randombytes_buf\` about ${(micro.sodiumRandom16 - micro.pooledRandom16).toFixed(1)} µs more.`;
}

// ---- concurrent calls --------------------------------------------------------------------------

function renderConcurrent(machine, load, r, tookMs) {
  const o = r.options;
  const baseline = summarize(r.baseline.filter((c) => c.connected).map((c) => c.setupMs));
  const connected = r.concurrent.calls.filter((c) => c.connected);
  const all = summarize(connected.map((c) => c.setupMs));
  const row = (name, s) => `| ${name} | ${s.n} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.min)} | ${ms(s.max)} |`;
  const peers = (list) => list.slice(1).reduce((a, b) => a + b, 0);
  const closed = r.end.closed;
  const sum = (key) => closed.reduce((n, c) => n + c[key], 0);
  const reasons = Object.entries(r.end.endReasons).map(([k, n]) => `${k} ×${n}`).join(', ');
  return `## Concurrent calls through one relay

${header(machine, load, tookMs)}

${o.calls} calls at once between ${o.calls * 2} \`CallClient\`s on \`WebSocketTransport\`s to one relay process, real
\`@roamhq/wrtc\` peer connections with the fake microphone (audio flows), default call options. The
peers live in ${o.processes} processes of ${(o.calls * 2) / o.processes} (caller *i* in process *i* mod ${o.processes}, its callee in the next one, so
every call crosses processes). **${connected.length} of ${o.calls} calls connected**; the last one ${ms(r.concurrent.wallMs)} ms after they were all placed.${failures(r)}

| Setup (call placed → both sides connected) | n | median ms | p90 ms | min ms | max ms |
| --- | ---: | ---: | ---: | ---: | ---: |
${row('baseline: 1 call alone (same relay and processes, one after another)', baseline)}
${row(`${o.calls} calls placed at once`, all)}

| CPU (cores) | while the ${o.calls} calls were set up | while they were held (${seconds(r.hold.ms)} s, media flowing) |
| --- | ---: | ---: |
| relay process | ${cores(r.concurrent.cpu[0])} | ${cores(r.hold.cpu[0])} |
| ${o.processes} peer processes together | ${cores(peers(r.concurrent.cpu))} | ${cores(peers(r.hold.cpu))} |

Peer processes' RSS while the calls were held: ${mib(Math.min(...r.hold.rss.slice(1)))}–${mib(Math.max(...r.hold.rss.slice(1)))} MiB each; relay ${mib(r.hold.rss[0])} MiB.

Then every caller hung up (${reasons}); after the clients and transports closed: ${sum('openPeerConnections')} of ${sum('peerConnections')}
peer connections still open, ${sum('liveTracks')} of ${sum('tracks')} microphone tracks still live, the relay counting ${r.end.relayAfterClose.connections}
connections, and every peer process left with ${[...new Set(closed.map((c) => Object.keys(c.handles.after).join('+')))].join(' / ')} as its only handle(s) before exiting (codes
${[...new Set(r.end.exits.map((e) => e.signal ?? e.code))].join(', ')}).

### How to read this

- **Setup time** runs from just before the caller's \`call()\` (which captures the microphone and
  sends the invitation) until both sides' calls are \`connected\`; the callee accepts as soon as
  it rings. Both sides' clocks are the same machine's. It includes the default 200 ms
  candidate-gathering window and three trips through the relay (invitation, offer, answer).
- **The baseline** is one call alone through the same relay and processes, so the difference is
  what ${o.calls} simultaneous setups cost each other on ${machine.cores} cores: ${o.calls * 2} peer connections gathering, DTLS
  handshakes and signaling at once. Held calls cost almost nothing to the relay: media is peer to
  peer and the relay only carried the signaling.
${peersNote(o)}`;
}

/** The calls that did not connect, with how they ended and what their clients warned about. */
function failures(r) {
  const failed = r.concurrent.calls.filter((c) => !c.connected);
  if (failed.length === 0) return '';
  const lines = failed.map((c) => {
    const warned = [...new Set([...(c.callerWarnings ?? []), ...(c.calleeWarnings ?? [])])];
    return `- ${c.pair}: ended \`${c.endedReason ?? '?'}\` (caller ${c.callerState}, callee ${c.calleeState})${warned.length ? `; warnings: ${warned.map((w) => `\`${w}\``).join(', ')}` : ''}`;
  });
  return `\n\nNot connected:\n\n${lines.join('\n')}`;
}

function peersNote(o) {
  const perProcess = (o.calls * 2) / o.processes;
  return `- **${o.processes} processes of ${perProcess} peers**, so that every call crosses processes and each process
  both calls and answers.`;
}

// ---- sequential calls --------------------------------------------------------------------------

function renderSequential(machine, load, runs, tookMs) {
  const blocks = runs.map((r) => {
    const first = r.checkpoints[0];
    const rows = r.checkpoints.map(
      (c) =>
        `| ${c.calls} | ${mib(c.heapUsed)} | ${c === first ? '–' : `+${kib(c.heapUsed - first.heapUsed)}`} | ${mib(c.rss)} | ${c.handles} (${Object.entries(c.handleTypes).map(([k, n]) => `${k} ${n}`).join(', ')}) | ${c.peerConnections} | ${c.tracks} |`,
    );
    rows.push(
      `| after close | ${mib(r.closed.heapUsed)} | ${r.closed.heapUsed >= first.heapUsed ? '+' : '−'}${kib(Math.abs(r.closed.heapUsed - first.heapUsed))} | ${mib(r.closed.rss)} | ${r.closed.handles} (${Object.entries(r.closed.handleTypes).map(([k, n]) => `${k} ${n}`).join(', ')}) | ${r.closed.peerConnections} | ${r.closed.tracks} |`,
    );
    const setup = summarize(r.setupMs);
    const title = r.network === 'relay' ? 'WebSocketTransports through a relay (in another process)' : 'MemoryNetwork (no transport: the calls alone)';
    const failed = r.failures.length
      ? `\n\n**${r.failures.length} of ${r.calls + r.warmup} calls did not connect** (the run went on): ${r.failures.map((f) => `call ${f.call}: ${f.error}`).join('; ')}.`
      : '';
    return `### ${title}

${r.calls} calls in ${seconds(r.wallMs)} s (setup median ${ms(setup.median)} ms, p90 ${ms(setup.p90)} ms); heap growth ${kib(r.heapGrowthPerCall)} KiB per call.${failed}${crashNote(r.crashes ?? [])}

| calls | heap MiB | Δ heap KiB | RSS MiB | handles | open peer connections | live tracks |
| ---: | ---: | ---: | ---: | --- | ---: | ---: |
${rows.join('\n')}`;
  });
  const flat = runs.every((r) => r.checkpoints.every((c) => c.handles === r.checkpoints[0].handles));
  const released = (r) => r.closed.heapUsed < r.checkpoints.at(-1).heapUsed - r.heapGrowth / 2;
  const heapNotes = runs.map((r) => {
    const where = r.network === 'relay' ? 'Over the relay' : 'The calls alone (MemoryNetwork)';
    const after = released(r) ? 'most of it is freed when the clients and transports close' : 'it stays after the clients close';
    return `${where}: ${kib(r.heapGrowthPerCall)} KiB per call over the run, ${kib((r.checkpoints.at(-1).heapUsed - r.checkpoints.at(-3)?.heapUsed) / (r.checkpoints.at(-1).calls - r.checkpoints.at(-3)?.calls) || 0)} KiB per call over its second half; ${after}.`;
  });
  return `## Sequential calls: heap and handles

${header(machine, load, tookMs)}

Alice calls Bob ${runs[0].calls} times in one process (after ${runs[0].warmup} warm-up calls), real \`@roamhq/wrtc\` audio, default call
options; Bob accepts at once, and the two hang up in turn. Every ${runs[0].checkpoints[1]?.calls ?? runs[0].calls} calls, once the last call's messages
have settled, the process is sampled after forced GC (\`--expose-gc\`): heap, RSS, its open handles
(\`process.getActiveResourcesInfo()\`), and the peer connections and microphone tracks it ever made
that are still open. Each variant runs in a fresh process; "after close" is sampled once both
clients (and transports) are closed and out of scope.

${blocks.join('\n\n')}

### How to read this

- **Handles** ${flat ? 'stayed flat in this run' : 'changed between checkpoints in this run (see the tables)'}: each call's timers, peer connection and tracks are
  gone by the next checkpoint. Over the relay the two transports' sockets and ping timers are
  open until they close; after closing, only the bench's own IPC channel is left.
- **Heap.** ${heapNotes.join('\n  ')}
  What grows is bounded by design: each client remembers accepted invitations (replay cache,
  20 minutes, at most 10,000) and ended calls (10 minutes); over the relay, each
  \`WebSocketTransport\`'s duplicate filter also remembers two keys per received message (24 h, at
  most 10,000 entries). These keys are hex strings from libsodium's \`to_hex\`, which appends two
  characters at a time; V8 keeps such a string as a tree of pieces, about 1.2 KB per key where a
  flat one takes about 200 bytes, so a full filter or replay cache holds about 11 MiB. Heap
  snapshots taken while preparing this bench show why the MemoryNetwork clients' share outlives
  \`close()\`: \`@roamhq/wrtc\` keeps the last call's two \`RTCDataChannel\`s reachable from native
  handles, and simple-peer's handlers on them still reach that call and, through it, its client.
  The count of such objects stays at two however many calls ran.
- **RSS** grows more than the heap: \`@roamhq/wrtc\` (libwebrtc) keeps native memory per process
  (threads, codec and port allocator state) and reuses it; it levels off as the run goes on.`;
}

// ---- run ---------------------------------------------------------------------------------------

// Four: 200 sequential calls over the relay in one process used to die (SIGSEGV, in @roamhq/wrtc's
// SdpSerialize) in about half of the runs here: simple-peer read each connection's live
// localDescription while wrtc's signaling thread was adding candidates to it. PatchedPeer no longer
// reads it (src/session/patched-peer.ts); the retries stay for any other native crash.
const RETRIES = 4;

/**
 * Runs `fn`, again (up to RETRIES times) when one of its processes was killed by a signal before
 * reporting: @roamhq/wrtc occasionally crashes a process (as bench/run.mjs notes). Resolves with
 * `{ result, crashes }`; any other failure fails the bench.
 */
async function withRetries(label, fn) {
  const crashes = [];
  for (let attempt = 0; ; attempt++) {
    try {
      return { result: await fn(), crashes };
    } catch (error) {
      const crash = /exited \((SIG[A-Z]+)\)/.exec(String(error?.message));
      if (!crash || attempt >= RETRIES) throw error;
      crashes.push(crash[1]);
      console.error(`  ${label}: a process died (${crash[1]}); running it again`);
    }
  }
}

/** Idle clients of the memory run at scale: the one-time growth of connecting then weighs little per client. */
const SCALE_CLIENTS = Number(process.env.BENCH_SCALE_CLIENTS ?? 5000);
/** The diagnostic run with the clients spread over several processes: how many, and its one envelope length. */
const SPLIT_PROCESSES = 2;
const SPLIT_ENVELOPE = 512;

/**
 * Memory per idle client again with {@link SCALE_CLIENTS}, relay and baseline, no traffic. The
 * relay's per-address limits are raised to fit: every bench client comes from 127.0.0.1.
 */
async function idleAtScale(log) {
  const need = SCALE_CLIENTS + 256;
  const { hard } = fdLimits();
  if (!(hard >= need)) return { skipped: `the hard open-file limit (${hard}) is under the ${int(need)} it needs` };
  console.log(`relay memory: ${SCALE_CLIENTS} idle clients`);
  const limits = { maxConnections: 2 * SCALE_CLIENTS, maxConnectionsPerAddress: SCALE_CLIENTS, maxQueuesPerAddressPerHour: SCALE_CLIENTS };
  return runRelayLoad({ clients: SCALE_CLIENTS, envelopes: [], openSenders: false, relayOptions: limits, log });
}

/** The memory run at scale, in words: per client, relay against baseline, heap and RSS. */
function scaleMemory(scale, clients) {
  if (scale.skipped) return `(The run with ${int(SCALE_CLIENTS)} idle clients was skipped: ${scale.skipped}.)`;
  const [relay, base] = [scale.servers.relay.idle, scale.servers.baseline.idle];
  const ratio = (key) => (relay.perClient[key] / base.perClient[key]).toFixed(2);
  return `In a second run with ${int(scale.options.clients)} idle clients instead of ${int(clients)} (the same setup, no traffic; the relay's
per-address limits raised to let them all in from 127.0.0.1), an idle relay client held ${ratio('heapUsed')}× the baseline's heap
(${kib(relay.perClient.heapUsed)} against ${kib(base.perClient.heapUsed)} KiB) and ${ratio('rss')}× its RSS (${kib(relay.perClient.rss)} against ${kib(base.perClient.rss)} KiB; server RSS
${mib(relay.empty.rss)} → ${mib(relay.idle.rss)} MiB against ${mib(base.empty.rss)} → ${mib(base.idle.rss)} MiB).`;
}

const crashNote = (crashes, before = ' ') =>
  crashes.length ? `${before}A process of this scenario died without results (${crashes.join(', ')}) and the scenario was run again.` : '';

/** Runs the load benches and writes their three sections. `benchStartedAt`: when `npm run bench` began. */
export async function runLoadBench({ benchStartedAt } = {}) {
  const log = (line) => console.log(`  ${line}`);

  let machine = describeMachine();
  let load = os.loadavg()[0];
  let started = performance.now();
  console.log(`relay load: ${CLIENTS} clients`);
  const micro = await relayMicroCosts();
  const relay = await runRelayLoad({ clients: CLIENTS, redis: true, sharedConnection: true, ownHalfLoad: true, log });
  console.log(`relay load: ${CLIENTS} clients in ${SPLIT_PROCESSES} processes (diagnostic)`);
  const split = await runRelayLoad({ clients: CLIENTS, envelopes: [SPLIT_ENVELOPE], clientProcesses: SPLIT_PROCESSES, ownHalfLoad: true, log });
  const scale = await idleAtScale(log);
  writeSection(OUTPUT, 'relay-load', renderRelay(machine, load, relay, micro, scale, split, performance.now() - started));

  machine = describeMachine();
  load = os.loadavg()[0];
  started = performance.now();
  console.log(`concurrent calls: ${CALLS} in ${CALL_PROCESSES} processes`);
  const concurrent = await withRetries('concurrent calls', () => runConcurrentCalls({ calls: CALLS, processes: CALL_PROCESSES, log }));
  writeSection(OUTPUT, 'concurrent-calls', renderConcurrent(machine, load, concurrent.result, performance.now() - started) + crashNote(concurrent.crashes, '\n\n'));

  machine = describeMachine();
  load = os.loadavg()[0];
  started = performance.now();
  const runs = [];
  for (const network of ['memory', 'relay']) {
    console.log(`sequential calls: ${SEQUENTIAL} over ${network}`);
    const { result: r, crashes } = await withRetries(`sequential calls over ${network}`, () =>
      runSequentialCalls({ calls: SEQUENTIAL, every: Math.max(1, Math.round(SEQUENTIAL / 4)), network }),
    );
    r.crashes = crashes;
    log(`heap +${kib(r.heapGrowth)} KiB (${kib(r.heapGrowthPerCall)} KiB/call), handles ${r.checkpoints[0].handles} → ${r.checkpoints.at(-1).handles}, after close ${r.closed.handles}`);
    runs.push(r);
  }
  let body = renderSequential(machine, load, runs, performance.now() - started);
  if (benchStartedAt !== undefined) {
    body += `\n\nThe whole \`npm run bench\` (every section of this file) took ${seconds(performance.now() - benchStartedAt)} s.`;
  }
  writeSection(OUTPUT, 'sequential-calls', body);
  console.log(`wrote the load sections of ${OUTPUT}`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  runLoadBench().then(
    () => exitNodeProcess(0),
    (error) => {
      console.error(error);
      return exitNodeProcess(1);
    },
  );
}
