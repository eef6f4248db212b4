import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, type WebSocketServer } from 'ws';
import { generateIdentity } from '../../src/crypto/identity.js';
import { ready } from '../../src/crypto/sodium.js';
import { isSealcallError, type ErrorCode } from '../../src/errors.js';
import { Relay, type RelayOptions } from '../../src/relay/index.js';
import type { TransportStatus } from '../../src/relay-client/relay-link.js';
import { WebSocketTransport, type WebSocketTransportOptions } from '../../src/relay-client/websocket-transport.js';
import { decodeRelayBlock, encodeClientBlock, type ClientFrame, type RelayFrame } from '../../src/protocol/relay-frames.js';
import { decodeClientFrames } from './relay-codec.js';
import { RawClient } from './relay-client.js';

/**
 * Everything a relay or transport test opens (relays on real 127.0.0.1 sockets, raw clients,
 * transports, temp dirs, stray servers), so `afterEach(() => fixture.close())` closes it all.
 */
export class RelayFixture {
  readonly relays: Relay[] = [];
  private readonly clients: RawClient[] = [];
  private readonly transports: WebSocketTransport[] = [];
  private readonly dirs: string[] = [];
  private readonly servers: WebSocketServer[] = [];

  /** A relay listening on `port` (0: any free one). */
  async start(options: RelayOptions = {}, port = 0): Promise<Relay> {
    await ready();
    const relay = new Relay(options);
    this.relays.push(relay);
    await relay.listen({ port });
    return relay;
  }

  /** Closes a relay (as if it went down); its port and store stay usable for a restart. */
  async stop(relay: Relay): Promise<void> {
    const index = this.relays.indexOf(relay);
    if (index >= 0) this.relays.splice(index, 1);
    await relay.close();
  }

  /** A raw protocol client connected to `relay`. */
  async raw(relay: Relay): Promise<RawClient> {
    const client = await RawClient.connect(relay.address!.url);
    this.clients.push(client);
    return client;
  }

  /** A transport on `relay` with a fresh identity (unless given) and fast test backoff. */
  async user(relay: Relay, options: Partial<WebSocketTransportOptions> = {}): Promise<WebSocketTransport> {
    await ready();
    const transport = await WebSocketTransport.connect({
      url: relay.address!.url,
      identity: generateIdentity(),
      WebSocket,
      backoff: { initialMs: 20, maxMs: 100 },
      ...options,
    });
    this.transports.push(transport);
    return transport;
  }

  /** Alice and Bob on `relay`, each a contact of the other. */
  async pair(relay: Relay, options: Partial<WebSocketTransportOptions> = {}) {
    await ready();
    const aliceId = generateIdentity();
    const bobId = generateIdentity();
    const alice = await this.user(relay, { identity: aliceId, ...options });
    const bob = await this.user(relay, { identity: bobId, ...options });
    alice.addContact('bob', bob.address);
    bob.addContact('alice', alice.address);
    return { alice, bob, aliceId, bobId };
  }

  /** A path for a relay store in a fresh temp dir. */
  tempStore(): string {
    const dir = mkdtempSync(join(tmpdir(), 'sealcall-relay-'));
    this.dirs.push(dir);
    return join(dir, 'relay.store');
  }

  /** Registers a server to close. */
  track(server: WebSocketServer): void {
    this.servers.push(server);
  }

  async close(): Promise<void> {
    for (const t of this.transports.splice(0)) t.close();
    for (const c of this.clients.splice(0)) c.close();
    await Promise.all(this.relays.splice(0).map((r) => r.close()));
    for (const s of this.servers.splice(0)) s.close();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** Records every message a transport hands to its handlers, as [from, text]. */
export function inbox(transport: WebSocketTransport): [string, string][] {
  const got: [string, string][] = [];
  transport.onMessage((from, payload) => got.push([from, new TextDecoder().decode(payload)]));
  return got;
}

/** Records a transport's status events. */
export function statuses(transport: WebSocketTransport): { list: TransportStatus[]; errors: (ErrorCode | undefined)[] } {
  const list: TransportStatus[] = [];
  const errors: (ErrorCode | undefined)[] = [];
  transport.on('status', (status, error) => {
    list.push(status);
    errors.push(error?.code);
  });
  return { list, errors };
}

/** Polls `condition` until it holds. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One turn of the event loop: what a transport answers at once to a block it got has been written by then. */
export const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * A `ws` WebSocket class (for a transport's `WebSocket` option) that records what its instances
 * do: how many were made (one per connection attempt), every frame they sent and every frame
 * that came to them, so a test can wait for the event it means instead of sleeping.
 */
export function recordingWebSocket() {
  const record = { made: 0, sent: [] as ClientFrame[], received: [] as (RelayFrame | Error)[] };
  class RecordingWebSocket extends filteringWebSocket((frames) => (record.sent.push(...frames), frames)) {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      record.made++;
      // Registered before the transport's own listener: a frame is recorded before it is handled.
      // Decoded as the transport decodes them (a frame or block it cannot read is recorded as its error).
      // (As an ArrayBuffer: the transport sets `binaryType` to 'arraybuffer', as browsers have it.)
      this.on('message', (data: Buffer | ArrayBuffer) => {
        try {
          record.received.push(...decodeRelayBlock(new Uint8Array(data)));
        } catch (error) {
          record.received.push(error as Error); // a block it cannot read at all, recorded as such
        }
      });
    }
  }
  return { WebSocket: RecordingWebSocket, record };
}

/**
 * A `ws` WebSocket class whose outgoing client blocks go through `filter` first (what it returns
 * is sent; nothing, if it returns none), whichever way the transport sends them: `send`, or its
 * own masked writes to the socket (src/relay-client/websocket-writer.ts), each one whole frame.
 */
export function filteringWebSocket(filter: (frames: ClientFrame[]) => ClientFrame[]) {
  return class FilteringWebSocket extends WebSocket {
    private forwarding = false;

    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.once('open', () => {
        type Write = (chunk: Uint8Array, ...rest: unknown[]) => boolean;
        const socket = (this as unknown as { _socket: { write: Write; writableCorked: number } })._socket;
        const write = socket.write.bind(socket);
        socket.write = (chunk: Uint8Array, ...rest: unknown[]) => {
          // ws's own frames pass: those it sends through `send` here (forwarding), its control
          // frames, which start with their own opcode, and the payload halves of those it writes
          // in two parts, under a cork (a close frame's masked code may begin with 0x82).
          if (this.forwarding || socket.writableCorked > 0 || chunk[0] !== 0x82) return write(chunk, ...rest);
          this.forward(decodeClientFrames(unmasked(chunk)));
          return true;
        };
      });
    }

    override send(data: Uint8Array): void {
      this.forward(decodeClientFrames(data));
    }

    private forward(frames: ClientFrame[]): void {
      const kept = filter(frames);
      if (kept.length === 0) return;
      this.forwarding = true;
      try {
        super.send(encodeClientBlock(kept));
      } finally {
        this.forwarding = false;
      }
    }
  };
}

/** The payload of one whole masked binary WebSocket frame, unmasked. */
function unmasked(frame: Uint8Array): Uint8Array {
  const length7 = frame[1]! & 0x7f;
  const keyAt = length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
  const key = frame.subarray(keyAt, keyAt + 4);
  return frame.subarray(keyAt + 4).map((byte, i) => byte ^ key[i % 4]!);
}

export const text = (s: string) => new TextEncoder().encode(s);
export const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
/** A predicate for `rejects.toSatisfy`: a SealcallError with `code`. */
export const hasCode = (code: ErrorCode) => (e: unknown) => isSealcallError(e, code);
