// Runs one scenario in its own process (see run.mjs) and prints its samples as one JSON line:
//   node bench/scenario.mjs <id> <warm-ups> <iterations> [trace]
// With `trace`, one more call is recorded message by message.
//
// Every track is stopped, every peer destroyed, and the process ends through exitNodeProcess
// (@roamhq/wrtc crashes at a natural exit once audio sources existed; see its TSDoc).
import { exitNodeProcess, ready } from 'sealcall';
import { SCENARIOS } from './scenarios.mjs';

async function main() {
  const [id, warmups, iterations, trace] = process.argv.slice(2);
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (!scenario) throw new Error(`unknown scenario ${id}`);
  await ready();
  for (let i = 0; i < Number(warmups); i++) await scenario.run();
  const samples = [];
  for (let i = 0; i < Number(iterations); i++) samples.push(await scenario.run());
  let traced;
  if (trace === 'trace') {
    const events = [];
    const result = await scenario.run({ trace: events });
    traced = { result, events: events.filter((entry) => entry.ms <= result.ms) };
  }
  process.stdout.write(`${JSON.stringify({ samples, traced })}\n`);
}

main().then(
  () => exitNodeProcess(0),
  (error) => {
    console.error(error);
    return exitNodeProcess(1);
  },
);
