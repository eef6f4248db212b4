// Loads parts of sealcall that its package does not export (the relay wire protocol), for the
// load benches' raw clients: esbuild (installed with tsup) bundles them from src/ into a temp
// file, which is imported and removed again. Same approach as bench/frame.mjs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let loading;

/**
 * The relay protocol as the relay itself encodes and checks it: `encodeClientFrame`,
 * `decodeRelayFrame`, `signedContent`, plus libsodium (`ready`, `sodium`).
 */
export function loadRelayProtocol() {
  loading ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealcall-load-'));
    try {
      const outfile = join(dir, 'relay-protocol.mjs');
      await build({
        absWorkingDir: ROOT,
        stdin: {
          contents: `export { encodeClientFrame, decodeRelayFrame, signedContent, RELAY_LIMITS } from './src/protocol/relay-frames.ts';
export { ready, sodium } from './src/crypto/sodium.ts';`,
          resolveDir: ROOT,
          loader: 'ts',
        },
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        outfile,
        logLevel: 'error',
      });
      const module = await import(pathToFileURL(outfile).href);
      await module.ready();
      return module;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return loading;
}
