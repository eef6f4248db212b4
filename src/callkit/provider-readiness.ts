import { SealcallError } from '../errors.js';

/** The seed's readiness timeout: a provider not ready after 3 s is treated as broken. */
export const DEFAULT_READY_TIMEOUT_MS = 3_000;

/**
 * Tracks whether the OS provider can take reports. Reports made while it is getting ready are
 * queued and sent, in order, once it is; a provider that is not ready within the timeout is
 * reported once as `CALLKIT_NOT_READY` and its queued reports are dropped (the app falls back to
 * its in-app UI). A provider that turns ready later after all recovers for new calls.
 */
export class ProviderReadiness {
  private status: 'waiting' | 'ready' | 'failed' = 'waiting';
  private queue: (() => void)[] = [];
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current!: { promise: Promise<void>; resolve: () => void; reject: (error: SealcallError) => void };

  /**
   * @param source - the provider's readiness (undefined: ready at once); asked again on `restart()`.
   * @param onFailed - told once per attempt that fails.
   */
  constructor(
    private readonly source: () => PromiseLike<unknown> | undefined,
    private readonly timeoutMs: number,
    private readonly onFailed: (error: SealcallError) => void,
  ) {
    this.restart();
  }

  /** `'waiting'`, `'ready'` or `'failed'`. */
  get state(): 'waiting' | 'ready' | 'failed' {
    return this.status;
  }

  /** Resolves when ready; rejects with `CALLKIT_NOT_READY` if the current attempt failed. */
  whenReady(): Promise<void> {
    return this.current.promise;
  }

  /** Waits for readiness again (after a provider reset, which may recreate the provider). */
  restart(): void {
    const generation = ++this.generation;
    clearTimeout(this.timer);
    // Whoever already waits on an attempt in progress keeps waiting, on the new attempt.
    if (this.status !== 'waiting' || generation === 1) this.current = deferred();
    this.status = 'waiting';
    // Reports queued before a reset were about calls the reset ended.
    this.queue = [];
    let pending: PromiseLike<unknown> | undefined;
    try {
      pending = this.source();
    } catch (error) {
      this.fail(generation, error);
      return;
    }
    if (pending === undefined) {
      this.succeed(generation);
      return;
    }
    this.timer = setTimeout(() => this.fail(generation), this.timeoutMs);
    pending.then(
      () => this.succeed(generation),
      (error: unknown) => this.fail(generation, error),
    );
  }

  /** Runs `report` now if ready, later if getting ready, never if readiness failed. */
  run(report: () => void): void {
    if (this.status === 'ready') report();
    else if (this.status === 'waiting') this.queue.push(report);
  }

  /** Stops waiting and drops queued reports. */
  dispose(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.queue = [];
  }

  private succeed(generation: number): void {
    if (generation !== this.generation || this.status === 'ready') return;
    clearTimeout(this.timer);
    const late = this.status === 'failed';
    this.status = 'ready';
    if (late) this.current = deferred();
    this.current.resolve();
    const queued = this.queue.splice(0);
    for (const report of queued) report();
  }

  private fail(generation: number, cause?: unknown): void {
    if (generation !== this.generation || this.status !== 'waiting') return;
    clearTimeout(this.timer);
    this.status = 'failed';
    this.queue = [];
    const error = new SealcallError(
      'CALLKIT_NOT_READY',
      cause === undefined ? `the CallKit provider was not ready within ${this.timeoutMs} ms` : 'the CallKit provider failed to start',
      cause === undefined ? undefined : { cause },
    );
    this.current.reject(error);
    this.onFailed(error);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: SealcallError) => void } {
  let resolve!: () => void;
  let reject!: (error: SealcallError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting; a failure is also reported through onFailed, so never unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
