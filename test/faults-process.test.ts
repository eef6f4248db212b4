import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import { decodeAddress } from '../src/relay-client/address.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { endedWithin, liveCalls, noPeerConnections, watch } from './helpers/call-watch.js';
import { Harness, reach, type User } from './helpers/call-harness.js';
import { CliProcess, stopCliProcesses } from './helpers/cli-peer.js';
import { flakyWrtc } from './helpers/flaky-wrtc.js';
import { RelayFixture } from './helpers/relay-fixture.js';

/**
 * A peer process (`node dist/cli.js peer --json`, built by `npm test` / `npx tsup`) killed with
 * SIGKILL at different moments of a call with an in-process CallClient, both on a real relay.
 * The survivor must end with the right reason within its timeouts, and a restarted process must
 * pick up where it left off without ringing for the dead call.
 */
const T = { ringTimeoutMs: 2000, connectTimeoutMs: 5000, remoteEndGraceMs: 500, iceRestartDelayMs: 300, iceFailTimeoutMs: 1000 };
/**
 * libwebrtc notices a silent peer (consent checks unanswered) about 5 s after it vanished on an
 * idle machine, later when the machine is busy (over 9 s was seen with two test runs at once); the
 * call then waits `iceFailTimeoutMs` for an ICE restart before giving up. The bound only has to
 * tell "ended on its own" from "hung".
 */
const ICE_NOTICE_MS = 20_000;
const SLACK = 1500;

const fx = new RelayFixture();
let harness: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  const left = (harness?.clients ?? []).flatMap((c) => liveCalls(c).map((call) => `${call.direction} ${call.state}`));
  await stopCliProcesses();
  await harness?.close();
  harness = undefined;
  await fx.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  await noPeerConnections(5000);
  expect(left).toEqual([]);
});

/** Alice in process, Bob as a CLI process; both on one relay, each the other's contact. */
async function setup(bobArgs: string[] = []) {
  await ready();
  dir = mkdtempSync(join(tmpdir(), 'sealcall-kill-'));
  const relay = await fx.start();
  const url = relay.address!.url;
  const aliceId = generateIdentity();
  const aliceWs = await fx.user(relay, { identity: aliceId, maxReconnectAttempts: 40 });
  const bobDir = join(dir, 'bob');
  const startBob = async (extra: string[] = bobArgs) => {
    const bob = new CliProcess(['peer', '--name', 'bob', '--relay', url, '--dir', bobDir, '--json', '--add', `alice=${aliceWs.address}`, ...extra]);
    const ready = await bob.next('ready');
    return { bob, address: String(ready.address) };
  };
  const first = await startBob();
  aliceWs.addContact('bob', first.address);
  harness = new Harness(new MemoryNetwork(), { wrtc: flakyWrtc, ...T });
  const alice: User = await harness.user('alice', {
    identity: aliceId,
    transport: aliceWs,
    contacts: { bob: decodeAddress(first.address).publicKey },
  });
  return { alice, bob: first.bob, startBob };
}

describe('a peer process killed (SIGKILL) during a call', () => {
  it('mid-call: the survivor ends ice-failed once ICE notices; the restarted peer ignores the dead call’s leftovers and takes a new call', async () => {
    const { alice, bob, startBob } = await setup(['--auto-accept']);
    const call = await alice.client.call('bob', { audio: false });
    await reach(call, 'connected');
    await bob.next('connected');
    const w = watch(call);
    bob.kill('SIGKILL');
    expect((await bob.exited).signal).toBe('SIGKILL');
    const end = await endedWithin(call, ICE_NOTICE_MS + T.iceFailTimeoutMs + SLACK, 'survivor');
    expect(end.reason).toBe('ice-failed');
    expect(w.states.map((s) => s.state)).toEqual(['connected', 'reconnecting', 'disconnected']);
    expect(w.violations).toEqual([]);
    // Alice's renegotiation requests and her `end` wait in the dead peer's queue.
    const restarted = (await startBob(['--auto-accept'])).bob;
    const again = await alice.client.call('bob', { audio: false });
    await reach(again, 'connected');
    await restarted.next('connected');
    // The leftovers of the first call never rang and never ended the second one.
    expect(restarted.events.filter((e) => e.event === 'incoming')).toHaveLength(1);
    const ended = restarted.next('ended');
    await again.hangup();
    expect((await ended).reason).toBe('remote-hangup');
    restarted.send('quit');
    expect((await restarted.exited).code).toBe(0);
  }, 60_000);

  it('while ringing (callee killed before answering): the caller ends no-answer at its ring timeout', async () => {
    const { alice, bob } = await setup();
    const call = await alice.client.call('bob', { audio: false });
    await bob.next('incoming');
    bob.kill('SIGKILL');
    await bob.exited;
    expect((await endedWithin(call, T.ringTimeoutMs + SLACK)).reason).toBe('no-answer');
  }, 30_000);

  it('the caller killed while the callee rings: the callee ends no-answer at its ring timeout', async () => {
    const { alice, bob } = await setup();
    const incoming = new Promise<Call>((resolve) => alice.client.once('incoming', resolve));
    bob.send('call alice');
    const call = await incoming;
    const rangAt = Date.now();
    bob.kill('SIGKILL');
    await bob.exited;
    expect((await endedWithin(call, T.ringTimeoutMs + SLACK)).reason).toBe('no-answer');
    expect(Date.now() - rangAt).toBeGreaterThanOrEqual(T.ringTimeoutMs - 100);
  }, 30_000);

  it('right after accepting (mid-setup): the caller ends connect-timeout or ice-failed, never hangs', async () => {
    const { alice, bob } = await setup(['--auto-accept']);
    const call = await alice.client.call('bob', { audio: false });
    await reach(call, 'joining'); // the offer arrived: ICE is under way
    bob.kill('SIGKILL');
    await bob.exited;
    const end = await endedWithin(call, Math.max(T.connectTimeoutMs, ICE_NOTICE_MS + T.iceFailTimeoutMs) + SLACK);
    // Depending on how far ICE got before the kill: never connected, or connected and lost.
    expect(['connect-timeout', 'ice-failed']).toContain(end.reason);
  }, 60_000);
});
