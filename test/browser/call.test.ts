/**
 * The acceptance test: two pages of headless Chromium load the library's browser build
 * (`dist/browser/`), use the fake camera and microphone, and call each other through a
 * WebSocket pipe on 127.0.0.1 with frame encryption required. `npm test` and
 * `npm run test:browser` build dist/ first.
 */
import { describe, expect, it } from 'vitest';
import type { FrameTransformApi } from '../../src/session/types.js';
import { until } from './helpers/chromium.js';
import { droppedFrames, useCallPages } from './helpers/call-pages.js';
import type { CallStatus } from './fixtures/call-harness.js';

const { harness, user, statusOf, forwarded } = useCallPages();

/** One variant of the call test. */
interface Variant {
  name: string;
  /** Frame API forced through the app's protector factory; default: the library detects it (script transform). */
  api?: FrameTransformApi;
  /** Frames each way (60 fps video plus 50 audio frames a second) before the checks. */
  frames: number;
}

const VARIANTS: Variant[] = [
  { name: 'detected frame API (RTCRtpScriptTransform)', frames: 1000 },
  { name: 'legacy encoded streams, through an app-supplied protector factory', api: 'encoded-streams', frames: 300 },
];

describe.each(VARIANTS)('a call between two browser pages: $name', ({ name, api, frames }) => {
  it('connects with frame encryption, moves every frame encrypted, decodes video, and survives key rotation', async () => {
    const tag = api ?? 'default';
    const [alice, bob] = await Promise.all([user(`alice-${tag}`), user(`bob-${tag}`)]);
    await harness(alice.page, 'start', { [`bob-${tag}`]: bob.publicKey }, api);
    await harness(bob.page, 'start', { [`alice-${tag}`]: alice.publicKey }, api);

    const accepted = harness(bob.page, 'acceptIncoming');
    await harness(alice.page, 'call', `bob-${tag}`);
    await accepted;
    const both = async (): Promise<[CallStatus, CallStatus]> => [await statusOf(alice.page), await statusOf(bob.page)];
    const connected = await until(both, (s) => s.every((x) => x.state === 'connected' || x.ended), 15_000, 'both sides connected');
    for (const s of connected) {
      expect(s.ended, `ended: ${s.ended} ${s.error}`).toBeUndefined();
      expect(s.state).toBe('connected');
      expect(s.e2ee).toBe('frame');
    }

    // Thousands of frames in all, every one encrypted by one side and decrypted by the other;
    // video decodes on both pages.
    const flowing = await until(
      both,
      (s) =>
        s.every(
          (x) =>
            x.ended !== undefined ||
            (x.counters!.send.encrypted >= frames && x.counters!.receive.decrypted >= frames && x.framesDecoded > frames / 5),
        ),
      25_000,
      `${frames} frames each way (${name})`,
    );
    for (const s of flowing) {
      expect(s.ended).toBeUndefined();
      expect(s.framesDecoded).toBeGreaterThan(frames / 5);
      expect(s.framesPresented).toBeGreaterThan(0);
      expect(droppedFrames(s.counters), JSON.stringify(s.counters)).toBe(0);
    }
    const total = flowing.reduce((sum, s) => sum + s.counters!.receive.decrypted, 0);
    expect(total).toBeGreaterThanOrEqual(2 * frames);

    // Mid-call rotation, both ways in turn: video keeps decoding, nothing fails to decrypt.
    for (const [rotating, watching] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const before = await statusOf(watching.page);
      expect(await harness(rotating.page, 'rotate')).toBe(1);
      const after = await until(
        () => statusOf(watching.page),
        (s) => s.ended !== undefined || s.framesDecoded >= before.framesDecoded + 60,
        10_000,
        'video after a key rotation',
      );
      expect(after.ended).toBeUndefined();
      expect(after.counters!.receive.decrypted).toBeGreaterThan(before.counters!.receive.decrypted + 60);
      expect(droppedFrames(after.counters)).toBe(0);
    }

    const [aliceEnd, bobEnd] = await both();
    for (const s of [aliceEnd, bobEnd]) {
      expect(s.state).toBe('connected');
      expect(s.warnings).toEqual([]);
    }
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
    expect(forwarded()).toBeGreaterThan(0);
  }, 60_000);
});
