import { SealcallError } from '../errors.js';
import { FRAME_SUITES, type FrameSuiteName } from '../crypto/frame/types.js';
import type { FrameProtector, FrameTransformApi } from './types.js';
import { WorkerFrameProtector, type FrameProtectorHooks } from './worker-frame-protector.js';

/** Options of {@link createFrameProtector}. */
export interface FrameProtectorOptions extends FrameProtectorHooks {
  /** The suite both peers agreed on. */
  suite: FrameSuiteName;
  /**
   * Where the frame worker script is (`sealcall/frame-worker`, i.e. `dist/frame-worker.js`, or
   * `dist/browser/frame-worker.js`). Default: `frame-worker.js` next to the module that holds
   * this code, found through `import.meta.url`. That works for the ESM build served as is and for
   * bundlers that understand `new Worker(new URL(…, import.meta.url))` (webpack 5, Vite, Parcel,
   * esbuild plugins). The CommonJS build has no `import.meta`: pass the URL there, or frame
   * encryption is unavailable.
   */
  workerUrl?: string | URL;
  /** Force an API (tests; browsers with both). Default {@link detectFrameTransformApi}. */
  api?: FrameTransformApi;
}

/**
 * Which API this runtime offers to reach encoded frames: the standard `RTCRtpScriptTransform`
 * (Safari, Firefox, Chromium ≥ 141) first, else Chromium's legacy `createEncodedStreams`. Neither
 * exists in Node's `@roamhq/wrtc` or react-native-webrtc: undefined there.
 */
export function detectFrameTransformApi(): FrameTransformApi | undefined {
  if (supports('script-transform')) return 'script-transform';
  if (supports('encoded-streams')) return 'encoded-streams';
  return undefined;
}

/**
 * A {@link FrameProtector} for ONE peer connection, running its crypto in a dedicated module
 * worker; undefined when this runtime cannot transform frames or no worker can be started (the
 * call then falls back to DTLS-SRTP, or fails with `E2EE_UNAVAILABLE` when frame encryption is
 * required). A worker script that fails to load later is reported through `onError` and by
 * `verified()` rejecting; frames never flow unprotected meanwhile.
 *
 * The caller owns the protector: close it when the connection is gone.
 *
 * @throws SealcallError `INVALID_ARGUMENT` for an unknown suite.
 */
export function createFrameProtector(options: FrameProtectorOptions): FrameProtector | undefined {
  if (!Object.hasOwn(FRAME_SUITES, options.suite)) {
    throw new SealcallError('INVALID_ARGUMENT', 'unknown frame-encryption suite');
  }
  const api = options.api ?? detectFrameTransformApi();
  if (!api || !supports(api) || typeof Worker !== 'function') return undefined;
  let worker: Worker;
  try {
    worker = startWorker(options.workerUrl);
  } catch {
    return undefined; // no URL (CommonJS), a blocked origin, a CSP refusal
  }
  const { onDrops, onError } = options;
  return new WorkerFrameProtector(worker, api, options.suite, { ...(onDrops ? { onDrops } : {}), ...(onError ? { onError } : {}) });
}

function supports(api: FrameTransformApi): boolean {
  const g = globalThis as { RTCRtpScriptTransform?: unknown; RTCRtpSender?: { prototype: { createEncodedStreams?: unknown } } };
  if (api === 'script-transform') return typeof g.RTCRtpScriptTransform === 'function';
  return typeof g.RTCRtpSender?.prototype.createEncodedStreams === 'function';
}

const WORKER_OPTIONS: WorkerOptions = { type: 'module', name: 'sealcall-frame-worker' };

function startWorker(url: string | URL | undefined): Worker {
  if (url !== undefined) return new Worker(url, WORKER_OPTIONS);
  // Written exactly in the shape bundlers look for, so they emit the worker as its own chunk.
  // In the CommonJS build `import.meta.url` is undefined and `new URL` throws.
  return new Worker(new URL('./frame-worker.js', import.meta.url), { type: 'module', name: 'sealcall-frame-worker' });
}
