import type { FrameCounters } from '../crypto/frame/types.js';
import type { CallMedia, IceCandidate } from '../protocol/messages.js';

/**
 * The WebRTC implementation a session runs on. Browsers have it as globals; in Node pass
 * `@roamhq/wrtc` (or anything with the same shape).
 */
export interface WebRtcImplementation {
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCSessionDescription: typeof RTCSessionDescription;
  RTCIceCandidate: typeof RTCIceCandidate;
  /** Node's `@roamhq/wrtc` has a fake-device `getUserMedia`; used when no stream is given. */
  getUserMedia?: (constraints: MediaStreamConstraints) => Promise<MediaStream>;
  mediaDevices?: { getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> };
}

/** ICE connection as the call layer needs to know it. */
export type IceHealth = 'checking' | 'connected' | 'disconnected' | 'failed';

/**
 * What a session asks the call layer to send to the peer (over the encrypted channel). The call
 * layer maps these 1:1 onto protocol messages.
 */
export type SessionSignal =
  /**
   * An SDP description. `initial` is the first offer or answer of the call (sent as an `offer` /
   * `answer` message with the candidates gathered within the gathering window); later ones are
   * renegotiations (ICE restart, new tracks).
   */
  | { kind: 'description'; initial: boolean; type: 'offer' | 'answer'; sdp: string; candidates: IceCandidate[] }
  /** Later candidates in a batch; `end` once gathering is complete. */
  | { kind: 'candidates'; candidates: IceCandidate[]; end: boolean }
  /** The answering side asks the offering side to renegotiate (only the offerer makes offers). */
  | { kind: 'renegotiate-request'; iceRestart: boolean; addTransceiver?: CallMedia };

/** Timing of candidate signalling (the whole rule: `CandidateBatcher` in candidate-batcher.ts). */
export interface CandidateTiming {
  /**
   * The longest the first offer/answer waits for candidates to carry. It usually goes out much
   * sooner: once gathering completes, the host candidates are in, or a server candidate arrives.
   */
  gatherWindowMs: number;
  /** How long later candidates are collected into one batch. */
  batchMs: number;
  /**
   * Without STUN/TURN servers, the first offer/answer goes out once this long passed with no new
   * candidate after a host candidate. Default 1 ms.
   */
  hostQuietMs?: number;
}

/** How media flows: straight between the peers, or through a TURN relay. */
export type MediaPath = 'direct' | 'relayed';

/** One WebRTC statistics report as a plain object (`RTCStats` plus its type-specific fields). */
export interface StatsReport {
  id: string;
  type: string;
  timestamp: number;
  [field: string]: unknown;
}

/** How this runtime can reach encoded frames, if at all. */
export type FrameTransformApi = 'script-transform' | 'encoded-streams';

/**
 * Attaches frame encryption to one peer connection's senders and receivers. The PeerSession
 * calls it at the right moments (before any frame flows); the call layer installs keys.
 */
export interface FrameProtector {
  /** Which API it uses. */
  readonly api: FrameTransformApi;
  /** Settings the peer connection must be created with (e.g. `encodedInsertableStreams`). */
  readonly rtcConfiguration: Record<string, unknown>;
  /**
   * Protects an outgoing track's frames. Called once per sender, right after it exists (before
   * any negotiation). If it throws, the session silences that sender (fail closed).
   */
  protectSender(sender: RTCRtpSender, kind: 'audio' | 'video'): void;
  /** Unprotects an incoming track's frames. Called once per receiver, as soon as it exists. */
  protectReceiver(receiver: RTCRtpReceiver, kind: 'audio' | 'video'): void;
  /** Installs the key for frames this side sends (`kid` increases on rotation). */
  setSendKey(kid: number, baseKey: Uint8Array): Promise<void>;
  /** Installs a key for frames the peer sends. */
  setReceiveKey(kid: number, baseKey: Uint8Array): Promise<void>;
  /** Counters of both directions, summed over tracks. */
  counters(): Promise<{ send: FrameCounters; receive: FrameCounters }>;
  /** Resolves once a received frame was decrypted; rejects with `E2EE_UNAVAILABLE` after `timeoutMs`. */
  verified(timeoutMs: number): Promise<void>;
  /** Stops the worker and wipes its keys. */
  close(): void;
}
