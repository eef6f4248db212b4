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
import { checkKey, type Identity } from '../crypto/identity.js';
import { KK_MESSAGE_OVERHEAD, NoiseKKHandshake } from '../crypto/noise/handshake-kk.js';
import { SignalingSession } from './session.js';
import { sodium } from '../crypto/sodium.js';

const INVITE_LABEL = new TextEncoder().encode('sealcall invite v1');
const ONE_SHOT_LABEL = new TextEncoder().encode('sealcall one-shot v1');
const OWN_CANCEL_LABEL = new TextEncoder().encode('sealcall own cancel v1');

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
    this.noise = kk(true, prologue(INVITE_LABEL, this.callId), options);
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
    const noise = kk(false, prologue(INVITE_LABEL, parsed.callId), options);
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

/** What binds a one-shot to its call, besides the two static keys. */
export interface OneShotBinding {
  /** The call id (32 hex digits), also in the envelope's header. */
  callId: string;
  /**
   * Only for a cancel between one user's own devices (both static keys are the user's): the
   * public key of the caller whose call it withdraws. It is bound into the prologue
   * (`"sealcall own cancel v1"` ‖ call id ‖ caller key), so the cancel opens only for a call
   * with that id from that caller.
   */
  callerKey?: Uint8Array;
}

/**
 * Seals a single message bound to a call id as a fresh Noise message 1 that expects no reply:
 * the caller's cancel before any reply arrived, or (with `callerKey`) a device's cancel to its
 * user's other devices, `identity` then being both ends. It can be opened even if the invitation
 * itself was lost or comes later.
 */
export function sealOneShot(
  options: HandshakeKeys &
    OneShotBinding & {
      payload: Uint8Array;
      envelopeBytes: number;
      /** Deterministic mode for test vectors. */
      ephemeralSecretKey?: Uint8Array;
    },
): Uint8Array {
  const noise = kk(true, oneShotPrologue(options), options);
  try {
    return writeHandshake(noise, EnvelopeKind.oneShot, options.callId, options.payload, options.envelopeBytes);
  } finally {
    noise.dispose();
  }
}

/**
 * Opens a {@link sealOneShot} envelope, with the same `callerKey` it was sealed with (none for a
 * caller's cancel). Same errors as {@link IncomingHandshake.open}; `WRONG_CALL` when the header
 * names another call than `callId`, if given. A repeat opens again: a cancel is bound to its
 * call id, so applying it twice changes nothing.
 */
export function openOneShot(
  options: HandshakeKeys & Partial<OneShotBinding> & { envelope: Uint8Array },
): { callId: string; payload: Uint8Array } {
  const parsed = expectHandshake(options.envelope, EnvelopeKind.oneShot, options.callId);
  const noise = kk(false, oneShotPrologue({ ...options, callId: parsed.callId }), options);
  try {
    return { callId: parsed.callId, payload: unpad(noise.readMessage(parsed.body)) };
  } finally {
    noise.dispose();
  }
}

/** `"sealcall one-shot v1"` ‖ call id, or for an own-device cancel `"sealcall own cancel v1"` ‖ call id ‖ caller key. */
function oneShotPrologue(binding: OneShotBinding): Uint8Array {
  if (binding.callerKey === undefined) return prologue(ONE_SHOT_LABEL, binding.callId);
  checkKey(binding.callerKey, 'callerKey');
  const base = prologue(OWN_CANCEL_LABEL, binding.callId);
  const out = new Uint8Array(base.length + binding.callerKey.length);
  out.set(base);
  out.set(binding.callerKey, base.length);
  return out;
}

/** A KK handshake for one role, bound to a prologue (message label, call id, …). */
function kk(initiator: boolean, bound: Uint8Array, keys: HandshakeKeys & { ephemeralSecretKey?: Uint8Array }): NoiseKKHandshake {
  return new NoiseKKHandshake({
    initiator,
    prologue: bound,
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
