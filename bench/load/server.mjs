// A load-bench server in its own process: `node --expose-gc bench/load/server.mjs relay|shared|redis|baseline`.
//
// - relay: sealcall's Relay (the built package, `sealcall/relay`), options from the `start`
//   request, memory only.
// - shared: the same relay, for clients that send on their receive connection (clients.mjs).
// - redis: the same relay; relay-load.mjs puts a `redisUrl` in its options (a Redis store).
// - baseline: a bare `ws` forwarder with the same frame pattern and nothing else: no msgpack, no
//   store, no signatures. A client sends [1][u32 destination][body]; the server replies [2] (ok)
//   and forwards [3][u32][body] to the destination connection, which answers [4] (ack) and gets
//   [2] back. Each connection is greeted with [0][u32 its index]. The relay's own cost is the
//   difference between the two.
//
// Requests: start {options} → {url}; sample {gc} → process sample + relay stats; close → exits.
import { WebSocketServer } from 'ws';
import { EXIT, processSample, serve } from './child.mjs';

const mode = process.argv[2];
let relay;
let baseline;

async function startRelay(options) {
  const { Relay } = await import('sealcall/relay');
  relay = new Relay(options);
  const { url } = await relay.listen({ host: '127.0.0.1', port: 0 });
  return { url };
}

function startBaseline({ maxPayload = 71 * 1024 }) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload, perMessageDeflate: false, clientTracking: false });
  const sockets = [];
  let open = 0;
  const ok = Uint8Array.of(2);
  server.on('connection', (ws) => {
    const index = sockets.length;
    sockets.push(ws);
    open++;
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets[index] = undefined;
      open--;
    });
    const hello = Buffer.alloc(5);
    hello.writeUInt32BE(index, 1);
    ws.send(hello);
    ws.on('message', (data) => {
      const kind = data[0];
      if (kind === 1) {
        ws.send(ok);
        const to = sockets[data.readUInt32BE(1)];
        data[0] = 3; // forwarded as it came, retagged
        to?.send(data);
      } else if (kind === 4) {
        ws.send(ok);
      }
    });
  });
  baseline = { server, stats: () => ({ connections: open }) };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve({ url: `ws://127.0.0.1:${server.address().port}` }));
  });
}

serve({
  start: ({ options = {} } = {}) => (mode === 'baseline' ? startBaseline(options) : startRelay(options)),
  sample: ({ gc = false } = {}) => ({ ...processSample({ gc }), stats: relay ? relay.stats : baseline?.stats() }),
  close: async () => {
    if (relay) await relay.close();
    if (baseline) await new Promise((resolve) => baseline.server.close(() => resolve()));
    return { [EXIT]: 0, closed: true };
  },
});
