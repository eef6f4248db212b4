import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { IceServerSet } from '../../src/call/ice-servers.js';

/** A real coturn (`turnserver`, from Debian's coturn) on 127.0.0.1 with TURN REST auth. */
export interface TurnServer {
  url: string;
  /** TURN REST credentials valid for `lifetimeMs`: username `expiry:user`, HMAC-SHA1 password. */
  credentials(lifetimeMs: number): IceServerSet;
  stop(): Promise<void>;
}


/** Starts coturn and resolves once it serves. */
export async function startTurnServer(options: { maxAllocateLifetimeS?: number } = {}): Promise<TurnServer> {
  const secret = randomBytes(16).toString('hex');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'sealcall-turn-'));
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n', // no config file: everything is on this command line
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=sealcall.test',
      '--allow-loopback-peers', // both peers are on this machine
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${join(dir, 'turn.pid')}`,
      `--userdb=${join(dir, 'turndb')}`,
      ...(options.maxAllocateLifetimeS ? [`--max-allocate-lifetime=${options.maxAllocateLifetimeS}`] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`turnserver exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('Total General servers')) resolve();
    });
  });
  const url = `turn:127.0.0.1:${port}?transport=udp`;
  return {
    url,
    credentials: (lifetimeMs) => {
      const expiresAt = Date.now() + lifetimeMs;
      const username = `${Math.floor(expiresAt / 1000)}:sealcall`;
      const credential = createHmac('sha1', secret).update(username).digest('base64');
      return { servers: [{ urls: url, username, credential }], expiresAt };
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
