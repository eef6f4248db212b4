import type { RawData, WebSocket } from 'ws';
import { isSealcallError } from '../errors.js';
import { unpackUntrusted } from '../protocol/msgpack.js';
import {
  corrOf,
  encodeRelayFrame,
  RELAY_PROTOCOL_VERSION,
  validateClientFrame,
  type ClientFrame,
  type MsgFrame,
  type RelayErrorCode,
  type RelayFrame,
} from '../protocol/relay-frames.js';
import type { Subscriber } from './delivery.js';
import type { ResolvedRelayOptions } from './options.js';
import { TokenBucket } from './token-bucket.js';

/** WebSocket close codes the relay uses. */
export const CLOSE = {
  /** The relay is shutting down. */
  goingAway: 1001,
  /** Too many bad frames, or a flood. */
  policy: 1008,
  /** A bug in the relay; only this client is dropped. */
  internalError: 1011,
  /** Too many connections. */
  tryAgainLater: 1013,
} as const;

/**
 * One client's WebSocket: greets it with `hello`, throttles it (token bucket), refuses malformed
 * frames with `err` replies (closing after too many), drops it when it reads too slowly, and
 * hands each valid frame to `onFrame`. Knows nothing of queues.
 */
export class RelayConnection implements Subscriber {
  readonly subscriptions = new Set<string>();
  /** Queues this connection created, for `maxQueuesPerConnection`. */
  queuesCreated = 0;
  /** Cleared by each heartbeat ping, set by the pong. */
  alive = true;
  private readonly bucket: TokenBucket;
  private badFrames = 0;
  private strikes = 0;
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    readonly sessionId: Uint8Array,
    /** The client's IP address, for limits per address. */
    readonly address: string,
    private readonly options: ResolvedRelayOptions,
    private readonly onFrame: (connection: RelayConnection, frame: ClientFrame) => void,
  ) {
    this.bucket = new TokenBucket(options.rateLimitPerSecond, options.rateLimitBurst, () => performance.now());
    ws.on('message', (data, isBinary) => {
      try {
        this.receive(data, isBinary);
      } catch {
        // A bug, not client input (every client error gets a reply): drop this client, never the relay.
        options.logger('internal-error');
        this.close(CLOSE.internalError, 'internal error');
      }
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    this.send({ t: 'hello', v: RELAY_PROTOCOL_VERSION, sessionId });
  }

  /** True until the socket starts closing. */
  get open(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a frame; false if the socket is no longer open (or was just dropped as too slow). */
  send(frame: RelayFrame): boolean {
    if (!this.open) return false;
    this.ws.send(encodeRelayFrame(frame));
    // A client that does not read makes the relay buffer for it without bound: drop it.
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.options.maxBufferedBytes) {
      this.options.logger('slow-client', { bufferedBytes: buffered });
      this.terminate();
      return false;
    }
    return true;
  }

  /** {@link Subscriber.deliver}. */
  deliver(frame: MsgFrame): boolean {
    return this.send(frame);
  }

  /** Sends an `err` reply. */
  error(corr: number | undefined, code: RelayErrorCode, message: string): void {
    this.send({ t: 'err', ...(corr === undefined ? {} : { corr }), code, message });
  }

  /** Starts a close handshake with `code`. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
  }

  /** Drops the socket without a close handshake. */
  terminate(): void {
    this.closing = true;
    this.ws.terminate();
  }

  /** Sends a WebSocket ping (heartbeat). */
  ping(): void {
    if (this.open) this.ws.ping();
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!isBinary || !(data instanceof Uint8Array)) {
      this.refuse(undefined, 'BAD_FRAME', 'frames must be binary msgpack');
      return;
    }
    let raw: unknown;
    let frame: ClientFrame;
    try {
      raw = unpackUntrusted(data, this.options.maxPayload, 'frame');
    } catch (error) {
      this.refuse(undefined, wireCode(error), isSealcallError(error) ? error.message : 'frame is not valid msgpack');
      return;
    }
    if (!this.bucket.take()) {
      this.strikes++;
      this.options.logger('rate-limited', { strikes: this.strikes });
      this.error(corrOf(raw), 'RATE_LIMITED', 'too many frames; slow down');
      if (this.strikes >= this.options.maxRateLimitStrikes) {
        this.options.logger('abusive-client', { reason: 'flood' });
        this.close(CLOSE.policy, 'rate limit');
      }
      return;
    }
    this.strikes = 0;
    try {
      frame = validateClientFrame(raw);
    } catch (error) {
      this.refuse(corrOf(raw), wireCode(error), isSealcallError(error) ? error.message : 'invalid frame');
      return;
    }
    this.onFrame(this, frame);
  }

  /** Replies to a malformed frame and closes the connection once it has sent too many. */
  private refuse(corr: number | undefined, code: RelayErrorCode, message: string): void {
    this.badFrames++;
    this.options.logger('bad-frame', { badFrames: this.badFrames });
    this.error(corr, code, message.slice(0, 200));
    if (this.badFrames >= this.options.maxBadFrames) {
      this.options.logger('abusive-client', { reason: 'bad frames' });
      this.close(CLOSE.policy, 'too many bad frames');
    }
  }
}

/** The `err` code for a decoding failure. */
function wireCode(error: unknown): RelayErrorCode {
  if (isSealcallError(error, 'MESSAGE_TOO_LARGE')) return 'TOO_LARGE';
  if (isSealcallError(error, 'UNSUPPORTED_VERSION')) return 'UNSUPPORTED';
  return 'BAD_FRAME';
}
