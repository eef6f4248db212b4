import type { CallQuality } from '../index.js';
import { minutes, qualityText } from './format.js';
import { StatusLine } from './status-line.js';
import type { TerminalScreen } from './terminal-screen.js';

/**
 * What the CLI prints: one JSON object per line with `--json`, so scripts (and `sealcall demo`)
 * can follow a peer; readable lines otherwise; and in an interactive terminal, event lines above
 * a status line redrawn in place. Never keys or SDP.
 */
export type CliEvent =
  | { event: 'ready'; name: string; address: string; relay: string }
  | { event: 'contact-added'; name: string }
  | { event: 'transport'; status: string; code?: string }
  | { event: 'outgoing'; peer: string; callId: string }
  | { event: 'ringing'; peer: string }
  | { event: 'incoming'; peer: string; media: string; ringTimeoutMs: number }
  | { event: 'countdown'; peer: string; secondsLeft: number }
  | { event: 'state'; peer: string; state: string }
  /** `ringMs`: invitation until answered; `setupMs`: answered until media flows. */
  | { event: 'connected'; peer: string; e2ee: string; path: string; ringMs: number; setupMs: number }
  | { event: 'muted'; muted: boolean }
  /**
   * When the peer's microphone, camera, hold or screen sharing differs from what was known: a peer
   * joins with its microphone on, off hold, not sharing. `held`: the peer put the call on hold
   * (media paused both ways). `screenSharing`: the peer's video is its screen (this CLI cannot
   * share one, but a browser peer can).
   */
  | { event: 'remote-media'; peer: string; audioMuted: boolean; videoEnabled: boolean; held: boolean; screenSharing: boolean }
  /** `frequencyHz` is 0 unless `audible`. */
  | { event: 'audio'; levelDb: number; audible: boolean; frequencyHz: number; audibleSeconds: number; bar: string }
  /** Every `qualityIntervalMs` of a connected call (the call's `quality` event). */
  | ({ event: 'quality'; peer: string } & CallQuality)
  /** Times are epoch ms; `durationMs` is the connected time (0 if the call never connected). */
  | { event: 'ended'; peer: string; reason: string; code?: string; startedAt: number; connectedAt?: number; endedAt: number; durationMs: number }
  | { event: 'error'; code: string; message: string }
  | { event: 'listening'; url: string; persistent: boolean }
  | { event: 'demo-page'; url: string }
  | { event: 'info'; message: string };

/** Seconds between two lines of a live reading (level, countdown) when nothing changed. */
const LIVE_LINE_EVERY_S = 5;

/** Events that only redraw a terminal's status line: printed as lines they would scroll. */
const STATUS_ONLY = new Set<CliEvent['event']>(['countdown', 'audio', 'state', 'quality']);

/** Prints events in the chosen format. */
export class Output {
  private screen: TerminalScreen | undefined;
  private readonly status = new StatusLine();
  /** The last audio reading printed as a line. */
  private audioLine: { audible: boolean; at: number } | undefined;
  /** The quality level of the call's last reading (text logs print a reading when it changes). */
  private qualityLevel: string | undefined;
  /** Whether the peer holds the current call, as its last `remote-media` said: text reports a change of it. */
  private peerHeld = false;
  /** Whether the peer shares its screen, as its last `remote-media` said: text reports a change of it. */
  private peerSharing = false;

  constructor(
    private readonly json: boolean,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  /** From now on, show events on an interactive terminal's screen. */
  useScreen(screen: TerminalScreen): void {
    this.screen = screen;
  }

  emit(event: CliEvent): void {
    if (this.screen) {
      this.status.apply(event);
      this.screen.update(this.status.text(), STATUS_ONLY.has(event.event) ? undefined : this.line(event));
    } else if (this.logs(event)) {
      this.write(this.json ? JSON.stringify(event) : this.line(event));
    }
  }

  /**
   * The readable line of an event. A `remote-media` event carries the peer's whole state, so
   * whether it is about the hold or screen sharing, rather than the microphone or camera, shows
   * only against the hold and sharing known before.
   */
  private line(event: CliEvent): string {
    if (event.event === 'ended') {
      this.peerHeld = false;
      this.peerSharing = false;
    }
    if (event.event !== 'remote-media') return describe(event);
    const lines: string[] = [];
    if (event.held !== this.peerHeld) lines.push(event.held ? `${event.peer} put the call on hold` : `${event.peer} resumed`);
    if (event.screenSharing !== this.peerSharing) {
      lines.push(event.screenSharing ? `${event.peer} is sharing their screen` : `${event.peer} stopped sharing their screen`);
    }
    this.peerHeld = event.held;
    this.peerSharing = event.screenSharing;
    return lines.length > 0 ? lines.join('\n') : describe(event);
  }

  /**
   * Whether a log of lines (JSON or text) gets this event: a countdown every few seconds, and
   * text gets a level reading when audibility changes, or every few seconds. JSON keeps every
   * reading: scripts and `sealcall demo` wait on them. Text gets a quality reading when its level
   * changes (the first reading of a call included).
   */
  private logs(event: CliEvent): boolean {
    if (event.event === 'countdown') return event.secondsLeft % LIVE_LINE_EVERY_S === 0;
    if (event.event === 'ended') this.qualityLevel = undefined;
    if (event.event === 'quality') {
      const changed = event.level !== this.qualityLevel;
      this.qualityLevel = event.level;
      return this.json || changed;
    }
    if (event.event !== 'audio' || this.json) return true;
    const now = Date.now();
    const since = this.audioLine ? now - this.audioLine.at : Infinity;
    // A second at least between lines, so a level hovering at the threshold does not flood.
    const due = this.audioLine?.audible === event.audible ? since >= LIVE_LINE_EVERY_S * 1000 : since >= 1000;
    if (due) this.audioLine = { audible: event.audible, at: now };
    return due;
  }
}

function describe(e: CliEvent): string {
  switch (e.event) {
    case 'ready':
      return `ready as ${e.name} on ${e.relay}\nyour contact address (share it):\n  ${e.address}`;
    case 'contact-added':
      return `contact added: ${e.name}`;
    case 'transport':
      return `relay connection: ${e.status}${e.code ? ` (${e.code})` : ''}`;
    case 'outgoing':
      return `calling ${e.peer}…`;
    case 'ringing':
      return `${e.peer} is ringing`;
    case 'incoming':
      return `incoming ${e.media} call from ${e.peer}: type "accept" or "reject"`;
    case 'countdown':
      return `  ringing… ${e.secondsLeft} s`;
    case 'state':
      return `call with ${e.peer}: ${e.state}`;
    case 'connected':
      return `connected with ${e.peer}: rang ${(e.ringMs / 1000).toFixed(1)} s, set up in ${e.setupMs} ms, ${e.e2ee === 'frame' ? 'frame-encrypted' : 'DTLS-SRTP'} media, ${e.path} path`;
    case 'muted':
      return e.muted ? 'microphone muted' : 'microphone on';
    case 'remote-media':
      // While sharing, the video choice applies to the screen, sent instead of the camera.
      return `${e.peer} now has the microphone ${e.audioMuted ? 'muted' : 'on'}, the ${e.screenSharing ? 'shared screen' : 'camera'} ${e.videoEnabled ? 'on' : 'off'}`;
    case 'audio':
      return e.audible ? `  hearing ${e.bar}  ${e.frequencyHz.toFixed(0)} Hz` : '  hearing: silent';
    case 'quality':
      return `call quality ${qualityText(e)}`;
    case 'ended':
      return `call with ${e.peer} ended: ${e.reason}${e.code ? ` (${e.code})` : ''}${e.durationMs > 0 ? ` after ${minutes(e.durationMs)}` : ''}`;
    case 'error':
      return `error ${e.code}: ${e.message}`;
    case 'listening':
      return `relay listening on ${e.url}${e.persistent ? '' : ' (in memory: a restart loses queues and messages)'}`;
    case 'demo-page':
      return `demo page on ${e.url} (open it in two tabs: ${e.url}?name=alice and ${e.url}?name=bob)`;
    case 'info':
      return e.message;
  }
}
