/**
 * Video added to an audio call mid-call, between two pages of headless Chromium (fake camera
 * and microphone; the library's browser build), with frame encryption required.
 * `addVideo` renegotiates a new video sender into an audio call, from the caller (the answerer:
 * it asks the offerer for an offer) or the callee (the offerer renegotiates itself). The new sender
 * and the peer's new receiver must get their frame transforms before the first frame: the peer then
 * decodes the video, which it only can after decrypting it, and drops nothing (a clear frame
 * would be dropped, never decoded). The
 * counters cover audio and video together; the video's share is told by the decoded frames.
 * Needs dist/ (`npx tsup`).
 */
import { describe, expect, it } from 'vitest';
import type { CallStatus } from './fixtures/call-harness.js';
import { droppedFrames as dropped, useCallPages } from './helpers/call-pages.js';
import { until } from './helpers/chromium.js';

const { harness, statusOf, audioCall } = useCallPages();

const CAMERA = 4 / 3;

/**
 * Under both frame APIs: RTCRtpScriptTransform (forced here; also Chromium's detected default),
 * where Chromium short-circuits for good a sender or receiver left without a transform when the
 * task creating it ends, and legacy encoded streams.
 */
describe('video added to an audio call', () => {
  const cases = (['script-transform', 'encoded-streams'] as const).flatMap((api) =>
    (['caller', 'callee'] as const).map((adder) => [api, adder] as const),
  );
  it.each(cases)('%s: the %s adds video: the peer decodes encrypted video, then sees it removed', async (api, adder) => {
    const { alice, bob, atAlice, atBob } = await audioCall(`add-${api}-${adder}`, api);
    const [sender, watcher, connected] = adder === 'caller' ? [alice, bob, atBob] : [bob, alice, atAlice];
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
    expect(watching.remoteMedia).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: false });
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
    expect(removed.remoteMedia).toEqual({ audioMuted: false, videoEnabled: false, held: false, screenSharing: false });
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
