/**
 * PatchedPeer's offer and answer: signalled as created, never read back from the connection's
 * `localDescription`, which @roamhq/wrtc serializes while its signaling thread adds candidates to
 * it (the segfault in `SdpSerialize` that ended about half of test/load/sequential.load.ts's runs).
 * Real @roamhq/wrtc connections, each behind a proxy that counts reads of `localDescription`.
 */
import wrtcModule from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { PatchedPeer } from '../src/session/patched-peer.js';
import type { WebRtcImplementation } from '../src/session/types.js';

const wrtc = wrtcModule as unknown as WebRtcImplementation;
const peers: PatchedPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.destroy();
});

/** @roamhq/wrtc with every connection behind a proxy that counts reads of `localDescription`. */
function countingWrtc(): { implementation: WebRtcImplementation; reads: () => number } {
  let reads = 0;
  const handler: ProxyHandler<RTCPeerConnection> = {
    get(target, property) {
      if (property === 'localDescription') reads++;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set: (target, property, value) => Reflect.set(target, property, value, target),
  };
  function RTCPeerConnection(config?: RTCConfiguration): RTCPeerConnection {
    return new Proxy(new wrtc.RTCPeerConnection(config), handler);
  }
  return { implementation: { ...wrtc, RTCPeerConnection: RTCPeerConnection as unknown as WebRtcImplementation['RTCPeerConnection'] }, reads: () => reads };
}

function nextDescription(peer: PatchedPeer): Promise<{ type: 'offer' | 'answer'; sdp: string }> {
  return new Promise((resolve) => {
    const onSignal = (signal: { type?: string; sdp?: string }) => {
      if (signal.type !== 'offer' && signal.type !== 'answer') return;
      peer.off('signal', onSignal);
      resolve({ type: signal.type, sdp: signal.sdp! });
    };
    peer.on('signal', onSignal);
  });
}

describe('PatchedPeer', () => {
  it("signals the offer and the answer it created, never reading the connection's live localDescription", async () => {
    const { implementation, reads } = countingWrtc();
    const offerer = new PatchedPeer({ initiator: true, wrtc: implementation, trickle: true, config: { iceServers: [] } });
    const answerer = new PatchedPeer({ initiator: false, wrtc: implementation, trickle: true, config: { iceServers: [] } });
    peers.push(offerer, answerer);
    const offer = await nextDescription(offerer);
    expect(offer.type).toBe('offer');
    expect(offer.sdp).toMatch(/^v=0\r\n/);
    const answered = nextDescription(answerer);
    await answerer.applyRemoteDescription(offer);
    const answer = await answered;
    expect(answer.type).toBe('answer');
    await offerer.applyRemoteDescription(answer);
    // Both descriptions were set: what was signalled is what each connection holds (less candidates).
    expect(offerer._pc!.signalingState).toBe('stable');
    expect(answerer._pc!.signalingState).toBe('stable');
    expect(reads()).toBe(0);
  });

  it('a connection that fails to set its description destroys the peer with ERR_SET_LOCAL_DESCRIPTION', async () => {
    const offerer = new PatchedPeer({ initiator: true, wrtc, trickle: true, config: { iceServers: [] } });
    peers.push(offerer);
    offerer.sdpTransform = () => 'not an sdp';
    const error = await new Promise<Error & { code?: string }>((resolve) => offerer.once('error', resolve));
    expect(error.code).toBe('ERR_SET_LOCAL_DESCRIPTION');
    expect(offerer.destroyed).toBe(true);
  });
});
