import { SealcallError } from '../errors.js';
import { EnvelopeKind, joinEnvelope, pad, parseEnvelope, payloadCapacity, SESSION_TAG_BYTES, unpad, writeHeader } from './envelope.js';
import { TAG_BYTES, type CipherState } from '../crypto/noise/cipher-state.js';
import { hash, hmac } from '../crypto/noise/hash.js';
import type { NoiseTransportKeys } from '../crypto/noise/handshake-kk.js';
import { ReplayWindow } from '../crypto/replay-window.js';
import { sodium } from '../crypto/sodium.js';

const TAG_LABEL = new TextEncoder().encode('sealcall session tag v1');
const CALLER_TO_CALLEE = new TextEncoder().encode('sealcall frame base key caller->callee v1');
const CALLEE_TO_CALLER = new TextEncoder().encode('sealcall frame base key callee->caller v1');

/** Frame-encryption base keys of one session: one per direction, so no key has two senders. */
export interface FrameBaseKeys {
  /** Base key of the frames this side sends. */
  send: Uint8Array;
  /** Base key of the frames this side receives. */
  receive: Uint8Array;
}

/**
 * The encrypted channel of one answered call, after the Noise KK handshake: seals and opens
 * transport envelopes with explicit counters, so the chat transport may reorder and duplicate.
 * Replays, envelopes of other calls or devices, and forgeries are refused with typed errors.
 */
export class SignalingSession {
  /** The call this session belongs to (32 hex digits). */
  readonly callId: string;
  /** Names this session among several devices answering one call (16 hex digits). */
  readonly sessionTag: string;
  /** The Noise handshake hash; equal on both sides, unique per call. */
  readonly handshakeHash: Uint8Array;
  private readonly send: CipherState;
  private readonly receive: CipherState;
  private readonly exporterSecret: Uint8Array;
  private readonly initiator: boolean;
  private readonly window = new ReplayWindow();
  private sendCounter = 0;
  private disposed = false;

  /** @internal Made by the handshake classes. */
  constructor(callId: string, keys: NoiseTransportKeys) {
    this.callId = callId;
    this.send = keys.send;
    this.receive = keys.receive;
    this.handshakeHash = keys.handshakeHash;
    this.exporterSecret = keys.exporterSecret;
    this.initiator = keys.initiator;
    this.sessionTag = sodium().to_hex(hash(TAG_LABEL, keys.handshakeHash).subarray(0, SESSION_TAG_BYTES));
  }

  /** Encrypts and pads `payload` into an (inner) transport envelope, `envelopeBytes` long once pair-sealed. */
  seal(payload: Uint8Array, envelopeBytes: number): Uint8Array {
    this.checkUsable();
    const counter = this.sendCounter;
    const header = writeHeader({ kind: EnvelopeKind.transport, callId: this.callId, sessionTag: this.sessionTag, counter });
    const body = this.send.encryptAt(counter, header, pad(payload, TAG_BYTES, envelopeBytes));
    this.sendCounter++;
    return joinEnvelope(header, body);
  }

  /**
   * Authenticates and decrypts a transport envelope. Throws `WRONG_CALL` (another call or
   * device), `REPLAYED`, `DECRYPT_FAILED` or `BAD_MESSAGE`; the session is unchanged then.
   */
  open(envelope: Uint8Array): Uint8Array {
    this.checkUsable();
    const parsed = parseEnvelope(envelope);
    if (parsed.kind !== EnvelopeKind.transport) throw new SealcallError('BAD_MESSAGE', 'not a transport envelope');
    if (parsed.callId !== this.callId || parsed.sessionTag !== this.sessionTag) {
      throw new SealcallError('WRONG_CALL', 'envelope belongs to another call or session');
    }
    this.window.check(parsed.counter);
    const padded = this.receive.decryptAt(parsed.counter, parsed.headerBytes, parsed.body);
    const payload = unpad(padded);
    this.window.accept(parsed.counter);
    return payload;
  }

  /**
   * The per-direction base keys for frame encryption (RFC 9605's `base_key`), fresh copies the
   * caller owns and wipes. Derived from the handshake's exporter secret, so they have the
   * handshake's forward secrecy and are never used by two senders.
   */
  frameBaseKeys(): FrameBaseKeys {
    this.checkUsable();
    const derive = (label: Uint8Array) => hmac(this.exporterSecret, label).slice(0, 32);
    const mine = this.initiator ? CALLER_TO_CALLEE : CALLEE_TO_CALLER;
    const theirs = this.initiator ? CALLEE_TO_CALLER : CALLER_TO_CALLEE;
    return { send: derive(mine), receive: derive(theirs) };
  }

  /** Wipes both transport keys and the exporter secret. Idempotent; later use throws `DISPOSED`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.send.wipe();
    this.receive.wipe();
    sodium().memzero(this.exporterSecret);
  }

  private checkUsable(): void {
    if (this.disposed) throw new SealcallError('DISPOSED', 'signaling session was disposed');
  }
}

/** The most payload bytes a transport envelope of `envelopeBytes` holds. */
export function transportPayloadCapacity(envelopeBytes: number): number {
  return payloadCapacity(TAG_BYTES, envelopeBytes);
}
