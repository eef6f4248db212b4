/** The little SDP reading a session needs (never logged: SDP holds addresses and fingerprints). */

/** The ICE username fragment of an SDP (the first; BUNDLE makes them all equal). */
export function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

/**
 * Identifies a candidate by foundation, component, transport, address and port: an SDP's
 * `a=candidate` line and the candidate event's string differ in their extensions (`ufrag`).
 */
export function candidateKey(candidate: string): string {
  const [foundation, component, transport, , address, port] = candidate.replace(/^a=/, '').split(/\s+/);
  return [foundation, component, transport?.toLowerCase(), address, port].join(' ');
}

/** The {@link candidateKey}s of every `a=candidate` line of an SDP. */
export function sdpCandidateKeys(sdp: string): string[] {
  return (sdp.match(/^a=candidate:.*$/gm) ?? []).map(candidateKey);
}
