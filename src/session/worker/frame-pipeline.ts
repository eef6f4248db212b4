import { createFrameCounters, FrameReceiver, FrameSender } from '../../crypto/frame/index.js';
import type { FrameCounters, FrameDropReason, FrameSuiteName } from '../../crypto/frame/types.js';
import { frameKindOf, type EncodedFrame } from './frame-kind.js';
import type { FrameSide, FromWorker, TransformTarget } from './protocol.js';

/** A key-frame action of one transform (`generateKeyFrame` / `sendKeyFrameRequest`). */
type KeyFrameAction = () => Promise<unknown> | undefined;

/**
 * The frame crypto of one peer connection, inside its worker: ONE {@link FrameSender} shared by
 * every outgoing transform and ONE {@link FrameReceiver} shared by every incoming one.
 *
 * Sharing is a security requirement, not an economy. SFrame's nonce is salt XOR counter, so two
 * senders with the same key and their own counters would reuse nonces; and one receiver (one
 * replay window per key id) keeps an audio frame from being replayed into the video stream.
 *
 * Nothing here throws into a transform: every failure drops the frame and counts it.
 */
export class FramePipeline {
  private sender: FrameSender | undefined;
  private receiver: FrameReceiver | undefined;
  /** Drops decided here rather than by the frame crypto (no crypto yet, unprotectable codec, bug). */
  private readonly ownDrops: Record<FrameSide, Record<FrameDropReason, number>> = { send: noDrops(), receive: noDrops() };
  private readonly keyFrameActions: Record<FrameSide, Set<KeyFrameAction>> = { send: new Set(), receive: new Set() };
  private readonly dropReports: Record<FrameSide, DropReport> = { send: { last: -Infinity }, receive: { last: -Infinity } };
  private dropReportMs = 1000;
  private decryptedOnce = false;
  private disposed = false;

  constructor(private readonly notify: (message: FromWorker) => void) {}

  /** Creates the crypto of both directions. libsodium must be loaded. */
  init(suite: FrameSuiteName, dropReportMs: number): void {
    if (this.sender || this.disposed) return;
    this.dropReportMs = dropReportMs;
    this.sender = new FrameSender(suite);
    this.receiver = new FrameReceiver(suite);
  }

  /**
   * Installs a base key for one direction, then asks for a key frame so the peer's decoder can
   * start over right away with frames under the new key.
   */
  async setKey(side: FrameSide, kid: number, key: Uint8Array): Promise<void> {
    const crypto = side === 'send' ? this.sender : this.receiver;
    if (!crypto) throw new Error('the frame worker was not initialised');
    try {
      await crypto.setKey(kid, key);
    } finally {
      key.fill(0); // the crypto keeps its own copy
    }
    for (const action of this.keyFrameActions[side]) {
      // Rejects when there is no active encoder/decoder yet: nothing to do then.
      action()?.catch(() => undefined);
    }
  }

  /** Counters of one direction, the frame crypto's plus the drops decided here. */
  counters(side: FrameSide): FrameCounters {
    const crypto = side === 'send' ? this.sender : this.receiver;
    const own = this.ownDrops[side];
    const base = crypto?.counters ?? createFrameCounters();
    const dropped = { ...base.dropped };
    for (const reason of Object.keys(own) as FrameDropReason[]) dropped[reason] = (dropped[reason] ?? 0) + own[reason];
    return { encrypted: base.encrypted, decrypted: base.decrypted, dropped };
  }

  /**
   * A stream transform for one sender or receiver. `keyFrame` is the transform's key-frame
   * action (script transforms only; the legacy API has none).
   */
  transform(target: TransformTarget, keyFrame?: KeyFrameAction): TransformStream<EncodedFrame, EncodedFrame> {
    const { side, kind } = target;
    if (keyFrame && kind === 'video') this.keyFrameActions[side].add(keyFrame);
    return new TransformStream<EncodedFrame, EncodedFrame>({
      transform: (frame, controller) => this.process(side, kind, frame, controller),
      flush: () => {
        if (keyFrame) this.keyFrameActions[side].delete(keyFrame);
      },
    });
  }

  /** Wipes the keys (the crypto disposes them) and stops reporting. */
  dispose(): void {
    this.disposed = true;
    this.sender?.dispose();
    this.receiver?.dispose();
    this.sender = this.receiver = undefined;
    for (const side of ['send', 'receive'] as const) {
      clearTimeout(this.dropReports[side].timer);
      this.keyFrameActions[side].clear();
    }
  }

  // ---------------------------------------------------------------------------------------------

  private async process(
    side: FrameSide,
    kind: TransformTarget['kind'],
    frame: EncodedFrame,
    controller: TransformStreamDefaultController<EncodedFrame>,
  ): Promise<void> {
    try {
      const data = new Uint8Array(frame.data);
      // An empty frame (video `empty`) carries no media: nothing to hide, nothing to check.
      if (data.byteLength === 0) return controller.enqueue(frame);
      const frameKind = frameKindOf(frame, kind);
      if (!frameKind) return this.ownDrop(side, 'malformed');
      const out =
        side === 'send'
          ? this.sender && (await this.sender.encrypt(data, frameKind))
          : this.receiver && (await this.receiver.decrypt(data, frameKind));
      if (out === undefined) return this.ownDrop(side, 'no-key'); // crypto not created yet: fail closed
      if (out === null) return this.reportDrops(side); // counted by the frame crypto
      frame.data = exactBuffer(out);
      controller.enqueue(frame);
      if (side === 'receive' && !this.decryptedOnce) {
        this.decryptedOnce = true;
        this.notify({ type: 'decrypt-ok' });
      }
    } catch {
      // The crypto promises never to throw, and enqueue only throws once the stream is torn
      // down; either way the frame is gone and the transform must survive.
      this.ownDrop(side, 'malformed');
    }
  }

  private ownDrop(side: FrameSide, reason: FrameDropReason): void {
    this.ownDrops[side][reason] += 1;
    this.reportDrops(side);
  }

  /** Reports drops at most once per `dropReportMs` per side: the first at once, the rest batched. */
  private reportDrops(side: FrameSide): void {
    const report = this.dropReports[side];
    if (this.disposed || report.timer !== undefined) return;
    const wait = report.last + this.dropReportMs - performance.now();
    const send = (): void => {
      report.timer = undefined;
      report.last = performance.now();
      if (!this.disposed) this.notify({ type: 'drops', side, counters: this.counters(side) });
    };
    if (wait <= 0) send();
    else report.timer = setTimeout(send, wait);
  }
}

interface DropReport {
  last: number;
  timer?: ReturnType<typeof setTimeout>;
}

function noDrops(): Record<FrameDropReason, number> {
  return createFrameCounters().dropped;
}

/** `frame.data` must be an ArrayBuffer holding exactly the frame. */
function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}
