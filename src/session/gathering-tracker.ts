import { candidateKey, iceUfrag, sdpCandidateKeys } from './sdp.js';

/** The live local side of a peer connection, read only once gathering was reported complete. */
export type LocalDescriptionReader = () => { sdp: string | undefined; gatheringState: RTCIceGatheringState } | undefined;

/**
 * Tells when gathering for the current ICE credentials is complete. The gathering state alone
 * is not enough: @roamhq/wrtc reads it live from the native side, so it says `complete` (and
 * fires its null candidate) while candidate events are still queued, even before the answer's
 * own signal. So completion also needs the local description (sent, with these credentials) to
 * list no candidate that has not been signalled yet. simple-peer's own `_iceComplete` flag is
 * useless here: it is never reset for an ICE restart.
 *
 * Reading the live state or the local description waits for the native signaling thread, which
 * is busy while ICE and DTLS set up (up to milliseconds per read, on the path to connected), so
 * they are read only after simple-peer reported `complete`, and kept for the cycle: once
 * gathering is complete, the description's candidates are final.
 */
export class GatheringTracker {
  /** ICE ufrag of the last local description sent, and of the last whose gathering completed. */
  private announcedUfrag: string | undefined;
  private completedUfrag: string | undefined;
  /** The gathering state simple-peer last reported (with every ICE state change). */
  private reportedGathering: RTCIceGatheringState | undefined;
  /** The local description's ICE ufrag and candidates, read once gathering was complete. */
  private completeDescription: { ufrag: string; keys: string[] } | undefined;
  /** Local candidates signalled so far, by {@link candidateKey}. */
  private readonly gathered = new Set<string>();

  /** @param completed - called once per gathering cycle, when it is complete. */
  constructor(
    private readonly readLocal: LocalDescriptionReader,
    private readonly completed: () => void,
  ) {}

  /** A local candidate was signalled. */
  candidate(candidate: string): void {
    this.gathered.add(candidateKey(candidate));
  }

  /** A local description was signalled. True when it starts a gathering cycle (new ICE credentials). */
  description(sdp: string): boolean {
    const ufrag = iceUfrag(sdp);
    if (ufrag === this.announcedUfrag) return false;
    this.announcedUfrag = ufrag;
    if (this.completeDescription?.ufrag !== ufrag) this.completeDescription = undefined;
    return true;
  }

  /** simple-peer reported the gathering state. */
  gatheringState(state: RTCIceGatheringState): void {
    this.reportedGathering = state;
    if (state !== 'complete') this.completeDescription = undefined;
  }

  /** Calls `completed` if the current cycle is complete now (and was not before). */
  check(): void {
    if (this.reportedGathering !== 'complete') return;
    if (this.announcedUfrag !== undefined && this.announcedUfrag === this.completedUfrag) return;
    if (!this.completeDescription) {
      const local = this.readLocal();
      if (!local?.sdp || local.gatheringState !== 'complete') return;
      const ufrag = iceUfrag(local.sdp);
      if (ufrag === undefined) return;
      this.completeDescription = { ufrag, keys: sdpCandidateKeys(local.sdp) };
    }
    const { ufrag, keys } = this.completeDescription;
    if (ufrag !== this.announcedUfrag || ufrag === this.completedUfrag) return;
    if (!keys.every((key) => this.gathered.has(key))) return;
    this.completedUfrag = ufrag;
    this.completed();
  }
}
