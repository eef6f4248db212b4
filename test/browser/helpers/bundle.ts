import { build } from 'esbuild';

/**
 * Bundles a test-page entry (TypeScript importing src/ directly) into one ESM file, the way the
 * browser build is made (tsup.config.ts): everything inlined, simple-peer's prebuilt browser file.
 */
export async function bundleForPage(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { 'simple-peer': 'simple-peer/simplepeer.min.js' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
