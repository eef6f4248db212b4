import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { withFingerprint } from '../src/protocol/relay-url.js';
import { ReplayGuard } from '../src/signaling/replay-guard.js';
import { CliProcess, stopCliProcesses } from './helpers/cli-peer.js';

// The built CLI (npm test builds before running vitest).
const CLI = resolve(import.meta.dirname, '../dist/cli.js');

type Event = { event: string } & Record<string, unknown>;

/** A CLI process whose JSON lines can be awaited. */
class Proc {
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: { match: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((done) => this.child.once('exit', (code) => done(code)));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // usage text and other plain output
      const event = JSON.parse(line) as Event;
      this.events.push(event);
      for (const w of this.waiters.filter((w) => w.match(event))) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(event);
      }
    });
    this.child.stderr.resume();
  }

  next(kind: string, where: (e: Event) => boolean = () => true): Promise<Event> {
    const match = (e: Event) => e.event === kind && where(e);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

const procs: Proc[] = [];
let dir: string | undefined;
afterEach(async () => {
  await stopCliProcesses();
  for (const p of procs.splice(0)) {
    p.stop();
    await p.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) => {
  const p = new Proc(args);
  procs.push(p);
  return p;
};

describe('sealcall CLI (real processes, relay on 127.0.0.1)', () => {
  it('relay + two peers: add contacts, call, hear each other, mute, hang up', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealcall-cli-'));
    const relay = run(['relay', '--port', '0', '--json']);
    const { url } = (await relay.next('listening')) as { url: string } & Event;
    // ws://<fingerprint>@host:port: the fingerprint (base64url of the relay's key) is what peers check.
    expect(url).toMatch(/^ws:\/\/[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+$/);
    const alice = run(['peer', '--name', 'alice', '--relay', url, '--dir', join(dir, 'alice'), '--tone', '440', '--json']);
    const bob = run(['peer', '--name', 'bob', '--relay', url, '--dir', join(dir, 'bob'), '--tone', '880', '--json']);
    const [a, b] = await Promise.all([alice.next('ready'), bob.next('ready')]);
    expect(String(a.address)).toMatch(/^sc1:/);
    alice.send(`add bob ${String(b.address)}`);
    bob.send(`add alice ${String(a.address)}`);
    await Promise.all([alice.next('contact-added'), bob.next('contact-added')]);

    alice.send('call bob');
    await alice.next('outgoing');
    const incoming = await bob.next('incoming');
    expect(incoming).toMatchObject({ peer: 'alice', media: 'audio', ringTimeoutMs: 30_000 });
    // Both sides count the ringing down.
    expect(await alice.next('countdown')).toMatchObject({ peer: 'bob', secondsLeft: 30 });
    expect(await bob.next('countdown')).toMatchObject({ peer: 'alice', secondsLeft: 30 });
    await alice.next('ringing');
    bob.send('accept');
    const [connected, atCallee] = await Promise.all([alice.next('connected'), bob.next('connected')]);
    expect(connected).toMatchObject({ peer: 'bob', e2ee: 'transport', path: 'direct' });
    for (const e of [connected, atCallee]) {
      expect(e.ringMs).toBeTypeOf('number');
      expect(e.setupMs).toBeTypeOf('number');
    }

    const heard = (e: Event) => Number(e.audibleSeconds) >= 1;
    const [atAlice, atBob] = await Promise.all([alice.next('audio', heard), bob.next('audio', heard)]);
    expect(Math.abs(Number(atAlice.frequencyHz) - 880)).toBeLessThan(90);
    expect(Math.abs(Number(atBob.frequencyHz) - 440)).toBeLessThan(45);

    // Quality readings while connected, the tone's bitrate both ways.
    const quality = await alice.next('quality');
    expect(quality).toMatchObject({ peer: 'bob', level: 'good' });
    const figures = quality as unknown as { rttMs: number; lossPercent: { receive: number }; bitrateKbps: { send: number; receive: number } };
    expect(figures.rttMs).toBeGreaterThanOrEqual(0);
    expect(figures.lossPercent.receive).toBeGreaterThanOrEqual(0);
    expect(figures.bitrateKbps.send).toBeGreaterThan(0);
    expect(figures.bitrateKbps.receive).toBeGreaterThan(0);

    // What each peer reports at connect is no news: nothing about the other's media yet.
    expect([...alice.events, ...bob.events].filter((e) => e.event === 'remote-media')).toEqual([]);
    alice.send('mute');
    expect(await alice.next('muted')).toMatchObject({ muted: true });
    expect(await bob.next('remote-media', (e) => e.audioMuted === true)).toBeTruthy();

    alice.send('hangup');
    const aliceEnded = await alice.next('ended');
    expect(aliceEnded).toMatchObject({ reason: 'hangup' });
    expect(await bob.next('ended')).toMatchObject({ reason: 'remote-hangup' });
    // The call's history: connected for as long as it took to hear, measure and mute.
    const times = aliceEnded as unknown as { startedAt: number; connectedAt: number; endedAt: number; durationMs: number };
    expect(times.connectedAt).toBeGreaterThan(times.startedAt);
    expect(times.durationMs).toBe(times.endedAt - times.connectedAt);
    expect(times.durationMs).toBeGreaterThan(1000);
    alice.send('quit');
    bob.send('quit');
    expect(await alice.exited).toBe(0);
    expect(await bob.exited).toBe(0);
    // Bob's folder keeps the replay state of the invitation he took, so it never rings again
    // after a restart; Alice received none.
    await ready();
    const saved = new ReplayGuard({ now: Date.now }, new Uint8Array(await readFile(join(dir, 'bob', 'replay.bin'))));
    expect(saved.size).toBe(1);
    await expect(readFile(join(dir, 'alice', 'replay.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);

  it('keeps identity, address and contacts across restarts of a peer', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealcall-cli-'));
    const relay = run(['relay', '--port', '0', '--json']);
    const { url } = (await relay.next('listening')) as { url: string } & Event;
    const args = ['peer', '--name', 'carol', '--relay', url, '--dir', join(dir, 'carol'), '--json'];
    const first = run(args);
    const { address } = await first.next('ready');
    first.send('add dave sc1:not-an-address');
    expect(await first.next('error')).toMatchObject({ code: 'BAD_ADDRESS' });
    first.send('quit');
    expect(await first.exited).toBe(0);
    const second = run(args);
    expect((await second.next('ready')).address).toBe(address);
  }, 30_000);

  it('refuses to start a peer without --relay, with a relay URL lacking the fingerprint, or at a server holding another key', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealcall-cli-'));
    const relay = run(['relay', '--port', '0', '--json']);
    const { url } = (await relay.next('listening')) as { url: string } & Event;
    const peer = (name: string, relayArgs: string[]) => {
      const p = new CliProcess(['peer', '--name', name, ...relayArgs, '--dir', join(dir!, name), '--json']);
      return p.exited.then(({ code }) => ({ code, stderr: p.stderr }));
    };
    expect(await peer('a', [])).toMatchObject({ code: 1, stderr: expect.stringContaining('--relay') });
    expect(await peer('b', ['--relay', url.replace(/\/\/[^@]+@/, '//')])).toMatchObject({ code: 1, stderr: expect.stringMatching(/fingerprint/) });
    const other = withFingerprint(url, new Uint8Array(32).fill(9));
    expect(await peer('c', ['--relay', other])).toMatchObject({ code: 1, stderr: expect.stringMatching(/does not hold the key/) });
    // The printed URL itself works.
    const ok = run(['peer', '--name', 'd', '--relay', url, '--dir', join(dir, 'd'), '--json']);
    expect(await ok.next('ready')).toMatchObject({ relay: url });
  }, 30_000);

  it('prints usage and rejects unknown commands', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    const bad = run(['frobnicate']);
    expect(await bad.exited).toBe(2);
  });
});
