// `npm run bench`: measures call setup time of sealcall against bare simple-peer in the same run
// and writes the figures to BENCHMARKS.md (its "setup" section), then runs the frame bench
// (bench/frame.mjs) and the load benches (bench/load/bench.mjs), each writing its own sections.
//
// Each scenario runs in its own processes (bench/scenario.mjs): @roamhq/wrtc can crash a process
// (rarely mid-run, more often at exit), and fresh processes keep one row's leftovers out of the
// next. The iterations are split into ROUNDS rounds that go through every scenario in turn, so a
// change in the machine's load during the run weighs on every row alike. A process that a signal
// kills (a native crash) before it reports is run again, up to RETRIES times; any other failure
// fails the bench.
//
// BENCH_ONLY=setup runs only the setup section (BENCH_ITERATIONS sets its n; default 20).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './machine.mjs';
import { writeSection } from './report.mjs';
import { BASELINE, DEFAULTS, SCENARIOS, TRACED } from './scenarios.mjs';
import { summarize } from './stats.mjs';
import { exitNodeProcess } from 'sealcall';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20);
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'setup') throw new Error(`BENCH_ONLY=${ONLY}: only "setup" can run alone`);
/** sealcall's JavaScript (Noise, msgpack, deflate, its state machines) takes about 20 calls to warm up. */
const WARMUPS = 20;
const ROUNDS = 2;
const COLD_CALLS = 5;
const RETRIES = 2;
const OUTPUT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const CHILD = fileURLToPath(new URL('./scenario.mjs', import.meta.url));

/**
 * Runs one scenario in a child process. Resolves with its parsed output, or with null if a signal
 * killed it (a native crash) before it printed results; rejects on any other failure.
 */
function runChild(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, ...args], { timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      try {
        return resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        // no complete output: fall through
      }
      const detail = `${args[0]}: process ended without results (${error?.signal ?? `exit code ${error?.code}`})`;
      if (error?.signal && !error.killed) {
        console.error(`  ${detail}; running it again`);
        return resolve(null);
      }
      reject(new Error(`${detail}\n${stderr.trim()}`));
    });
  });
}

/** One round of one scenario: `iterations` samples (and a trace if asked), and the attempts it took. */
async function measureRound(scenario, iterations, trace, warmups = WARMUPS) {
  for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
    const output = await runChild([scenario.id, String(warmups), String(iterations), ...(trace ? ['trace'] : [])]);
    if (!output) continue;
    const { samples, traced } = output;
    return { samples, attempts: attempt, traced: traced && { name: trace.name, ...traced } };
  }
  throw new Error(`${scenario.name}: crashed ${1 + RETRIES} times`);
}

/** Every scenario, ITERATIONS samples each, taken in ROUNDS interleaved rounds; traces in the last. */
async function measureAll() {
  const rows = SCENARIOS.map((scenario) => ({ scenario, samples: [], attempts: 1, traced: undefined }));
  for (let round = 0; round < ROUNDS; round++) {
    const iterations = Math.floor(ITERATIONS / ROUNDS) + (round < ITERATIONS % ROUNDS ? 1 : 0);
    for (const row of rows) {
      const trace = round === ROUNDS - 1 ? TRACED.find((t) => t.id === row.scenario.id) : undefined;
      if (iterations === 0 && !trace) continue;
      const { samples, attempts, traced } = await measureRound(row.scenario, iterations, trace);
      row.samples.push(...samples);
      row.attempts = Math.max(row.attempts, attempts);
      row.traced ??= traced;
    }
    console.log(`round ${round + 1}/${ROUNDS} done`);
  }
  for (const row of rows.filter((r) => r.scenario.id === BASELINE || r.scenario.id === DEFAULTS)) {
    // A first call in a fresh process, COLD_CALLS times: what a cold start costs.
    for (let i = 0; i < COLD_CALLS; i++) {
      const { samples } = await measureRound(row.scenario, 1, undefined, 0);
      (row.cold ??= []).push(...samples);
    }
  }
  return rows.map(({ scenario, samples, attempts, traced, cold }) => ({
    cold: cold && summarize(cold.map((s) => s.ms)),
    ...scenario,
    attempts,
    time: summarize(samples.map((s) => s.ms)),
    messages: summarize(samples.map((s) => s.messages)),
    traced,
  }));
}

const ms = (value) => value.toFixed(1);
const range = ({ min, max }) => (min === max ? String(min) : `${min}–${max}`);

function renderTrace({ name, result, events }) {
  const lines = events.map(({ ms: at, event }) => `| ${ms(at)} | ${event} |`);
  return `#### sealcall, ${name}: both connected after ${ms(result.ms)} ms, ${result.messages} messages

| ms | event |
| ---: | --- |
${lines.join('\n')}`;
}

function compareMessages(results) {
  const baseline = results.find((r) => r.id === BASELINE).messages.median;
  const sealcall = results.find((r) => r.id === DEFAULTS).messages.median;
  const relation = sealcall > baseline ? 'more than' : sealcall < baseline ? 'fewer than' : 'as many as';
  return `In this run sealcall with defaults needed ${sealcall} messages (median) until connected,
  ${relation} the baseline's ${baseline}.`;
}

function compareTime(results) {
  const baseline = results.find((r) => r.id === BASELINE);
  const sealcall = results.find((r) => r.id === DEFAULTS);
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  return [
    `In this run sealcall with defaults took ${ms(sealcall.time.median)} ms (median) until both sides were connected,`,
    `  ${ratio(sealcall.time.median, baseline.time.median)} the baseline's ${ms(baseline.time.median)} ms. The very first call in a fresh process, with no`,
    `  warm-up (median of ${sealcall.cold.n} processes), took ${ms(sealcall.cold.median)} ms, the baseline's ${ms(baseline.cold.median)} ms`,
    `  (${ratio(sealcall.cold.median, baseline.cold.median)}): sealcall's JavaScript (Noise, msgpack, deflate, its state machines) runs`,
    `  cold then, and takes about 20 calls to reach the figures above.`,
  ].join('\n');
}

function retriedNote(results) {
  const retried = results.filter((r) => r.attempts > 1).map((r) => `${r.name} (attempt ${r.attempts})`);
  return retried.length ? `\nRows with a process that died without results and was run again: ${retried.join('; ')}.` : '';
}

function render(machine, results, traces, wallMs) {
  const rows = results.map(
    (r) => `| ${r.name} | ${r.time.n} | ${ms(r.time.median)} | ${ms(r.time.p90)} | ${ms(r.time.min)} | ${range(r.messages)} |`,
  );
  return `## Call setup

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM; Node ${machine.node}; ${machine.os}.
Run: ${machine.date}. The n iterations of each row run in ${ROUNDS} rounds that take every row in
turn (so a change in load weighs on all rows alike), each in a fresh process with ${WARMUPS} warm-up
iterations first (messages: min–max over the n). The setup bench took ${(wallMs / 1000).toFixed(1)} s (the whole \`npm run bench\`: see the end of this file).${retriedNote(results)}

| Scenario | n | median ms | p90 ms | min ms | messages until connected |
| --- | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

### How to read this

- **What is measured.** Time from placing a call until *both* sides report connected, on one
  machine, audio only (\`@roamhq/wrtc\`'s fake microphone), host ICE candidates only. For sealcall
  the clock starts just before \`alice.call('bob')\` (which captures the microphone, then sends the
  invitation) and stops when both \`Call\` objects reach \`'connected'\`; bob accepts as soon as the
  invitation rings, so no human answer time is included. In the 0 ms rows each message is handed
  straight to the other client on the next turn of the event loop (\`setImmediate\`, in order), as
  the baseline hands its signals over; the MemoryNetwork row uses the in-memory \`MemoryNetwork\`
  (\`sealcall/testing\`) instead, whose 0 ms is a \`setTimeout\` that Node makes at least 1 ms per
  message (three messages lie on the path to connected); the 50 ms rows use it with 50 ms per
  message, to mimic a chat relay. Messages are every envelope that crossed the network until both
  sides were connected. Every iteration ends with 50 ms of untimed pause, so that the closing of
  the previous iteration's peer connections on wrtc's native threads does not land in the next.
- **The baseline** is bare \`simple-peer\` 9.11.1 on the same \`@roamhq/wrtc\`, \`trickle: true\`,
  one local audio track per peer, each \`signal\` event handed straight to the other peer in
  process (or after 50 ms). Its clock starts before capturing the two microphones and stops at
  the second \`connect\` event; messages are the \`signal\` events emitted by then. Both are
  measured in the same run, so the difference is what sealcall adds, not the machine.
- **Ratio.** ${compareTime(results)}
- **Where the time goes.** The first offer and the answer carry the candidates gathered so far
  (instead of one message each) and leave as soon as the host candidates are in: libwebrtc
  gathers in phases 50 ms apart and hands over all UDP host candidates in one burst, so the
  description goes out 1 ms after the last candidate of that burst, when gathering completes,
  or when a server (srflx/relay) candidate arrives, whichever is first;
  with STUN/TURN servers it waits for the first server candidate instead of the quiet period.
  \`gatherWindowMs\` (default 200 ms) is only the upper bound. Later candidates (the TCP phase at
  about 100 ms, usually after connecting) go in batches every \`candidateBatchMs\` (default
  300 ms) or with the end of gathering. The \`gatherWindowMs: 0\` rows send the offer and answer
  on the next timer tick, with whatever candidates came by then: compared with them, the defaults
  show what holding the descriptions for their candidates still costs. What sealcall adds over
  the baseline is the invitation round trip before any peer connection exists (Noise KK messages
  1 and 2; the callee makes its offer only once it has accepted), sealing, encoding and opening
  each message (and the caller's one-shot cancel to the callee's other devices, sealed before it
  answers), and the quiet period. The traces below show one call of each, message by message.
- **Messages.** ${compareMessages(results)}
  sealcall's count includes two messages the baseline does not have: the invitation (Noise KK
  message 1, no SDP and no address) and the callee's \`ringing\` reply (message 2). Only after the
  callee *accepts* does it create its peer connection and send the offer, so no IP address leaves
  either device before the call is answered (privacy-first order). Every message is an encrypted,
  authenticated envelope sealed again for the contact and padded to one length (3,072 bytes), so
  the relay never reads the SDP and cannot tell one kind of message, or one call, from another
  (see docs/ARCHITECTURE.md). Candidates ride inside the offer and
  answer or in batches; the baseline instead sends each trickled candidate as its own signal,
  which is why its count grows when signaling is slow (the 50 ms rows): more candidates are
  gathered before it connects.
- **50 ms rows** add 50 ms to every message on the way (the baseline: to every signal), as a
  stand-in for a chat relay. The baseline's path to connected is two one-way trips (offer,
  answer); sealcall's is three (invitation, then the callee's offer, then the answer), because
  the callee only makes its offer once it has the invitation and has accepted. \`ringing\` goes
  out as soon as the invitation arrives and does not delay the offer. With a human answering,
  the time before accepting is spent ringing anyway, and from the accept on both need
  offer → answer.

### One call, message by message

Every message is the same size to the relay, which sees nothing else of it, so the message names
below come from the protocol. Typically, in order: the invitation (alice → bob),
\`ringing\`, the offer with bob's candidates (the large one), alice's one-shot cancel that stops
bob's *other* devices ringing ("answered elsewhere"; the answering device ignores it), the answer
with alice's candidates, alice's end-of-candidates (her gathering completes at once), bob's
end-of-candidates (libwebrtc stops gathering once ICE connects, before its TCP phase), and the
first side's media state once it is connected. Candidates gathered after a description left
follow in a batch.

${traces.map(renderTrace).join('\n\n')}
`;
}

async function main() {
  const machine = describeMachine();
  const started = performance.now();
  const results = await measureAll();
  for (const result of results) {
    const retried = result.attempts > 1 ? `  (attempt ${result.attempts})` : '';
    console.log(
      `${result.name.padEnd(62)} n=${String(result.time.n).padStart(2)}  median ${ms(result.time.median).padStart(7)} ms  p90 ${ms(result.time.p90).padStart(7)} ms  min ${ms(result.time.min).padStart(7)} ms  messages ${range(result.messages)}${retried}`,
    );
  }
  const traces = results.map((r) => r.traced).filter(Boolean);
  const wallMs = performance.now() - started;
  writeSection(OUTPUT, 'setup', render(machine, results, traces, wallMs));
  console.log(`\nwrote ${OUTPUT} (${(wallMs / 1000).toFixed(1)} s)`);
  if (ONLY === 'setup') return;
  await (await import('./frame.mjs')).runFrameBench(); // the "frame" section: SFrame cost per frame
  // The load sections (relay-load, concurrent-calls, sequential-calls): bench/load/bench.mjs.
  await (await import('./load/bench.mjs')).runLoadBench({ benchStartedAt: started });
}

main().then(
  () => exitNodeProcess(0),
  (error) => {
    console.error(error);
    return exitNodeProcess(1);
  },
);
