import type { FrameCounters } from '../crypto/frame/types.js';
import type { FrameProtector, FrameTransformApi } from '../session/types.js';

const zero = (): FrameCounters => ({
  encrypted: 0,
  decrypted: 0,
  dropped: { 'no-key': 0, 'unknown-kid': 0, replay: 0, auth: 0, malformed: 0, 'counter-exhausted': 0 },
});

/**
 * A frame protector that transforms nothing and records what it is asked to do: the keys it
 * receives (copies), the senders and receivers it is attached to. For testing an integration
 * where no insertable streams exist (Node, unit tests). Not encryption.
 */
export class FakeFrameProtector implements FrameProtector {
  /** Every protector made by {@link FakeFrameProtector.factory}, in order. */
  static readonly made: FakeFrameProtector[] = [];

  readonly api: FrameTransformApi = 'script-transform';
  readonly rtcConfiguration: Record<string, unknown> = {};
  readonly sendKeys: { kid: number; key: Uint8Array }[] = [];
  readonly receiveKeys: { kid: number; key: Uint8Array }[] = [];
  readonly protectedSenders: string[] = [];
  readonly protectedReceivers: string[] = [];
  closed = false;
  private waiters: { count: number; resolve: () => void }[] = [];

  /**
   * @param options.verify - what `verified()` does: resolve (default) or reject with an error.
   */
  constructor(private readonly options: { verify?: Error } = {}) {}

  /** A `frameProtector` option for `CallClient.create` that makes fakes and records them. */
  static factory(options: { verify?: Error } = {}): () => FakeFrameProtector {
    return () => {
      const protector = new FakeFrameProtector(options);
      FakeFrameProtector.made.push(protector);
      return protector;
    };
  }

  protectSender(_sender: RTCRtpSender, kind: 'audio' | 'video'): void {
    this.protectedSenders.push(kind);
  }

  protectReceiver(_receiver: RTCRtpReceiver, kind: 'audio' | 'video'): void {
    this.protectedReceivers.push(kind);
  }

  async setSendKey(kid: number, baseKey: Uint8Array): Promise<void> {
    this.sendKeys.push({ kid, key: baseKey.slice() });
  }

  async setReceiveKey(kid: number, baseKey: Uint8Array): Promise<void> {
    this.receiveKeys.push({ kid, key: baseKey.slice() });
    for (const w of this.waiters.filter((w) => this.receiveKeys.length >= w.count)) w.resolve();
    this.waiters = this.waiters.filter((w) => this.receiveKeys.length < w.count);
  }

  /** Resolves once `count` receive keys have been installed. */
  receivedKeys(count: number): Promise<void> {
    if (this.receiveKeys.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async counters(): Promise<{ send: FrameCounters; receive: FrameCounters }> {
    return { send: zero(), receive: zero() };
  }

  verified(): Promise<void> {
    return this.options.verify ? Promise.reject(this.options.verify) : Promise.resolve();
  }

  close(): void {
    this.closed = true;
  }
}
