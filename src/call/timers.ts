/** Named one-shot timers that a call owns; `clearAll` on teardown leaves nothing running. */
export class Timers<Name extends string> {
  private readonly running = new Map<Name, ReturnType<typeof setTimeout>>();

  /**
   * Starts (or restarts) the timer `name`. With `unref`, a pending timer does not keep a Node
   * process alive (for periodic work nobody waits on, such as quality sampling).
   */
  set(name: Name, ms: number, fn: () => void, options: { unref?: boolean } = {}): void {
    this.clear(name);
    const timer = setTimeout(() => {
      this.running.delete(name);
      fn();
    }, Math.max(0, ms));
    // Browsers return a number, which has nothing to unref.
    if (options.unref && typeof timer === 'object') timer.unref();
    this.running.set(name, timer);
  }

  has(name: Name): boolean {
    return this.running.has(name);
  }

  clear(name: Name): void {
    const timer = this.running.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.running.delete(name);
  }

  clearAll(): void {
    for (const timer of this.running.values()) clearTimeout(timer);
    this.running.clear();
  }
}
