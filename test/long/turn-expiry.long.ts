import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IceServerSet } from '../../src/call/ice-servers.js';
import { MemoryNetwork } from '../../src/testing/memory-network.js';
import { listen, tone, type Listener, type Tone } from '../helpers/audio.js';
import { connectedPair, Harness, reach } from '../helpers/call-harness.js';
import { flakyConnections, flakyWrtc } from '../helpers/flaky-wrtc.js';
import { startTurnServer, type TurnServer } from '../helpers/turn-server.js';

// Credentials live 8 s. The call runs past that, then its path breaks (a network change) and
// recovery needs new TURN allocations made with credentials that are still valid. (coturn 4.6
// keeps an existing allocation alive after its REST credentials expire, so a call that never
// re-allocates would survive without refreshes too; re-allocation is where they matter, and
// test/turn.test.ts shows the refresh moving a live call onto new credentials.)
const CREDENTIAL_MS = 8_000;
const BREAK_AFTER_MS = 12_000;

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

async function relayedCallThatBreaks(provider: () => Promise<IceServerSet>) {
  harness = new Harness(new MemoryNetwork({ seed: 31 }), {
    wrtc: flakyWrtc,
    iceTransportPolicy: 'relay',
    iceRefreshBufferMs: 3_000,
    iceRestartDelayMs: 500,
    iceFailTimeoutMs: 15_000,
    iceServers: provider,
  });
  const sent = tone(500);
  media.push(sent);
  const pair = await connectedPair(harness, { call: { stream: sent.stream } });
  await new Promise((resolve) => setTimeout(resolve, BREAK_AFTER_MS)); // outlive the credentials
  const bobPc = [...flakyConnections].find((c) => c.pc.localDescription?.type === 'offer')!;
  bobPc.cut('failed');
  await reach(pair.bobCall, 'reconnecting');
  return pair;
}

describe('a relayed call outlives its TURN credentials', () => {
  it('recovers from a broken path after the first credentials expired, because they were refreshed', async () => {
    let issued = 0;
    const { bobCall } = await relayedCallThatBreaks(async () => {
      issued++;
      return turn.credentials(CREDENTIAL_MS);
    });
    await reach(bobCall, 'connected');
    expect(await bobCall.path()).toBe('relayed');
    expect(issued).toBeGreaterThanOrEqual(4); // 2 at setup, then refreshes every ~5 s
    const [track] = bobCall.remoteStream!.getAudioTracks();
    const heard = listen(track!);
    media.push(heard);
    await heard.audible(30);
  }, 60_000);
});
