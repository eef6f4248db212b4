import type { FrameKind } from '../../crypto/frame/types.js';
import type { MediaKind } from './protocol.js';

/**
 * The parts of `RTCEncodedAudioFrame` / `RTCEncodedVideoFrame` the frame worker touches.
 * Declared here because the worker's DOM typings differ between TypeScript lib versions.
 */
export interface EncodedFrame {
  /** The encoded payload; replaced by the transform's output. */
  data: ArrayBuffer;
  /** Video only: `key`, `delta` or `empty`. */
  readonly type?: string;
  getMetadata?(): { mimeType?: string };
}

/** The only codecs whose clear bytes sealcall knows (see `clearByteCount`), per media kind. */
const PROTECTABLE: Record<MediaKind, string> = { audio: 'audio/opus', video: 'video/vp8' };

/**
 * How the frame crypto must treat `frame`, or undefined when its codec is one sealcall cannot
 * protect (the frame is then dropped: the SDP is restricted to Opus and VP8, so this only happens
 * when a peer negotiated something else).
 *
 * Browsers that report no `mimeType` in the metadata are trusted to run the negotiated codec.
 */
export function frameKindOf(frame: EncodedFrame, media: MediaKind): FrameKind | undefined {
  const mimeType = frame.getMetadata?.().mimeType;
  if (mimeType !== undefined && mimeType.toLowerCase() !== PROTECTABLE[media]) return undefined;
  return media === 'audio'
    ? { media: 'audio', codec: 'opus' }
    : { media: 'video', codec: 'vp8', keyFrame: frame.type === 'key' };
}
