import { readFile } from 'node:fs/promises';
import { Relay, type RelayTlsOptions } from '../relay/index.js';
import { serveDemoPage, type DemoPage } from './demo-page.js';
import { Output } from './output.js';

/** Options of `sealcall relay`. */
export interface RelayCommandOptions {
  port: number;
  host: string;
  /**
   * Where queues and undelivered messages live: a file path (kept across restarts), or
   * `redis://host:port` (`rediss://` with TLS) to share them with other relay processes.
   */
  store?: string;
  json: boolean;
  /** Also serve the browser example (examples/browser/) and the browser build over HTTP. */
  demoPage?: boolean;
  /** Port of the demo page. Default: the relay's port + 1 (a free one when the relay's is 0). */
  demoPort?: number;
  /** Serve `wss://` with the PEM certificate and private key in these files. */
  tls?: { certFile: string; keyFile: string };
}

/** A relay started by {@link startRelay}. */
export interface RunningRelay {
  /** `ws://<fingerprint>@host:port` (`wss://` with `tls`), what clients connect to. */
  url: string;
  /** Where the demo page is served, with `demoPage`. */
  pageUrl: string | undefined;
  /** Closes the demo page server and the relay. */
  close(): Promise<void>;
}

/** Starts the relay (and, with `demoPage`, the page server) and prints where they listen. */
export async function startRelay(options: RelayCommandOptions, out = new Output(options.json)): Promise<RunningRelay> {
  const tls = options.tls && (await readTlsFiles(options.tls));
  const store = options.store;
  const relay = new Relay(store === undefined ? {} : /^rediss?:\/\//.test(store) ? { redisUrl: store } : { storePath: store });
  const { url, port } = await relay.listen({ port: options.port, host: options.host, tls });
  out.emit({ event: 'listening', url, persistent: options.store !== undefined });
  let page: DemoPage | undefined;
  if (options.demoPage) {
    try {
      page = await serveDemoPage({ host: options.host, port: options.demoPort ?? (options.port === 0 ? 0 : port + 1), relayUrl: url });
    } catch (error) {
      await relay.close();
      throw new Error(`cannot serve the demo page: ${(error as Error).message}`);
    }
    out.emit({ event: 'demo-page', url: page.url });
    if (page.missingBuild) out.emit({ event: 'error', code: 'DEMO_PAGE_NOT_BUILT', message: page.missingBuild });
  }
  return {
    url,
    pageUrl: page?.url,
    close: async () => {
      await page?.close();
      await relay.close();
    },
  };
}

/** Runs a relay until SIGINT/SIGTERM, then closes it gracefully. */
export async function runRelay(options: RelayCommandOptions): Promise<void> {
  const out = new Output(options.json);
  const running = await startRelay(options, out);
  const stop = async () => {
    await running.close();
    out.emit({ event: 'info', message: 'relay closed' });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** Reads the certificate and key files, saying which one could not be read. */
async function readTlsFiles({ certFile, keyFile }: { certFile: string; keyFile: string }): Promise<RelayTlsOptions> {
  const read = (path: string, flag: string) =>
    readFile(path).catch((error: Error) => {
      throw new Error(`cannot read ${flag}: ${error.message}`);
    });
  const [cert, key] = await Promise.all([read(certFile, '--tls-cert'), read(keyFile, '--tls-key')]);
  return { cert, key };
}
