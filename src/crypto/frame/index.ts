/**
 * Frame encryption (RFC 9605 SFrame) for WebRTC encoded frames. Everything the worker transform
 * and the call layer need; the rest of this folder is internal.
 */
export { clearByteCount } from './clear-bytes.js';
export { createFrameCounters } from './counters.js';
export { decodeHeader, encodeHeader, MAX_HEADER_BYTES, type SFrameHeader } from './header.js';
export { MAX_RATCHET_AHEAD } from './key-ring.js';
export { nextBaseKey } from './ratchet.js';
export { FrameReceiver, type FrameReceiverOptions } from './receiver.js';
export { DEFAULT_MAX_COUNTER, FrameSender, type FrameSenderOptions } from './sender.js';
export { TAG_BYTES } from './protect.js';
export { FRAME_SUITES, type FrameCounters, type FrameDropReason, type FrameKind, type FrameSuiteName } from './types.js';
