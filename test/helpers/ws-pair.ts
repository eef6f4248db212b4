import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';

/**
 * A `ws` server (port 0) and a `ws` client (of class `Client`) connected to it; returns the server's
 * side of the connection and the client. Everything it opens goes into `open`, for the test to close.
 */
export async function connectedWsPair(
  open: { close(): void }[],
  clientOptions?: ClientOptions,
  Client: new (address: string, protocols?: string[], options?: ClientOptions) => WebSocket = WebSocket,
): Promise<{ server: WebSocket; client: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
  open.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new Client(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, [], clientOptions);
  open.push({ close: () => client.terminate() });
  const server = await accepted;
  open.push({ close: () => server.terminate() });
  await new Promise((resolve) => (client.readyState === WebSocket.OPEN ? resolve(undefined) : client.once('open', resolve)));
  return { server, client };
}

/** Resolves once `done()` holds, checking it now and after each message `ws` receives. */
export function afterMessages(ws: WebSocket, done: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = () => (done() ? resolve() : ws.once('message', () => setImmediate(check)));
    check();
  });
}

/** Closes `from` with code 1000; resolves with the code `to` sees once the handshake completes. */
export function closeHandshake(from: WebSocket, to: WebSocket): Promise<number> {
  const closed = new Promise<number>((resolve) => to.once('close', resolve));
  from.close(1000);
  return closed;
}
