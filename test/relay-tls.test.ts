import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { verifyHello } from '../src/crypto/relay-keys.js';
import { decodeRelayBlock } from '../src/protocol/relay-frames.js';
import { pinnedRelayKey, socketUrl } from '../src/protocol/relay-url.js';
import { WebSocketTransport } from '../src/relay-client/websocket-transport.js';
import { Relay, type RelayTlsOptions } from '../src/relay/index.js';
import { CLI, CliProcess, stopCliProcesses } from './helpers/cli-peer.js';

// A self-signed certificate for 127.0.0.1 and localhost (test/fixtures/tls/README.md).
const FIXTURES = resolve(import.meta.dirname, 'fixtures/tls');
const CERT_FILE = resolve(FIXTURES, 'relay-cert.pem');
const KEY_FILE = resolve(FIXTURES, 'relay-key.pem');
const cert = readFileSync(CERT_FILE);
const tls: RelayTlsOptions = { cert, key: readFileSync(KEY_FILE) };

const relays: Relay[] = [];
const sockets: WebSocket[] = [];
const transports: WebSocketTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  for (const socket of sockets.splice(0)) socket.terminate();
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  await stopCliProcesses();
});

async function startRelay(options: { tls?: RelayTlsOptions } = { tls }): Promise<Relay> {
  await ready();
  const relay = new Relay();
  relays.push(relay);
  await relay.listen({ port: 0, ...options });
  return relay;
}

/** A bare socket to a relay URL, connecting as clients do: without the fingerprint (which is checked in hello, never sent). */
function connect(url: string, options: { ca?: Buffer } = {}): WebSocket {
  const socket = new WebSocket(socketUrl(url), options);
  sockets.push(socket);
  return socket;
}

/** The first message `socket` receives; rejects with the error that kept it from getting one. */
function firstMessage(socket: WebSocket): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    socket.once('message', (data: Buffer) => resolve(new Uint8Array(data)));
    socket.once('error', reject);
    socket.once('close', (code) => reject(new Error(`closed with ${code} before any message`)));
  });
}

/**
 * The frame type of the first frame the relay sent; `hello` only if it proves the key `url`'s
 * fingerprint names (`hello (wrong key)` otherwise).
 */
async function firstFrameType(socket: WebSocket, url: string): Promise<string | undefined> {
  const [frame] = decodeRelayBlock(await firstMessage(socket));
  if (!frame || !('t' in frame)) return undefined;
  if (frame.t !== 'hello') return frame.t;
  const proven = sodium().memcmp(frame.relayKey, pinnedRelayKey(url)) && verifyHello(frame.relayKey, frame.sessionKey, frame.sig);
  return proven ? 'hello' : 'hello (wrong key)';
}

/** A relay URL as relays print them: the 43-character fingerprint of the relay's key before the host. */
const PRINTED = (scheme: string) => new RegExp(`^${scheme}://[A-Za-z0-9_-]{43}@127\\.0\\.0\\.1:\\d+/?$`);

describe('relay over wss://', () => {
  it('serves wss:// with the given certificate: a client trusting it gets the hello', async () => {
    const relay = await startRelay();
    const { url } = relay.address!;
    expect(url).toMatch(PRINTED('wss'));
    expect(await firstFrameType(connect(url, { ca: cert }), url)).toBe('hello');
  });

  it('fails the TLS handshake of a client that does not trust the certificate', async () => {
    const relay = await startRelay();
    const error = await firstMessage(connect(relay.address!.url)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('refuses plain ws:// on its port', async () => {
    const relay = await startRelay();
    const plain = relay.address!.url.replace(/^wss:/, 'ws:');
    await expect(firstMessage(connect(plain))).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('answers an HTTPS request that is no WebSocket upgrade with 426', async () => {
    const relay = await startRelay();
    const status = await new Promise<number | undefined>((done, fail) => {
      const url = new URL(relay.address!.url.replace(/^wss:/, 'https:'));
      url.username = ''; // no credentials in an HTTPS request
      httpsGet(url, { ca: cert }, (response) => {
        response.resume();
        done(response.statusCode);
      }).on('error', fail);
    });
    expect(status).toBe(426);
  });

  it('close() ends every connection and stops listening', async () => {
    const relay = await startRelay();
    const { url } = relay.address!;
    const socket = connect(url, { ca: cert });
    await firstMessage(socket);
    const closed = new Promise<number>((done) => socket.once('close', done));
    await relay.close();
    expect(await closed).toBe(1001);
    await expect(firstMessage(connect(url, { ca: cert }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects a malformed certificate or key, or a key of another certificate, with RELAY_LISTEN_FAILED', async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const cases: RelayTlsOptions[] = [
      { cert: 'not a certificate', key: tls.key },
      { cert, key: new TextEncoder().encode('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') },
      { cert, key: otherKey },
    ];
    for (const bad of cases) {
      const relay = new Relay();
      relays.push(relay);
      const error = await relay.listen({ port: 0, tls: bad }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'RELAY_LISTEN_FAILED', message: expect.stringMatching(/^invalid TLS certificate or key: /) });
    }
  });

  it('a Node WebSocketTransport connects through a ws WebSocket that trusts the certificate', async () => {
    const relay = await startRelay();
    class RelayWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca: cert });
      }
    }
    const transport = await WebSocketTransport.connect({ url: relay.address!.url, identity: generateIdentity(), WebSocket: RelayWebSocket });
    transports.push(transport);
    expect(transport.status).toBe('connected');
  });

  it('still serves plain ws:// without tls', async () => {
    const relay = await startRelay({});
    expect(relay.address!.url).toMatch(PRINTED('ws'));
    expect(await firstFrameType(connect(relay.address!.url), relay.address!.url)).toBe('hello');
  });
});

describe('sealcall relay --tls-cert --tls-key (built CLI)', () => {
  it('prints a wss:// URL that serves the relay', async () => {
    const relay = new CliProcess(['relay', '--port', '0', '--json', '--tls-cert', CERT_FILE, '--tls-key', KEY_FILE]);
    const url = String((await relay.next('listening')).url);
    expect(url).toMatch(PRINTED('wss'));
    expect(await firstFrameType(connect(url, { ca: cert }), url)).toBe('hello');
  });

  it('exits with an error when only one of the two is given, or a file cannot be read', async () => {
    for (const [args, message] of [
      [['--tls-cert', CERT_FILE], '--tls-cert and --tls-key go together'],
      [['--tls-key', KEY_FILE], '--tls-cert and --tls-key go together'],
      [['--tls-cert', CERT_FILE, '--tls-key', resolve(FIXTURES, 'missing.pem')], 'cannot read --tls-key: ENOENT'],
    ] as const) {
      const result = spawnSync(process.execPath, [CLI, 'relay', '--port', '0', '--json', ...args], { encoding: 'utf8', timeout: 10_000 });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe(''); // never listening
    }
  });
});
