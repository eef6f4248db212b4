/**
 * The signaling messages of one call, in the order of the call flow in docs/ARCHITECTURE.md.
 * These are the plaintexts inside encrypted envelopes; the transport never sees them.
 */

/** Version of the message schema. A peer rejects any other with `UNSUPPORTED_VERSION`. */
export const PROTOCOL_VERSION = 2;

/** What a call carries. */
export type CallMedia = 'audio' | 'video';

/** Why a call ended. Exact strings, part of the public contract. */
export const END_REASONS = [
  'hangup',
  'remote-hangup',
  'rejected',
  'busy',
  'no-answer',
  'cancelled',
  'answered-elsewhere',
  'declined-elsewhere',
  'ice-failed',
  'connect-timeout',
  'media-failed',
  'protocol-error',
  'transport-failed',
] as const;

/** Why a call ended. */
export type EndReason = (typeof END_REASONS)[number];

/** Optional features a peer supports, exchanged inside the encrypted handshake. */
export interface Capabilities {
  /** Frame-encryption suites the peer can run, most preferred first (empty: transport only). */
  frameEncryption: string[];
}

/** One ICE candidate, as `RTCIceCandidateInit` carries it. */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

interface MessageBase<T extends string> {
  /** Schema version, always {@link PROTOCOL_VERSION} when sent by this build. */
  v: typeof PROTOCOL_VERSION;
  type: T;
  /** 32 lowercase hex characters; equal to the call id in the envelope header. */
  callId: string;
  /**
   * Per call and direction: 0 for the handshake messages and for `ack`s (which are never
   * acknowledged), then 1, 2, 3… for every other message, which the receiver acknowledges and
   * the sender retransmits until it is.
   */
  seq: number;
  /** Delivery state of the other direction, on any transport message: every seq ≤ `ack` arrived. */
  ack?: number;
  /** Seqs above `ack` that arrived too (at most {@link MAX_SACKS}), so gaps alone are resent. */
  sacks?: number[];
  /**
   * On messages whose order matters (offer, answer, ice, renegotiate): their own count from 1,
   * so the receiver applies them in order across gaps left by other messages.
   */
  order?: number;
}

/** Most seqs one message acknowledges selectively. */
export const MAX_SACKS = 32;

/** Caller → callee, inside Noise message 1. Carries no SDP and no address. */
export interface InviteMessage extends MessageBase<'invite'> {
  media: CallMedia;
  capabilities: Capabilities;
  /** Caller's clock when sent (ms since epoch); with `lifetimeMs` it bounds when it may ring. */
  sentAt: number;
  lifetimeMs: number;
}

/** Callee → caller, inside Noise message 2: the invitation is ringing. */
export interface RingingMessage extends MessageBase<'ringing'> {
  capabilities: Capabilities;
}

/** Callee → caller, inside Noise message 2: declined. */
export type RejectMessage = MessageBase<'reject'>;

/** Callee → caller, inside Noise message 2: already in a call. */
export type BusyMessage = MessageBase<'busy'>;

/** Why a caller withdraws an invitation. */
export const CANCEL_REASONS = ['cancelled', 'no-answer', 'answered-elsewhere', 'declined-elsewhere'] as const;

/** Why a caller withdraws an invitation. */
export type CancelReason = (typeof CANCEL_REASONS)[number];

/**
 * Caller → every device of the callee, as a one-shot envelope: withdraw the invitation. A
 * device whose session tag is `keepSession` (the one that answered) ignores it. Also, with
 * reason `declined-elsewhere` and no `keepSession`, callee device → the callee's other devices
 * after a silent reject (a one-shot sealed with the callee's own key, bound to the caller).
 */
export interface CancelMessage extends MessageBase<'cancel'> {
  reason: CancelReason;
  keepSession?: string;
}

/** Callee → caller after accepting: the SDP offer with the candidates gathered so far. */
export interface OfferMessage extends MessageBase<'offer'> {
  sdp: string;
  candidates: IceCandidate[];
}

/** Caller → callee: the SDP answer with the candidates gathered so far. */
export interface AnswerMessage extends MessageBase<'answer'> {
  sdp: string;
  candidates: IceCandidate[];
}

/** Either side: later candidates in a batch; `end` marks end-of-candidates. */
export interface IceMessage extends MessageBase<'ice'> {
  candidates: IceCandidate[];
  end: boolean;
}

/** Either side: the call is over. */
export interface EndMessage extends MessageBase<'end'> {
  reason: EndReason;
}

/**
 * Either side, after connecting: a renegotiation step (ICE restart, added tracks). Exactly one of
 * `description` and `request` is set.
 */
export interface RenegotiateMessage extends MessageBase<'renegotiate'> {
  description?: { type: 'offer' | 'answer'; sdp: string };
  request?: { iceRestart: boolean; addTransceiver?: CallMedia };
}

/** Either side: the sender's confirmed mute and camera state, for the other side's UI. */
export interface MediaStateMessage extends MessageBase<'media-state'> {
  audioMuted: boolean;
  videoEnabled: boolean;
  /**
   * The sender put the call on hold: media is paused both ways. Sent only as `true` (absent means
   * not held), so a peer that predates hold reads the message as before.
   */
  held?: true;
  /**
   * The sender shares its screen (`startScreenShare`): its video, while enabled, is the screen
   * rather than the camera. Sent only as `true` (absent means not sharing), like `held`, so a peer
   * that predates screen sharing reads the message as before.
   */
  screenSharing?: true;
}

/** Either side: the sender switched its frame-encryption key to key id `kid`. */
export interface KeyUpdateMessage extends MessageBase<'key-update'> {
  kid: number;
}

/**
 * Either side: one piece of a message whose envelope would exceed what the chat transport carries
 * (`ChatTransport.maxPayloadBytes`). The pieces of one message have consecutive seqs from `whole`;
 * joined in `index` order, `data` is the encoded message (with seq 0).
 */
export interface PartMessage extends MessageBase<'part'> {
  whole: number;
  index: number;
  count: number;
  data: Uint8Array;
}

/** Most pieces one message may be split into. */
export const MAX_PARTS = 64;

/**
 * Either side: acknowledges what arrived (`ack`, `sacks`) when no other message is due to carry
 * it. Unsequenced (`seq` 0): it is never acknowledged or retransmitted itself.
 */
export type AckMessage = MessageBase<'ack'>;

/** Every signaling message. */
export type Message =
  | InviteMessage
  | RingingMessage
  | RejectMessage
  | BusyMessage
  | CancelMessage
  | OfferMessage
  | AnswerMessage
  | IceMessage
  | EndMessage
  | RenegotiateMessage
  | MediaStateMessage
  | KeyUpdateMessage
  | PartMessage
  | AckMessage;

/** The `type` of a message. */
export type MessageType = Message['type'];

/** A message as the sender writes it, before `v` is stamped on by the encoder. */
export type OutgoingMessage = Message extends infer M
  ? M extends Message
    ? Omit<M, 'v'>
    : never
  : never;
