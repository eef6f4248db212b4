/**
 * Video added to an audio call mid-call, between two pages of headless Chromium (fake camera
 * and microphone; the library's browser build), with frame encryption required.
 * `addVideo` renegotiates a new video sender into an audio call, from the caller (the offerer
 * renegotiates itself) or the callee (it asks the offerer for an offer). The new sender must get
 * its frame transform before its first frame: the peer then decodes the video, which it only can
 * after decrypting it, and drops nothing (a clear frame would be dropped, never decoded). The
 * counters cover audio and video together; the video's share is told by the decoded frames.
 * Needs dist/ (`npx tsup`).
 */
import { describe, expect, it } from 'vitest';
import type { FrameTransformApi } from '../../src/session/types.js';
import type { CallStatus } from './fixtures/call-harness.js';
import { droppedFrames as dropped, useCallPages } from './helpers/call-pages.js';
import { until } from './helpers/chromium.js';

const { harness, user, statusOf } = useCallPages();

const CAMERA = 4 / 3;

/**
 * Legacy encoded streams only: under RTCRtpScriptTransform (the detected default) Chromium leaves
 * a renegotiated video's frames untransformed, so sealcall refuses to add video there (tested
 * below); the branch wip/addvideo-script-transform has this test failing under it.
 */
const APIS: { name: string; api?: FrameTransformApi }[] = [{ name: 'encoded streams', api: 'encoded-streams' }];

describe.each(APIS)('video added to an audio call ($name)', ({ api }) => {
  it.each(['caller', 'callee'] as const)('the %s adds video: the peer decodes encrypted video, then sees it removed', async (adder) => {
    const tag = `${api ?? 'default'}-${adder}`;
    const [alice, bob] = await Promise.all([user(`alice-add-${tag}`), user(`bob-add-${tag}`)]);
    await harness(alice.page, 'start', { [`bob-add-${tag}`]: bob.publicKey }, api);
    await harness(bob.page, 'start', { [`alice-add-${tag}`]: alice.publicKey }, api);
    const accepted = harness(bob.page, 'acceptIncoming', false);
    await harness(alice.page, 'call', `bob-add-${tag}`, 'audio');
    await accepted;
    const [sender, watcher] = adder === 'caller' ? [alice, bob] : [bob, alice];
    const connected = await until(
      () => statusOf(watcher.page),
      (s) => (s.state === 'connected' && s.counters!.receive.decrypted > 50) || s.ended !== undefined,
      15_000,
      'an audio call with frames',
    );
    expect(connected.ended).toBeUndefined();
    expect(connected.e2ee).toBe('frame');
    expect(connected.media).toBe('audio');
    expect(connected.remoteVideoTracks).toBe(0);
    expect(connected.framesDecoded).toBe(0);
    const sentBefore = (await statusOf(sender.page)).counters!.send.encrypted;

    await harness(sender.page, 'addVideo');
    let local = await harness(sender.page, 'local');
    expect(local.video?.readyState).toBe('live');
    expect(local.events.at(-1)).toEqual({ audioMuted: false, videoEnabled: true, screenSharing: false });
    const watching = await until(
      () => statusOf(watcher.page),
      (s) => s.ended !== undefined || s.framesDecoded > 60,
      15_000,
      'video added to the audio call',
    );
    expect(watching.ended).toBeUndefined();
    // Video frames went through the decryptor, not only audio: a transform missing on both ends
    // would let clear video be decoded with nothing dropped.
    const videoDecrypted = (s: CallStatus) => s.counters!.receive.decrypted - s.audioPackets;
    // Some slack: the counters are read a moment after the stats.
    expect(videoDecrypted(watching) - videoDecrypted(connected)).toBeGreaterThan(40);
    expect(watching.remoteVideoTracks).toBe(1);
    expect(watching.remoteMedia).toEqual({ audioMuted: false, videoEnabled: true, held: false });
    expect(watching.media).toBe('video');
    expect(Math.abs(watching.frameWidth / watching.frameHeight - CAMERA)).toBeLessThan(0.05);
    expect(dropped(watching.counters), JSON.stringify(watching.counters)).toBe(0);
    const sending = await statusOf(sender.page);
    expect(sending.media).toBe('video');
    expect(sending.counters!.send.encrypted).toBeGreaterThan(sentBefore + 60);

    const camera = local.video!.id;
    await harness(sender.page, 'removeVideo');
    local = await harness(sender.page, 'local');
    expect(local.video).toBeUndefined();
    expect(local.seen[camera]!.readyState).toBe('ended'); // captured by sealcall, so stopped by it
    expect(local.events.at(-1)).toEqual({ audioMuted: false, videoEnabled: false, screenSharing: false });
    const removed = await until(
      () => statusOf(watcher.page),
      (s) => s.ended !== undefined || s.remoteMedia?.videoEnabled === false,
      10_000,
      'video removed',
    );
    expect(removed.ended).toBeUndefined();
    expect(removed.remoteMedia).toEqual({ audioMuted: false, videoEnabled: false, held: false });
    expect(removed.media).toBe('audio');
    // Audio goes on decrypting after the renegotiation that took the video out.
    const after = await until(
      () => statusOf(watcher.page),
      (s) => s.ended !== undefined || s.counters!.receive.decrypted > removed.counters!.receive.decrypted + 50,
      10_000,
      'audio after the video was removed',
    );
    expect(after.state).toBe('connected');
    expect(dropped(after.counters), JSON.stringify(after.counters)).toBe(0);
    for (const s of [await statusOf(alice.page), await statusOf(bob.page)]) {
      expect(s.warnings).toEqual([]);
      expect(dropped(s.counters)).toBe(0);
    }
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 60_000);
});

describe('video added to an audio call (script transform)', () => {
  it('is refused with E2EE_UNAVAILABLE, nothing sent and nothing changed', async () => {
    const [alice, bob] = await Promise.all([user('alice-add-refused'), user('bob-add-refused')]);
    await harness(alice.page, 'start', { 'bob-add-refused': bob.publicKey });
    await harness(bob.page, 'start', { 'alice-add-refused': alice.publicKey });
    const accepted = harness(bob.page, 'acceptIncoming', false);
    await harness(alice.page, 'call', 'bob-add-refused', 'audio');
    await accepted;
    const connected = await until(
      () => statusOf(bob.page),
      (s) => (s.state === 'connected' && s.counters!.receive.decrypted > 50) || s.ended !== undefined,
      15_000,
      'an audio call with frames',
    );
    await expect(harness(alice.page, 'addVideo')).rejects.toThrow(/RTCRtpScriptTransform/);
    const local = await harness(alice.page, 'local');
    expect(local.video).toBeUndefined();
    const later = await until(
      () => statusOf(bob.page),
      (s) => s.counters!.receive.decrypted > connected.counters!.receive.decrypted + 50 || s.ended !== undefined,
      10_000,
      'the audio call going on',
    );
    expect(later.ended).toBeUndefined();
    expect(later.remoteVideoTracks).toBe(0);
    expect(later.media).toBe('audio');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);
  }, 60_000);
});
