import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import { pack } from '../src/protocol/msgpack.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, Harness, peerMedia, ringingPair } from './helpers/call-harness.js';

let harness: Harness;
afterEach(() => harness?.close());

const enabled = (stream: MediaStream | undefined) => stream!.getTracks().map((t) => `${t.kind}:${t.enabled}`).sort();

const peerHeld = (call: Call, held: boolean) => peerMedia(call, (media) => media.held === held);

describe('hold', () => {
  it('pauses media both ways, tells the peer held: true, and restores each side’s own choices after', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 61 }));
    const { aliceCall, bobCall } = await connectedPair(harness, { call: { media: 'video' } });
    await aliceCall.setAudioMuted(true); // a choice made before the hold outlasts it

    const bobSees = peerHeld(bobCall, true);
    aliceCall.setOnHold(true);
    expect(aliceCall.onHold).toBe(true);
    expect(await bobSees).toEqual({ audioMuted: true, videoEnabled: true, held: true, screenSharing: false });
    expect(bobCall.remoteMedia?.held).toBe(true);
    // Nothing is sent or played on either side; neither side's mute or camera choice changed.
    expect(enabled(aliceCall.localStream)).toEqual(['audio:false', 'video:false']);
    expect(enabled(aliceCall.remoteStream)).toEqual(['audio:false', 'video:false']);
    expect(enabled(bobCall.localStream)).toEqual(['audio:false', 'video:false']);
    expect(enabled(bobCall.remoteStream)).toEqual(['audio:false', 'video:false']);
    expect([aliceCall.audioMuted, aliceCall.videoEnabled, bobCall.audioMuted, bobCall.videoEnabled]).toEqual([true, true, false, true]);
    expect(bobCall.onHold).toBe(false); // the peer's hold is remoteMedia.held, not its own

    const bobSeesResume = peerHeld(bobCall, false);
    aliceCall.setOnHold(false);
    expect(await bobSeesResume).toEqual({ audioMuted: true, videoEnabled: true, held: false, screenSharing: false });
    expect(enabled(aliceCall.localStream)).toEqual(['audio:false', 'video:true']); // still muted
    expect(enabled(aliceCall.remoteStream)).toEqual(['audio:true', 'video:true']);
    expect(enabled(bobCall.localStream)).toEqual(['audio:true', 'video:true']);
    expect(enabled(bobCall.remoteStream)).toEqual(['audio:true', 'video:true']);
  });

  it('stays paused until both sides resumed when both hold', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 62 }));
    const { aliceCall, bobCall } = await connectedPair(harness);
    const aliceSees = peerHeld(aliceCall, true);
    const bobSees = peerHeld(bobCall, true);
    aliceCall.setOnHold(true);
    bobCall.setOnHold(true);
    expect((await aliceSees).held).toBe(true);
    expect((await bobSees).held).toBe(true);

    const bobSeesResume = peerHeld(bobCall, false);
    aliceCall.setOnHold(false);
    expect((await bobSeesResume).held).toBe(false);
    expect(enabled(aliceCall.localStream)).toEqual(['audio:false']); // bob still holds
    expect(enabled(bobCall.localStream)).toEqual(['audio:false']);

    const aliceSeesResume = peerHeld(aliceCall, false);
    bobCall.setOnHold(false);
    expect((await aliceSeesResume).held).toBe(false);
    expect(enabled(aliceCall.localStream)).toEqual(['audio:true']);
    expect(enabled(bobCall.localStream)).toEqual(['audio:true']);
  });

  it('refuses to hold a call that is not connected', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 63 }));
    const { aliceCall, bobCall } = await ringingPair(harness);
    expect(() => bobCall.setOnHold(true)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => aliceCall.setOnHold(true)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(aliceCall.onHold).toBe(false);
  });
});

describe('held on the wire (media-state)', () => {
  const callId = 'ab'.repeat(16);
  const state = { v: 2, type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true };

  it('is carried only when true, so the message of a call not on hold is what older peers know', () => {
    expect(decodeMessage(encodeMessage({ type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true, held: true }))).toMatchObject({ held: true });
    const plain = encodeMessage({ type: 'media-state', callId, seq: 5, audioMuted: false, videoEnabled: true });
    expect(new TextDecoder().decode(plain)).not.toContain('held');
    expect(decodeMessage(plain)).not.toHaveProperty('held');
  });

  it('reads a peer’s held: false as absent and refuses anything but a boolean', () => {
    expect(decodeMessage(pack({ ...state, held: false }))).not.toHaveProperty('held');
    for (const held of ['yes', 1, null, {}]) {
      expect(() => decodeMessage(pack({ ...state, held }))).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
    }
  });
});
