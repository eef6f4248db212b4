import { rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// The configs below build in parallel into dist/: cleaning inside one of them races with the
// others' writes (a .d.ts went missing that way). Clean once, before any of them starts.
rmSync('dist', { recursive: true, force: true });

/** Bundles everything (dependencies included) for browsers: no import maps or bundler needed. */
const selfContained: Options = {
  format: ['esm'],
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  splitting: false,
  treeshake: true,
  noExternal: [/.*/],
  esbuildOptions(options) {
    // simple-peer's prebuilt file carries its own Buffer/process/stream polyfills.
    options.alias = { ...options.alias, 'simple-peer': 'simple-peer/simplepeer.min.js' };
  },
};

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      callkit: 'src/callkit/index.ts',
      // Node only (ws server, fs); its chunks shared with the core stay platform neutral.
      relay: 'src/relay/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'es2022',
    // The core must bundle for browsers: keep every dependency external and never pull in
    // Node built-ins (the platform check in test/package.test.ts enforces it).
    platform: 'neutral',
    splitting: true,
    treeshake: true,
    esbuildOptions(options, { format }) {
      // CommonJS has no import.meta: the default frame-worker URL is then simply unavailable
      // (apps pass `frameWorkerUrl`) instead of esbuild warning about an empty import.meta.
      if (format === 'cjs') options.define = { ...options.define, 'import.meta.url': 'undefined' };
    },
  },
  {
    // The `sealcall` command (Node only).
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir: 'dist',
    clean: false,
    sourcemap: true,
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // The frame worker next to the core ESM build, where its default URL points, and the file
    // bundlers pick up through `sealcall/frame-worker` or `new URL('./frame-worker.js', …)`.
    ...selfContained,
    entry: { 'frame-worker': 'src/frame-worker.ts' },
    outDir: 'dist',
    clean: false,
  },
  {
    // The self-contained browser build and its worker, side by side.
    ...selfContained,
    entry: { sealcall: 'src/browser.ts', 'frame-worker': 'src/frame-worker.ts' },
    outDir: 'dist/browser',
    dts: { entry: { sealcall: 'src/browser.ts' } },
    clean: false,
  },
]);
