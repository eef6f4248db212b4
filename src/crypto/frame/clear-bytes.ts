import type { FrameKind } from './types.js';

/**
 * Leading bytes of an encoded frame left in clear for the codec's RTP packetizer/depacketizer
 * (and the receiver's jitter buffer), authenticated but not encrypted:
 * - Opus: 1, the TOC byte (mode, bandwidth, frame count);
 * - VP8 key frame: 10, the 3-byte frame tag plus the 7-byte key frame start code and size;
 * - VP8 delta frame: 3, the frame tag.
 * Clamped to `frameLength` (a shorter frame is sent entirely in clear but still authenticated).
 */
export function clearByteCount(kind: FrameKind, frameLength: number): number {
  const wanted = kind.media === 'audio' ? 1 : kind.keyFrame ? 10 : 3;
  return Math.max(0, Math.min(wanted, frameLength));
}
