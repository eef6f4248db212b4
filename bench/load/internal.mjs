// Loads parts of sealcall that its package does not export (the relay wire protocol and its
// keys), for the load benches' raw clients: esbuild (installed with tsup) bundles them from src/
// into a temp file, which is imported and removed again. Same approach as bench/frame.mjs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let loading;

/**
 * The relay protocol (v2) as the relay and WebSocketTransport encode and check it:
 * - frames: `viewClientFrame`, `decodeRelayBlock`, `authContent`, `AUTH_CONTENT_MAX_BYTES`, `RELAY_LIMITS`,
 *   `RELAY_PROTOCOL_VERSION`;
 * - keys (src/crypto/relay-keys.ts): `generateRelayKeyPair`, `verifyHello`, `commandKey`,
 *   `authenticate`, `verifyAuth`, `deliveryKey`, `sealDelivery`, `openDelivery`;
 * - URLs: `socketUrl`, `pinnedRelayKey`;
 * - sending a block as WebSocketTransport does on Node's `ws`: `sendClientBlock`;
 * - libsodium: `ready`, `sodium`; the relay's pool of random bytes: `RandomPool`.
 */
export function loadRelayProtocol() {
  loading ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealcall-load-'));
    try {
      const outfile = join(dir, 'relay-protocol.mjs');
      await build({
        absWorkingDir: ROOT,
        stdin: {
          contents: `export { viewClientFrame, decodeRelayBlock, authContent, AUTH_CONTENT_MAX_BYTES, RELAY_LIMITS, RELAY_PROTOCOL_VERSION } from './src/protocol/relay-frames.ts';
export { generateRelayKeyPair, verifyHello, commandKey, authenticate, verifyAuth, deliveryKey, sealDelivery, openDelivery } from './src/crypto/relay-keys.ts';
export { socketUrl, pinnedRelayKey } from './src/protocol/relay-url.ts';
export { ready, sodium } from './src/crypto/sodium.ts';
export { RandomPool } from './src/crypto/random-pool.ts';
export { sendClientBlock } from './src/relay-client/websocket-writer.ts';`,
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
