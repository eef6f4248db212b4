/**
 * The main-thread half of the frame protector, in Node: detection where no frame API exists, and
 * the protector's requests, failures and key handling against a scripted fake worker. (The real
 * worker and real frames are in frame-protector.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSealcallError } from '../../src/errors.js';
import { createFrameProtector, detectFrameTransformApi } from '../../src/session/frame-protector.js';
import type { FromWorker, ToWorker } from '../../src/session/worker/protocol.js';

/** A Worker stand-in that records what it is sent and answers like the real one (or not at all). */
class FakeWorker extends EventTarget {
  static last: FakeWorker | undefined;
  readonly received: { message: ToWorker; transfer: Transferable[] }[] = [];
  terminated = false;
  /** Answer requests (set false to leave them pending). */
  answer = true;

  constructor(
    readonly url: string | URL,
    readonly options: WorkerOptions,
  ) {
    super();
    FakeWorker.last = this;
  }

  postMessage(message: ToWorker, transfer: Transferable[] = []): void {
    this.received.push({ message, transfer });
    if (!this.answer) return;
    if (message.type === 'set-key') this.reply({ type: 'done', id: message.id });
    if (message.type === 'get-counters') this.reply({ type: 'counters', id: message.id, send: counters(3), receive: counters(2) });
  }

  reply(message: FromWorker): void {
    queueMicrotask(() => this.dispatchEvent(new MessageEvent('message', { data: message })));
  }

  fail(): void {
    this.dispatchEvent(new Event('error', { cancelable: true }));
  }

  terminate(): void {
    this.terminated = true;
  }
}

function counters(n: number) {
  return { encrypted: n, decrypted: n, dropped: { 'no-key': 0, 'unknown-kid': 0, replay: 0, auth: 0, malformed: 0, 'counter-exhausted': 0 } };
}

/** Pretends to be a browser with `RTCRtpScriptTransform` (or only encoded streams) and workers. */
function fakeBrowser(api: 'script-transform' | 'encoded-streams'): void {
  vi.stubGlobal('Worker', FakeWorker);
  if (api === 'script-transform') vi.stubGlobal('RTCRtpScriptTransform', class {});
  else vi.stubGlobal('RTCRtpSender', class { createEncodedStreams(): void {} });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  FakeWorker.last = undefined;
});

describe('where no frame API exists (Node, @roamhq/wrtc, React Native)', () => {
  it('detects none and makes no protector', () => {
    expect(detectFrameTransformApi()).toBeUndefined();
    expect(createFrameProtector({ suite: 'chacha20poly1305' })).toBeUndefined();
    expect(createFrameProtector({ suite: 'chacha20poly1305', api: 'encoded-streams', workerUrl: 'x.js' })).toBeUndefined();
  });

  it('rejects an unknown suite as a programming error', () => {
    expect(() => createFrameProtector({ suite: 'rot13' as never })).toThrowSealcallError();
  });
});

describe('detection and setup', () => {
  it('prefers RTCRtpScriptTransform and needs no special connection settings for it', () => {
    fakeBrowser('script-transform');
    vi.stubGlobal('RTCRtpSender', class { createEncodedStreams(): void {} });
    expect(detectFrameTransformApi()).toBe('script-transform');
    const protector = createFrameProtector({ suite: 'aes128gcm', workerUrl: '/w.js' })!;
    expect(protector.api).toBe('script-transform');
    expect(protector.rtcConfiguration).toEqual({});
    expect(FakeWorker.last!.url).toBe('/w.js');
    expect(FakeWorker.last!.options.type).toBe('module');
    expect(FakeWorker.last!.received[0]!.message).toEqual({ type: 'init', suite: 'aes128gcm', dropReportMs: 1000 });
  });

  it('falls back to encoded streams, which the connection must ask for', () => {
    fakeBrowser('encoded-streams');
    expect(detectFrameTransformApi()).toBe('encoded-streams');
    const protector = createFrameProtector({ suite: 'chacha20poly1305', workerUrl: '/w.js' })!;
    expect(protector.rtcConfiguration).toEqual({ encodedInsertableStreams: true });
  });

  it('finds the worker next to its own module by default', () => {
    fakeBrowser('script-transform');
    createFrameProtector({ suite: 'chacha20poly1305' });
    expect(String(FakeWorker.last!.url)).toMatch(/\/frame-worker\.js$/);
  });

  it('makes no protector for an API this runtime lacks, or when the worker cannot start', () => {
    fakeBrowser('encoded-streams');
    expect(createFrameProtector({ suite: 'chacha20poly1305', api: 'script-transform', workerUrl: '/w.js' })).toBeUndefined();
    vi.stubGlobal('Worker', class { constructor() { throw new Error('blocked by CSP'); } });
    expect(createFrameProtector({ suite: 'chacha20poly1305', workerUrl: '/w.js' })).toBeUndefined();
  });
});

describe('the protector', () => {
  function make() {
    fakeBrowser('script-transform');
    const protector = createFrameProtector({ suite: 'chacha20poly1305', workerUrl: '/w.js' })!;
    return { protector, worker: FakeWorker.last! };
  }

  it('sends keys as transferred copies, keeping no copy and leaving the caller\'s key alone', async () => {
    const { protector, worker } = make();
    const key = new Uint8Array(32).fill(7);
    await protector.setSendKey(0, key);
    await protector.setReceiveKey(3, key);
    const sent = worker.received.filter((r) => r.message.type === 'set-key');
    expect(sent.map((r) => [(r.message as { side: string }).side, (r.message as { kid: number }).kid])).toEqual([
      ['send', 0],
      ['receive', 3],
    ]);
    for (const { message, transfer } of sent) {
      const copy = (message as { key: Uint8Array }).key;
      expect(copy).not.toBe(key);
      expect(transfer).toEqual([copy.buffer]);
    }
    expect(key.every((b) => b === 7)).toBe(true);
  });

  it('refuses bad key ids and keys before they reach the worker', async () => {
    const { protector } = make();
    await expect(protector.setSendKey(-1, new Uint8Array(32))).rejects.toSatisfy((e) => isSealcallError(e, 'INVALID_ARGUMENT'));
    await expect(protector.setSendKey(0, new Uint8Array(0))).rejects.toSatisfy((e) => isSealcallError(e, 'BAD_KEY'));
  });

  it('reports the worker\'s refusal of a key with its code', async () => {
    const { protector, worker } = make();
    worker.answer = false;
    const result = protector.setSendKey(1, new Uint8Array(32));
    const id = (worker.received.at(-1)!.message as { id: number }).id;
    worker.reply({ type: 'done', id, error: 'INVALID_ARGUMENT' });
    await expect(result).rejects.toSatisfy((e) => isSealcallError(e, 'INVALID_ARGUMENT'));
  });

  it('reads both directions\' counters from the worker', async () => {
    const { protector } = make();
    expect(await protector.counters()).toEqual({ send: counters(3), receive: counters(2) });
  });

  it('verifies on the worker\'s first decrypted frame, or fails with E2EE_UNAVAILABLE', async () => {
    const { protector, worker } = make();
    vi.useFakeTimers();
    const timedOut = protector.verified(1000);
    const check = expect(timedOut).rejects.toSatisfy((e) => isSealcallError(e, 'E2EE_UNAVAILABLE'));
    await vi.advanceTimersByTimeAsync(1000);
    await check;
    vi.useRealTimers();
    const verified = protector.verified(60_000);
    worker.reply({ type: 'decrypt-ok' });
    await expect(verified).resolves.toBeUndefined();
    await expect(protector.verified(1)).resolves.toBeUndefined(); // stays verified
  });

  it('passes throttled drop reports on', async () => {
    fakeBrowser('script-transform');
    const onDrops = vi.fn();
    createFrameProtector({ suite: 'chacha20poly1305', workerUrl: '/w.js', onDrops });
    const dropped = { ...counters(0), dropped: { ...counters(0).dropped, auth: 4 } };
    FakeWorker.last!.reply({ type: 'drops', side: 'receive', counters: dropped });
    await Promise.resolve();
    await Promise.resolve();
    expect(onDrops).toHaveBeenCalledWith('receive', dropped);
  });

  it('fails everything pending, and what follows, when the worker dies', async () => {
    fakeBrowser('script-transform');
    const onError = vi.fn();
    const protector = createFrameProtector({ suite: 'chacha20poly1305', workerUrl: '/w.js', onError })!;
    const worker = FakeWorker.last!;
    worker.answer = false;
    const pending = protector.counters();
    const verified = protector.verified(60_000);
    worker.fail();
    for (const promise of [pending, verified, protector.setSendKey(0, new Uint8Array(32))]) {
      await expect(promise).rejects.toSatisfy((e) => isSealcallError(e, 'E2EE_UNAVAILABLE'));
    }
    expect(worker.terminated).toBe(true);
    expect(onError).toHaveBeenCalledOnce();
  });

  it('closes once: tells the worker to wipe its keys, then terminates it', async () => {
    const { protector, worker } = make();
    vi.useFakeTimers();
    worker.answer = false;
    const pending = protector.counters();
    protector.close();
    protector.close();
    await expect(pending).rejects.toSatisfy((e) => isSealcallError(e, 'DISPOSED'));
    await expect(protector.counters()).rejects.toSatisfy((e) => isSealcallError(e, 'DISPOSED'));
    expect(worker.received.filter((r) => r.message.type === 'close')).toHaveLength(1);
    expect(worker.terminated).toBe(false); // it gets a moment to wipe
    await vi.advanceTimersByTimeAsync(1000);
    expect(worker.terminated).toBe(true);
  });
});
