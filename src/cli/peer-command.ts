import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import {
  CallClient,
  decodeAddress,
  isSealcallError,
  ready,
  WebSocketTransport,
  type Call,
  type WebRtcImplementation,
} from '../index.js';
import { levelBar, startMeter, startTone, type Meter, type NodeAudio, type Tone } from './audio.js';
import { Output } from './output.js';
import { PeerStore } from './peer-store.js';

/** Options of `sealcall peer`. */
export interface PeerOptions {
  name: string;
  relay: string;
  dir: string;
  json: boolean;
  /** Frequency of the tone this peer sends, in Hz. */
  tone: number;
  /** Contacts to add first: `name=address`. */
  add: string[];
  /** Call this contact once ready. */
  call?: string;
  autoAccept: boolean;
  /** Hang up this long after connecting. */
  hangupAfterMs?: number;
  /** Quit when the first call ends. */
  exitAfterCall: boolean;
}

const HELP = `commands:
  add <name> <address>   add a contact (their address from their "ready" line)
  call <name>            call a contact
  accept | reject        answer the ringing call
  hangup                 end the call
  mute | unmute          microphone
  address                show your contact address
  quit                   leave`;

/**
 * A command-line peer: keeps its identity and contacts in a folder, talks to a relay, sends a
 * tone and meters what it hears. Commands come from the terminal or, scripted, from stdin lines.
 */
export async function runPeer(options: PeerOptions): Promise<void> {
  const out = new Output(options.json);
  await ready();
  const wrtc = await loadWrtc();
  const store = new PeerStore(options.dir);
  const files = await store.load();
  const transport = await WebSocketTransport.connect({
    url: options.relay,
    identity: files.identity,
    WebSocket,
    ...(files.queue ? { state: files.queue } : {}),
  });
  await store.saveQueue(transport.exportState());
  transport.on('status', (status, error) => out.emit({ event: 'transport', status, ...(error ? { code: error.code } : {}) }));

  const contacts = new Map<string, Uint8Array>();
  const addContact = async (name: string, address: string) => {
    const decoded = decodeAddress(address);
    transport.addContact(name, address);
    contacts.set(name, decoded.publicKey);
    files.contacts[name] = address;
    await store.saveContacts(files.contacts);
    out.emit({ event: 'contact-added', name });
  };
  for (const [name, address] of Object.entries(files.contacts)) {
    transport.addContact(name, address);
    contacts.set(name, decodeAddress(address).publicKey);
  }

  const client = await CallClient.create({
    identity: files.identity,
    transport,
    contacts: (peer) => contacts.get(peer),
    wrtc,
  });
  const session = new PeerSessionUi(client, out, wrtc as unknown as NodeAudio, options);
  out.emit({ event: 'ready', name: options.name, address: transport.address, relay: options.relay });

  const quit = async (code = 0) => {
    await session.close();
    await client.close();
    transport.close();
    // @roamhq/wrtc may crash at a normal exit once audio was used: leave explicitly.
    process.exit(code);
  };
  session.onFinished = () => void quit(0);
  process.once('SIGINT', () => void quit(0));
  process.once('SIGTERM', () => void quit(0));

  const run = async (line: string) => {
    const [command, ...args] = line.trim().split(/\s+/);
    try {
      switch (command) {
        case undefined:
        case '':
          return;
        case 'add':
          if (args.length !== 2) throw new Error('usage: add <name> <address>');
          return await addContact(args[0]!, args[1]!);
        case 'call':
          if (!args[0]) throw new Error('usage: call <name>');
          return await session.call(args[0]);
        case 'accept':
        case 'reject':
        case 'hangup':
        case 'mute':
        case 'unmute':
          return await session.act(command);
        case 'address':
          return out.emit({ event: 'info', message: transport.address });
        case 'quit':
        case 'exit':
          return await quit(0);
        case 'help':
          return out.emit({ event: 'info', message: HELP });
        default:
          throw new Error(`unknown command "${command}" (try "help")`);
      }
    } catch (error) {
      out.emit({ event: 'error', code: isSealcallError(error) ? error.code : 'COMMAND', message: (error as Error).message });
    }
  };

  for (const entry of options.add) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`--add expects name=address, got "${entry}"`);
    await run(`add ${entry.slice(0, at)} ${entry.slice(at + 1)}`);
  }
  const lines = createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true });
  lines.on('line', (line) => void run(line));
  // Scripted peers stay alive while stdin is closed; an interactive one leaves with the terminal.
  lines.on('close', () => process.stdin.isTTY && void quit(0));
  if (options.call) await run(`call ${options.call}`);
}

/**
 * Follows the peer's one call at a time: prints its events, sends the tone, meters the peer's
 * audio, and applies the scripted behaviour (auto-accept, hang up after a while).
 */
class PeerSessionUi {
  onFinished: (() => void) | undefined;
  private current: Call | undefined;
  private tone: Tone | undefined;
  private meter: Meter | undefined;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly client: CallClient,
    private readonly out: Output,
    private readonly audio: NodeAudio,
    private readonly options: PeerOptions,
  ) {
    client.on('incoming', (call) => {
      this.follow(call, Date.now());
      out.emit({ event: 'incoming', peer: call.peer, media: call.media, ringTimeoutMs: client.ringTimeoutMs });
      if (options.autoAccept) void this.act('accept');
      else this.countdown(call);
    });
    client.on('warning', (error) => out.emit({ event: 'error', code: error.code, message: error.message }));
  }

  async call(peer: string): Promise<void> {
    const startedAt = Date.now();
    this.tone ??= startTone(this.audio, this.options.tone);
    const call = await this.client.call(peer, { stream: this.tone.stream });
    this.follow(call, startedAt);
    this.out.emit({ event: 'outgoing', peer, callId: call.id });
  }

  async act(action: 'accept' | 'reject' | 'hangup' | 'mute' | 'unmute'): Promise<void> {
    const call = this.current;
    if (!call) throw new Error('no call');
    switch (action) {
      case 'accept':
        this.tone ??= startTone(this.audio, this.options.tone);
        return call.accept({ stream: this.tone.stream });
      case 'reject':
        return call.reject();
      case 'hangup':
        return call.hangup();
      case 'mute':
      case 'unmute':
        this.out.emit({ event: 'muted', muted: await call.setAudioMuted(action === 'mute') });
    }
  }

  async close(): Promise<void> {
    await this.current?.hangup();
    this.release();
  }

  private follow(call: Call, startedAt: number): void {
    this.current = call;
    const peer = call.peer;
    call.on('ringing', () => this.out.emit({ event: 'ringing', peer }));
    let connectedBefore = false;
    call.on('state', (state) => {
      this.out.emit({ event: 'state', peer, state });
      if (state !== 'connected' || connectedBefore) return;
      connectedBefore = true;
      this.onConnected(call, Date.now() - startedAt);
    });
    call.on('track', (track) => {
      if (track.kind !== 'audio' || this.meter) return;
      this.meter = startMeter(this.audio, track);
      this.every(500, () => {
        const r = this.meter?.reading();
        if (r && r.audibleSeconds > 0) this.out.emit({ event: 'audio', ...r, bar: levelBar(r.levelDb) });
      });
    });
    call.on('remote-media', (m) => this.out.emit({ event: 'remote-media', ...m }));
    call.on('ended', ({ reason, error }) => {
      this.out.emit({ event: 'ended', peer, reason, ...(error ? { code: error.code } : {}) });
      this.release();
      this.current = undefined;
      if (this.options.exitAfterCall) this.onFinished?.();
    });
  }

  private onConnected(call: Call, setupMs: number): void {
    void call.path().then((path) => {
      this.out.emit({ event: 'connected', peer: call.peer, e2ee: call.e2ee, path: path ?? 'unknown', setupMs });
    });
    if (this.options.hangupAfterMs !== undefined) this.after(this.options.hangupAfterMs, () => void call.hangup());
  }

  private countdown(call: Call): void {
    const deadline = Date.now() + this.client.ringTimeoutMs;
    const tick = () => {
      const secondsLeft = Math.round((deadline - Date.now()) / 1000);
      if (call.state !== 'incoming' || secondsLeft <= 0) return;
      this.out.emit({ event: 'countdown', peer: call.peer, secondsLeft });
      this.after(5000, tick);
    };
    this.after(5000, tick);
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer as unknown as ReturnType<typeof setTimeout>);
  }

  private release(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.meter?.stop();
    this.meter = undefined;
    this.tone?.stop();
    this.tone = undefined;
  }
}

/** @roamhq/wrtc is an optional peer dependency: the CLI needs it for media. */
async function loadWrtc(): Promise<WebRtcImplementation> {
  try {
    const module = (await import('@roamhq/wrtc')) as { default?: unknown };
    return (module.default ?? module) as WebRtcImplementation;
  } catch (cause) {
    throw new Error('the CLI needs @roamhq/wrtc for media: npm install @roamhq/wrtc', { cause });
  }
}
