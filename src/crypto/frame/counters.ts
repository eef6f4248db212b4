import type { FrameCounters } from './types.js';

/** Fresh all-zero counters. */
export function createFrameCounters(): FrameCounters {
  return {
    encrypted: 0,
    decrypted: 0,
    dropped: { 'no-key': 0, 'unknown-kid': 0, replay: 0, auth: 0, malformed: 0, 'counter-exhausted': 0 },
  };
}
