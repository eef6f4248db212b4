import { SealcallError } from '../errors.js';
import {
  callIdBytes,
  EnvelopeKind,
  joinEnvelope,
  pad,
  parseEnvelope,
  randomCallId,
  unpad,
  writeHeader,
  ZERO_SESSION_TAG,
} from './envelope.js';
import type { Identity } from '../crypto/identity.js';
import { KK_MESSAGE_OVERHEAD, NoiseKKHandshake } from '../crypto/noise/handshake-kk.js';
import { SignalingSession } from './session.js';
import { sodium } from '../crypto/sodium.js';

const INVITE_LABEL = new TextEncoder().encode('sealcall invite v1');
const ONE_SHOT_LABEL = new TextEncoder().encode('sealcall one-shot v1');

/** Keys and ids shared by the handshake entry points. */
export interface HandshakeKeys {
  /** This user's identity. */
  identity: Identity;
  /** The contact's X25519 public key, as the app knows it. */
  remotePublicKey: Uint8Array;
}

/** Options of {@link OutgoingHandshake}. */
export interface OutgoingHandshakeOptions extends HandshakeKeys {
  /** Call id (32 hex digits); default random. */
  callId?: string;
  /** Deterministic mode for tests: the ephemeral secret key. */
  ephemeralSecretKey?: Uint8Array;
}

/**
 * The caller's side of a call's handshake. `invite()` makes Noise message 1 (the invitation);
 * each distinct reply read with `accept()` yields its own {@link SignalingSession}, so several
 * devices of the same contact can answer and the call layer picks one.
 */
export class OutgoingHandshake {
  readonly callId: string;
  private readonly noise: NoiseKKHandshake;
  private readonly seenReplies = new Set<string>();
  private invited = false;

  constructor(options: OutgoingHandshakeOptions) {
    this.callId = options.callId ?? randomCallId();
    this.noise = kk(true, INVITE_LABEL, this.callId, options);
  }

  /** Seals `payload` into the (inner) invitation envelope, `envelopeBytes` long once pair-sealed. Only once. */
  invite(payload: Uint8Array, envelopeBytes: number): Uint8Array {
    if (this.invited) throw new SealcallError('HANDSHAKE_STATE', 'invitation already written');
    const envelope = writeHandshake(this.noise, EnvelopeKind.invite, this.callId, payload, envelopeBytes);
    this.invited = true;
    return envelope;
  }

  /**
   * Reads a reply (Noise message 2) from one of the contact's devices. Throws `REPLAYED` for a
   * reply already read, `WRONG_CALL`, `DECRYPT_FAILED` or `BAD_MESSAGE`; the handshake is
   * unchanged then and can still read other replies.
   */
  accept(envelope: Uint8Array): { session: SignalingSession; payload: Uint8Array } {
    if (!this.invited) throw new SealcallError('HANDSHAKE_STATE', 'no invitation was written');
    const parsed = expectHandshake(envelope, EnvelopeKind.response, this.callId);
    const replyKey = sodium().to_hex(parsed.body.subarray(0, 32));
    if (this.seenReplies.has(replyKey)) throw new SealcallError('REPLAYED', 'reply was already read');
    const fork = this.noise.fork();
    try {
      const payload = unpad(fork.readMessage(parsed.body));
      this.seenReplies.add(replyKey);
      return { session: new SignalingSession(this.callId, fork.split()), payload };
    } catch (error) {
      fork.dispose();
      throw error;
    }
  }

  /** Wipes the handshake state. Sessions already made live on. */
  dispose(): void {
    this.noise.dispose();
  }
}

/** Options of {@link IncomingHandshake.open}. */
export interface IncomingHandshakeOptions extends HandshakeKeys {
  /** The (inner) invitation envelope as received. */
  envelope: Uint8Array;
  /** Deterministic mode for tests: the ephemeral secret key of the reply. */
  ephemeralSecretKey?: Uint8Array;
}

/**
 * The callee's side: opens an invitation from a known contact, then `respond()` writes Noise
 * message 2 (ringing, reject or busy) and yields the {@link SignalingSession}.
 */
export class IncomingHandshake {
  /** Call id from the invitation. */
  readonly callId: string;
  /** The decrypted invitation payload. */
  readonly payload: Uint8Array;
  private readonly noise: NoiseKKHandshake;

  private constructor(callId: string, payload: Uint8Array, noise: NoiseKKHandshake) {
    this.callId = callId;
    this.payload = payload;
    this.noise = noise;
  }

  /**
   * Authenticates and decrypts an invitation envelope. Throws `DECRYPT_FAILED` if it is not from
   * `remotePublicKey` to this identity, `BAD_MESSAGE` or `UNSUPPORTED_VERSION` for bad framing.
   * Replays are the caller's to refuse (the router's replay guard, by the ephemeral key).
   */
  static open(options: IncomingHandshakeOptions): IncomingHandshake {
    const parsed = expectHandshake(options.envelope, EnvelopeKind.invite);
    const noise = kk(false, INVITE_LABEL, parsed.callId, options);
    try {
      const payload = unpad(noise.readMessage(parsed.body));
      return new IncomingHandshake(parsed.callId, payload, noise);
    } catch (error) {
      noise.dispose();
      throw error;
    }
  }

  /** Seals `payload` into the reply envelope and completes the handshake. Only once. */
  respond(payload: Uint8Array, envelopeBytes: number): { session: SignalingSession; envelope: Uint8Array } {
    const envelope = writeHandshake(this.noise, EnvelopeKind.response, this.callId, payload, envelopeBytes);
    return { session: new SignalingSession(this.callId, this.noise.split()), envelope };
  }

  /** Wipes the handshake state without replying. */
  dispose(): void {
    this.noise.dispose();
  }
}

/**
 * Seals a single message bound to a call id as a fresh Noise message 1 that expects no reply:
 * the caller's cancel before any reply arrived. It can be opened even if the invitation itself
 * was lost or comes later.
 */
export function sealOneShot(
  options: HandshakeKeys & { callId: string; payload: Uint8Array; envelopeBytes: number; /** Deterministic mode for test vectors. */ ephemeralSecretKey?: Uint8Array },
): Uint8Array {
  const noise = kk(true, ONE_SHOT_LABEL, options.callId, options);
  try {
    return writeHandshake(noise, EnvelopeKind.oneShot, options.callId, options.payload, options.envelopeBytes);
  } finally {
    noise.dispose();
  }
}

/**
 * Opens a {@link sealOneShot} envelope. Same errors as {@link IncomingHandshake.open}. A repeat
 * opens again: a cancel is bound to its call id, so applying it twice changes nothing.
 */
export function openOneShot(options: HandshakeKeys & { envelope: Uint8Array }): { callId: string; payload: Uint8Array } {
  const parsed = expectHandshake(options.envelope, EnvelopeKind.oneShot);
  const noise = kk(false, ONE_SHOT_LABEL, parsed.callId, options);
  try {
    return { callId: parsed.callId, payload: unpad(noise.readMessage(parsed.body)) };
  } finally {
    noise.dispose();
  }
}

/** A KK handshake for one role, bound to a message label and call id. */
function kk(
  initiator: boolean,
  label: Uint8Array,
  callId: string,
  keys: HandshakeKeys & { ephemeralSecretKey?: Uint8Array },
): NoiseKKHandshake {
  return new NoiseKKHandshake({
    initiator,
    prologue: prologue(label, callId),
    staticKey: keys.identity,
    remoteStaticKey: keys.remotePublicKey,
    ...(keys.ephemeralSecretKey ? { ephemeralSecretKey: keys.ephemeralSecretKey } : {}),
  });
}

/** Binds protocol version, message role and call id into the handshake hash. */
function prologue(label: Uint8Array, callId: string): Uint8Array {
  const out = new Uint8Array(label.length + 16);
  out.set(label);
  out.set(callIdBytes(callId), label.length);
  return out;
}

function writeHandshake(noise: NoiseKKHandshake, kind: EnvelopeKind, callId: string, payload: Uint8Array, envelopeBytes: number): Uint8Array {
  const header = writeHeader({ kind, callId, sessionTag: ZERO_SESSION_TAG, counter: 0 });
  return joinEnvelope(header, noise.writeMessage(pad(payload, KK_MESSAGE_OVERHEAD, envelopeBytes)));
}

function expectHandshake(envelope: Uint8Array, kind: EnvelopeKind, callId?: string) {
  const parsed = parseEnvelope(envelope);
  if (parsed.kind !== kind) throw new SealcallError('BAD_MESSAGE', `expected a handshake envelope of kind ${kind}`);
  if (callId !== undefined && parsed.callId !== callId) {
    throw new SealcallError('WRONG_CALL', 'envelope belongs to another call');
  }
  return parsed;
}
