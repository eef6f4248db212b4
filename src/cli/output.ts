/**
 * What the CLI prints: a line per event, readable at a terminal, or one JSON object per line
 * with `--json` so scripts (and `sealcall demo`) can follow a peer. Never keys or SDP.
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
  | { event: 'connected'; peer: string; e2ee: string; path: string; setupMs: number }
  | { event: 'muted'; muted: boolean }
  | { event: 'remote-media'; audioMuted: boolean; videoEnabled: boolean }
  | { event: 'audio'; levelDb: number; frequencyHz: number; audibleSeconds: number; bar: string }
  | { event: 'ended'; peer: string; reason: string; code?: string }
  | { event: 'error'; code: string; message: string }
  | { event: 'listening'; url: string; persistent: boolean }
  | { event: 'demo-page'; url: string }
  | { event: 'info'; message: string };

/** Prints events in the chosen format. */
export class Output {
  constructor(
    private readonly json: boolean,
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  emit(event: CliEvent): void {
    this.write(this.json ? JSON.stringify(event) : describe(event));
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
      return `connected with ${e.peer} in ${e.setupMs} ms: ${e.e2ee === 'frame' ? 'frame-encrypted' : 'DTLS-SRTP'} media, ${e.path} path`;
    case 'muted':
      return e.muted ? 'microphone muted' : 'microphone on';
    case 'remote-media':
      return `peer ${e.audioMuted ? 'muted' : 'unmuted'} their microphone`;
    case 'audio':
      return `  hearing ${e.bar}  ${e.frequencyHz.toFixed(0)} Hz`;
    case 'ended':
      return `call with ${e.peer} ended: ${e.reason}${e.code ? ` (${e.code})` : ''}`;
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
