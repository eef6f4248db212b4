import { ExpiringMap } from '../expiring-map.js';
import { sodium } from '../crypto/sodium.js';

/** Options of {@link ContactMemory}. */
export interface ContactMemoryOptions {
  ttlMs: number;
  /** Entries per contact; a contact's oldest go first. */
  perContact: number;
  /** Contacts with entries at once; beyond it a new contact's entries are not kept. */
  maxContacts: number;
  now: () => number;
}

/**
 * Short-lived memory about what contacts sent (early cancels, replies to repeat), each contact
 * within its own budget: however much one contact sends, it pushes out only its own entries.
 */
export class ContactMemory<V> {
  private readonly contacts = new Map<string, ExpiringMap<V>>();

  constructor(private readonly options: ContactMemoryOptions) {}

  get(contactKey: Uint8Array, key: string): V | undefined {
    return this.contacts.get(sodium().to_hex(contactKey))?.get(key);
  }

  has(contactKey: Uint8Array, key: string): boolean {
    return this.get(contactKey, key) !== undefined;
  }

  set(contactKey: Uint8Array, key: string, value: V): void {
    const id = sodium().to_hex(contactKey);
    let map = this.contacts.get(id);
    if (!map) {
      if (this.contacts.size >= this.options.maxContacts) {
        for (const [other, entries] of this.contacts) if (entries.size === 0) this.contacts.delete(other);
        if (this.contacts.size >= this.options.maxContacts) return;
      }
      map = new ExpiringMap({ ttlMs: this.options.ttlMs, maxEntries: this.options.perContact, now: this.options.now });
      this.contacts.set(id, map);
    }
    map.set(key, value);
  }
}
