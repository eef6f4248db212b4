// Many sequential calls in one process: `node --expose-gc bench/load/sequential-calls.mjs`.
// Alice calls Bob `calls` times (real @roamhq/wrtc, audio), hanging up from alternating sides; every
// `every` calls the process is sampled after forced GC: heap, RSS, and its open handles. Over
// MemoryNetwork (`network: 'memory'`), or WebSocketTransports to a relay in another process
// (`network: 'relay'`, `url` given), so that the transports are part of what is measured.
//
// Request: run {calls, every, warmup, network, url, clientOptions} → figures; then close (exits).
import { performance } from 'node:perf_hooks';
import wrtcModule from '@roamhq/wrtc';
import { WebSocket } from 'ws';
import { CallClient, WebSocketTransport, generateIdentity, ready } from 'sealcall';
import { MemoryNetwork } from 'sealcall/testing';
import { EXIT, processSample, serve } from './child.mjs';

const wrtcBase = wrtcModule.default ?? wrtcModule;
const connections = [];
const tracks = [];
/** Remote descriptions the peer connection refused (for the failure report). */
const refused = [];
function CountedPeerConnection(config) {
  const pc = new wrtcBase.RTCPeerConnection(config);
  connections.push(new WeakRef(pc));
  const apply = pc.setRemoteDescription.bind(pc);
  pc.setRemoteDescription = async (description) => {
    try {
      return await apply(description);
    } catch (error) {
      refused.push({ error: String(error?.message ?? error), type: description?.type, sdp: description?.sdp });
      throw error;
    }
  };
  return pc;
}
const getUserMedia = async (constraints) => {
  const stream = await wrtcBase.mediaDevices.getUserMedia(constraints);
  for (const track of stream.getTracks()) tracks.push(new WeakRef(track));
  return stream;
};
const wrtc = { ...wrtcBase, RTCPeerConnection: CountedPeerConnection, getUserMedia, mediaDevices: { getUserMedia } };

/** Peer connections not closed and tracks not stopped (weak: collected ones count as released). */
function unreleased() {
  return {
    peerConnections: connections.filter((r) => r.deref() && r.deref().signalingState !== 'closed').length,
    tracks: tracks.filter((r) => r.deref() && r.deref().readyState !== 'ended').length,
  };
}

function reach(call, state) {
  if (call.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onState = (s) => {
      if (s !== state) return;
      call.off('state', onState);
      resolve();
    };
    call.on('state', onState);
    call.once('ended', (e) => {
      if (state === 'disconnected') return;
      const why = e.error ? `: ${e.error.code} ${e.error.message}${e.error.cause ? ` (${e.error.cause.message ?? e.error.cause})` : ''}` : '';
      reject(new Error(`${call.direction ?? ''} call ended (${e.reason}${why}) before ${state}`));
    });
  });
}

const nextIncoming = (client) => new Promise((resolve) => client.once('incoming', resolve));
const ended = (call) => (call.endedWith ? Promise.resolve(call.endedWith) : new Promise((resolve) => call.once('ended', resolve)));

async function setup({ network, url, clientOptions }) {
  const identities = { alice: generateIdentity(), bob: generateIdentity() };
  const contacts = { alice: identities.alice.publicKey, bob: identities.bob.publicKey };
  if (network === 'relay') {
    const connect = (name) => WebSocketTransport.connect({ url, identity: identities[name], WebSocket });
    const transports = { alice: await connect('alice'), bob: await connect('bob') };
    transports.alice.addContact('bob', transports.bob.address);
    transports.bob.addContact('alice', transports.alice.address);
    const make = (name) => CallClient.create({ identity: identities[name], transport: transports[name], contacts, wrtc, ...clientOptions });
    const clients = { alice: await make('alice'), bob: await make('bob') };
    // After a call ends its channels linger until their final `end` is acknowledged (a relay
    // round trip on loopback, a few ms): a checkpoint waits that long, once, so it samples the
    // steady state rather than the last call's tail.
    const settled = () => new Promise((resolve) => setTimeout(resolve, 300));
    return { clients, settled, close: () => Object.values(transports).forEach((t) => t.close()) };
  }
  const memory = new MemoryNetwork();
  const make = (name) => CallClient.create({ identity: identities[name], transport: memory.endpoint(name), contacts, wrtc, ...clientOptions });
  const clients = { alice: await make('alice'), bob: await make('bob') };
  // The fake network records every envelope for tests to inspect (`observed`): forgotten at each
  // checkpoint, as it is the test double's memory, not sealcall's.
  const settled = async () => {
    await memory.settled();
    memory.observed.length = 0;
  };
  return { clients, settled, close: () => memory.close() };
}

async function run(options) {
  await ready();
  const result = await session(options);
  // Everything the calls used is out of scope now: what stays after GC (and the handles still
  // open once the transports' sockets finished closing, bounded wait) is what closing left behind.
  const deadline = Date.now() + 5000;
  while (process.getActiveResourcesInfo().includes('TCPSocketWrap') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const sample = processSample({ gc: true });
  result.closed = { heapUsed: sample.memory.heapUsed, rss: sample.memory.rss, handles: sample.handles, handleTypes: sample.handleTypes, ...unreleased() };
  return result;
}

async function session({ calls = 200, every = 50, warmup = 3, network = 'memory', url, clientOptions = {} }) {
  const env = await setup({ network, url, clientOptions });
  const { alice, bob } = env.clients;
  const warnings = [];
  for (const client of [alice, bob]) client.on('warning', (w) => warnings.push(w.code));
  bob.on('incoming', (call) => void call.accept({ audio: true }).catch(() => {}));
  const setupMs = [];
  const reasons = {};
  const failures = [];
  const runCall = async (i) => {
    const start = performance.now();
    const call = await alice.call('bob', { audio: true });
    try {
      await reach(call, 'connected');
      await reach(bob.activeCalls[0] ?? (await nextIncoming(bob)), 'connected');
    } catch (error) {
      // Recorded, not fatal: end whatever is left of this call and go on with the next.
      failures.push({ call: i, error: String(error?.message ?? error), refused: refused.splice(0) });
      const live = [...alice.activeCalls, ...bob.activeCalls];
      await Promise.all(live.map((c) => c.hangup().catch(() => {})));
      await Promise.all(live.map(ended));
      return;
    }
    const [peerCall] = bob.activeCalls;
    setupMs.push(performance.now() - start);
    const peerEnded = ended(peerCall);
    if (i % 2 === 0) await call.hangup();
    else await peerCall.hangup();
    const [a, b] = await Promise.all([ended(call), peerEnded]);
    for (const r of [`alice:${a.reason}`, `bob:${b.reason}`]) reasons[r] = (reasons[r] ?? 0) + 1;
  };
  const checkpoint = async (done) => {
    await env.settled();
    const sample = processSample({ gc: true });
    return {
      calls: done,
      at: sample.at,
      heapUsed: sample.memory.heapUsed,
      rss: sample.memory.rss,
      external: sample.memory.external,
      arrayBuffers: sample.memory.arrayBuffers,
      handles: sample.handles,
      handleTypes: sample.handleTypes,
      activeCalls: alice.activeCalls.length + bob.activeCalls.length,
      ...unreleased(),
    };
  };
  for (let i = 0; i < warmup; i++) await runCall(i);
  setupMs.length = 0;
  const checkpoints = [await checkpoint(0)];
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    await runCall(i);
    if ((i + 1) % every === 0 || i + 1 === calls) checkpoints.push(await checkpoint(i + 1));
  }
  const wallMs = performance.now() - t0;
  await alice.close();
  await bob.close();
  env.close();
  return { network, calls, warmup, wallMs, setupMs, reasons, warnings, failures, checkpoints, peerConnections: connections.length };
}

serve({
  run,
  close: () => ({ [EXIT]: 0, closed: true }),
});
