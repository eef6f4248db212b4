import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { pinnedRelayKey, socketUrl, withFingerprint } from '../../src/protocol/relay-url.js';
import { encodeClientBlock, encodeRelayBlock, type ClientFrame, type RelayFrame } from '../../src/protocol/relay-frames.js';
import { decodeClientFrames, decodeRelayFrames } from './relay-codec.js';

/** One frame that crossed the tap (a block of several gives one entry each). */
export interface TappedFrame {
  /** `up`: client → relay; `down`: relay → client. */
  dir: 'up' | 'down';
  /** Which client connection (1, 2, …). */
  conn: number;
  /** The WebSocket message (block) it came in, exactly as it crossed (after WebSocket unmasking). */
  bytes: Uint8Array;
  /** Its decoding, when the block decodes. */
  frame: ClientFrame | RelayFrame | undefined;
}

/**
 * What the tap does with a frame: pass it, drop it silently (no reply ever comes), send these
 * WebSocket messages instead, or swallow it and answer the sender itself (e.g. `ok` to a `send`
 * it threw away).
 */
export type TapVerdict = 'pass' | 'drop' | { replace: Uint8Array[] } | { reply: RelayFrame };

/**
 * A man in the middle between WebSocketTransports and a relay, on 127.0.0.1: everything the
 * network (or a relay operator) sees passes through it and is recorded, and a test can drop,
 * rewrite or inject frames in either direction, frame by frame within blocks. Clients connect to
 * `url` (which pins the relay's own key, since the tap passes `hello` through); each connection
 * gets its own upstream connection to the relay.
 */
export class RelayTap {
  readonly frames: TappedFrame[] = [];
  /** Decides the fate of each client → relay frame. */
  up: (frame: ClientFrame | undefined, bytes: Uint8Array, conn: number) => TapVerdict = () => 'pass';
  /** Decides the fate of each relay → client frame. */
  down: (frame: RelayFrame | undefined, bytes: Uint8Array, conn: number) => TapVerdict = () => 'pass';
  private readonly pairs = new Set<{ client: WebSocket; upstream: WebSocket }>();
  private connections = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
    private target: string,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Starts a tap in front of the relay at `target` (its URL with fingerprint). */
  static async start(target: string): Promise<RelayTap> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('tap has no address');
    return new RelayTap(server, withFingerprint(`ws://127.0.0.1:${address.port}`, pinnedRelayKey(target)), socketUrl(target));
  }

  /** Every body the relay stored or delivered: `send` bodies going up, `msg` bodies coming down. */
  get bodies(): Uint8Array[] {
    return this.frames.flatMap((f) => (f.frame && (f.frame.t === 'send' || f.frame.t === 'msg') ? [f.frame.body] : []));
  }

  /**
   * A verdict for `up` that makes the "relay" accept `send` frames picked by `pick` and throw
   * them away (the sender gets its `ok`, the recipient nothing).
   */
  static withhold(pick: (frame: ClientFrame) => boolean): (frame: ClientFrame | undefined) => TapVerdict {
    return (frame) => (frame?.t === 'send' && pick(frame) ? { reply: { t: 'ok', corr: frame.corr } } : 'pass');
  }

  /** Sends a relay frame to every client connection, as if the relay had sent it. */
  injectDown(frame: RelayFrame): void {
    const bytes = encodeRelayBlock([frame]);
    for (const { client } of this.pairs) if (client.readyState === WebSocket.OPEN) client.send(bytes, { binary: true });
  }

  /** Cuts every connection at once (both sides see their socket die). */
  cutAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.terminate();
      upstream.terminate();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: WebSocket): void {
    const conn = ++this.connections;
    const upstream = new WebSocket(this.target, { perMessageDeflate: false });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const early: { data: RawData; binary: boolean }[] = [];
    const end = () => {
      this.pairs.delete(pair);
      client.terminate();
      upstream.terminate();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('message', (data, binary) => {
      if (upstream.readyState !== WebSocket.OPEN) early.push({ data, binary });
      else this.forward('up', conn, data, binary, upstream, client);
    });
    upstream.on('open', () => {
      for (const { data, binary } of early.splice(0)) this.forward('up', conn, data, binary, upstream, client);
    });
    upstream.on('message', (data, binary) => this.forward('down', conn, data, binary, client, upstream));
  }

  private forward(dir: 'up' | 'down', conn: number, data: RawData, binary: boolean, to: WebSocket, from: WebSocket): void {
    const bytes = new Uint8Array(toBuffer(data));
    let frames: (ClientFrame | RelayFrame)[] | undefined;
    try {
      frames = dir === 'up' ? decodeClientFrames(bytes) : decodeRelayFrames(bytes);
    } catch {
      frames = undefined;
    }
    const out: Uint8Array[] = [];
    const passed: (ClientFrame | RelayFrame)[] = [];
    const replies: RelayFrame[] = [];
    let changed = false;
    for (const frame of frames ?? [undefined]) {
      this.frames.push({ dir, conn, bytes, frame });
      const verdict = dir === 'up' ? this.up(frame as ClientFrame | undefined, bytes, conn) : this.down(frame as RelayFrame | undefined, bytes, conn);
      if (verdict === 'pass') {
        if (frame) passed.push(frame);
        continue;
      }
      changed = true;
      if (verdict === 'drop') continue;
      if ('reply' in verdict) replies.push(verdict.reply);
      else out.push(...verdict.replace);
    }
    if (replies.length > 0 && from.readyState === WebSocket.OPEN) from.send(encodeRelayBlock(replies), { binary: true });
    if (to.readyState !== WebSocket.OPEN) return;
    if (!changed) to.send(bytes, { binary });
    else if (passed.length > 0) to.send(dir === 'up' ? encodeClientBlock(passed as ClientFrame[]) : encodeRelayBlock(passed as RelayFrame[]), { binary: true });
    for (const b of out) to.send(b, { binary });
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
