import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallMedia } from '../src/protocol/messages.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, ended, Harness, peerMedia } from './helpers/call-harness.js';
import { flakyConnections, flakyWrtc } from './helpers/flaky-wrtc.js';
import { until } from './helpers/relay-fixture.js';

let harness: Harness;
afterEach(() => harness?.close());

const { RTCVideoSource } = (wrtc as unknown as { nonstandard: { RTCVideoSource: new () => { createTrack(): MediaStreamTrack } } }).nonstandard;
const { MediaStream: NodeMediaStream } = wrtc as unknown as { MediaStream: typeof MediaStream };

/** An audio call between alice (the caller: she answers offers) and bob (the callee: he makes them). */
async function audioCall(seed: number) {
  harness = new Harness(new MemoryNetwork({ seed }), { wrtc: flakyWrtc });
  const pair = await connectedPair(harness);
  const media = (call: Call) => {
    const seen: CallMedia[] = [];
    call.on('media', (m) => seen.push(m));
    return seen;
  };
  return { ...pair, aliceMedia: media(pair.aliceCall), bobMedia: media(pair.bobCall) };
}

/** Resolves with the next remote video track of `call`. */
function remoteVideo(call: Call): Promise<MediaStreamTrack> {
  return new Promise((resolve) => {
    const onTrack = (track: MediaStreamTrack) => {
      if (track.kind !== 'video') return;
      call.off('track', onTrack);
      resolve(track);
    };
    call.on('track', onTrack);
  });
}

const kinds = (stream: MediaStream | undefined) => stream!.getTracks().map((t) => t.kind).sort();
/** Each open peer connection's number of m-lines (transceivers). */
const mLines = () => [...flakyConnections].map((c) => c.pc.getTransceivers().length).sort();

describe('adding and removing video mid-call', () => {
  it('the caller turns an audio call into a video call and back; the callee sees the track and the state', async () => {
    const { aliceCall, bobCall, aliceMedia, bobMedia } = await audioCall(81);
    expect([aliceCall.media, bobCall.media]).toEqual(['audio', 'audio']);

    const arriving = remoteVideo(bobCall);
    await aliceCall.addVideo();
    expect(kinds(aliceCall.localStream)).toEqual(['audio', 'video']);
    expect(aliceCall.videoEnabled).toBe(true);
    const track = await arriving;
    expect(track.readyState).toBe('live');
    await peerMedia(bobCall, (m) => m.videoEnabled);
    expect([aliceCall.media, bobCall.media]).toEqual(['video', 'video']);
    expect(kinds(bobCall.remoteStream)).toContain('video');
    const captured = aliceCall.localStream!.getVideoTracks()[0]!;

    await aliceCall.removeVideo();
    expect(kinds(aliceCall.localStream)).toEqual(['audio']);
    expect(captured.readyState).toBe('ended'); // sealcall captured it: sealcall stops it
    await peerMedia(bobCall, (m) => !m.videoEnabled);
    // Renegotiated: the track leaves the callee's remote stream (no event of sealcall's says when).
    await until(() => !kinds(bobCall.remoteStream).includes('video'));
    expect([aliceCall.media, bobCall.media]).toEqual(['audio', 'audio']);
    expect(aliceMedia).toEqual(['video', 'audio']);
    expect(bobMedia).toEqual(['video', 'audio']);

    // On and off again reuses the same m-line: the SDP does not grow with every toggle.
    const lines = mLines();
    const again = remoteVideo(bobCall);
    await aliceCall.addVideo();
    expect((await again).readyState).toBe('live');
    expect(kinds(bobCall.remoteStream)).toContain('video');
    await peerMedia(bobCall, (m) => m.videoEnabled);
    await aliceCall.removeVideo();
    await peerMedia(bobCall, (m) => !m.videoEnabled);
    await until(() => !kinds(bobCall.remoteStream).includes('video'));
    expect(mLines()).toEqual(lines);
    expect([aliceCall.state, bobCall.state]).toEqual(['connected', 'connected']);
  });

  it('the callee adds the app’s own camera stream, which sealcall never stops', async () => {
    const { aliceCall, bobCall, aliceMedia } = await audioCall(82);
    const camera = new RTCVideoSource().createTrack();
    const arriving = remoteVideo(aliceCall);
    await bobCall.addVideo(new NodeMediaStream([camera]));
    await arriving;
    await peerMedia(aliceCall, (m) => m.videoEnabled);
    expect(aliceCall.media).toBe('video');
    await bobCall.addVideo(); // already sending video: nothing more
    expect(kinds(bobCall.localStream)).toEqual(['audio', 'video']);

    await bobCall.removeVideo();
    await peerMedia(aliceCall, (m) => !m.videoEnabled);
    expect(camera.readyState).toBe('live');
    expect(aliceMedia).toEqual(['video', 'audio']);
    await bobCall.hangup();
    await ended(aliceCall);
    expect(camera.readyState).toBe('live'); // the app's track is the app's to stop
    camera.stop();
  });

  it('both sides adding video at once settle on one video m-line each way, and everything is released at the end', async () => {
    const { aliceCall, bobCall } = await audioCall(83);
    const toAlice = remoteVideo(aliceCall);
    const toBob = remoteVideo(bobCall);
    await Promise.all([aliceCall.addVideo(), bobCall.addVideo()]);
    await Promise.all([toAlice, toBob]);
    await Promise.all([peerMedia(aliceCall, (m) => m.videoEnabled), peerMedia(bobCall, (m) => m.videoEnabled)]);
    expect([aliceCall.media, bobCall.media]).toEqual(['video', 'video']);
    expect(mLines()).toEqual([2, 2]); // audio and video: glare added no second video m-line
    const cameras = [aliceCall, bobCall].map((c) => c.localStream!.getVideoTracks()[0]!);

    await aliceCall.hangup();
    await ended(bobCall);
    expect(flakyConnections.size).toBe(0);
    expect(cameras.map((t) => t.readyState)).toEqual(['ended', 'ended']);
  });

  it('refuses video changes on a call that is not connected', async () => {
    const { aliceCall, bobCall } = await audioCall(84);
    await aliceCall.hangup();
    await ended(bobCall);
    await expect(aliceCall.addVideo()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(bobCall.removeVideo()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
