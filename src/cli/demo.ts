import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Relay } from '../relay/index.js';
import { minutes, qualityText } from './format.js';
import type { CliEvent } from './output.js';

/** How long the whole demo may take before it gives up. */
const DEMO_TIMEOUT_MS = 60_000;
/** Seconds of the peer's tone each side must hear before the frequency is judged. */
const LISTEN_SECONDS = 1.5;

/**
 * The one-command demo: a relay on a free port and two peer processes (alice sends 440 Hz, bob
 * 880 Hz) place an encrypted call; each must hear the other's tone; then alice hangs up.
 * Resolves with the exit code.
 */
export async function runDemo(cliPath: string): Promise<number> {
  const relay = new Relay();
  const { url } = await relay.listen({ port: 0 });
  const dir = await mkdtemp(join(tmpdir(), 'sealcall-demo-'));
  const log = (who: string, text: string) => process.stdout.write(`${who.padEnd(6)} ${text}\n`);
  log('relay', `listening on ${url}`);
  const peers: PeerProcess[] = [];
  const deadline = setTimeout(() => {
    log('demo', `gave up after ${DEMO_TIMEOUT_MS / 1000} s`);
    for (const p of peers) p.kill();
    process.exit(1);
  }, DEMO_TIMEOUT_MS);
  try {
    const alice = new PeerProcess(cliPath, ['--name', 'alice', '--tone', '440'], url, join(dir, 'alice'), log);
    const bob = new PeerProcess(cliPath, ['--name', 'bob', '--tone', '880', '--auto-accept'], url, join(dir, 'bob'), log);
    peers.push(alice, bob);
    const [a, b] = await Promise.all([alice.next('ready'), bob.next('ready')]);
    alice.send(`add bob ${b.address}`);
    bob.send(`add alice ${a.address}`);
    await Promise.all([alice.next('contact-added'), bob.next('contact-added')]);

    alice.send('call bob');
    const [connected] = await Promise.all([alice.next('connected'), bob.next('connected')]);
    // The first quality reading comes one sampling interval (2 s) after connecting.
    const [atAlice, atBob, quality] = await Promise.all([alice.hearing(LISTEN_SECONDS), bob.hearing(LISTEN_SECONDS), alice.next('quality')]);
    alice.send('hangup');
    const [aEnd, bEnd] = await Promise.all([alice.next('ended'), bob.next('ended')]);
    alice.send('quit');
    bob.send('quit');
    await Promise.all([alice.exited, bob.exited]);

    const heardRight = Math.abs(atBob.frequencyHz - 440) < 44 && Math.abs(atAlice.frequencyHz - 880) < 88;
    const ok = heardRight && aEnd.reason === 'hangup' && bEnd.reason === 'remote-hangup';
    const stats = relay.stats;
    process.stdout.write(`
summary
  ringing (invite → answer)  ${connected.ringMs} ms
  setup (answer → connected) ${connected.setupMs} ms
  media protection           ${connected.e2ee === 'frame' ? 'SFrame frame encryption + DTLS-SRTP' : 'DTLS-SRTP, keyed through Noise-authenticated signaling'}
  media path                 ${connected.path}
  call quality (alice)       ${qualityText(quality)}
  alice heard                ${atAlice.frequencyHz.toFixed(0)} Hz (bob sends 880)
  bob heard                  ${atBob.frequencyHz.toFixed(0)} Hz (alice sends 440)
  messages through relay     ${stats.messagesReceived} (${stats.bytesStored} bytes stored, sealed and padded)
  ended                      alice: ${aEnd.reason}, bob: ${bEnd.reason}, connected for ${minutes(aEnd.durationMs)}
  result                     ${ok ? 'OK' : 'FAILED'}
`);
    return ok ? 0 : 1;
  } catch (error) {
    log('demo', `failed: ${(error as Error).message}`);
    return 1;
  } finally {
    clearTimeout(deadline);
    for (const p of peers) p.kill();
    await relay.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type EventOf<K extends CliEvent['event']> = Extract<CliEvent, { event: K }>;

/** One `sealcall peer --json` child process, followed event by event. */
class PeerProcess {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly events: CliEvent[] = [];
  private readonly waiters: { match: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void; reject: (error: Error) => void }[] = [];

  constructor(cliPath: string, args: string[], relayUrl: string, dir: string, log: (who: string, text: string) => void) {
    const name = args[args.indexOf('--name') + 1]!;
    this.child = spawn(process.execPath, [cliPath, 'peer', '--json', '--relay', relayUrl, '--dir', dir, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        // Whatever it was still expected to say, it never will.
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${name} exited (code ${code}) early`));
        resolve(code);
      }),
    );
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let event: CliEvent;
      try {
        event = JSON.parse(line) as CliEvent;
      } catch {
        return;
      }
      if (event.event !== 'audio' && event.event !== 'ready') log(name, summarize(event));
      this.events.push(event);
      for (const w of this.waiters.filter((w) => w.match(event))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event);
      }
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => log(name, `! ${line}`));
  }

  /** The next event of this kind (or the first already seen that nobody took). */
  next<K extends CliEvent['event']>(kind: K): Promise<EventOf<K>> {
    return this.when((e): e is EventOf<K> => e.event === kind);
  }

  /** Resolves with an audio reading once `seconds` of the peer's tone were heard. */
  hearing(seconds: number): Promise<EventOf<'audio'>> {
    return this.when((e): e is EventOf<'audio'> => e.event === 'audio' && e.audibleSeconds >= seconds);
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private when<E extends CliEvent>(match: (e: CliEvent) => e is E): Promise<E> {
    const seen = this.events.findIndex(match);
    if (seen >= 0) return Promise.resolve(this.events.splice(seen, 1)[0] as E);
    if (this.child.exitCode !== null) return Promise.reject(new Error('the peer has exited'));
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve: (e) => resolve(e as E), reject }));
  }
}

function summarize(e: CliEvent): string {
  if (e.event === 'quality') return `quality ${qualityText(e)}`;
  const { event, ...rest } = e;
  const details = Object.entries(rest)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return `${event} ${details}`.trim();
}
