import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A stand-in for the chat relay: a WebSocket server on 127.0.0.1 that forwards opaque binary
 * messages between named clients (`ws://…/?name=alice`). Wire format, both ways: one byte of
 * peer-name length, the peer's name (UTF-8), the payload. The client names the recipient; the
 * pipe rewrites it to the sender. It sees only what sealcall hands a transport: ciphertext.
 */
export class WebSocketPipe {
  private readonly clients = new Map<string, WebSocket>();
  /** Messages forwarded so far. */
  forwarded = 0;

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (socket, request) => {
      const name = new URL(request.url ?? '/', 'http://x').searchParams.get('name');
      if (!name) return socket.close(1008, 'name required');
      this.clients.set(name, socket);
      socket.on('close', () => {
        if (this.clients.get(name) === socket) this.clients.delete(name);
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) this.forward(name, Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
      });
    });
  }

  static async start(): Promise<WebSocketPipe> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((done) => server.once('listening', done));
    return new WebSocketPipe(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  close(): Promise<void> {
    for (const socket of this.clients.values()) socket.terminate();
    return new Promise((done) => this.server.close(() => done()));
  }

  private forward(from: string, message: Buffer): void {
    const nameLength = message[0];
    if (nameLength === undefined || message.length < 1 + nameLength) return;
    const to = message.subarray(1, 1 + nameLength).toString('utf8');
    const target = this.clients.get(to);
    if (!target) return; // like a lossy transport: sealcall must cope
    const fromBytes = Buffer.from(from, 'utf8');
    target.send(Buffer.concat([Buffer.from([fromBytes.length]), fromBytes, message.subarray(1 + nameLength)]));
    this.forwarded += 1;
  }
}
