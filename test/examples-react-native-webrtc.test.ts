/**
 * react-native-webrtc as CallClient's WebRTC implementation. Its types are checked against the
 * real package (tsc, npm test's first step, fails here if its module stops fitting `wrtc`); its
 * behaviour is played by @roamhq/wrtc cut to the same shape (react-native-webrtc itself needs a
 * phone): the members sealcall uses, and no top-level `getUserMedia`, which react-native-webrtc
 * does not have.
 */
import wrtc from '@roamhq/wrtc';
import type * as RNWebRTC from 'react-native-webrtc';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { WebRtcImplementation } from '../src/index.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { connectedPair, Harness, nodeWrtc } from './helpers/call-harness.js';

let harness: Harness | undefined;
const restoreGlobals: (() => void)[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const restore of restoreGlobals.splice(0)) restore();
});

/** @roamhq/wrtc in react-native-webrtc's shape, counting what sealcall makes with it. */
function reactNativeShaped() {
  const made = { peerConnections: 0, captures: 0 };
  const capture = nodeWrtc.getUserMedia!.bind(nodeWrtc);
  class RTCPeerConnection extends nodeWrtc.RTCPeerConnection {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      made.peerConnections++;
    }
  }
  const mediaDevices = {
    getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
      made.captures++;
      return capture(constraints);
    },
  };
  const module = { RTCPeerConnection, RTCSessionDescription: nodeWrtc.RTCSessionDescription, RTCIceCandidate: nodeWrtc.RTCIceCandidate, mediaDevices };
  return { module, made };
}

/** Sets a global for this test only (newer Node has a `navigator` getter: replaced, then restored). */
function setGlobal(name: string, value: unknown): void {
  const before = Object.getOwnPropertyDescriptor(globalThis, name);
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  restoreGlobals.push(() => (before ? Object.defineProperty(globalThis, name, before) : Reflect.deleteProperty(globalThis, name)));
}

describe('react-native-webrtc as the WebRTC implementation', () => {
  it("accepts react-native-webrtc's module and @roamhq/wrtc as they are, and nothing without a peer connection", () => {
    expectTypeOf<typeof RNWebRTC>().toExtend<WebRtcImplementation>();
    expectTypeOf<Pick<typeof RNWebRTC, 'RTCPeerConnection' | 'RTCSessionDescription' | 'RTCIceCandidate' | 'mediaDevices'>>().toExtend<WebRtcImplementation>();
    expectTypeOf<typeof wrtc>().toExtend<WebRtcImplementation>();
    expectTypeOf<Omit<typeof RNWebRTC, 'RTCPeerConnection'>>().not.toExtend<WebRtcImplementation>();
    expectTypeOf<{ RTCPeerConnection: new () => object } & Omit<typeof RNWebRTC, 'RTCPeerConnection'>>().not.toExtend<WebRtcImplementation>();
  });

  it("runs a call on the given module's peer connections and capture, not on globals", async () => {
    expect(Reflect.get(globalThis, 'RTCPeerConnection')).toBeUndefined(); // Node has none to fall back on
    const { module, made } = reactNativeShaped();
    harness = new Harness(new MemoryNetwork({ seed: 14 }), { wrtc: module });
    const { aliceCall, bobCall } = await connectedPair(harness, { call: { audio: true }, accept: { audio: true } });
    expect(made).toEqual({ peerConnections: 2, captures: 2 });
    // No insertable streams there: DTLS-SRTP, end to end through the authenticated SDP.
    expect([aliceCall.e2ee, bobCall.e2ee]).toEqual(['transport', 'transport']);
  });

  it('refuses to place a call that requires frame encryption (E2EE_UNAVAILABLE)', async () => {
    harness = new Harness(new MemoryNetwork({ seed: 14 }), { wrtc: reactNativeShaped().module, frameEncryption: 'required' });
    const alice = await harness.user('alice');
    await harness.user('bob');
    await expect(alice.client.call('bob', { audio: true })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  });

  it("uses what registerGlobals() installs when no wrtc is given", async () => {
    const { module, made } = reactNativeShaped();
    setGlobal('RTCPeerConnection', module.RTCPeerConnection);
    setGlobal('RTCSessionDescription', module.RTCSessionDescription);
    setGlobal('RTCIceCandidate', module.RTCIceCandidate);
    setGlobal('navigator', { mediaDevices: module.mediaDevices });
    harness = new Harness(new MemoryNetwork({ seed: 14 }), { wrtc: undefined });
    const { aliceCall } = await connectedPair(harness, { call: { audio: true }, accept: { audio: true } });
    expect(made).toEqual({ peerConnections: 2, captures: 2 });
    expect(aliceCall.e2ee).toBe('transport');
  });
});
