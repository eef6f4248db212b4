import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real XMPP server for tests: Debian's `prosody`, run in the foreground as a child process with
 * a config of its own in a temporary directory (data, pidfile, certs; nothing of /etc/prosody).
 * Client-to-server on 127.0.0.1 only, without TLS (plain SASL allowed); no server-to-server,
 * no HTTP. The modules are Debian's defaults that matter to a chat client: stream management
 * (XEP-0198, so a client may resume after a drop), carbons (only for clients that enable them)
 * and offline storage (always loaded by prosody).
 */
export interface Prosody {
  /** The server's one virtual host. */
  readonly domain: 'localhost';
  readonly port: number;
  /** For xmpp.js: `xmpp://127.0.0.1:<port>`. */
  readonly service: string;
  /** Creates an account (`prosodyctl register`; works with the server running). */
  register(username: string, password: string): Promise<void>;
  /** What prosody printed so far (its log goes to the console), for a failing test's message. */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and deletes its directory. */
  stop(): Promise<void>;
}

export interface ProsodyOptions {
  /** `c2s_stanza_size_limit`, bytes (prosody's default is 256 KiB; it accepts no less than 10,000). */
  stanzaSizeLimit?: number;
  /** Accounts created before the server starts: username → password. */
  users?: Record<string, string>;
  /** Prosody's log level. Default `info` (connections, stream errors). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

const run = promisify(execFile);
const STARTUP_TIMEOUT_MS = 10_000;


/** True once a TCP connection to 127.0.0.1:port opens (it is closed at once). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Prosody checks `c2s_stanza_size_limit` after each read from a socket (4 KiB by default) against
 * the part of the current stanza not yet parsed: a stanza that completes within the read that
 * crosses the limit passes, so 11 KB got through a 10 KiB limit. With 512-byte reads
 * (`network_default_read_size`) every stanza over the limit by more than 512 bytes is refused, as a
 * server with an exact limit (ejabberd's `max_stanza_size`) would refuse it.
 */
function stanzaLimit(bytes: number): string {
  return `c2s_stanza_size_limit = ${bytes}\nnetwork_default_read_size = 512\n`;
}

function config(dir: string, port: number, options: ProsodyOptions): string {
  const lua = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string here
  return `-- Written by test/helpers/prosody.ts
run_as_root = true -- tests run as root in CI containers; prosody refuses root without this
pidfile = ${lua(join(dir, 'prosody.pid'))}
data_path = ${lua(join(dir, 'data'))}
certificates = ${lua(join(dir, 'certs'))}
log = { { levels = { min = ${lua(options.logLevel ?? 'info')} }, to = "console" } }

interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }

-- Autoloaded besides these: presence, message, iq, offline, c2s (and posix).
modules_enabled = { "saslauth", "roster", "disco", "ping", "smacks", "carbons" }
modules_disabled = { "s2s", "s2s_auth_certs" }

authentication = "internal_plain"
allow_unencrypted_plain_auth = true
c2s_require_encryption = false
storage = "internal"
${options.stanzaSizeLimit !== undefined ? stanzaLimit(options.stanzaSizeLimit) : ''}
VirtualHost "localhost"
`;
}

/** Starts prosody and resolves once its client port accepts connections. */
export async function startProsody(options: ProsodyOptions = {}): Promise<Prosody> {
  const dir = await mkdtemp(join(tmpdir(), 'sealcall-prosody-'));
  await mkdir(join(dir, 'data'));
  await mkdir(join(dir, 'certs'));
  const port = await freePort();
  const configFile = join(dir, 'prosody.cfg.lua');
  await writeFile(configFile, config(dir, port, options));

  const register = async (username: string, password: string) => {
    await run('prosodyctl', ['--config', configFile, 'register', username, 'localhost', password], { timeout: 10_000 });
  };
  for (const [username, password] of Object.entries(options.users ?? {})) await register(username, password);

  let output = '';
  const child: ChildProcess = spawn('prosody', ['--config', configFile, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Should the test process die first, prosody must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let failed: string | undefined;
    child.once('error', (error) => (failed = String(error)));
    child.once('exit', (code, signal) => (failed = `prosody exited (${code ?? signal})`));
    // Ready when prosody says it listens on our port (not some other process that took it
    // after freePort()) and a connection to it opens.
    const listening = `Activated service 'c2s' on [127.0.0.1]:${port}`;
    while (!(output.includes(listening) && (await accepts(port)))) {
      if (failed) throw new Error(failed);
      if (Date.now() > deadline) throw new Error(`prosody did not serve port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- prosody's output ---\n${output}`);
  }

  return { domain: 'localhost', port, service: `xmpp://127.0.0.1:${port}`, register, log: () => output, stop };
}
