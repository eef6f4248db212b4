// Bounded subsets of the call load suites (test/load/calls.load.ts, sequential.load.ts): real
// @roamhq/wrtc peers in child processes, signaling over WebSocketTransports through a relay in
// another process. (Many sequential calls over MemoryNetwork: test/call-lifecycle.test.ts.)
import { describe, expect, it } from 'vitest';
import { runConcurrentCalls } from '../bench/load/concurrent-calls.mjs';
import { runSequentialCalls } from '../bench/load/sequential.mjs';

describe('calls through one relay (bounded)', () => {
  it('connects 4 calls placed at once across two processes, and closes every peer connection, track and socket', async () => {
    const calls = 4;
    const r = await runConcurrentCalls({ calls, processes: 2, baselineCalls: 1, holdMs: 300 });
    expect(r.baseline.map((c) => c.connected)).toEqual([true]);
    expect(r.concurrent.calls.map((c) => c.connected)).toEqual(Array(calls).fill(true));
    expect(r.hold.live).toBe(2 * calls);
    expect(r.end.endReasons).toEqual({ 'outgoing:hangup': calls, 'incoming:remote-hangup': calls });
    expect(r.end.stillLive).toBe(0);
    for (const peers of r.end.closed) {
      expect(peers.peerConnections).toBeGreaterThan(0);
      expect(peers.openPeerConnections).toBe(0);
      expect(peers.tracks).toBeGreaterThan(0);
      expect(peers.liveTracks).toBe(0);
      expect(Object.values(peers.warnings).flat()).toEqual([]);
      // Back to what the process had before it made any client: its IPC channel.
      expect(peers.handles.after).toEqual(peers.handles.before);
    }
    expect(r.end.exits).toEqual(Array(2).fill({ code: 0, signal: null }));
    expect(r.end.relayAfterClose.connections).toBe(0);
    expect(r.end.relayAfterClose.bytesQueued).toBeLessThanOrEqual(4 * 4096);
  }, 90_000);

  it('leaves no peer connection, track, socket or timer behind over 10 sequential calls', async () => {
    const r = await runSequentialCalls({ calls: 10, every: 5, warmup: 1, network: 'relay' });
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(r.failures).toEqual([]);
    expect(r.warnings).toEqual([]);
    // Eleven calls (one warm-up), hung up by Alice and Bob in turn, Alice first.
    expect(r.reasons).toEqual({ 'alice:hangup': 6, 'bob:remote-hangup': 6, 'bob:hangup': 5, 'alice:remote-hangup': 5 });
    const [first] = r.checkpoints;
    // Sockets and the like must not grow at all; timers may be in flight (an ack or ping awaiting
    // its reply carries a timeout, and the last call's channels linger until their final `end` is
    // acknowledged, with the relay requests carrying them) but must not pile up: a timer left
    // behind per call would add 5 between the checkpoints at 5 and 10 calls.
    const lasting = (types: Record<string, number>) =>
      Object.entries(types).reduce((n, [type, count]) => (type === 'Timeout' ? n : n + count), 0);
    for (const checkpoint of r.checkpoints) {
      expect(checkpoint).toMatchObject({ activeCalls: 0, peerConnections: 0, tracks: 0 });
      expect(lasting(checkpoint.handleTypes)).toBe(lasting(first!.handleTypes));
      expect(checkpoint.handleTypes.Timeout ?? 0).toBeLessThanOrEqual((first!.handleTypes.Timeout ?? 0) + 10);
    }
    const timeouts = r.checkpoints.map((c) => c.handleTypes.Timeout ?? 0);
    expect(timeouts.at(-1)!).toBeLessThanOrEqual(timeouts.at(-2)! + 3);
    // Closing the clients and transports ends their sockets and ping timers too.
    expect(first!.handleTypes).toHaveProperty('TCPSocketWrap');
    expect(r.closed.handleTypes).not.toHaveProperty('TCPSocketWrap');
    expect(r.closed.handleTypes).not.toHaveProperty('Timeout');
    // No connection is left; at most the last few envelopes wait unacknowledged (an ack still on
    // its way when the clients closed): the relay keeps them, as store-and-forward must.
    expect(r.relayStats?.connections).toBe(0);
    expect(r.relayStats?.bytesQueued).toBeLessThanOrEqual(4 * 4096);
  }, 90_000);
});
