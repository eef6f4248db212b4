import { Relay } from '../relay/index.js';
import { Output } from './output.js';

/** Options of `sealcall relay`. */
export interface RelayCommandOptions {
  port: number;
  host: string;
  /** Keep queues and undelivered messages in this file across restarts. */
  store?: string;
  json: boolean;
}

/** Runs a relay until SIGINT/SIGTERM, then closes it gracefully. */
export async function runRelay(options: RelayCommandOptions): Promise<void> {
  const out = new Output(options.json);
  const relay = new Relay(options.store ? { storePath: options.store } : {});
  const { url } = await relay.listen({ port: options.port, host: options.host });
  out.emit({ event: 'listening', url, persistent: options.store !== undefined });
  const stop = async () => {
    await relay.close();
    out.emit({ event: 'info', message: 'relay closed' });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
