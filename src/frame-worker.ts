/**
 * The frame-encryption worker: one per peer connection, started by the frame protector as a
 * module worker (`dist/frame-worker.js`, `dist/browser/frame-worker.js`, or the
 * `sealcall/frame-worker` export for bundlers). It receives frames either through
 * `RTCRtpScriptTransform` (`rtctransform` events) or as encoded streams transferred from the
 * page (Chromium's legacy API), and keys by message. Keys never leave it again.
 *
 * @packageDocumentation
 */
import { ready } from './crypto/sodium.js';
import { FramePipeline } from './session/worker/frame-pipeline.js';
import type { FromWorker, ToWorker, TransformTarget } from './session/worker/protocol.js';
import type { EncodedFrame } from './session/worker/frame-kind.js';
import { isSealcallError } from './errors.js';

/** The worker-global API used here (the project compiles against DOM typings, not WebWorker). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
  addEventListener(type: 'rtctransform', listener: (event: { transformer: ScriptTransformer }) => void): void;
  close(): void;
}

/** `RTCRtpScriptTransformer`, as far as it is used. */
interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: unknown;
  generateKeyFrame?(): Promise<unknown>;
  sendKeyFrameRequest?(): Promise<unknown>;
}

const scope = globalThis as unknown as WorkerScope;
const pipeline = new FramePipeline((message) => scope.postMessage(message));
/**
 * libsodium loads once; messages are handled strictly in order after it. Should it fail to load
 * (a CSP without 'wasm-unsafe-eval'), messages are still handled: key requests then answer with
 * an error code instead of never answering, and frames keep being dropped.
 */
let queue: Promise<unknown> = ready().catch(() => undefined);

scope.addEventListener('message', (event) => {
  const message = event.data;
  queue = queue.then(() => handle(message)).catch(() => undefined);
});

// Script transforms: the options object the page passed to `new RTCRtpScriptTransform`. Each
// is connected in turn with the messages, as encoded streams are (`attach`): frames wait in the
// transform until libsodium has loaded and what the page posted before it (init, keys) is done,
// instead of being dropped for want of a key meanwhile (a slow load on a busy machine).
scope.addEventListener('rtctransform', ({ transformer }) => {
  const target = transformTarget(transformer.options);
  if (!target) return; // not ours: leave it untouched (it then passes no frames: fail closed)
  const keyFrame =
    target.side === 'send'
      ? transformer.generateKeyFrame && (() => transformer.generateKeyFrame!())
      : transformer.sendKeyFrameRequest && (() => transformer.sendKeyFrameRequest!());
  queue = queue.then(() => connect(transformer.readable, transformer.writable, target, keyFrame)).catch(() => undefined);
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      pipeline.init(message.suite, message.dropReportMs);
      return;
    case 'set-key':
      try {
        await pipeline.setKey(message.side, message.kid, message.key);
        scope.postMessage({ type: 'done', id: message.id });
      } catch (error) {
        // Only the code and our own message cross back: never anything derived from the key.
        const code = isSealcallError(error) ? error.code : undefined;
        scope.postMessage({ type: 'done', id: message.id, error: code ?? 'E2EE_UNAVAILABLE' });
      }
      return;
    case 'get-counters':
      scope.postMessage({ type: 'counters', id: message.id, send: pipeline.counters('send'), receive: pipeline.counters('receive') });
      return;
    case 'attach': {
      const target = transformTarget(message);
      if (target) connect(message.readable as ReadableStream<EncodedFrame>, message.writable as WritableStream<EncodedFrame>, target);
      return;
    }
    case 'close':
      pipeline.dispose();
      scope.close();
  }
}

function connect(
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  target: TransformTarget,
  keyFrame?: () => Promise<unknown>,
): void {
  // The pipe ends with an error when the connection closes; that is the normal end.
  readable.pipeThrough(pipeline.transform(target, keyFrame)).pipeTo(writable).catch(() => undefined);
}

function transformTarget(value: unknown): TransformTarget | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { side, kind } = value as Partial<TransformTarget>;
  if ((side !== 'send' && side !== 'receive') || (kind !== 'audio' && kind !== 'video')) return undefined;
  return { side, kind };
}
