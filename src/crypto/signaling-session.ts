import { SealcallError } from '../errors.js';
import { EnvelopeKind, joinEnvelope, pad, parseEnvelope, SESSION_TAG_BYTES, unpad, writeHeader } from './envelope.js';
import { TAG_BYTES, type CipherState } from './noise/cipher-state.js';
import { hash } from './noise/hash.js';
import type { NoiseTransportKeys } from './noise/handshake-kk.js';
import { ReplayWindow } from './replay-window.js';
import { sodium } from './sodium.js';

const TAG_LABEL = new TextEncoder().encode('sealcall session tag v1');

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
  private readonly window = new ReplayWindow();
  private sendCounter = 0;
  private disposed = false;

  /** @internal Made by the handshake classes. */
  constructor(callId: string, keys: NoiseTransportKeys) {
    this.callId = callId;
    this.send = keys.send;
    this.receive = keys.receive;
    this.handshakeHash = keys.handshakeHash;
    this.sessionTag = sodium().to_hex(hash(TAG_LABEL, keys.handshakeHash).subarray(0, SESSION_TAG_BYTES));
  }

  /** Encrypts and pads `payload` into a transport envelope. */
  seal(payload: Uint8Array): Uint8Array {
    this.checkUsable();
    const counter = this.sendCounter;
    const header = writeHeader({ kind: EnvelopeKind.transport, callId: this.callId, sessionTag: this.sessionTag, counter });
    const body = this.send.encryptAt(counter, header, pad(payload, TAG_BYTES));
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

  /** Wipes both transport keys. Idempotent; later `seal`/`open` throw `DISPOSED`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.send.wipe();
    this.receive.wipe();
  }

  private checkUsable(): void {
    if (this.disposed) throw new SealcallError('DISPOSED', 'signaling session was disposed');
  }
}
