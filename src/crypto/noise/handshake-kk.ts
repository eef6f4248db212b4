import { SealcallError } from '../../errors.js';
import { checkKey, KEY_BYTES, type Identity } from '../identity.js';
import { sodium } from '../sodium.js';
import { TAG_BYTES, type CipherState } from './cipher-state.js';
import { SymmetricState } from './symmetric-state.js';

/** Noise's limit on any message (§3). */
const MAX_NOISE_MESSAGE = 65535;
/** Bytes a KK handshake message adds to its payload: ephemeral key + tag. */
export const KK_MESSAGE_OVERHEAD = KEY_BYTES + TAG_BYTES;

/** Options of {@link NoiseKKHandshake}. */
export interface NoiseKKOptions {
  /** True for the side that sends message 1. */
  initiator: boolean;
  /** Bytes both sides must agree on; mixed into the handshake hash. */
  prologue: Uint8Array;
  /** This side's static key pair. */
  staticKey: Identity;
  /** The other side's static public key, known in advance (that is what KK means). */
  remoteStaticKey: Uint8Array;
  /**
   * Deterministic mode for test vectors: this side's ephemeral secret key. Leave it out in real
   * use; a fresh random one is made per handshake.
   */
  ephemeralSecretKey?: Uint8Array;
}

/** The transport keys a finished handshake yields. */
export interface NoiseTransportKeys {
  send: CipherState;
  receive: CipherState;
  /** Noise's final `h`; identifies this handshake to both sides. */
  handshakeHash: Uint8Array;
  /** True on the side that sent message 1. */
  initiator: boolean;
  /** Secret for keys outside Noise (frame encryption); equal on both sides. */
  exporterSecret: Uint8Array;
}

const EXPORTER_LABEL = new TextEncoder().encode('sealcall exporter v1');

/**
 * Noise_KK_25519_ChaChaPoly_BLAKE2b (Noise rev 34), built on libsodium:
 * `-> s`, `<- s`, `...`, `-> e, es, ss`, `<- e, ee, se`.
 *
 * A failed `readMessage` leaves the handshake as it was, so a forged message cannot spoil a
 * genuine one still to come.
 */
export class NoiseKKHandshake {
  /** The Noise protocol name; it seeds the handshake hash. */
  static readonly protocolName = 'Noise_KK_25519_ChaChaPoly_BLAKE2b';

  private symmetric: SymmetricState;
  private readonly initiator: boolean;
  private readonly s: Identity;
  private readonly rs: Uint8Array;
  private e: Identity | undefined;
  private re: Uint8Array | undefined;
  private step = 0;
  private disposed = false;

  constructor(options: NoiseKKOptions) {
    checkKey(options.staticKey.secretKey, 'static secret key');
    checkKey(options.staticKey.publicKey, 'static public key');
    checkKey(options.remoteStaticKey, 'remote static key');
    if (options.ephemeralSecretKey !== undefined) checkKey(options.ephemeralSecretKey, 'ephemeral secret key');
    this.initiator = options.initiator;
    this.s = options.staticKey;
    this.rs = options.remoteStaticKey.slice();
    if (options.ephemeralSecretKey) this.e = keyPair(options.ephemeralSecretKey.slice());
    this.symmetric = SymmetricState.initialize(NoiseKKHandshake.protocolName);
    this.symmetric.mixHash(options.prologue);
    // Pre-messages: the initiator's static first, then the responder's.
    const [initiatorStatic, responderStatic] = this.initiator ? [this.s.publicKey, this.rs] : [this.rs, this.s.publicKey];
    this.symmetric.mixHash(initiatorStatic);
    this.symmetric.mixHash(responderStatic);
  }

  /** Both messages are done; {@link split} may be called. */
  get isComplete(): boolean {
    return this.step === 2;
  }

  /** The handshake hash so far (the final one once complete). */
  get handshakeHash(): Uint8Array {
    return this.symmetric.handshakeHash;
  }

  /** The peer's ephemeral public key once its message was read: unique per handshake. */
  get remoteEphemeralKey(): Uint8Array | undefined {
    return this.re?.slice();
  }

  /** Writes this side's next handshake message around `payload`. */
  writeMessage(payload: Uint8Array): Uint8Array {
    this.expectTurn(true);
    if (payload.length > MAX_NOISE_MESSAGE - KK_MESSAGE_OVERHEAD) {
      throw new SealcallError('MESSAGE_TOO_LARGE', 'handshake payload too large');
    }
    this.e ??= keyPair(sodium().randombytes_buf(KEY_BYTES));
    const sym = this.symmetric;
    sym.mixHash(this.e.publicKey);
    if (this.step === 0) {
      mixDh(sym, this.e.secretKey, this.rs); // es
      mixDh(sym, this.s.secretKey, this.rs); // ss
    } else {
      mixDh(sym, this.e.secretKey, this.requireRe()); // ee
      mixDh(sym, this.e.secretKey, this.rs); // se (responder side: DH(e, rs))
    }
    const body = sym.encryptAndHash(payload);
    this.step++;
    const out = new Uint8Array(KEY_BYTES + body.length);
    out.set(this.e.publicKey);
    out.set(body, KEY_BYTES);
    return out;
  }

  /** Reads the peer's next handshake message and returns its payload. */
  readMessage(message: Uint8Array): Uint8Array {
    this.expectTurn(false);
    if (message.length < KK_MESSAGE_OVERHEAD || message.length > MAX_NOISE_MESSAGE) {
      throw new SealcallError('BAD_MESSAGE', 'handshake message has an impossible length');
    }
    const re = message.slice(0, KEY_BYTES);
    const sym = this.symmetric.clone();
    try {
      sym.mixHash(re);
      if (this.step === 0) {
        mixDh(sym, this.s.secretKey, re); // es (responder side: DH(s, re))
        mixDh(sym, this.s.secretKey, this.rs); // ss
      } else {
        const e = this.e;
        if (!e) throw new SealcallError('HANDSHAKE_STATE', 'no ephemeral key');
        mixDh(sym, e.secretKey, re); // ee
        mixDh(sym, this.s.secretKey, re); // se (initiator side: DH(s, re))
      }
      const payload = sym.decryptAndHash(message.subarray(KEY_BYTES));
      this.symmetric.wipe();
      this.symmetric = sym;
      this.re = re;
      this.step++;
      return payload;
    } catch (error) {
      sym.wipe();
      throw error;
    }
  }

  /**
   * A copy that can continue independently. The initiator forks after message 1 to read replies
   * from several devices of the same contact.
   */
  fork(): NoiseKKHandshake {
    this.checkUsable();
    const copy = Object.create(NoiseKKHandshake.prototype) as NoiseKKHandshake;
    Object.assign(copy, this, {
      symmetric: this.symmetric.clone(),
      e: this.e && { publicKey: this.e.publicKey.slice(), secretKey: this.e.secretKey.slice() },
      re: this.re?.slice(),
    });
    return copy;
  }

  /** The transport cipher states. The handshake is wiped afterwards. */
  split(): NoiseTransportKeys {
    this.checkUsable();
    if (!this.isComplete) throw new SealcallError('HANDSHAKE_STATE', 'handshake is not complete');
    const [c1, c2] = this.symmetric.split();
    const handshakeHash = this.symmetric.handshakeHash;
    const exporterSecret = this.symmetric.exportSecret(EXPORTER_LABEL);
    this.dispose();
    const [send, receive] = this.initiator ? [c1, c2] : [c2, c1];
    return { send, receive, handshakeHash, initiator: this.initiator, exporterSecret };
  }

  /** Wipes the ephemeral secret and the chaining state. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.e) sodium().memzero(this.e.secretKey);
    this.symmetric.wipe();
  }

  private expectTurn(writing: boolean): void {
    this.checkUsable();
    if (this.step >= 2) throw new SealcallError('HANDSHAKE_STATE', 'handshake already complete');
    // Initiator writes message 0, responder writes message 1.
    const myTurn = (this.step === 0) === this.initiator;
    if (myTurn !== writing) {
      throw new SealcallError('HANDSHAKE_STATE', writing ? 'not this side’s turn to write' : 'not this side’s turn to read');
    }
  }

  private requireRe(): Uint8Array {
    if (!this.re) throw new SealcallError('HANDSHAKE_STATE', 'no remote ephemeral key');
    return this.re;
  }

  private checkUsable(): void {
    if (this.disposed) throw new SealcallError('DISPOSED', 'handshake was disposed');
  }
}

function keyPair(secretKey: Uint8Array): Identity {
  return { secretKey, publicKey: sodium().crypto_scalarmult_base(secretKey) };
}

/**
 * MixKey(DH(secretKey, publicKey)), wiping the shared secret. libsodium refuses low-order points
 * (all-zero output), which we report as BAD_KEY.
 */
function mixDh(sym: SymmetricState, secretKey: Uint8Array, publicKey: Uint8Array): void {
  let shared: Uint8Array;
  try {
    shared = sodium().crypto_scalarmult(secretKey, publicKey);
  } catch (cause) {
    throw new SealcallError('BAD_KEY', 'peer key gives a low-order shared secret', { cause });
  }
  sym.mixKey(shared);
  sodium().memzero(shared);
}
