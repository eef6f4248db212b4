/**
 * Switching camera and microphone, and sharing the screen, mid-call between two pages of
 * headless Chromium (fake camera, microphones and screen; the library's browser build), with
 * frame encryption required. Every change replaces the sender's track, so nothing is
 * renegotiated and the sender's frame transform keeps encrypting: the peer keeps decrypting
 * frames, drops none (a clear or wrongly keyed frame is dropped, never decoded), and decodes the
 * new picture, told apart by its shape (the fake camera is 4:3, the fake screen 16:9). The peer
 * is told when sharing starts and stops, however it stops (`remoteMedia.screenSharing`).
 * Needs dist/ (`npx tsup`).
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { FrameTransformApi } from '../../src/session/types.js';
import { until } from './helpers/chromium.js';
import { droppedFrames, useCallPages } from './helpers/call-pages.js';
import type { CallStatus } from './fixtures/call-harness.js';

const { harness, user, statusOf, audioCall } = useCallPages();

const SCREEN = 16 / 9;
const CAMERA = 4 / 3;

/**
 * Waits until the watching side has decrypted and decoded `frames` more frames than at `since`,
 * of a picture with this aspect ratio; then checks that nothing was dropped and no track arrived.
 */
async function keepsDecrypting(page: Page, since: CallStatus, aspect: number, what: string): Promise<CallStatus> {
  const frames = 60;
  const s = await until(
    () => statusOf(page),
    (x) =>
      x.ended !== undefined ||
      (x.counters!.receive.decrypted > since.counters!.receive.decrypted + frames &&
        x.framesDecoded > since.framesDecoded + frames &&
        Math.abs(x.frameWidth / x.frameHeight - aspect) < 0.05),
    15_000,
    what,
  );
  expect(s.ended).toBeUndefined();
  expect(droppedFrames(s.counters), JSON.stringify(s.counters)).toBe(0);
  expect(s.remoteTracks).toBe(since.remoteTracks);
  return s;
}

/**
 * Waits until the watching side's `remoteMedia` says the peer shares its screen (or not): the
 * peer's media state, sent when sharing starts or stops, however it stops.
 */
async function seesSharing(page: Page, sharing: boolean, what: string): Promise<CallStatus> {
  const s = await until(() => statusOf(page), (x) => x.ended !== undefined || x.remoteMedia?.screenSharing === sharing, 10_000, what);
  expect(s.ended).toBeUndefined();
  expect(s.remoteMedia).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: sharing });
  return s;
}

/** Both frame APIs: the detected one (RTCRtpScriptTransform), and legacy encoded streams forced. */
const APIS: { name: string; api?: FrameTransformApi }[] = [{ name: 'script transform' }, { name: 'encoded streams', api: 'encoded-streams' }];

describe.each(APIS)('switching devices and sharing the screen in a browser call ($name)', ({ api }) => {
  it('flips the camera, switches the microphone, shares the screen and stops sharing from the browser: frames stay encrypted', async () => {
    const tag = api ?? 'default';
    const [alice, bob] = await Promise.all([user(`alice-switch-${tag}`), user(`bob-switch-${tag}`)]);
    await harness(alice.page, 'start', { [`bob-switch-${tag}`]: bob.publicKey }, api);
    await harness(bob.page, 'start', { [`alice-switch-${tag}`]: alice.publicKey }, api);
    const accepted = harness(bob.page, 'acceptIncoming');
    await harness(alice.page, 'call', `bob-switch-${tag}`);
    await accepted;
    const connected = await until(() => statusOf(bob.page), (s) => (s.state === 'connected' && s.framesDecoded > 30) || s.ended !== undefined, 15_000, 'connected with video');
    expect(connected.e2ee).toBe('frame');
    let atBob = await keepsDecrypting(bob.page, connected, CAMERA, 'the camera');
    expect(atBob.remoteMedia).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: false });

    // Flip to the back camera: a new capture with that facing mode; the old one is stopped.
    const before = await harness(alice.page, 'local');
    await harness(alice.page, 'switchCamera', { facingMode: 'environment' });
    let local = await harness(alice.page, 'local');
    expect(local.video!.id).not.toBe(before.video!.id);
    expect(local.video!.constraints.facingMode).toBe('environment'); // Chromium reports `{ ideal }` plainly
    expect(local.seen[before.video!.id]!.readyState).toBe('ended');
    atBob = await keepsDecrypting(bob.page, atBob, CAMERA, 'video after flipping the camera');

    // The app's own camera track: sent, and the camera sealcall captured is stopped.
    const flipped = local.video!.id;
    await harness(alice.page, 'switchCamera', 'track');
    local = await harness(alice.page, 'local');
    expect(local.seen[flipped]!.readyState).toBe('ended');
    atBob = await keepsDecrypting(bob.page, atBob, CAMERA, 'video from the app’s camera track');

    // Another microphone by device id: audio frames keep decrypting too.
    await harness(alice.page, 'switchMicrophone', 'Fake Audio Input 1');
    local = await harness(alice.page, 'local');
    expect(local.audio!.label).toBe('Fake Audio Input 1');
    expect(local.seen[before.audio!.id]!.readyState).toBe('ended');
    const aliceSent = (await statusOf(alice.page)).counters!.send.encrypted;
    atBob = await keepsDecrypting(bob.page, atBob, CAMERA, 'frames after switching the microphone');
    expect((await statusOf(alice.page)).counters!.send.encrypted).toBeGreaterThan(aliceSent);

    // Screen sharing: bob decodes a 16:9 picture, decrypted like the camera's frames.
    const camera = local.video!.id;
    await harness(alice.page, 'startScreenShare');
    local = await harness(alice.page, 'local');
    expect(local.screenSharing).toBe(true);
    expect(local.video!.id).not.toBe(camera);
    expect(local.events.at(-1)).toEqual({ audioMuted: false, videoEnabled: true, screenSharing: true });
    atBob = await keepsDecrypting(bob.page, atBob, SCREEN, 'the shared screen');
    await seesSharing(bob.page, true, 'bob told alice shares her screen');
    const screen = local.video!.id;

    // The user presses the browser's "Stop sharing": the camera is back, the capture is stopped.
    await harness(alice.page, 'endSharingFromBrowser');
    local = await harness(alice.page, 'local');
    expect(local.screenSharing).toBe(false);
    expect(local.video!.id).toBe(camera);
    expect(local.seen[screen]!.readyState).toBe('ended');
    expect(local.events.at(-1)).toEqual({ audioMuted: false, videoEnabled: true, screenSharing: false });
    atBob = await keepsDecrypting(bob.page, atBob, CAMERA, 'the camera after sharing');
    await seesSharing(bob.page, false, 'bob told alice stopped sharing from the browser');

    // Sharing again, picking the camera for afterwards meanwhile; stopScreenShare sends it.
    await harness(alice.page, 'startScreenShare');
    await harness(alice.page, 'switchCamera', { facingMode: 'user' }); // the camera for after sharing
    local = await harness(alice.page, 'local');
    expect(local.screenSharing).toBe(true);
    expect(local.seen[camera]!.readyState).toBe('live'); // the app's track: never stopped by sealcall
    atBob = await keepsDecrypting(bob.page, atBob, SCREEN, 'the screen again');
    await seesSharing(bob.page, true, 'bob told alice shares her screen again');
    await harness(alice.page, 'stopScreenShare');
    local = await harness(alice.page, 'local');
    expect(local.video!.constraints.facingMode).toBe('user');
    await keepsDecrypting(bob.page, atBob, CAMERA, 'the front camera after sharing');
    await seesSharing(bob.page, false, 'bob told alice stopped sharing');
    expect((await statusOf(alice.page)).remoteMedia?.screenSharing).toBe(false); // bob never shared

    for (const s of [await statusOf(alice.page), await statusOf(bob.page)]) {
      expect(s.state).toBe('connected');
      expect(s.warnings).toEqual([]);
      expect(droppedFrames(s.counters), JSON.stringify(s.counters)).toBe(0);
    }
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 90_000);
});

describe.each(APIS)('screen sharing on an audio call ($name)', ({ api }) => {
  it('shares the screen on an audio call: added as encrypted video (renegotiated), removed after', async () => {
    const { alice, bob, atBob: connected } = await audioCall(`share-${api ?? 'default'}`, api);
    expect(connected.framesDecoded).toBe(0);
    expect(connected.media).toBe('audio');

    await harness(alice.page, 'startScreenShare');
    let local = await harness(alice.page, 'local');
    expect(local.screenSharing).toBe(true);
    expect(local.events.at(-1)).toEqual({ audioMuted: false, videoEnabled: true, screenSharing: true });
    const shared = await until(
      () => statusOf(bob.page),
      (s) => s.ended !== undefined || (s.framesDecoded > 60 && Math.abs(s.frameWidth / s.frameHeight - SCREEN) < 0.05),
      15_000,
      'the screen, added to an audio call',
    );
    expect(shared.ended).toBeUndefined();
    expect(shared.remoteTracks).toBeGreaterThan(connected.remoteTracks); // a new track: renegotiated
    expect(shared.media).toBe('video');
    await seesSharing(bob.page, true, 'bob told alice shares her screen');
    // Screen frames went through the decryptor, not only audio (the counters cover both kinds).
    const videoDecrypted = (s: CallStatus) => s.counters!.receive.decrypted - s.audioPackets;
    expect(videoDecrypted(shared) - videoDecrypted(connected)).toBeGreaterThan(40);
    expect(droppedFrames(shared.counters), JSON.stringify(shared.counters)).toBe(0);

    const screen = local.video!.id;
    await harness(alice.page, 'stopScreenShare');
    local = await harness(alice.page, 'local');
    expect(local.video).toBeUndefined();
    expect(local.seen[screen]!.readyState).toBe('ended');
    const after = await until(() => statusOf(bob.page), (s) => s.media === 'audio' || s.ended !== undefined, 10_000, 'an audio call again');
    expect(after.ended).toBeUndefined();
    expect(after.remoteMedia).toEqual({ audioMuted: false, videoEnabled: false, held: false, screenSharing: false });
    expect((await statusOf(alice.page)).media).toBe('audio');
    expect(droppedFrames((await statusOf(bob.page)).counters)).toBe(0);
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 60_000);
});
