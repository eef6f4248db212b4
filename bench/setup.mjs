// Call setup: one sealcall call, or one bare simple-peer connection, from start to both sides
// connected. Each function runs one iteration and resolves with { ms, messages }.
import { performance } from 'node:perf_hooks';
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { CallClient, generateIdentity } from 'sealcall';
import { MemoryNetwork } from 'sealcall/testing';

const ITERATION_TIMEOUT_MS = 15_000;
/**
 * After each iteration's teardown, untimed: closed peer connections finish closing on wrtc's
 * native threads (their last events came a few ms into the next iteration), and on a 2-core
 * machine that work would land in the next measurement.
 */
const SETTLE_MS = 50;
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

function withTimeout(promise, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not connected after ${ITERATION_TIMEOUT_MS} ms`)), ITERATION_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves when `call` reaches 'connected', with the time and the message count then; rejects if
 * it ends first.
 */
function connected(call, count) {
  const now = () => ({ at: performance.now(), messages: count() });
  return new Promise((resolve, reject) => {
    if (call.state === 'connected') return resolve(now());
    call.on('state', (state) => state === 'connected' && resolve(now()));
    call.on('ended', ({ reason }) => reject(new Error(`call ended before connecting: ${reason}`)));
  });
}

/** The moment the later of two sides connected: elapsed ms since `start`, messages by then. */
function lastOf([first, second], start) {
  const last = first.at >= second.at ? first : second;
  return { ms: last.at - start, messages: last.messages };
}

function ended(call) {
  return new Promise((resolve) => (call.state === 'disconnected' ? resolve() : call.on('ended', () => resolve())));
}

/**
 * Signaling handed straight to the other client, as the baseline hands its signals over: each
 * message is delivered on the next turn of the event loop (`setImmediate`, so in order and never
 * inside the sender's call). MemoryNetwork delivers through `setTimeout` even at 0 ms, which Node
 * clamps to 1 ms per message: a cost of the test network, not of sealcall (its own row shows it).
 */
class DirectNetwork {
  observed = [];
  #inboxes = new Map();
  #closed = false;

  endpoint(name) {
    const inbox = { handlers: new Set(), queued: [] };
    this.#inboxes.set(name, inbox);
    return {
      send: (to, payload) => {
        this.observed.push({ from: name, to, bytes: payload.length });
        const copy = payload.slice();
        setImmediate(() => {
          const target = this.#inboxes.get(to);
          if (this.#closed || !target) return;
          if (target.handlers.size === 0) target.queued.push({ from: name, payload: copy });
          for (const handler of [...target.handlers]) handler(name, copy);
        });
        return Promise.resolve();
      },
      onMessage: (handler) => {
        inbox.handlers.add(handler);
        for (const { from, payload } of inbox.queued.splice(0)) handler(from, payload);
        return () => inbox.handlers.delete(handler);
      },
    };
  }

  close() {
    this.#closed = true;
    this.#inboxes.clear();
  }
}

/**
 * sealcall: alice calls bob, bob accepts as soon as the invitation rings (no human in the loop).
 * Timed from just before `alice.call()` (which captures the microphone, then sends the invitation)
 * until both calls are 'connected'. Messages: everything that crossed the network by then.
 * Signaling: {@link DirectNetwork}, or MemoryNetwork (`memoryNetwork`, or any `latencyMs`).
 */
export async function sealcallSetup({ latencyMs = 0, memoryNetwork = false, clientOptions = {}, trace } = {}) {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const keys = { alice: alice.publicKey, bob: bob.publicKey };
  const network = latencyMs > 0 || memoryNetwork ? new MemoryNetwork({ latencyMs }) : new DirectNetwork();
  let start = 0;
  let tracing = Boolean(trace);
  const note = (event) => tracing && trace.push({ ms: performance.now() - start, event });
  const endpoint = (name) => (trace ? traced(network.endpoint(name), name, note) : network.endpoint(name));
  const a = await CallClient.create({ identity: alice, transport: endpoint('alice'), contacts: keys, wrtc, ...clientOptions });
  const b = await CallClient.create({ identity: bob, transport: endpoint('bob'), contacts: keys, wrtc, ...clientOptions });
  const count = () => network.observed.length;
  let callee;
  const calleeConnected = new Promise((resolve, reject) => {
    b.on('incoming', (call) => {
      callee = call;
      note('bob: call rings (incoming), accepts at once');
      call.on('state', (state) => note(`bob: ${state}`));
      connected(call, count).then(resolve, reject);
      call.accept({ audio: true }).catch(reject);
    });
  });
  let caller;
  try {
    start = performance.now();
    caller = await a.call('bob', { audio: true });
    caller.on('state', (state) => note(`alice: ${state}`));
    const both = await withTimeout(Promise.all([connected(caller, count), calleeConnected]), 'sealcall');
    tracing = false;
    return lastOf(both, start);
  } finally {
    tracing = false;
    const done = [caller, callee].filter(Boolean).map(ended);
    await caller?.hangup().catch(() => {});
    await callee?.hangup().catch(() => {});
    await withTimeout(Promise.all(done), 'sealcall hangup').catch(() => {});
    await a.close();
    await b.close();
    network.close();
    await settle();
  }
}

/** A transport that notes every message it sends (size only: the payload is sealed). */
function traced(endpoint, name, note) {
  return {
    send: (to, payload) => {
      note(`${name} → ${to}: ${payload.length} bytes`);
      return endpoint.send(to, payload);
    },
    onMessage: (handler) => endpoint.onMessage(handler),
  };
}

/**
 * Baseline: two bare simple-peer 9.11.1 peers on the same wrtc, trickle on, each with a local
 * audio track, signals handed straight to the other peer (optionally after `latencyMs`). Timed
 * from just before capturing the two microphones until both 'connect' events. Messages: signal
 * events emitted by then.
 */
export async function simplePeerSetup({ latencyMs = 0 } = {}) {
  const start = performance.now();
  const streams = await Promise.all([wrtc.getUserMedia({ audio: true }), wrtc.getUserMedia({ audio: true })]);
  const peer1 = new SimplePeer({ initiator: true, trickle: true, wrtc, stream: streams[0] });
  const peer2 = new SimplePeer({ trickle: true, wrtc, stream: streams[1] });
  let messages = 0;
  const relay = (from, to) =>
    from.on('signal', (signal) => {
      messages++;
      const deliver = () => !to.destroyed && to.signal(signal);
      if (latencyMs > 0) setTimeout(deliver, latencyMs);
      else deliver();
    });
  relay(peer1, peer2);
  relay(peer2, peer1);
  const connect = (peer) =>
    new Promise((resolve, reject) => {
      peer.once('connect', () => resolve({ at: performance.now(), messages }));
      peer.on('error', reject);
    });
  try {
    const both = await withTimeout(Promise.all([connect(peer1), connect(peer2)]), 'simple-peer');
    return lastOf(both, start);
  } finally {
    for (const peer of [peer1, peer2]) {
      peer.on('error', () => {});
      peer.destroy();
    }
    for (const stream of streams) for (const track of stream.getTracks()) track.stop();
    await settle();
  }
}
