import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import {
  CallClient,
  exitNodeProcess,
  isSealcallError,
  ready,
  WebSocketTransport,
  type QueueState,
  type WebRtcImplementation,
} from '../index.js';
import type { NodeAudio } from './audio.js';
import { Output } from './output.js';
import { PeerSessionUi } from './peer-session-ui.js';
import { PeerStore } from './peer-store.js';
import { TerminalScreen } from './terminal-screen.js';

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
 * In a terminal (and without --json) it keeps a status line and a prompt at the bottom.
 */
export async function runPeer(options: PeerOptions): Promise<void> {
  const out = new Output(options.json);
  const screen = process.stdout.isTTY && !options.json ? new TerminalScreen(process.stdout) : undefined;
  if (screen) out.useScreen(screen);
  await ready();
  const wrtc = await loadWrtc();
  const store = new PeerStore(options.dir);
  const files = await store.load();
  const connect = (state?: QueueState) => WebSocketTransport.connect({ url: options.relay, identity: files.identity, WebSocket, ...(state ? { state } : {}) });
  let transport: WebSocketTransport;
  try {
    transport = await connect(files.queue);
  } catch (error) {
    // A queue saved for another relay, an older protocol, or deleted: start over with a new one.
    if (!files.queue || !isSealcallError(error) || !['INVALID_ARGUMENT', 'QUEUE_NOT_FOUND'].includes(error.code)) throw error;
    out.emit({ event: 'info', message: `the saved queue cannot be used (${error.message}): created a new one, share the new address` });
    transport = await connect();
  }
  await store.saveQueue(transport.exportState());
  transport.on('status', (status, error) => out.emit({ event: 'transport', status, ...(error ? { code: error.code } : {}) }));

  // The transport learns each contact's key from its address; the client reads it from there.
  const addContact = async (name: string, address: string) => {
    transport.addContact(name, address);
    files.contacts[name] = address;
    await store.saveContacts(files.contacts);
    out.emit({ event: 'contact-added', name });
  };
  for (const [name, address] of Object.entries(files.contacts)) {
    try {
      transport.addContact(name, address);
    } catch (error) {
      // An address saved before its format changed (no relay key fingerprint): ask for a new one.
      out.emit({ event: 'info', message: `contact ${name} skipped: ${(error as Error).message}; add their new address` });
    }
  }

  const client = await CallClient.create({ identity: files.identity, transport, wrtc, replayStore: store.replayStore() });
  const session = new PeerSessionUi(client, out, wrtc as unknown as NodeAudio, options);
  out.emit({ event: 'ready', name: options.name, address: transport.address, relay: options.relay });

  const quit = async (code = 0) => {
    await session.close();
    await client.close();
    transport.close();
    screen?.close();
    await exitNodeProcess(code);
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
  // With the screen and a keyboard, readline reads keys one by one for the screen's prompt;
  // otherwise it reads whole lines (a terminal's own echo and line editing, or a script's pipe).
  const keyboard = screen !== undefined && process.stdin.isTTY === true;
  const lines = createInterface({ input: process.stdin, terminal: keyboard });
  if (keyboard) screen.attach(lines, process.stdin);
  lines.on('line', (line) => void run(line));
  // Scripted peers stay alive while stdin is closed; an interactive one leaves with the terminal.
  lines.on('close', () => process.stdin.isTTY && void quit(0));
  if (options.call) await run(`call ${options.call}`);
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
