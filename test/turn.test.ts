import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { listen, tone, type Listener, type Tone } from './helpers/audio.js';
import type { Call } from '../src/call/call.js';
import { connectedPair, Harness } from './helpers/call-harness.js';
import { startTurnServer, type TurnServer } from './helpers/turn-server.js';

let turn: TurnServer;
let harness: Harness;
const media: (Tone | Listener)[] = [];

beforeAll(async () => {
  turn = await startTurnServer();
});
afterAll(() => turn?.stop());
afterEach(async () => {
  for (const m of media.splice(0)) m.stop();
  await harness?.close();
});

describe('calls relayed through a real TURN server (coturn on 127.0.0.1)', () => {
  it('connects over TURN only, with REST credentials, and carries audio', async () => {
    let asked = 0;
    const relayOnly = {
      iceTransportPolicy: 'relay' as const,
      iceServers: async () => {
        asked++;
        return turn.credentials(10 * 60_000);
      },
    };
    harness = new Harness(new MemoryNetwork({ seed: 21 }), relayOnly);
    const sent = tone(440);
    media.push(sent);
    const { aliceCall, bobCall } = await connectedPair(harness, { call: { stream: sent.stream } });
    expect(await aliceCall.path()).toBe('relayed');
    expect(await bobCall.path()).toBe('relayed');
    expect(asked).toBe(2); // once per client, reused for later calls until near expiry
    const [track] = bobCall.remoteStream!.getAudioTracks();
    const heard = listen(track!);
    media.push(heard);
    await heard.audible(20);
    expect(Math.abs(heard.frequency() - 440)).toBeLessThan(40);
  });

  it('refreshes expiring credentials during a call and moves the relayed path onto them', async () => {
    // Credentials live 5 s and are refreshed 3 s before expiry: within 2 s of the call.
    let issued = 0;
    const shortLived = {
      iceTransportPolicy: 'relay' as const,
      iceRefreshBufferMs: 3_000,
      iceServers: async () => {
        issued++;
        return turn.credentials(5_000);
      },
    };
    harness = new Harness(new MemoryNetwork({ seed: 22 }), shortLived);
    const sent = tone(660);
    media.push(sent);
    const { aliceCall, bobCall, alice } = await connectedPair(harness, { call: { stream: sent.stream } });
    expect(await relayCandidate(bobCall)).toBeDefined();
    // Every relay candidate Bob has gathered so far: ICE may still switch between these (another
    // pair of the same allocations) without any refresh, so only a candidate outside them counts.
    const gathered = await relayCandidates(bobCall);
    // The refresh moves the call to a new allocation: ICE restarts over the encrypted channel.
    await pollFor(() => relayCandidate(bobCall), (c) => !gathered.has(c), 15_000);
    expect(issued).toBeGreaterThan(2); // one fetch per client at the start, then refreshes
    expect(aliceCall.state).toBe('connected');
    expect(await bobCall.path()).toBe('relayed');
    expect(alice.warnings).toEqual([]);
    const [track] = bobCall.remoteStream!.getAudioTracks();
    const heard = listen(track!);
    media.push(heard);
    await heard.audible(20);
  }, 40_000);
});

/** `address:port` of the local relay candidate on the call's selected candidate pair. */
async function relayCandidate(call: Call): Promise<string | undefined> {
  const reports = (await call.getStats()) as Record<string, unknown>[];
  const byId = new Map(reports.map((r) => [r.id as string, r]));
  // The transport names the pair in use; after an ICE restart the old pair may still be listed
  // as nominated, so a search for "a nominated pair" can find the stale one.
  const transport = reports.find((r) => r.type === 'transport' && r.selectedCandidatePairId);
  const pair = transport
    ? byId.get(transport.selectedCandidatePairId as string)
    : reports.find((r) => r.type === 'candidate-pair' && (r.nominated || r.selected) && r.state === 'succeeded');
  const local = pair && byId.get(pair.localCandidateId as string);
  if (!local || local.candidateType !== 'relay') return undefined;
  return `${String(local.address ?? local.ip)}:${String(local.port)}`;
}

/** `address:port` of every local relay candidate the call has gathered. */
async function relayCandidates(call: Call): Promise<Set<string>> {
  const reports = (await call.getStats()) as Record<string, unknown>[];
  return new Set(
    reports
      .filter((r) => r.type === 'local-candidate' && r.candidateType === 'relay')
      .map((r) => `${String(r.address ?? r.ip)}:${String(r.port)}`),
  );
}

/** Polls `read` (stats have no change event) until its value satisfies `wanted`, within `ms`. */
async function pollFor<T>(read: () => Promise<T | undefined>, wanted: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined && wanted(value)) return value;
    if (Date.now() > deadline) throw new Error(`no wanted value within ${ms} ms (last ${String(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
