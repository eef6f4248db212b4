/** Named one-shot timers that a call owns; `clearAll` on teardown leaves nothing running. */
export class Timers<Name extends string> {
  private readonly running = new Map<Name, ReturnType<typeof setTimeout>>();

  /** Starts (or restarts) the timer `name`. */
  set(name: Name, ms: number, fn: () => void): void {
    this.clear(name);
    this.running.set(
      name,
      setTimeout(() => {
        this.running.delete(name);
        fn();
      }, Math.max(0, ms)),
    );
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
