import wrtc from '@roamhq/wrtc';
import type { WebRtcImplementation } from '../../src/session/types.js';

const ufrag = (sdp: string | undefined): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1];

/** Control over one flaky peer connection. */
export interface FlakyControl {
  readonly pc: RTCPeerConnection;
  /** Pretends the ICE path broke, until an ICE restart completes. */
  cut(state?: 'disconnected' | 'failed'): void;
}

/** Every flaky peer connection still open, newest last. */
export const flakyConnections = new Set<FlakyControl>();

/**
 * A real @roamhq/wrtc peer connection whose ICE path a test can "cut": it then reports the given
 * ICE state until an ICE restart (a new local ufrag, negotiated back to stable) heals it, the way
 * a restart heals a real network change. Media keeps flowing underneath; only what the
 * application sees of ICE is faked. A Proxy, because wrtc defines its state getters per instance.
 */
function FlakyPeerConnection(config?: RTCConfiguration): RTCPeerConnection {
  const pc = new (wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection)(config);
  let forced: RTCIceConnectionState | undefined;
  let ufragAtCut: string | undefined;
  const notify = () => (pc.oniceconnectionstatechange as ((e: Event) => void) | null)?.call(pc, new Event('iceconnectionstatechange'));
  const healIfRestarted = () => {
    if (!forced || pc.signalingState !== 'stable' || ufrag(pc.localDescription?.sdp) === ufragAtCut) return;
    forced = undefined;
    notify();
  };
  const control: FlakyControl = {
    pc,
    cut: (state = 'disconnected') => {
      forced = state;
      ufragAtCut = ufrag(pc.localDescription?.sdp);
      notify();
    },
  };
  flakyConnections.add(control);
  const overrides: Record<string, unknown> = {
    setLocalDescription: async (d?: RTCLocalSessionDescriptionInit) => {
      await pc.setLocalDescription(d);
      healIfRestarted();
    },
    setRemoteDescription: async (d: RTCSessionDescriptionInit) => {
      await pc.setRemoteDescription(d);
      healIfRestarted();
    },
    close: () => {
      flakyConnections.delete(control);
      pc.close();
    },
  };
  return new Proxy(pc, {
    get(target, prop) {
      if (prop === 'iceConnectionState' && forced) return forced;
      if (typeof prop === 'string' && prop in overrides) return overrides[prop];
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    set: (target, prop, value) => Reflect.set(target, prop, value, target),
  });
}

/** @roamhq/wrtc with the flaky peer connection in place of RTCPeerConnection. */
export const flakyWrtc = {
  ...(wrtc as unknown as WebRtcImplementation),
  RTCPeerConnection: FlakyPeerConnection as unknown as typeof RTCPeerConnection,
} as WebRtcImplementation;
