import type { FrameSuiteName } from '../crypto/frame/types.js';
import type { Identity } from '../crypto/identity.js';
import type { ReplayStore } from '../signaling/replay-guard.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import type { FrameProtector, WebRtcImplementation as SessionWebRtc } from '../session/types.js';
import type { FrameEncryptionPolicy } from './frame-policy.js';
import type { IceServerProvider } from './ice-servers.js';

/**
 * A WebRTC implementation: the parts of it sealcall uses. Browsers have it as globals (leave
 * `wrtc` out). In Node pass `@roamhq/wrtc`. In React Native pass react-native-webrtc's module
 * (`import * as RNWebRTC from 'react-native-webrtc'`), or call its `registerGlobals()` once and
 * leave `wrtc` out.
 *
 * Typed by shape, so that those modules fit as they are and sealcall's own types never import
 * them: their classes differ from the DOM library's in details sealcall does not use.
 */
export interface WebRtcImplementation {
  RTCPeerConnection: new (configuration?: WebRtcConfiguration) => WebRtcPeerConnection;
  RTCSessionDescription: new (description: SessionDescription) => { readonly sdp: string };
  RTCIceCandidate: new (candidate: IceCandidateInit) => { readonly candidate: string };
  /** Where a call captures the microphone and camera when the app gives no stream (react-native-webrtc, Node). */
  mediaDevices?: { getUserMedia(constraints: { audio: boolean; video: boolean }): Promise<WebRtcMediaStream> };
  /** The older form of `mediaDevices.getUserMedia`, used when there is no `mediaDevices` (Node's `@roamhq/wrtc` has both). */
  getUserMedia?: (constraints: { audio: boolean; video: boolean }) => Promise<WebRtcMediaStream>;
}

type SessionDescription = { type: 'offer' | 'answer'; sdp: string };
type IceCandidateInit = { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };

/** What sealcall passes when it makes a peer connection. */
export interface WebRtcConfiguration {
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  iceTransportPolicy?: 'all' | 'relay';
}

/** The part of a peer connection that tells a WebRTC implementation apart from anything else. */
export interface WebRtcPeerConnection {
  createOffer(options?: object): Promise<unknown>;
  createAnswer(options?: object): Promise<unknown>;
  setLocalDescription(description?: SessionDescription): Promise<void>;
  setRemoteDescription(description: SessionDescription): Promise<void>;
  addIceCandidate(candidate?: IceCandidateInit): Promise<void>;
  createDataChannel(label: string, options?: object): unknown;
  close(): void;
}

/** A captured media stream, as far as sealcall looks into it. */
export interface WebRtcMediaStream {
  getTracks(): { readonly kind: string; enabled: boolean; stop(): void }[];
}

/** The app's contacts: peer id → X25519 public key. */
export type Contacts = Record<PeerId, Uint8Array> | ((peer: PeerId) => Uint8Array | undefined);

/** Options of `CallClient.create`. */
export interface CallClientOptions {
  /** This user's identity (`generateIdentity()`), the same on all of their devices. */
  identity: Identity;
  /** The app's chat channel. */
  transport: ChatTransport;
  /**
   * Public keys of the contacts that may call and be called. Unknown senders are ignored.
   * Leave it out when the transport knows them (`ChatTransport.contactKey`, as
   * `WebSocketTransport` does from `addContact`); given, it is the only source asked.
   */
  contacts?: Contacts;
  /**
   * Where the transport reaches this user's other devices, and the peer id it names them by when
   * their messages arrive: a note-to-self chat, or the user's own address (with
   * `WebSocketTransport`, the name under which each other device's address was added with
   * `addContact`). Its key is this user's own identity key, whatever `contacts` says;
   * `client.call()` refuses it with `INVALID_ARGUMENT`, as `CallClient.create` refuses an empty one.
   *
   * With it, `call.reject({ silent: true })` tells the other devices, and only them, that this
   * device declined: a one-shot cancel sealed with this user's own identity key at both ends (so
   * only the user's devices can make or read it) and bound to the call id and the caller's key.
   * A device still ringing that call from that caller ends it `declined-elsewhere` at once; the
   * caller receives nothing and rings on until its ring timeout (`no-answer`). A device that has
   * answered, or rings another call, changes nothing. Set it on every device: each then sends
   * these cancels and recognises the ones it receives.
   *
   * Without it (the default), a silent reject sends nothing at all: the other devices ring until
   * the caller's ring timeout withdraws the invitation, unless the app stops them through its own
   * sync (see `CallEnded.silent`).
   */
  ownDevices?: PeerId;
  /**
   * The WebRTC implementation: browsers' globals by default, `@roamhq/wrtc` in Node,
   * react-native-webrtc's module in React Native (or its `registerGlobals()`). Neither Node's nor
   * React Native's can encrypt frames: their calls report `e2ee: 'transport'` (see `frameEncryption`).
   */
  wrtc?: WebRtcImplementation;
  /**
   * STUN/TURN servers: a fixed list, or a provider of short-lived credentials (TURN REST style)
   * that is asked again `iceRefreshBufferMs` before they expire — for new calls and, while calls
   * are live, on a timer (live calls then switch to the new servers with an ICE restart when
   * they are relayed). Default none (host candidates only).
   */
  iceServers?: RTCIceServer[] | IceServerProvider;
  /** How long before expiry ICE credentials are refreshed. Default 180,000 ms (3 minutes). */
  iceRefreshBufferMs?: number;
  /** `'relay'` forces TURN. Default `'all'`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** How long an invitation rings before the call ends `no-answer`. Default 30,000 ms. */
  ringTimeoutMs?: number;
  /** How long media setup may take after accepting before the call ends `connect-timeout`. Default 30,000 ms. */
  connectTimeoutMs?: number;
  /** How long ICE may stay disconnected before an ICE restart. Default 2,000 ms (Matrix's). */
  iceRestartDelayMs?: number;
  /** How long a call may stay reconnecting before it ends `ice-failed`. Default 30,000 ms. */
  iceFailTimeoutMs?: number;
  /**
   * The longest the first offer/answer waits for ICE candidates to carry, so that they need no
   * messages of their own. Default 200 ms (Matrix's). It usually leaves much sooner, at the first
   * of: gathering completes; without STUN/TURN servers, 1 ms passes with no new candidate after a
   * host candidate (libwebrtc hands over all UDP host candidates in one burst, then gathers its
   * next phase 50 ms later); with STUN/TURN servers, the first server (srflx/relay) candidate
   * arrives. 0 sends it on the next timer tick, with whatever candidates came by then.
   */
  gatherWindowMs?: number;
  /**
   * How long candidates gathered after the offer/answer left are collected into one message
   * (what is pending also goes out when gathering completes). Default 300 ms.
   */
  candidateBatchMs?: number;
  /**
   * When the peer closes the connection without an `end` message having arrived, how long to wait
   * for it before ending `remote-hangup`. Default 5,000 ms.
   */
  remoteEndGraceMs?: number;
  /**
   * How long `call()` waits for the transport to take the invitation before it resolves anyway
   * with a `TRANSPORT_FAILED` warning (the invitation is sent again meanwhile; the call ends
   * `no-answer` if no device ever replies). Default 10,000 ms.
   */
  sendTimeoutMs?: number;
  /**
   * Reliable delivery: how long a signaling message waits for its acknowledgement before it is
   * sent again; the wait doubles after each resend, up to `retransmitMaxMs`. Default 1,000 ms.
   */
  retransmitMs?: number;
  /** The longest wait between resends of one message. Default 8,000 ms. */
  retransmitMaxMs?: number;
  /**
   * How long an acknowledgement waits for a message of ours to ride on before it is sent alone.
   * Default 200 ms (longer than a typical setup, so setup needs no separate acknowledgements).
   */
  ackDelayMs?: number;
  /**
   * After a call ends, how long its channel still resends our `end` and acknowledges the peer's
   * before its keys are wiped. Default 8,000 ms.
   */
  lingerMs?: number;
  /** How long an ended call's id is remembered so late messages for it are ignored. Default 10 min. */
  endedCallMemoryMs?: number;
  /**
   * Where the replay state survives restarts (a few hundred bytes: per contact, a high-water
   * mark and the last few invitations accepted). Loaded by `CallClient.create`, saved after each
   * invitation accepted and before it rings. With it, a captured invitation never rings again,
   * nor is it answered, after a restart (a VoIP push nearly always starts a fresh process).
   * Without it the state lives in memory only: a replay within the invitation's lifetime (at most
   * 2 minutes, plus 30 s of clock skew) after a restart rings again.
   */
  replayStore?: ReplayStore;
  /**
   * Frame encryption (SFrame over insertable streams): `'preferred'` (default) uses it when both
   * sides can, `'required'` ends calls that cannot with `E2EE_UNAVAILABLE`, `'disabled'` never.
   */
  frameEncryption?: FrameEncryptionPolicy;
  /** Suites offered, most preferred first. Default `['chacha20poly1305', 'aes128gcm']`. */
  frameSuites?: FrameSuiteName[];
  /**
   * URL of sealcall's frame worker script (`sealcall/frame-worker`). The browser build finds it
   * next to itself; other builds need it to encrypt frames.
   */
  frameWorkerUrl?: string | URL;
  /**
   * Makes the frame protector of each call instead of sealcall's worker-based one: for runtimes
   * with their own frame crypto (e.g. a native module) and for tests (`FakeFrameProtector`).
   * Giving it counts as support for frame encryption.
   */
  frameProtector?: (suite: FrameSuiteName) => FrameProtector | undefined;
  /** How long after connecting frames must have decrypted before frame encryption counts as failed. Default 10,000 ms. */
  frameVerifyTimeoutMs?: number;
  /**
   * How often a connected call emits `quality` (figures from `getStats()` over the last
   * interval). Default 2,000 ms; 0 turns sampling off. Its timer never keeps a Node process alive.
   */
  qualityIntervalMs?: number;
  /** Clock, for tests; also the times a call's `ended` event carries. Default `Date.now`. */
  now?: () => number;
}

/** Options with every default applied. */
type Optional = 'wrtc' | 'iceServers' | 'replayStore' | 'frameWorkerUrl' | 'frameProtector' | 'ownDevices';
export type ResolvedOptions = Required<Omit<CallClientOptions, Optional>> &
  Pick<CallClientOptions, 'frameWorkerUrl' | 'frameProtector' | 'replayStore' | 'ownDevices'> & { wrtc?: SessionWebRtc };

/**
 * The app's implementation as the session layer types it: simple-peer and the session are written
 * against the DOM library's typing of the standard WebRTC calls, which the implementations
 * {@link WebRtcImplementation} accepts provide under typings of their own.
 */
export function sessionWebRtc(wrtc: WebRtcImplementation | undefined): SessionWebRtc | undefined {
  return wrtc as SessionWebRtc | undefined;
}

export const DEFAULTS = {
  iceTransportPolicy: 'all',
  ringTimeoutMs: 30_000,
  connectTimeoutMs: 30_000,
  iceRestartDelayMs: 2_000,
  iceFailTimeoutMs: 30_000,
  gatherWindowMs: 200,
  candidateBatchMs: 300,
  remoteEndGraceMs: 5_000,
  sendTimeoutMs: 10_000,
  retransmitMs: 1_000,
  retransmitMaxMs: 8_000,
  ackDelayMs: 200,
  lingerMs: 8_000,
  iceRefreshBufferMs: 180_000,
  frameEncryption: 'preferred',
  frameVerifyTimeoutMs: 10_000,
  endedCallMemoryMs: 10 * 60_000,
  qualityIntervalMs: 2_000,
} as const;
