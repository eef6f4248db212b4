import { SealcallError, type ErrorCode } from '../errors.js';
import type { FrameCounters, FrameSuiteName } from '../crypto/frame/types.js';
import type { FrameProtector, FrameTransformApi } from './types.js';
import type { FrameSide, FromWorker, MediaKind, ToWorker, TransformTarget } from './worker/protocol.js';

/** What a {@link WorkerFrameProtector} reports besides its return values. */
export interface FrameProtectorHooks {
  /**
   * Frames were dropped (wrong key, replay, no key yet, …). Throttled: at most once per second
   * per direction. Carries the direction's cumulative counters, never frame contents.
   */
  onDrops?: (side: FrameSide, counters: FrameCounters) => void;
  /**
   * The worker failed (did not load, crashed) or a sender/receiver could not be attached. Frames
   * then stop (fail closed) rather than flowing unprotected.
   */
  onError?: (error: SealcallError) => void;
}

/** Chromium's legacy insertable-streams API, absent from the DOM typings. */
interface EncodedStreamsEndpoint {
  createEncodedStreams(): { readable: ReadableStream<unknown>; writable: WritableStream<unknown> };
}

/** How long a closing worker gets to wipe its keys before it is terminated. */
const CLOSE_GRACE_MS = 1000;

/**
 * A {@link FrameProtector} whose frame crypto runs in one dedicated worker per peer connection
 * (see `src/frame-worker.ts`). Keys are copied into the worker (the copy's buffer is transferred,
 * so no second copy stays on this thread); frames never come back here.
 */
export class WorkerFrameProtector implements FrameProtector {
  readonly rtcConfiguration: Record<string, unknown>;
  private readonly attached = new WeakSet<object>();
  private readonly pending = new Map<number, Pending>();
  private readonly waiters = new Set<Pending>();
  private nextId = 1;
  private decrypted = false;
  private failure: SealcallError | undefined;
  private closed = false;

  /** @internal Use `createFrameProtector()`. */
  constructor(
    private readonly worker: Worker,
    readonly api: FrameTransformApi,
    suite: FrameSuiteName,
    private readonly hooks: FrameProtectorHooks = {},
  ) {
    // Chromium only hands encoded streams to pages whose connection asked for them up front.
    this.rtcConfiguration = api === 'encoded-streams' ? { encodedInsertableStreams: true } : {};
    worker.addEventListener('message', (event: MessageEvent<FromWorker>) => this.onMessage(event.data));
    worker.addEventListener('error', (event) => {
      event.preventDefault(); // reported here; the event's text may name the script URL only
      this.fail(new SealcallError('E2EE_UNAVAILABLE', 'the frame-encryption worker failed to load or crashed'));
    });
    worker.addEventListener('messageerror', () => {
      this.fail(new SealcallError('E2EE_UNAVAILABLE', 'the frame-encryption worker received a message it cannot read'));
    });
    this.post({ type: 'init', suite, dropReportMs: 1000 });
  }

  protectSender(sender: RTCRtpSender, kind: MediaKind): void {
    this.attach(sender, { side: 'send', kind });
  }

  protectReceiver(receiver: RTCRtpReceiver, kind: MediaKind): void {
    this.attach(receiver, { side: 'receive', kind });
  }

  /**
   * With `RTCRtpScriptTransform`, the worker also makes every video sender produce a key frame,
   * so the peer's decoder restarts at once under the new key. The legacy API has no such call:
   * there the peer's decoder asks for a key frame itself (PLI) once it sees undecodable frames.
   */
  setSendKey(kid: number, baseKey: Uint8Array): Promise<void> {
    return this.setKey('send', kid, baseKey);
  }

  /** With `RTCRtpScriptTransform`, also asks the peer for a key frame (video receivers). */
  setReceiveKey(kid: number, baseKey: Uint8Array): Promise<void> {
    return this.setKey('receive', kid, baseKey);
  }

  counters(): Promise<{ send: FrameCounters; receive: FrameCounters }> {
    return this.request((id) => ({ type: 'get-counters', id })) as Promise<{ send: FrameCounters; receive: FrameCounters }>;
  }

  verified(timeoutMs: number): Promise<void> {
    if (this.decrypted) return Promise.resolve();
    if (this.closed) return Promise.reject(new SealcallError('DISPOSED', 'the frame protector is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Pending = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new SealcallError('E2EE_UNAVAILABLE', `no received frame could be decrypted within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new SealcallError('DISPOSED', 'the frame protector is closed'));
    // The worker wipes its keys and closes itself; terminate it anyway should it hang.
    this.post({ type: 'close' });
    setTimeout(() => this.worker.terminate(), CLOSE_GRACE_MS);
  }

  // ---------------------------------------------------------------------------------------------

  /** @throws SealcallError `E2EE_UNAVAILABLE` when the transform cannot be attached (also reported to `onError`). */
  private attach(endpoint: RTCRtpSender | RTCRtpReceiver, target: TransformTarget): void {
    if (this.closed || this.attached.has(endpoint)) return;
    this.attached.add(endpoint);
    try {
      if (this.api === 'script-transform') {
        endpoint.transform = new RTCRtpScriptTransform(this.worker, target);
      } else {
        const { readable, writable } = (endpoint as unknown as EncodedStreamsEndpoint).createEncodedStreams();
        this.worker.postMessage({ type: 'attach', ...target, readable, writable } satisfies ToWorker, [readable, writable]);
      }
    } catch (cause) {
      const endpointName = target.side === 'send' ? 'sender' : 'receiver';
      const error = new SealcallError('E2EE_UNAVAILABLE', `could not attach frame encryption to a ${target.kind} ${endpointName}`, { cause });
      this.hooks.onError?.(error);
      throw error;
    }
  }

  private async setKey(side: FrameSide, kid: number, baseKey: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(kid) || kid < 0) throw new SealcallError('INVALID_ARGUMENT', 'kid must be a non-negative integer');
    if (!(baseKey instanceof Uint8Array) || baseKey.length === 0) throw new SealcallError('BAD_KEY', 'the base key must be non-empty bytes');
    await this.request((id) => {
      const key = baseKey.slice(); // transferred below: this thread keeps no copy
      return [{ type: 'set-key', id, side, kid, key }, [key.buffer]];
    });
  }

  private request(make: (id: number) => ToWorker | [ToWorker, Transferable[]]): Promise<unknown> {
    if (this.closed) return Promise.reject(new SealcallError('DISPOSED', 'the frame protector is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const made = make(id);
      const [message, transfer] = Array.isArray(made) ? made : [made, []];
      this.post(message, transfer);
    });
  }

  private post(message: ToWorker, transfer: Transferable[] = []): void {
    try {
      this.worker.postMessage(message, transfer);
    } catch (error) {
      this.fail(new SealcallError('E2EE_UNAVAILABLE', 'could not reach the frame-encryption worker', { cause: error }));
    }
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'done': {
        const pending = this.take(message.id);
        if (!pending) return;
        if (message.error) pending.reject(keyError(message.error));
        else pending.resolve(undefined);
        return;
      }
      case 'counters':
        this.take(message.id)?.resolve({ send: message.send, receive: message.receive });
        return;
      case 'decrypt-ok':
        this.decrypted = true;
        for (const waiter of this.waiters) waiter.resolve(undefined);
        this.waiters.clear();
        return;
      case 'drops':
        this.hooks.onDrops?.(message.side, message.counters);
    }
  }

  private take(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending;
  }

  private fail(error: SealcallError): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    this.rejectAll(error);
    this.worker.terminate();
    this.hooks.onError?.(error);
  }

  private rejectAll(error: SealcallError): void {
    for (const pending of [...this.pending.values(), ...this.waiters]) pending.reject(error);
    this.pending.clear();
    this.waiters.clear();
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: SealcallError): void;
}

function keyError(code: ErrorCode): SealcallError {
  return new SealcallError(code, 'the frame-encryption worker refused the key');
}
