import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, stopCliProcesses, TextCliProcess } from './helpers/cli-peer.js';

// The built CLI (npm test builds before running vitest), as a person runs it: without --json.

const CLEAR_ROW = '\r\x1b[2K';
const CONNECTED = /connected with \w+: rang (\d+\.\d) s, set up in (\d+) ms/;

let dir: string | undefined;
afterEach(async () => {
  await stopCliProcesses();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A relay on a free port and two text peers, alice (440 Hz) and bob (880 Hz), knowing each other. */
async function twoPeers(pty: boolean, extra: { alice?: string[]; bob?: string[] } = {}): Promise<{ alice: TextCliProcess; bob: TextCliProcess }> {
  dir = await mkdtemp(join(tmpdir(), 'sealcall-cli-text-'));
  const relay = new CliProcess(['relay', '--port', '0', '--json']);
  const url = String((await relay.next('listening')).url);
  const peer = (name: string, tone: string, extra: string[]) =>
    new TextCliProcess(['peer', '--name', name, '--relay', url, '--dir', join(dir!, name), '--tone', tone, ...extra], { pty });
  const alice = peer('alice', '440', extra.alice ?? []);
  const bob = peer('bob', '880', extra.bob ?? []);
  const address = async (p: TextCliProcess) => (await p.waitFor(/sc1:[\w-]+/))[0];
  const [a, b] = await Promise.all([address(alice), address(bob)]);
  const enter = pty ? '\r' : '\n';
  alice.type(`add bob ${b}${enter}`);
  bob.type(`add alice ${a}${enter}`);
  await Promise.all([alice.waitFor(/contact added: bob/), bob.waitFor(/contact added: alice/)]);
  return { alice, bob };
}

/** Neither a peer's secret key nor SDP may ever reach the output. */
async function expectNoSecrets(name: string, output: string): Promise<void> {
  const { secretKey } = JSON.parse(await readFile(join(dir!, name, 'identity.json'), 'utf8')) as { secretKey: string };
  expect(output).not.toContain(secretKey);
  expect(output).not.toContain(Buffer.from(secretKey, 'base64').toString('base64url'));
  expect(output).not.toMatch(/a=fingerprint|v=0\r?\n|a=candidate/);
}

describe('sealcall peer in a real terminal (pty)', () => {
  it('keeps one status line redrawn in place under event lines, with a prompt, countdowns and separate ring/setup times', async () => {
    const { alice, bob } = await twoPeers(true);
    // The prompt is there, and commands typed at it are echoed above the status line.
    await alice.waitFor(/sealcall> add bob sc1:/);
    expect(alice.output).toContain(`${CLEAR_ROW}sealcall> `);

    const aliceCall = alice.output.length;
    const bobCall = bob.output.length;
    alice.type('call bob\r');
    // Both sides count the ringing down in their status line. Bob answers after about 2 s.
    await bob.waitFor(/incoming audio call from alice/, bobCall);
    await alice.waitFor(/\r\x1b\[2Kbob: (calling|ringing) · 28 s left/, aliceCall);
    await bob.waitFor(/\r\x1b\[2Kalice: incoming call[^\r\n]* · 28 s left/, bobCall);
    bob.type('accept\r');

    // Ringing is not media setup: each side reports both, and setup is the short part.
    const [atAlice, atBob] = await Promise.all([alice.waitFor(CONNECTED, aliceCall), bob.waitFor(CONNECTED, bobCall)]);
    for (const match of [atAlice, atBob]) {
      const ringMs = Number(match[1]) * 1000;
      const setupMs = Number(match[2]);
      expect(ringMs).toBeGreaterThanOrEqual(1500);
      expect(setupMs).toBeLessThan(ringMs);
    }

    // The status line shows the path, the e2ee mode, the level and the tone heard.
    const heard = /\r\x1b\[2K\w+: connected \d:\d\d · direct · e2ee (frame|transport) · [▮▯]+ +-?\d+ dB (\d+) Hz/;
    const aliceHears = await alice.waitFor(new RegExp(heard.source.replace('\\w+', 'bob')), atAlice.index);
    const bobHears = await bob.waitFor(new RegExp(heard.source.replace('\\w+', 'alice')), atBob.index);
    expect(Number(aliceHears[2])).toBeGreaterThan(700);
    expect(Number(bobHears[2])).toBeLessThan(700);

    // Three seconds of level readings (two a second) redraw the status in place: no new line.
    const from = (await alice.waitFor(/connected 0:01/, aliceHears.index)).index;
    const to = (await alice.waitFor(/connected 0:04/, from)).index;
    const ticks = alice.output.slice(from, to);
    expect(ticks).not.toContain('\n');
    expect(ticks.split(CLEAR_ROW).length).toBeGreaterThan(3);
    // The call's quality ends the status line, redrawn like the meter, never a line of its own.
    await alice.waitFor(/\r\x1b\[2Kbob: connected [^\r\n]* Hz · (good|fair|poor): rtt \d+ ms, loss [\d.]+%, ↑\d+ ↓\d+ kbps/, aliceHears.index);
    expect(alice.output).not.toMatch(/call quality/);

    // Nobody muted: no media announcement at connect, on either side.
    const muteAt = bob.output.length;
    expect(alice.output).not.toMatch(/microphone|unmuted/);
    expect(bob.output).not.toMatch(/microphone|unmuted/);

    // Alice mutes: bob is told once, and his meter shows silence without a stale frequency.
    alice.type('mute\r');
    const told = await bob.waitFor(/alice now has the microphone muted/, muteAt);
    const silent = await bob.waitFor(/\r\x1b\[2K[^\r\n]*silent[^\r\n]*/, told.index);
    expect(silent[0]).not.toMatch(/Hz|dB/);
    expect(silent[0]).toContain("alice's mic off");

    alice.type('hangup\r');
    await Promise.all([alice.waitFor(/call with bob ended: hangup after 0:\d\d/), bob.waitFor(/call with alice ended: remote-hangup after 0:\d\d/)]);
    alice.type('quit\r');
    bob.type('quit\r');
    expect((await alice.exited).code).toBe(0);
    expect((await bob.exited).code).toBe(0);
    expect(bob.output.match(/now has the microphone/g)).toHaveLength(1);
    await expectNoSecrets('alice', alice.output);
    await expectNoSecrets('bob', bob.output);
  }, 60_000);
});

describe('sealcall peer with its output in a pipe', () => {
  it('prints plain lines: no escape sequences, no line per level reading', async () => {
    // Four seconds of call: eight level readings a side, which must not make eight lines.
    const { alice, bob } = await twoPeers(false, { alice: ['--hangup-after', '4000'], bob: ['--auto-accept'] });
    alice.type('call bob\n');
    const connected = await alice.waitFor(CONNECTED);
    expect(Number(connected[2])).toBeLessThan(10_000);
    // Hearing the tone is one line, not two a second; silence is a line without a frequency.
    const hearing = await bob.waitFor(/hearing [▮▯]+ +-?\d+ dB +\d+ Hz\n/);
    await alice.waitFor(/hearing [▮▯]+ +-?\d+ dB +\d+ Hz\n/);
    alice.type('mute\n');
    await bob.waitFor(/alice now has the microphone muted/, hearing.index);
    await bob.waitFor(/hearing: silent\n/, hearing.index);
    await bob.waitFor(/call with alice ended: remote-hangup after 0:0\d\n/);
    alice.type('quit\n');
    bob.type('quit\n');
    await Promise.all([alice.exited, bob.exited]);

    for (const output of [alice.output, bob.output]) {
      expect(output).not.toContain('\x1b');
      expect(output).not.toContain('\r');
      expect(output.match(/hearing/g)!.length).toBeLessThanOrEqual(3);
      // A quality reading is a line when its level changes (the first one does).
      expect(output).toMatch(/call quality (good|fair|poor): rtt \d+ ms, jitter \d+ ms, loss [\d.]+%, ↑\d+ ↓\d+ kbps\n/);
    }
    expect(bob.output.match(/microphone/g)).toHaveLength(1);
    await expectNoSecrets('alice', alice.output);
  }, 60_000);
});
