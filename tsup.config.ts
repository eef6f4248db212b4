import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // The core must bundle for browsers: keep every dependency external and never pull in
  // Node built-ins (the platform check in test/package.test.ts enforces it).
  platform: 'neutral',
  splitting: true,
  treeshake: true,
});
