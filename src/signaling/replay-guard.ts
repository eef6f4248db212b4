import { SealcallError } from '../errors.js';
import { sodium } from '../crypto/sodium.js';
import { LIMITS } from '../protocol/limits.js';

/**
 * Where a client keeps its replay state across restarts (`CallClientOptions.replayStore`): a
 * few hundred bytes, written after every invitation accepted and before it rings. Without one,
 * the state lives only as long as the process.
 */
export interface ReplayStore {
  /** The state last saved, or undefined if none. */
  load(): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Replaces the saved state. */
  save(state: Uint8Array): void | Promise<void>;
}

/** Options of {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  now: () => number;
  /** Invitations remembered per contact; older ones are refused by the contact's high-water mark. Default 8. */
  perContact?: number;
  /** Contacts with live state at once; beyond it new contacts' invitations are refused. Default 4096. */
  maxContacts?: number;
}

interface ContactState {
  /** Invitations sent at or before this (the contact's clock, ms) are refused. */
  floor: number;
  /** The invitations accepted above the floor. */
  recent: { id: string; sentAt: number }[];
}

/** How long an invitation can pass the freshness check: state older than this is void. */
const HORIZON_MS = LIMITS.inviteLifetimeMs + 2 * LIMITS.clockSkewMs;
const FORMAT = 1;
const ID_BYTES = 16;
const CONTACT_BYTES = 16;

/**
 * Refuses invitations accepted before, by contact: for each contact a high-water mark of send
 * times and the few invitations accepted above it. A contact fills only its own budget, so no
 * one can evict another's entries; an entry leaves the budget by raising the contact's mark, so
 * what it named stays refused. State older than an invitation's longest possible freshness is
 * dropped: the freshness check refuses those anyway. The state is small and serializable, for a
 * {@link ReplayStore}.
 */
export class ReplayGuard {
  private readonly contacts = new Map<string, ContactState>();
  private readonly now: () => number;
  private readonly perContact: number;
  private readonly maxContacts: number;

  constructor(options: ReplayGuardOptions, saved?: Uint8Array) {
    this.now = options.now;
    this.perContact = options.perContact ?? 8;
    this.maxContacts = options.maxContacts ?? 4096;
    if (saved) this.restore(saved);
  }

  /** Whether invitation `id` from `contactKey` was admitted and is still remembered (a cheap check before opening it). */
  has(contactKey: Uint8Array, id: Uint8Array): boolean {
    const idHex = sodium().to_hex(id.subarray(0, ID_BYTES));
    return this.contacts.get(contactId(contactKey))?.recent.some((r) => r.id === idHex) ?? false;
  }

  /**
   * Records invitation `id` (its ephemeral key) from `contactKey`, sent at `sentAt`. Throws
   * `REPLAYED` if it was recorded before or is at or below the contact's mark, `RATE_LIMITED`
   * when too many contacts have live state.
   */
  admit(contactKey: Uint8Array, id: Uint8Array, sentAt: number): void {
    this.prune();
    const contact = contactId(contactKey);
    const idHex = sodium().to_hex(id.subarray(0, ID_BYTES));
    let state = this.contacts.get(contact);
    if (state && (sentAt <= state.floor || state.recent.some((r) => r.id === idHex))) {
      throw new SealcallError('REPLAYED', 'invitation was accepted before');
    }
    if (!state) {
      if (this.contacts.size >= this.maxContacts) throw new SealcallError('RATE_LIMITED', 'too many contacts are inviting at once');
      state = { floor: -Infinity, recent: [] };
      this.contacts.set(contact, state);
    }
    state.recent.push({ id: idHex, sentAt });
    state.recent.sort((a, b) => a.sentAt - b.sentAt);
    while (state.recent.length > this.perContact) state.floor = Math.max(state.floor, state.recent.shift()!.sentAt);
  }

  /** Contacts with live state. */
  get size(): number {
    this.prune();
    return this.contacts.size;
  }

  /**
   * The state as bytes: format (1), contact count (u32), then per contact its key hash (16),
   * mark (f64, -1 for none), entry count (u8) and entries (id 16, send time f64). Big-endian.
   */
  serialize(): Uint8Array {
    this.prune();
    let length = 5;
    for (const state of this.contacts.values()) length += CONTACT_BYTES + 9 + state.recent.length * (ID_BYTES + 8);
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    out[0] = FORMAT;
    view.setUint32(1, this.contacts.size);
    let at = 5;
    const s = sodium();
    for (const [contact, state] of this.contacts) {
      out.set(s.from_hex(contact), at);
      view.setFloat64(at + CONTACT_BYTES, Number.isFinite(state.floor) ? state.floor : -1);
      out[at + CONTACT_BYTES + 8] = state.recent.length;
      at += CONTACT_BYTES + 9;
      for (const entry of state.recent) {
        out.set(s.from_hex(entry.id), at);
        view.setFloat64(at + ID_BYTES, entry.sentAt);
        at += ID_BYTES + 8;
      }
    }
    return out;
  }

  /** Reads {@link serialize}d state; `BAD_MESSAGE` if it is malformed (nothing is taken then). */
  private restore(bytes: Uint8Array): void {
    const fail = (why: string) => new SealcallError('BAD_MESSAGE', `replay state is malformed: ${why}`);
    if (!(bytes instanceof Uint8Array) || bytes.length < 5 || bytes[0] !== FORMAT) throw fail('bad header');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const count = view.getUint32(1);
    if (count > this.maxContacts) throw fail('too many contacts');
    const s = sodium();
    const read = new Map<string, ContactState>();
    let at = 5;
    for (let i = 0; i < count; i++) {
      if (at + CONTACT_BYTES + 9 > bytes.length) throw fail('truncated');
      const contact = s.to_hex(bytes.subarray(at, at + CONTACT_BYTES));
      const floor = view.getFloat64(at + CONTACT_BYTES);
      const entries = bytes[at + CONTACT_BYTES + 8]!;
      at += CONTACT_BYTES + 9;
      if (entries > this.perContact || at + entries * (ID_BYTES + 8) > bytes.length) throw fail('truncated');
      if (!Number.isFinite(floor) || read.has(contact)) throw fail('bad contact entry');
      const recent: ContactState['recent'] = [];
      for (let j = 0; j < entries; j++) {
        const sentAt = view.getFloat64(at + ID_BYTES);
        if (!Number.isFinite(sentAt)) throw fail('bad send time');
        recent.push({ id: s.to_hex(bytes.subarray(at, at + ID_BYTES)), sentAt });
        at += ID_BYTES + 8;
      }
      recent.sort((a, b) => a.sentAt - b.sentAt);
      read.set(contact, { floor: floor === -1 ? -Infinity : floor, recent });
    }
    if (at !== bytes.length) throw fail('trailing bytes');
    for (const [contact, state] of read) this.contacts.set(contact, state);
  }

  /** Drops what the freshness check alone refuses now. */
  private prune(): void {
    const oldest = this.now() - HORIZON_MS;
    for (const [contact, state] of this.contacts) {
      while (state.recent.length > 0 && state.recent[0]!.sentAt < oldest) state.floor = Math.max(state.floor, state.recent.shift()!.sentAt);
      if (state.recent.length === 0 && state.floor < oldest) this.contacts.delete(contact);
    }
  }
}

/** A contact's key as the state names it: a 16-byte BLAKE2b hash, not the key itself. */
function contactId(key: Uint8Array): string {
  return sodium().to_hex(sodium().crypto_generichash(CONTACT_BYTES, key, null));
}
