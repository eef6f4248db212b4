/*
 * The peer is told when this side shares its screen: `media-state` carries the optional
 * `screenSharing` flag (sent only as true, like `held`), and the peer's `remote-media` events and
 * `call.remoteMedia` carry `screenSharing`. Node has no getDisplayMedia: a stand-in for the
 * browser's hands sealcall a wrtc video track as "the screen". The shared picture itself, in real
 * Chromium: test/browser/call-switch.test.ts.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Call } from '../src/call/call.js';
import type { CallContext } from '../src/call/call-context.js';
import { MediaPlane } from '../src/call/media-plane.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import type { MediaStateMessage } from '../src/protocol/messages.js';
import { pack } from '../src/protocol/msgpack.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, Harness, peerMedia } from './helpers/call-harness.js';

const { RTCVideoSource } = (wrtc as unknown as { nonstandard: { RTCVideoSource: new () => { createTrack(): MediaStreamTrack } } }).nonstandard;
const MediaStreamOf = (wrtc as unknown as { MediaStream: new (tracks: MediaStreamTrack[]) => MediaStream }).MediaStream;

let harness: Harness | undefined;
/** Every "screen" handed out, stopped after each test. */
const screens: MediaStreamTrack[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const track of screens.splice(0)) track.stop();
  vi.unstubAllGlobals();
});

/** A browser's `navigator.mediaDevices.getDisplayMedia`, picking a screen at once. */
function stubScreenPicker(): void {
  vi.stubGlobal('navigator', {
    mediaDevices: {
      getDisplayMedia: async () => {
        const track = new RTCVideoSource().createTrack();
        screens.push(track);
        return new MediaStreamOf([track]);
      },
    },
  });
}

const sharing = (call: Call, on: boolean) => peerMedia(call, (media) => media.screenSharing === on);

describe('the peer sees screen sharing', () => {
  it('remote-media and remoteMedia carry screenSharing from start to stop, and after the browser’s own "Stop sharing"', async () => {
    stubScreenPicker();
    harness = new Harness(new MemoryNetwork({ seed: 71 }));
    const { aliceCall, bobCall } = await connectedPair(harness, { call: { media: 'video' } });
    // The state sent at connect: not sharing, the field absent on the wire and false here.
    expect(await peerMedia(bobCall, () => true)).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: false });

    let bobSees = sharing(bobCall, true);
    await aliceCall.startScreenShare();
    expect(aliceCall.screenSharing).toBe(true);
    expect(await bobSees).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: true });
    expect(bobCall.remoteMedia?.screenSharing).toBe(true);
    expect(aliceCall.remoteMedia?.screenSharing).toBe(false); // bob shares nothing
    expect(bobCall.screenSharing).toBe(false); // the peer's sharing is remoteMedia's, not its own

    // Media state carries the whole state: a hold while sharing keeps the flag.
    bobSees = peerMedia(bobCall, (media) => media.held);
    aliceCall.setOnHold(true);
    expect(await bobSees).toEqual({ audioMuted: false, videoEnabled: true, held: true, screenSharing: true });
    bobSees = peerMedia(bobCall, (media) => !media.held);
    aliceCall.setOnHold(false);
    expect((await bobSees).screenSharing).toBe(true);

    bobSees = sharing(bobCall, false);
    await aliceCall.stopScreenShare();
    expect(await bobSees).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: false });
    expect(bobCall.remoteMedia?.screenSharing).toBe(false);

    // The user ends it from the browser's UI: the screen track's `ended` (a stand-in here).
    bobSees = sharing(bobCall, true);
    await aliceCall.startScreenShare();
    await bobSees;
    const screen = aliceCall.localStream!.getVideoTracks()[0]!;
    expect(screens).toContain(screen);
    bobSees = sharing(bobCall, false);
    screen.dispatchEvent(new Event('ended'));
    expect((await bobSees).screenSharing).toBe(false);
    expect(aliceCall.screenSharing).toBe(false);
  });

  it('on an audio call too, where the screen is added as video and taken out after', async () => {
    stubScreenPicker();
    harness = new Harness(new MemoryNetwork({ seed: 72 }));
    const { aliceCall, bobCall } = await connectedPair(harness);
    expect(await peerMedia(bobCall, () => true)).toEqual({ audioMuted: false, videoEnabled: false, held: false, screenSharing: false });

    let bobSees = sharing(bobCall, true);
    await aliceCall.startScreenShare();
    expect(await bobSees).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: true });

    bobSees = sharing(bobCall, false);
    await aliceCall.stopScreenShare();
    expect(await bobSees).toEqual({ audioMuted: false, videoEnabled: false, held: false, screenSharing: false });
  });
});

describe('screenSharing on the wire (media-state)', () => {
  const callId = 'cd'.repeat(16);
  const state = { v: 2, type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true };
  const message = (fields: Record<string, unknown>) => decodeMessage(pack({ ...state, ...fields })) as MediaStateMessage;

  it('is carried only when true, so the message of a side not sharing is what older peers know', () => {
    const shared = encodeMessage({ type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true, screenSharing: true });
    expect(new TextDecoder().decode(shared)).toContain('screenSharing');
    expect(decodeMessage(shared)).toMatchObject({ screenSharing: true });
    expect(decodeMessage(encodeMessage({ type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true, held: true, screenSharing: true }))).toMatchObject({
      held: true,
      screenSharing: true,
    });
    const plain = encodeMessage({ type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true });
    expect(new TextDecoder().decode(plain)).not.toContain('screenSharing');
    expect(decodeMessage(plain)).not.toHaveProperty('screenSharing');
  });

  it('reads a peer’s screenSharing: false as absent and refuses anything but a boolean', () => {
    expect(message({ screenSharing: false })).not.toHaveProperty('screenSharing');
    for (const screenSharing of ['yes', 1, null, {}]) {
      expect(() => message({ screenSharing })).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
    }
  });

  it('is dropped, not refused, by a decoder that does not know it, as by a peer that predates it', () => {
    // This build's decoder keeps only the fields it knows: a field from a later version (here a
    // made-up one) is dropped the way a peer that predates screen sharing drops `screenSharing`.
    const later = message({ screenSharing: true, spotlight: true });
    expect(later).toEqual({ v: 2, type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true, screenSharing: true });
  });

  it('becomes the peer’s remote state: false when absent (a peer that predates it), an older state ignored', () => {
    const plane = new MediaPlane({ options: {}, warn: () => undefined } as unknown as CallContext, () => undefined);
    expect(plane.remoteMedia).toBeUndefined();
    expect(plane.remoteMediaChanged(message({ seq: 5 }))).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: false });
    expect(plane.remoteMediaChanged(message({ seq: 6, screenSharing: true }))).toEqual({ audioMuted: false, videoEnabled: true, held: false, screenSharing: true });
    expect(plane.remoteMediaChanged(message({ seq: 5 }))).toBeUndefined(); // late: the newer state stands
    expect(plane.remoteMedia?.screenSharing).toBe(true);
    expect(plane.remoteMediaChanged(message({ seq: 7, held: true }))).toEqual({ audioMuted: false, videoEnabled: true, held: true, screenSharing: false });
    plane.close();
  });
});
