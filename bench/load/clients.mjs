// Load-bench clients in their own process: `node bench/load/clients.mjs relay|baseline`.
//
// Opens many WebSocket clients to one server (see server.mjs) and drives traffic around a ring:
// client i sends to client i+1's queue (relay) or connection (baseline), so every connection both
// sends and receives. Each body carries its send time (performance.now(), the same clock as the
// recipient's: the whole ring lives in this process), so the latency of each message is measured
// end to end: sender → server → recipient. Relay clients are raw protocol clients: `new`, a
// signed `sub`, `send`, and a signed `ack` for every message received (as WebSocketTransport
// does), so the relay does all of its per-message work.
//
// Requests: connect {url, count, concurrency} · closed {…} · paced {…} · sample · close.
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { EXIT, processSample, serve } from './child.mjs';
import { loadRelayProtocol } from './internal.mjs';

const mode = process.argv[2];
const proto = mode === 'relay' ? await loadRelayProtocol() : undefined;

/** Every client, in ring order. */
const clients = [];
/** Counters since the process started. */
const totals = { sent: 0, delivered: 0, oks: 0, errors: {} };
/** The running traffic phase: gets every delivery. */
let phase;

function countError(code) {
  totals.errors[code] = (totals.errors[code] ?? 0) + 1;
}

/** Resolves with the first message of `ws`, rejecting on close/error or after `timeoutMs`. */
function firstMessage(ws, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no hello from the server')), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(data);
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

class RelayClient {
  constructor(ws, index) {
    this.ws = ws;
    this.index = index;
    this.corr = 0;
    this.waiting = new Map(); // corr → resolve, during setup only
  }

  static async open(url, index) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const hello = proto.decodeRelayFrame(await firstMessage(ws, 10_000));
    const client = new RelayClient(ws, index);
    client.sessionId = hello.sessionId;
    ws.on('message', (data) => client.receive(data));
    ws.on('error', () => {});
    const keys = proto.sodium().crypto_sign_keypair();
    const ids = await client.request({ t: 'new', recipientKey: keys.publicKey }, keys.privateKey);
    if (ids.t !== 'ids') throw new Error(`new: ${JSON.stringify(ids)}`);
    client.queue = { recipientId: ids.recipientId, senderId: ids.senderId, secretKey: keys.privateKey };
    const sub = await client.request({ t: 'sub', recipientId: ids.recipientId }, client.queue.secretKey);
    if (sub.t !== 'ok') throw new Error(`sub: ${JSON.stringify(sub)}`);
    return client;
  }

  /** The address others send to. */
  get target() {
    return this.queue.senderId;
  }

  /** Sends a setup frame, signed with `secretKey` when given, and resolves with its reply. */
  request(frame, secretKey) {
    const corr = ++this.corr;
    return new Promise((resolve) => {
      this.waiting.set(corr, resolve);
      this.ws.send(proto.encodeClientFrame(secretKey ? this.signed({ ...frame, corr }, secretKey) : { ...frame, corr }));
    });
  }

  signed(frame, secretKey = this.queue.secretKey) {
    const sig = proto.sodium().crypto_sign_detached(proto.signedContent(this.sessionId, frame), secretKey);
    return { ...frame, sig };
  }

  send(target, body) {
    this.ws.send(proto.encodeClientFrame({ t: 'send', corr: this.nextCorr(), senderId: target, body }));
  }

  nextCorr() {
    this.corr = this.corr >= 0xffff_fff0 ? 1 : this.corr + 1;
    return this.corr;
  }

  receive(data) {
    const frame = proto.decodeRelayFrame(data);
    if (frame.corr !== undefined && this.waiting.has(frame.corr)) {
      const resolve = this.waiting.get(frame.corr);
      this.waiting.delete(frame.corr);
      resolve(frame);
      return;
    }
    if (frame.t === 'ok') totals.oks++;
    else if (frame.t === 'err') countError(frame.code);
    else if (frame.t === 'msg') {
      const ack = { t: 'ack', corr: this.nextCorr(), recipientId: this.queue.recipientId, msgId: frame.msgId };
      this.ws.send(proto.encodeClientFrame(this.signed(ack)));
      delivered(frame.body);
    }
  }
}

class BaselineClient {
  constructor(ws, index, address) {
    this.ws = ws;
    this.index = index;
    this.address = address;
  }

  static async open(url, index) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const hello = await firstMessage(ws, 10_000);
    const client = new BaselineClient(ws, index, hello.readUInt32BE(1));
    ws.on('message', (data) => client.receive(data));
    ws.on('error', () => {});
    return client;
  }

  get target() {
    return this.address;
  }

  send(target, body) {
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 1;
    frame.writeUInt32BE(target, 1);
    frame.set(body, 5);
    this.ws.send(frame);
  }

  receive(data) {
    const kind = data[0];
    if (kind === 2) totals.oks++;
    else if (kind === 3) {
      this.ws.send(ACK);
      delivered(data.subarray(5));
    }
  }
}
const ACK = Uint8Array.of(4);

/** A body of `bytes` random-looking bytes whose first 12 carry the send time and the sender. */
function stamp(template, sender) {
  const view = new DataView(template.buffer, template.byteOffset, template.byteLength);
  view.setFloat64(0, performance.now());
  view.setUint32(8, sender);
  return template;
}

function delivered(body) {
  totals.delivered++;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const sentAt = view.getFloat64(0);
  const sender = view.getUint32(8);
  phase?.onDelivered(sender, sentAt, body.length);
}

function sendFrom(index, template) {
  const client = clients[index];
  const next = clients[(index + 1) % clients.length];
  totals.sent++;
  client.send(next.target, stamp(template, index));
}

async function connect({ url, count, concurrency = 50 }) {
  const Client = mode === 'relay' ? RelayClient : BaselineClient;
  const start = performance.now();
  for (let i = clients.length; i < count; i += concurrency) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + concurrency); j++) batch.push(Client.open(url, j));
    clients.push(...(await Promise.all(batch)));
  }
  return { clients: clients.length, ms: performance.now() - start };
}

function randomBody(bytes) {
  const body = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(body.subarray(i, Math.min(bytes, i + 65536)));
  return body;
}

/**
 * Runs one traffic phase: `start(send)` begins sending, every delivery goes to `onDelivered`; the
 * measurement covers [warmupMs, warmupMs + durationMs) of delivery times; then sending stops and
 * the phase waits (at most `drainMs`) until everything sent has been delivered.
 */
function runPhase({ warmupMs, durationMs, drainMs = 20_000, start, onDelivered }) {
  return new Promise((resolve) => {
    const latencies = [];
    let measuring = false;
    let running = true;
    let windowStart = 0;
    let delivered = 0;
    let bytes = 0;
    let cpu0;
    let result;
    const sentBefore = totals.sent;
    const errorsBefore = { ...totals.errors };
    const finish = (drained) => {
      clearTimeout(drainTimer);
      phase = undefined;
      const errors = {};
      for (const [code, n] of Object.entries(totals.errors)) if (n - (errorsBefore[code] ?? 0) > 0) errors[code] = n - (errorsBefore[code] ?? 0);
      resolve({ ...result, drained, lost: totals.sent - totals.delivered, sent: totals.sent - sentBefore, errors });
    };
    let drainTimer;
    phase = {
      onDelivered(sender, sentAt, length) {
        const now = performance.now();
        if (measuring) {
          delivered++;
          bytes += length;
          latencies.push(now - sentAt);
        }
        if (running) onDelivered(sender);
        else if (totals.sent === totals.delivered) finish(true);
      },
    };
    setTimeout(() => {
      measuring = true;
      windowStart = performance.now();
      cpu0 = process.cpuUsage();
    }, warmupMs);
    setTimeout(() => {
      measuring = false;
      running = false;
      const elapsedMs = performance.now() - windowStart;
      const cpu = process.cpuUsage(cpu0);
      result = {
        delivered,
        bytes,
        elapsedMs,
        messagesPerSecond: (delivered * 1000) / elapsedMs,
        bytesPerSecond: (bytes * 1000) / elapsedMs,
        latencyMs: summarize(latencies),
        clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
      };
      stop?.();
      if (totals.sent === totals.delivered) finish(true);
      else drainTimer = setTimeout(() => finish(false), drainMs);
    }, warmupMs + durationMs);
    const stop = start();
  });
}

/** Closed loop: every ring link keeps `window` messages in flight; each delivery sends the next. */
function closed({ bodyBytes, window = 1, warmupMs = 1000, durationMs = 3000 }) {
  const template = randomBody(bodyBytes);
  return runPhase({
    warmupMs,
    durationMs,
    start: () => {
      for (let w = 0; w < window; w++) for (let i = 0; i < clients.length; i++) sendFrom(i, template);
    },
    onDelivered: (sender) => sendFrom(sender, template),
  });
}

/** Open loop: `rate` messages per second in all, spread round-robin over the ring's senders. */
function paced({ bodyBytes, rate, warmupMs = 500, durationMs = 3000 }) {
  const template = randomBody(bodyBytes);
  let sent = 0;
  let next = 0;
  return runPhase({
    warmupMs,
    durationMs,
    start: () => {
      const t0 = performance.now();
      const timer = setInterval(() => {
        const due = Math.floor((rate * (performance.now() - t0)) / 1000);
        for (; sent < due; sent++) {
          sendFrom(next, template);
          next = (next + 1) % clients.length;
        }
      }, 2);
      return () => clearInterval(timer);
    },
    onDelivered: () => {},
  });
}

function summarize(samples) {
  if (samples.length === 0) return { n: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return { n: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] };
}

async function closeAll() {
  const closedAll = clients.map(
    (c) =>
      new Promise((resolve) => {
        if (c.ws.readyState === WebSocket.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
      }),
  );
  for (const c of clients) c.ws.close();
  let timer;
  const timedOut = await Promise.race([
    Promise.all(closedAll).then(() => false),
    new Promise((resolve) => (timer = setTimeout(() => resolve(true), 10_000))),
  ]);
  clearTimeout(timer);
  return { closed: clients.length, timedOut };
}

serve({
  connect,
  closed,
  paced,
  sample: ({ gc = false } = {}) => ({ ...processSample({ gc }), totals }),
  close: async () => ({ [EXIT]: 0, ...(await closeAll()), totals }),
});
