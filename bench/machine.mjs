// Describes the machine a benchmark ran on, for the header of BENCHMARKS.md.
import os from 'node:os';

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.platform()}/${os.arch()})`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}
