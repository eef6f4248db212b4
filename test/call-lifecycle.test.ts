import { afterEach, describe, expect, it } from 'vitest';
import type { WebRtcImplementation } from '../src/session/types.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, nodeWrtc, once, reach } from './helpers/call-harness.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import { until } from './helpers/relay-fixture.js';

let harness: Harness;
afterEach(() => harness?.close());

/** wrtc whose peer connections and captured tracks the test can count. */
function countingWrtc(): { wrtc: WebRtcImplementation; tracks: MediaStreamTrack[] } {
  const tracks: MediaStreamTrack[] = [];
  const capture = nodeWrtc.getUserMedia!.bind(nodeWrtc);
  return {
    tracks,
    wrtc: {
      ...flakyWrtc,
      mediaDevices: {
        getUserMedia: async (constraints) => {
          const stream = await capture(constraints);
          tracks.push(...stream.getTracks());
          return stream;
        },
      },
    },
  };
}

describe('call lifecycle', () => {
  it('releases every peer connection, track, timer and listener over many sequential calls', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 5 }));
    const { wrtc, tracks } = countingWrtc();
    const alice = await harness.user('alice', { wrtc });
    const bob = await harness.user('bob', { wrtc });
    bob.client.on('incoming', (call) => void call.accept());

    const runCall = async (i: number) => {
      const call = await alice.client.call('bob');
      await reach(call, 'connected');
      const [peerCall] = bob.client.activeCalls;
      const peerEnded = ended(peerCall!);
      // Alternate who hangs up, so both teardown paths are exercised.
      if (i % 2 === 0) await call.hangup();
      else await peerCall!.hangup();
      await Promise.all([ended(call), peerEnded]);
      expect(call.listenerCount('state')).toBe(0);
    };

    for (let i = 0; i < 3; i++) await runCall(i); // warm-up: lazily created handles settle
    await harness.network.settled();
    const handlesBefore = process.getActiveResourcesInfo().length;
    const heapBefore = process.memoryUsage().heapUsed;
    const calls = 20;
    for (let i = 0; i < calls; i++) await runCall(i);
    await harness.network.settled();

    expect(alice.client.activeCalls).toEqual([]);
    expect(bob.client.activeCalls).toEqual([]);
    expect(flakyConnections.size).toBe(0);
    expect(tracks).toHaveLength(2 * (calls + 3));
    expect(tracks.every((t) => t.readyState === 'ended')).toBe(true);
    // Timers and sockets: nothing accumulates per call (a little slack for runtime internals).
    // The last calls' cancel repeats and lingering channels run out within seconds.
    await until(() => process.getActiveResourcesInfo().length <= handlesBefore + 2, 10_000);
    // Loose bound: leaking a peer connection or its buffers per call would blow well past it.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
  }, 120_000);

  it('hangs up everything and ignores the transport after close()', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 6 }));
    const alice = await harness.user('alice');
    const bob = await harness.user('bob');
    const incoming = once(bob.client, 'incoming');
    const call = await alice.client.call('bob');
    const [bobCall] = await incoming;
    await bobCall.accept();
    await reach(call, 'connected');
    const bobEnded = ended(bobCall);
    await alice.client.close();
    expect(call.endedWith?.reason).toBe('hangup');
    expect((await bobEnded).reason).toBe('remote-hangup');
    await expect(alice.client.call('bob')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    // A new invitation to the closed client goes unanswered.
    const late = await bob.client.call('alice');
    const lateEnded = ended(late);
    expect(late.state).toBe('outgoing');
    await late.hangup();
    expect((await lateEnded).reason).toBe('hangup');
  });

  it('refuses a second outgoing call while one is live, and calling a ringing contact answers them', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 7 }));
    const alice = await harness.user('alice');
    const bob = await harness.user('bob');
    await harness.user('carol');
    const incoming = once(bob.client, 'incoming');
    const call = await alice.client.call('bob');
    await expect(alice.client.call('carol')).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(alice.client.call('nobody')).rejects.toMatchObject({ code: 'UNKNOWN_CONTACT' });
    const [bobCall] = await incoming;
    // Bob presses "call alice" while she is ringing him: that answers her call.
    expect(await bob.client.call('alice')).toBe(bobCall);
    await Promise.all([reach(call, 'connected'), reach(bobCall, 'connected')]);
    await expect(bobCall.accept()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
