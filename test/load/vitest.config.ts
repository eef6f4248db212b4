// The long load and soak suites: `vitest run --config test/load/vitest.config.ts` (after a build:
// their child processes run the built package from dist/). Not part of `npm test`, whose bounded
// subsets are test/load-*.test.ts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/load/**/*.load.ts'],
    setupFiles: ['test/setup.ts'],
    // Every scenario starts its own child processes (relay, clients, wrtc peers); one file at a
    // time keeps them from competing for the two cores with another file's.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
