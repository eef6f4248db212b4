// Bounded subset of the relay load suite (test/load/relay.load.ts): a relay in its own process,
// a few hundred raw protocol (v2) clients spread over two other processes (so that the bench's
// merging of several clients' processes is checked too: every count below is summed across them),
// each with a receive connection (its queue, subscribed) and a send connection, traffic around a
// ring in each process at full speed and at a fixed rate.
// Checks what must hold at any load: everything sent is delivered and acknowledged, nothing is
// refused, and the relay ends with no message queued and no connection left.
import { describe, expect, it } from 'vitest';
import { runRelayLoad } from '../bench/load/relay-load.mjs';

describe('relay under load (bounded)', () => {
  it('delivers every message of 250 subscribed clients (two connections each), refuses none, and ends with nothing queued or connected', async () => {
    const clients = 250;
    const r = await runRelayLoad({
      clients,
      envelopes: [4096],
      warmupMs: 300,
      durationMs: 1000,
      pacedWarmupMs: 200,
      pacedPrimeMs: 300,
      pacedDurationMs: 1000,
      baseline: false,
      rounds: 1,
      clientProcesses: 2,
    });
    const relay = r.servers.relay;
    // Idle: each client's receive connection only; then each opens its send connection.
    expect(relay.connectedAtServer).toBe(clients);
    expect(relay.senders).toMatchObject({ connections: 2 * clients, connectedAtServer: 2 * clients });
    for (const { closed, paced } of relay.phases) {
      for (const phase of [closed, paced]) {
        expect(phase.delivered).toBeGreaterThan(0);
        expect(phase.drained).toBe(true);
        expect(phase.lost).toBe(0);
        expect(phase.errors).toEqual({});
        expect(phase.latencyMs.n).toBe(phase.delivered);
        // Blocks and their frames are counted (BENCHMARKS.md reports frames per block); a body that
        // did not open with the delivery key would be in `errors` (and `lost`).
        expect(phase.blocks.blocksIn).toBeGreaterThan(0);
        expect(phase.blocks.framesIn).toBeGreaterThanOrEqual(phase.blocks.blocksIn);
      }
      // Sampled at both ends of the window (BENCHMARKS.md reports it).
      expect(paced.serverNewSpace.start).toBeGreaterThan(0);
      expect(paced.serverNewSpace.end).toBeGreaterThan(0);
    }
    const { sent, delivered, oks, errors, unanswered } = relay.clientTotals;
    expect(delivered).toBe(sent);
    expect(unanswered).toBe(0);
    expect(errors).toEqual({});
    // One `ok` per `send` and one per `ack`: every message was stored, delivered and acknowledged.
    expect(oks).toBe(2 * sent);
    expect(relay.afterTraffic.stats).toMatchObject({
      connections: 2 * clients,
      queues: clients,
      messagesReceived: sent,
      messagesDelivered: sent,
      bytesQueued: 0,
    });
    expect(relay.closing).toMatchObject({ closed: clients, connections: 2 * clients, timedOut: false, serverConnections: 0 });
    // Loose: a per-connection leak of buffers (a frame, a socket's worth) would be far above it.
    expect(relay.idle.perClient.heapUsed).toBeGreaterThan(0);
    expect(relay.idle.perClient.heapUsed).toBeLessThan(64 * 1024);
  }, 90_000);
});
