import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { runDemo } from './demo.js';
import { runPeer } from './peer-command.js';
import { runRelay } from './relay-command.js';
import { exitNodeProcess } from '../index.js';

const USAGE = `sealcall — end-to-end encrypted calls over a chat relay

usage:
  sealcall relay [--port 7443] [--host 127.0.0.1] [--store relay.bin | redis://host:port] [--json]
                 [--tls-cert cert.pem --tls-key key.pem] [--demo-page [--demo-port 7444]]
  sealcall peer --name alice --relay <relay URL> [--dir ~/.sealcall/alice]
                [--tone 440] [--add bob=<address>]... [--call bob] [--auto-accept]
                [--hangup-after <ms>] [--exit-after-call] [--json]
  sealcall demo       a relay and two peers in one go: an encrypted call with tone checks

With --tls-cert and --tls-key (PEM files) the relay serves wss:// instead of ws://.
--store keeps queues in a file, or in Redis, where several relay processes share them.
The relay prints its URL, ws://<fingerprint>@host:port: the fingerprint names the relay's key,
so give peers that whole URL (--relay); they refuse a server without that key.
A peer keeps its identity and contacts in --dir, prints its contact address, then reads
commands (type "help"): add, call, accept, reject, hangup, mute, unmute, address, quit.
With --demo-page the relay also serves the browser example (examples/browser/, after
\`npm run build\`): open it in two tabs and call from one to the other.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'relay': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string', default: '7443' },
          host: { type: 'string', default: '127.0.0.1' },
          store: { type: 'string' },
          json: { type: 'boolean', default: false },
          'demo-page': { type: 'boolean', default: false },
          'demo-port': { type: 'string' },
          'tls-cert': { type: 'string' },
          'tls-key': { type: 'string' },
        },
      });
      await runRelay({
        port: integer(values.port, '--port'),
        host: values.host,
        json: values.json,
        demoPage: values['demo-page'] || values['demo-port'] !== undefined,
        ...(values.store ? { store: values.store } : {}),
        ...(values['demo-port'] !== undefined ? { demoPort: integer(values['demo-port'], '--demo-port') } : {}),
        tls: tlsFiles(values['tls-cert'], values['tls-key']),
      });
      return -1; // keeps running
    }
    case 'peer': {
      const { values } = parseArgs({
        args: rest,
        options: {
          name: { type: 'string' },
          relay: { type: 'string' },
          dir: { type: 'string' },
          tone: { type: 'string', default: '440' },
          add: { type: 'string', multiple: true, default: [] },
          call: { type: 'string' },
          'auto-accept': { type: 'boolean', default: false },
          'hangup-after': { type: 'string' },
          'exit-after-call': { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
      });
      if (!values.name) throw new Error('peer needs --name');
      if (!values.relay) throw new Error('peer needs --relay: the URL `sealcall relay` printed (ws://<fingerprint>@host:port)');
      await runPeer({
        name: values.name,
        relay: values.relay,
        dir: values.dir ?? join(process.env.HOME ?? '.', '.sealcall', values.name),
        json: values.json,
        tone: integer(values.tone, '--tone'),
        add: values.add,
        autoAccept: values['auto-accept'],
        exitAfterCall: values['exit-after-call'],
        ...(values.call ? { call: values.call } : {}),
        ...(values['hangup-after'] ? { hangupAfterMs: integer(values['hangup-after'], '--hangup-after') } : {}),
      });
      return -1;
    }
    case 'demo':
      return runDemo(fileURLToPath(import.meta.url));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

function integer(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

/** `--tls-cert` and `--tls-key` come together: a certificate is of no use without its key. */
function tlsFiles(certFile: string | undefined, keyFile: string | undefined): { certFile: string; keyFile: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new Error('--tls-cert and --tls-key go together: give both or neither');
  return { certFile, keyFile };
}

// Commands end through exitNodeProcess: a natural exit crashes @roamhq/wrtc once audio existed.
main(process.argv.slice(2)).then(
  async (code) => {
    if (code >= 0) await exitNodeProcess(code);
  },
  async (error: unknown) => {
    process.stderr.write(`sealcall: ${error instanceof Error ? error.message : String(error)}\n`);
    await exitNodeProcess(1);
  },
);
