// A group of call peers in their own process: `node bench/load/call-peers.mjs`. Each peer is a
// CallClient on a WebSocketTransport to one relay, with real @roamhq/wrtc peer connections (the
// fake microphone: audio flows). The parent pairs them with peers of another process, has one
// side call and the other answer, and collects when each call connected.
//
// Requests: create {url, names, clientOptions} → [{name, publicKey, address}] · contacts {links}
// · answer · call {pairs} · connected · hold {ms} · hangup · ended · close (exits).
import { performance } from 'node:perf_hooks';
import wrtcModule from '@roamhq/wrtc';
import { WebSocket } from 'ws';
import { CallClient, WebSocketTransport, generateIdentity, ready } from 'sealcall';
import { EXIT, processSample, serve } from './child.mjs';

const wrtcBase = wrtcModule.default ?? wrtcModule;
const epochNow = () => performance.timeOrigin + performance.now();

/** Every peer connection and captured track, to check they are all closed at the end. */
const connections = [];
const tracks = [];
function CountedPeerConnection(config) {
  const pc = new wrtcBase.RTCPeerConnection(config);
  connections.push(pc);
  return pc;
}
const getUserMedia = async (constraints) => {
  const stream = await wrtcBase.mediaDevices.getUserMedia(constraints);
  tracks.push(...stream.getTracks());
  return stream;
};
const wrtc = { ...wrtcBase, RTCPeerConnection: CountedPeerConnection, getUserMedia, mediaDevices: { getUserMedia } };

/** name → { name, identity, transport, client, contacts, warnings } */
const peers = new Map();
/** Every call this process saw, with its timings. */
const calls = [];
/** Waiters for a number of incoming calls: { count, resolve }. */
const ringWaiters = [];
let startSample;

function watch(call, peer, extra) {
  const entry = { peer: peer.name, remote: call.peer, state: call.state, tracks: 0, history: [[call.state, 0]], ...extra };
  const t0 = epochNow();
  calls.push(entry);
  entry.connected = new Promise((resolve) => {
    const onState = (state) => {
      entry.state = state;
      entry.history.push([state, Math.round(epochNow() - t0)]);
      if (state === 'connected' && entry.connectedAt === undefined) {
        entry.connectedAt = epochNow();
        resolve(true);
      }
    };
    if (call.state === 'connected') onState('connected');
    call.on('state', onState);
    call.once('ended', ({ reason, error }) => {
      entry.endedReason = reason;
      entry.errorCode = error?.code;
      entry.state = 'disconnected';
      resolve(false);
    });
  });
  entry.ended = new Promise((resolve) => {
    if (call.endedWith) return resolve();
    call.once('ended', () => resolve());
  });
  call.on('track', () => entry.tracks++);
  entry.call = call;
  return entry;
}

/** Resolves with `promise`'s value, or `fallback` after `ms`. */
function within(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

const plain = (entry) => {
  const { call, connected, ended, ...rest } = entry;
  return { ...rest, warnings: peers.get(entry.peer)?.warnings ?? [] };
};

serve({
  async create({ url, names, clientOptions = {} }) {
    await ready();
    startSample = processSample();
    const created = await Promise.all(
      names.map(async (name) => {
        const identity = generateIdentity();
        const transport = await WebSocketTransport.connect({ url, identity, WebSocket });
        const contacts = new Map();
        const client = await CallClient.create({ identity, transport, contacts: (peer) => contacts.get(peer), wrtc, ...clientOptions });
        const peer = { name, identity, transport, client, contacts };
        client.on('warning', (w) => (peer.warnings ??= []).push(`${w.code}: ${w.message}${w.cause ? ` (${w.cause.message ?? w.cause})` : ''}`));
        transport.on('warning', (w) => (peer.warnings ??= []).push(`transport:${w.code}`));
        transport.on('status', (status) => (peer.warnings ??= []).push(`transport:${status}`));
        peers.set(name, peer);
        return { name, publicKey: Buffer.from(identity.publicKey).toString('base64'), address: transport.address };
      }),
    );
    return created;
  },

  contacts({ links }) {
    for (const [local, remote] of Object.entries(links)) {
      const peer = peers.get(local);
      peer.contacts.set(remote.name, new Uint8Array(Buffer.from(remote.publicKey, 'base64')));
      peer.transport.addContact(remote.name, remote.address);
    }
    return { ok: true };
  },

  answer() {
    for (const peer of peers.values()) {
      peer.client.on('incoming', (call) => {
        watch(call, peer, { direction: 'incoming', rangAt: epochNow() });
        const rung = calls.filter((c) => c.direction === 'incoming').length;
        for (const waiter of ringWaiters.filter((w) => w.count <= rung)) {
          ringWaiters.splice(ringWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        call.accept({ audio: true }).catch(() => {});
      });
    }
    return { ok: true };
  },

  /** Places every call at once; resolves when all are connected or ended (or after timeoutMs). */
  async call({ pairs, timeoutMs = 60_000 }) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const entries = await Promise.all(
      pairs.map(async ([local, remote]) => {
        const peer = peers.get(local);
        const startedAt = epochNow();
        const call = await peer.client.call(remote, { audio: true });
        return watch(call, peer, { direction: 'outgoing', startedAt });
      }),
    );
    await within(Promise.all(entries.map((e) => e.connected)), timeoutMs);
    const cpu = process.cpuUsage(cpu0);
    return { calls: entries.map(plain), cpu: (cpu.user + cpu.system) / 1000 / (performance.now() - t0) };
  },

  /**
   * Resolves when `count` incoming calls have rung and each is connected or ended (or after
   * timeoutMs), with every call of this process so far.
   */
  async connected({ count, timeoutMs = 60_000 }) {
    const deadline = Date.now() + timeoutMs;
    const incoming = () => calls.filter((c) => c.direction === 'incoming');
    await within(
      new Promise((resolve) => {
        if (incoming().length >= count) return resolve();
        ringWaiters.push({ count, resolve });
      }),
      timeoutMs,
    );
    await within(Promise.all(calls.map((e) => e.connected)), Math.max(0, deadline - Date.now()));
    return { calls: calls.map(plain) };
  },

  sample: () => processSample(),

  /** CPU of this process over `ms` while the calls are up (media flowing). */
  async hold({ ms }) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const cpu = process.cpuUsage(cpu0);
    return { cpu: (cpu.user + cpu.system) / 1000 / (performance.now() - t0), live: calls.filter((c) => c.state === 'connected').length, rss: process.memoryUsage().rss };
  },

  /** Hangs up this process's live calls (of one `direction`, or all) and waits until every call ended. */
  async hangup({ direction, timeoutMs = 20_000 } = {}) {
    const mine = calls.filter((e) => e.state !== 'disconnected' && (!direction || e.direction === direction));
    await Promise.all(mine.map((e) => e.call.hangup().catch(() => {})));
    await within(Promise.all(calls.map((e) => e.ended)), timeoutMs);
    return { calls: calls.map(plain) };
  },

  async ended({ timeoutMs = 20_000 } = {}) {
    await within(Promise.all(calls.map((e) => e.ended)), timeoutMs);
    return { calls: calls.map(plain) };
  },

  async close({ timeoutMs = 5000 } = {}) {
    await Promise.all([...peers.values()].map((p) => p.client.close()));
    for (const peer of peers.values()) peer.transport.close();
    // The transports' sockets finish their close handshakes on their own: wait (bounded) until
    // none is left, so the handles below are what stays behind.
    const deadline = Date.now() + timeoutMs;
    while (process.getActiveResourcesInfo().includes('TCPSocketWrap') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const end = processSample();
    return {
      [EXIT]: 0,
      peerConnections: connections.length,
      openPeerConnections: connections.filter((pc) => pc.signalingState !== 'closed').length,
      tracks: tracks.length,
      liveTracks: tracks.filter((t) => t.readyState !== 'ended').length,
      warnings: Object.fromEntries([...peers.values()].map((p) => [p.name, p.warnings ?? []])),
      handles: { before: startSample?.handleTypes, after: end.handleTypes },
    };
  },
});
