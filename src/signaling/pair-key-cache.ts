import type { Identity } from '../crypto/identity.js';
import { sodium } from '../crypto/sodium.js';
import { pairKeys, wipePairKeys, type PairKeys } from './pair-seal.js';

/** Contacts whose pair keys are kept; the least recently used are wiped first. */
const MAX_PAIRS = 1024;

/**
 * The pair keys of the contacts this user talks to, derived once (one X25519 each) and wiped
 * when evicted or cleared.
 */
export class PairKeyCache {
  private readonly keys = new Map<string, PairKeys>();

  constructor(private readonly identity: Identity) {}

  /** The pair keys with the contact whose public key is `remoteKey`. */
  get(remoteKey: Uint8Array): PairKeys {
    const id = sodium().to_hex(remoteKey);
    let keys = this.keys.get(id);
    if (keys) {
      this.keys.delete(id); // re-inserted: most recently used last
    } else {
      keys = pairKeys(this.identity, remoteKey);
      if (this.keys.size >= MAX_PAIRS) {
        const [oldest, evicted] = this.keys.entries().next().value!;
        wipePairKeys(evicted);
        this.keys.delete(oldest);
      }
    }
    this.keys.set(id, keys);
    return keys;
  }

  /** Wipes every key. */
  clear(): void {
    for (const keys of this.keys.values()) wipePairKeys(keys);
    this.keys.clear();
  }
}
