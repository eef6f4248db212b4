import wrtc from '@roamhq/wrtc';
import type { WebRtcImplementation } from '../../src/session/types.js';

const ufrag = (sdp: string | undefined): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1];

/**
 * A real @roamhq/wrtc peer connection whose ICE path can be "cut" by a test: it then reports
 * the given ICE state until an ICE restart (a new local ufrag, negotiated back to stable) heals
 * it — the way a real network change is healed by a restart. Media keeps flowing underneath;
 * only what the application sees of ICE is faked.
 */
export class FlakyPeerConnection extends (wrtc.RTCPeerConnection as unknown as typeof RTCPeerConnection) {
  static readonly all = new Set<FlakyPeerConnection>();
  private forced: RTCIceConnectionState | undefined;
  private ufragAtCut: string | undefined;

  constructor(config?: RTCConfiguration) {
    super(config);
    FlakyPeerConnection.all.add(this);
  }

  override get iceConnectionState(): RTCIceConnectionState {
    return this.forced ?? super.iceConnectionState;
  }

  /** Pretends the ICE path broke until an ICE restart completes. */
  cut(state: 'disconnected' | 'failed' = 'disconnected'): void {
    this.forced = state;
    this.ufragAtCut = ufrag(this.localDescription?.sdp);
    this.notify();
  }

  override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    await super.setLocalDescription(description);
    this.healIfRestarted();
  }

  override async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await super.setRemoteDescription(description);
    this.healIfRestarted();
  }

  override close(): void {
    FlakyPeerConnection.all.delete(this);
    super.close();
  }

  private healIfRestarted(): void {
    if (!this.forced || this.signalingState !== 'stable') return;
    if (ufrag(this.localDescription?.sdp) === this.ufragAtCut) return;
    this.forced = undefined;
    this.notify();
  }

  private notify(): void {
    const handler = this.oniceconnectionstatechange as ((event: Event) => void) | null;
    handler?.call(this, new Event('iceconnectionstatechange'));
  }
}

/** @roamhq/wrtc with {@link FlakyPeerConnection} in place of RTCPeerConnection. */
export const flakyWrtc = { ...(wrtc as unknown as WebRtcImplementation), RTCPeerConnection: FlakyPeerConnection } as WebRtcImplementation;
