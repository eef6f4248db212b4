import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // @roamhq/wrtc crashes under worker threads; every file runs in its own forked process.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
