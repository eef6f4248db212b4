import type { CallKitAction } from './types.js';

/** The kinds of action the OS performs. */
export type CallKitActionKind = 'start' | 'answer' | 'end' | 'set-muted' | 'set-held';

interface Entry {
  readonly kind: CallKitActionKind;
  readonly uuid: string;
  readonly action: CallKitAction;
}

/**
 * The OS actions not settled yet, by UUID (the seed's "pending completion tracking"). Every
 * action goes through here, so each is fulfilled or failed exactly once, and whatever is still
 * pending when its call ends, the provider resets or the coordinator is disposed gets settled
 * instead of dangling until CallKit times it out.
 */
export class PendingActions {
  private readonly byUuid = new Map<string, Set<Entry>>();

  /** @param onError - called when the OS's own fulfil/fail throws; settling goes on regardless. */
  constructor(private readonly onError: (error: unknown) => void) {}

  /** Starts tracking `action` under `uuid` (already normalised). */
  add(kind: CallKitActionKind, uuid: string, action: CallKitAction): void {
    let entries = this.byUuid.get(uuid);
    if (!entries) this.byUuid.set(uuid, (entries = new Set()));
    entries.add({ kind, uuid, action });
  }

  /** Settles an action right away (one that needed no waiting), still exactly once. */
  settleNow(action: CallKitAction, ok: boolean): void {
    this.run(action, ok);
  }

  /** Whether an action of `kind` is pending for `uuid`. */
  has(uuid: string, kind: CallKitActionKind): boolean {
    return [...(this.byUuid.get(uuid) ?? [])].some((e) => e.kind === kind);
  }

  /** Fulfils every pending action of `kind` for `uuid`. */
  fulfill(uuid: string, kind: CallKitActionKind): void {
    this.settle(uuid, (e) => e.kind === kind, true);
  }

  /** Fails every pending action of `kind` (or of any kind) for `uuid`. */
  fail(uuid: string, kind?: CallKitActionKind): void {
    this.settle(uuid, (e) => kind === undefined || e.kind === kind, false);
  }

  /** Fails every pending action of every call. */
  failAll(): void {
    for (const uuid of [...this.byUuid.keys()]) this.fail(uuid);
  }

  /** How many actions are pending. */
  get size(): number {
    let n = 0;
    for (const entries of this.byUuid.values()) n += entries.size;
    return n;
  }

  private settle(uuid: string, match: (entry: Entry) => boolean, ok: boolean): void {
    const entries = this.byUuid.get(uuid);
    if (!entries) return;
    for (const entry of [...entries]) {
      if (!match(entry)) continue;
      // Removed before running, so a re-entrant settle from inside fulfil()/fail() is a no-op.
      entries.delete(entry);
      this.run(entry.action, ok);
    }
    if (entries.size === 0 && this.byUuid.get(uuid) === entries) this.byUuid.delete(uuid);
  }

  private run(action: CallKitAction, ok: boolean): void {
    try {
      if (ok) action.fulfill();
      else action.fail();
    } catch (error) {
      this.onError(error);
    }
  }
}
