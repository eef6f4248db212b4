import type { IceCandidate } from './messages.js';

/**
 * Size limits for untrusted input. Everything from the network is checked against these before
 * it is decoded any further, so a hostile peer or relay cannot make us allocate or loop much.
 */
export const LIMITS = {
  /** Largest encoded signaling message (msgpack bytes, before encryption and padding). */
  messageBytes: 60 * 1024,
  /** Largest SDP string in an offer, answer or renegotiation. */
  sdpChars: 32 * 1024,
  /** Most ICE candidates one message may carry. */
  candidatesPerMessage: 64,
  /** Longest candidate line. */
  candidateChars: 512,
  /** Longest `sdpMid`. */
  sdpMidChars: 64,
  /** Most entries in a capability list. */
  capabilityEntries: 16,
  /** Longest capability name. */
  capabilityChars: 32,
  /**
   * Longest invitation lifetime a caller may ask for (2 minutes; a caller asks for its ring
   * timeout, 30 s by default). A captured invitation is worthless after it.
   */
  inviteLifetimeMs: 2 * 60 * 1000,
  /** How far a peer's clock may be off before its invitations are refused as stale (30 s). */
  clockSkewMs: 30 * 1000,
} as const;

/** Splits candidates into batches one message may carry (always at least one, maybe empty). */
export function candidateBatches(candidates: IceCandidate[]): IceCandidate[][] {
  const size = LIMITS.candidatesPerMessage;
  const batches: IceCandidate[][] = [];
  for (let i = 0; i < candidates.length; i += size) batches.push(candidates.slice(i, i + size));
  return batches.length > 0 ? batches : [[]];
}
