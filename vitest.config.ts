import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // @roamhq/wrtc crashes under worker threads; every file runs in its own forked process.
    pool: 'forks',
    // One file at a time: on a 2-core machine the suite takes as long either way (it waits on
    // timers and sockets), and real WebRTC and Chromium are steadier without a neighbour.
    fileParallelism: false,
    testTimeout: 20_000,
    // scripts/test.mjs reads what this reporter writes to re-run a natively crashed file once.
    reporters: ['default', './scripts/worker-crash-reporter.ts'],
    hookTimeout: 20_000,
  },
});
