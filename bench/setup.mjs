// Call setup: one sealcall call, or one bare simple-peer connection, from start to both sides
// connected. Each function runs one iteration and resolves with { ms, messages }.
import { performance } from 'node:perf_hooks';
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { CallClient, generateIdentity } from 'sealcall';
import { MemoryNetwork } from 'sealcall/testing';

const ITERATION_TIMEOUT_MS = 15_000;

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
 * sealcall: alice calls bob, bob accepts as soon as the invitation rings (no human in the loop).
 * Timed from just before `alice.call()` (which captures the microphone, then sends the invitation)
 * until both calls are 'connected'. Messages: everything that crossed the network by then.
 */
export async function sealcallSetup({ latencyMs = 0, clientOptions = {}, trace } = {}) {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const keys = { alice: alice.publicKey, bob: bob.publicKey };
  const network = new MemoryNetwork({ latencyMs });
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
  }
}
