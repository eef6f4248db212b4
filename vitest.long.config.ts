import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The long suites (faults over many seeds, soak, load, 100k-input fuzzing, credential expiry):
 * `npm run test:long`, or one file with `npx vitest run --config vitest.long.config.ts <file>`.
 * `npm test` runs bounded subsets of them instead.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/long/**/*.long.ts'],
      testTimeout: 10 * 60_000,
      hookTimeout: 60_000,
    },
  }),
);
