// Load-bench clients in their own process: `node bench/load/clients.mjs relay|shared|baseline`.
//
// Opens many WebSocket clients to one server (see server.mjs) and drives traffic around a ring:
// client i sends to client i+1's queue (relay) or connection (baseline), so every client both
// sends and receives. Each body carries its send time (performance.now(), the same clock as the
// recipient's: the whole ring lives in this process), so the latency of each message is measured
// end to end: sender → server → recipient.
//
// Relay clients are raw protocol (v2) clients that behave as WebSocketTransport does:
// - a *receive* connection: checks the relay's signed `hello`, creates its queue (`new`,
//   authorized by the queue's X25519 key), subscribes (`sub`), opens every delivered body with
//   the queue's delivery key (the relay re-encrypts each one) and acknowledges it (`ack` with a
//   keyed-BLAKE2b authenticator under the connection's command key, derived once); the acks of one
//   incoming block leave as one outgoing block;
// - a *send* connection to the same relay, opened later (request `senders`, as WebSocketTransport
//   opens its send link on first use), carrying only `send` frames.
// So the relay does all of its per-message work. Frames a client queues in one moment leave as
// one block (RelaySocket's microtask flush). The baseline client has one connection.
//
// `shared`: the same relay clients, except that they send on their receive connection (no send
// connection), so an `ack` and the next `send` leave in one block. A diagnostic of what the
// separate send connection costs: WebSocketTransport never sends that way.
//
// Requests: connect {url, count, concurrency} (receive connections) · senders {concurrency}
// (send connections; nothing for the baseline) · closed {…} · paced {…} · sample · close.
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { EXIT, processSample, serve } from './child.mjs';
import { loadRelayProtocol } from './internal.mjs';
import { latencySummary } from '../stats.mjs';

const mode = process.argv[2];
const relayMode = mode === 'relay' || mode === 'shared';
const proto = relayMode ? await loadRelayProtocol() : undefined;

/** Where each recipient command's authContent is written to be hashed, as WebSocketTransport does. */
const AUTH_SCRATCH = proto ? new Uint8Array(proto.AUTH_CONTENT_MAX_BYTES) : undefined;
/** A placeholder for an `ack`'s authenticator until it is computed (authContent does not read it). */
const NO_AUTH = new Uint8Array(0);
/** Every client, in ring order. */
const clients = [];
/** The server's URL, from `connect`. */
let serverUrl;
/**
 * Counters since the process started. `unanswered`: requests (`send`, `ack`, setup) whose reply
 * has not come yet. Relay only: blocks (WebSocket messages) and the frames in them, received and
 * sent, and connections opened.
 */
const totals = { sent: 0, delivered: 0, oks: 0, errors: {}, unanswered: 0, blocksIn: 0, framesIn: 0, blocksOut: 0, framesOut: 0, connections: 0 };
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

/** Sockets with frames waiting: flushed together, once, when this moment's work is done. */
const dirty = [];

function markDirty(socket) {
  if (dirty.push(socket) === 1) queueMicrotask(flushDirty);
}

function flushDirty() {
  for (const socket of dirty) socket.flush();
  dirty.length = 0;
}

/**
 * One v2 connection to the relay, as src/relay-client/relay-socket.ts's RelaySocket: checks `hello` against the key the URL pins,
 * correlates setup requests with their replies, gathers the frames of one moment into one block,
 * and hands every other frame to `onFrame`.
 */
class RelaySocket {
  constructor(ws, sessionKey) {
    this.ws = ws;
    this.sessionKey = sessionKey;
    this.corr = 0;
    this.outbox = [];
    this.waiting = new Map(); // corr → resolve, during setup only
    this.onFrame = () => {};
    ws.on('message', (data) => this.receive(data));
    ws.on('error', () => {});
  }

  static async open(url) {
    const ws = new WebSocket(proto.socketUrl(url), { perMessageDeflate: false });
    const block = proto.decodeRelayBlock(await firstMessage(ws, 10_000));
    const hello = block[0];
    if (block.length !== 1 || hello.t !== 'hello') throw new Error(`expected hello, got ${JSON.stringify(hello)}`);
    const pinned = proto.pinnedRelayKey(url);
    if (!proto.sodium().memcmp(hello.relayKey, pinned) || !proto.verifyHello(hello.relayKey, hello.sessionKey, hello.sig)) {
      throw new Error('the relay does not hold the key its URL pins');
    }
    totals.connections++;
    return new RelaySocket(ws, hello.sessionKey);
  }

  nextCorr() {
    this.corr = this.corr >= 0xffff_fff0 ? 1 : this.corr + 1;
    return this.corr;
  }

  /** Queues `build(corr)` for this moment's block and resolves with its reply (setup only). */
  request(build) {
    const corr = this.nextCorr();
    return new Promise((resolve) => {
      this.waiting.set(corr, resolve);
      this.push(build(corr));
    });
  }

  /** Queues a frame; the frames queued in one moment leave as one block. */
  push(frame) {
    totals.unanswered++;
    proto.viewClientFrame(frame); // RelaySocket checks each request as it is made
    if (this.outbox.push(frame) === 1) markDirty(this);
    else if (this.outbox.length >= proto.RELAY_LIMITS.maxFramesPerBlock) this.flush();
  }

  flush() {
    const frames = this.outbox;
    if (frames.length === 0) return;
    totals.blocksOut++;
    totals.framesOut += frames.length;
    // With its WebSocket header, masked, in one buffer and one socket write, as RelaySocket does.
    proto.sendClientBlock(this.ws, frames);
    // The same array again: a fresh one per block would live until this socket's next block, a
    // whole ring round later, long enough to be promoted and then collected by a full GC.
    frames.length = 0;
  }

  receive(data) {
    let block;
    try {
      block = proto.decodeRelayBlock(data);
    } catch {
      countError('BAD_BLOCK');
      return;
    }
    totals.blocksIn++;
    totals.framesIn += block.length;
    for (const frame of block) {
      if (frame instanceof Error) {
        countError('BAD_BLOCK_FRAME');
        continue;
      }
      if (frame.corr !== undefined) totals.unanswered--;
      if (frame.corr !== undefined && this.waiting.has(frame.corr)) {
        const resolve = this.waiting.get(frame.corr);
        this.waiting.delete(frame.corr);
        resolve(frame);
        continue;
      }
      if (frame.t === 'ok') totals.oks++;
      else if (frame.t === 'err') countError(frame.code);
      else this.onFrame(frame);
    }
  }
}

class RelayClient {
  constructor(index, receiver, queue) {
    this.index = index;
    this.receiver = receiver;
    this.queue = queue;
    this.sender = undefined;
    // The receive connection's command key for the queue: one X25519 per connection, then one hash per ack.
    this.commandKey = proto.commandKey(queue.secretKey, receiver.sessionKey, receiver.sessionKey, queue.publicKey);
    receiver.onFrame = (frame) => this.receive(frame);
  }

  /** Opens the receive connection: creates the queue and subscribes to it. */
  static async open(url, index) {
    const receiver = await RelaySocket.open(url);
    const keys = proto.generateRelayKeyPair();
    const newKey = proto.commandKey(keys.secretKey, receiver.sessionKey, receiver.sessionKey, keys.publicKey);
    const ids = await receiver.request((corr) => {
      const frame = { t: 'new', corr, recipientKey: keys.publicKey };
      return { ...frame, auth: proto.authenticate(newKey, proto.authContent(frame)) };
    });
    if (ids.t !== 'ids') throw new Error(`new: ${JSON.stringify(ids)}`);
    const queue = {
      recipientId: ids.recipientId,
      senderId: ids.senderId,
      publicKey: keys.publicKey,
      secretKey: keys.secretKey,
      deliveryKey: proto.deliveryKey(keys.secretKey, ids.serverKey, ids.serverKey, keys.publicKey),
    };
    const client = new RelayClient(index, receiver, queue);
    const sub = await receiver.request((corr) => client.authorized({ t: 'sub', corr, recipientId: queue.recipientId }));
    if (sub.t !== 'ok') throw new Error(`sub: ${JSON.stringify(sub)}`);
    return client;
  }

  /** Opens the send-only connection (WebSocketTransport's send link to the relay); `shared`: sends on the receive connection. */
  async openSender(url) {
    this.sender ??= mode === 'shared' ? this.receiver : await RelaySocket.open(url);
  }

  /** The address others send to. */
  get target() {
    return this.queue.senderId;
  }

  /** The connections this client has open. */
  get sockets() {
    return this.sender && this.sender !== this.receiver ? [this.receiver.ws, this.sender.ws] : [this.receiver.ws];
  }

  /** A recipient command (`sub`) with its authenticator for the receive connection. */
  authorized(frame) {
    return { ...frame, auth: proto.authenticate(this.commandKey, proto.authContent(frame, AUTH_SCRATCH)) };
  }

  /**
   * The `ack` of a delivered message, with its authenticator: one object, built field by field
   * and then signed in place (a spread or a second object per ack would be garbage that, while
   * 1,000 messages are in flight, V8 learns to allocate straight in the old generation).
   */
  ack(msgId) {
    const frame = { t: 'ack', corr: this.receiver.nextCorr(), recipientId: this.queue.recipientId, msgId, auth: NO_AUTH };
    frame.auth = proto.authenticate(this.commandKey, proto.authContent(frame, AUTH_SCRATCH));
    return frame;
  }

  send(target, body) {
    const sender = this.sender;
    // A copy: the frame is encoded when the block leaves, after the shared template is restamped
    // (WebSocketTransport seals a fresh body per send).
    sender.push({ t: 'send', corr: sender.nextCorr(), senderId: target, body: body.slice() });
  }

  receive(frame) {
    if (frame.t !== 'msg') return;
    // The relay's layer first (it re-encrypted the body for this queue), in place, as WebSocketTransport does.
    let body;
    try {
      body = proto.openDelivery(this.queue.deliveryKey, frame.msgId, frame.ts, frame.body, true);
    } catch {
      countError('DELIVERY_OPEN_FAILED');
    }
    this.receiver.push(this.ack(frame.msgId));
    if (body) delivered(body);
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

  get sockets() {
    return [this.ws];
  }

  send(target, body) {
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 1;
    frame.writeUInt32BE(target, 1);
    frame.set(body, 5);
    totals.unanswered++;
    this.ws.send(frame);
  }

  receive(data) {
    const kind = data[0];
    if (kind === 2) {
      totals.oks++;
      totals.unanswered--;
    } else if (kind === 3) {
      totals.unanswered++;
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
  const sentAt = body.length >= 12 ? view.getFloat64(0) : NaN;
  const sender = body.length >= 12 ? view.getUint32(8) : NaN;
  if (!(sentAt > 0) || !(sender < clients.length)) {
    // Not a body any client sent: reported (the phase's `errors`) instead of crashing the ring.
    countError('BAD_BODY');
    return;
  }
  phase?.onDelivered(sender, sentAt, body.length);
}

function sendFrom(index, template) {
  const client = clients[index];
  const next = clients[(index + 1) % clients.length];
  totals.sent++;
  client.send(next.target, stamp(template, index));
}

/** Opens `count` clients (relay: their receive connections, queue created and subscribed). */
async function connect({ url, count, concurrency = 50 }) {
  const Client = relayMode ? RelayClient : BaselineClient;
  serverUrl = url;
  const start = performance.now();
  for (let i = clients.length; i < count; i += concurrency) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + concurrency); j++) batch.push(Client.open(url, j));
    clients.push(...(await Promise.all(batch)));
  }
  return { clients: clients.length, ms: performance.now() - start };
}

/** Relay: opens every client's send connection (the baseline's clients send on their one connection). */
async function senders({ concurrency = 50 } = {}) {
  const start = performance.now();
  if (relayMode) {
    for (let i = 0; i < clients.length; i += concurrency) {
      await Promise.all(clients.slice(i, i + concurrency).map((c) => c.openSender(serverUrl)));
    }
  }
  return { connections: clients.reduce((n, c) => n + c.sockets.length, 0), ms: performance.now() - start };
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
function runPhase({ warmupMs, durationMs, drainMs = 20_000, keepSamples = false, start, onDelivered }) {
  return new Promise((resolve) => {
    const latencies = new Samples();
    let measuring = false;
    let running = true;
    let windowStart = 0;
    let delivered = 0;
    let bytes = 0;
    let cpu0;
    let result;
    const sentBefore = totals.sent;
    const errorsBefore = { ...totals.errors };
    const blocksBefore = { ...totals };
    const finish = (drained) => {
      clearTimeout(drainTimer);
      phase = undefined;
      const errors = {};
      for (const [code, n] of Object.entries(totals.errors)) if (n - (errorsBefore[code] ?? 0) > 0) errors[code] = n - (errorsBefore[code] ?? 0);
      // Relay: WebSocket messages (blocks) and frames in them, both ways, over the whole phase.
      const blocks = {};
      for (const key of ['blocksIn', 'framesIn', 'blocksOut', 'framesOut']) blocks[key] = totals[key] - blocksBefore[key];
      resolve({ ...result, drained, lost: totals.sent - totals.delivered, sent: totals.sent - sentBefore, errors, blocks });
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
      const samples = latencies.values();
      result = {
        delivered,
        bytes,
        elapsedMs,
        messagesPerSecond: (delivered * 1000) / elapsedMs,
        bytesPerSecond: (bytes * 1000) / elapsedMs,
        latencyMs: latencySummary(samples),
        // For a parent that merges several clients' processes (relay-load.mjs clientProcesses).
        ...(keepSamples && { latencySamples: Array.from(samples) }),
        clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
        // Split: user space (JavaScript, msgpack, crypto) and the kernel (socket reads and writes).
        clientUserCpu: cpu.user / 1000 / elapsedMs,
        clientSystemCpu: cpu.system / 1000 / elapsedMs,
      };
      stop?.();
      if (totals.sent === totals.delivered) finish(true);
      else drainTimer = setTimeout(() => finish(false), drainMs);
    }, warmupMs + durationMs);
    const stop = start();
  });
}

/** Closed loop: every ring link keeps `window` messages in flight; each delivery sends the next. */
function closed({ bodyBytes, window = 1, warmupMs = 1000, durationMs = 3000, keepSamples }) {
  const template = randomBody(bodyBytes);
  return runPhase({
    warmupMs,
    durationMs,
    keepSamples,
    start: () => {
      for (let w = 0; w < window; w++) for (let i = 0; i < clients.length; i++) sendFrom(i, template);
    },
    onDelivered: (sender) => sendFrom(sender, template),
  });
}

/** Open loop: `rate` messages per second in all, spread round-robin over the ring's senders, what is due sent every `tickMs`. */
function paced({ bodyBytes, rate, warmupMs = 500, durationMs = 3000, keepSamples, tickMs = 1 }) {
  const template = randomBody(bodyBytes);
  let sent = 0;
  let next = 0;
  return runPhase({
    warmupMs,
    durationMs,
    keepSamples,
    start: () => {
      const t0 = performance.now();
      const timer = setInterval(() => {
        const due = Math.floor((rate * (performance.now() - t0)) / 1000);
        for (; sent < due; sent++) {
          sendFrom(next, template);
          next = (next + 1) % clients.length;
        }
      }, tickMs);
      return () => clearInterval(timer);
    },
    onDelivered: () => {},
  });
}

/**
 * Latency samples in fixed chunks, each allocated once. A growing array (120,000 samples in a
 * 10 s window) was copied at each growth into a bigger one in the old generation, leaving the
 * smaller one there as garbage: every few seconds a major GC of this process, whose marking
 * slowed the whole ring for 100–300 ms in the middle of the window and set its p99.
 */
class Samples {
  static CHUNK = 1 << 16;

  constructor() {
    this.chunks = [new Float64Array(Samples.CHUNK)];
    this.length = 0;
  }

  push(value) {
    const at = this.length % Samples.CHUNK;
    if (at === 0 && this.length > 0) this.chunks.push(new Float64Array(Samples.CHUNK));
    this.chunks[this.chunks.length - 1][at] = value;
    this.length++;
  }

  /** All samples, in one array. */
  values() {
    const all = new Float64Array(this.length);
    this.chunks.forEach((chunk, i) => all.set(chunk.subarray(0, Math.min(Samples.CHUNK, this.length - i * Samples.CHUNK)), i * Samples.CHUNK));
    return all;
  }
}

async function closeAll() {
  const sockets = clients.flatMap((c) => c.sockets);
  const closedAll = sockets.map(
    (ws) =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
      }),
  );
  for (const ws of sockets) ws.close();
  let timer;
  const timedOut = await Promise.race([
    Promise.all(closedAll).then(() => false),
    new Promise((resolve) => (timer = setTimeout(() => resolve(true), 10_000))),
  ]);
  clearTimeout(timer);
  return { closed: clients.length, connections: sockets.length, timedOut };
}

serve({
  connect,
  senders,
  closed,
  paced,
  sample: async ({ gc = false, settle = false } = {}) => {
    // settle: first wait (at most 10 s) for the replies still on their way, such as the `ok`s of
    // the last phase's last acks, so the totals add up.
    for (const deadline = Date.now() + 10_000; settle && totals.unanswered > 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { ...processSample({ gc }), totals };
  },
  close: async () => ({ [EXIT]: 0, ...(await closeAll()), totals }),
});
