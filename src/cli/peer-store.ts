import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateIdentity, identityFromSecretKey, type Identity, type QueueState, type ReplayStore } from '../index.js';

/** What a CLI peer keeps between runs, in its folder. */
export interface PeerFiles {
  identity: Identity;
  /** The relay queue's credentials (so the address stays the same), if any. */
  queue: QueueState | undefined;
  /** Contacts: name → contact address. */
  contacts: Record<string, string>;
}

/**
 * A peer's folder: `identity.json` (the X25519 secret key: keep it private), `queue.json`,
 * `contacts.json` and `replay.bin` (the replay state, so a captured invitation never rings
 * again after a restart). Files are written whole, through a temporary file, so a crash never
 * leaves half a file.
 */
export class PeerStore {
  constructor(readonly dir: string) {}

  async load(): Promise<PeerFiles> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const saved = await this.read<{ secretKey: string }>('identity.json');
    const identity = saved ? identityFromSecretKey(Buffer.from(saved.secretKey, 'base64')) : generateIdentity();
    if (!saved) await this.write('identity.json', { secretKey: Buffer.from(identity.secretKey).toString('base64') });
    return {
      identity,
      queue: await this.read<QueueState>('queue.json'),
      contacts: (await this.read<Record<string, string>>('contacts.json')) ?? {},
    };
  }

  saveQueue(queue: QueueState): Promise<void> {
    return this.write('queue.json', queue);
  }

  saveContacts(contacts: Record<string, string>): Promise<void> {
    return this.write('contacts.json', contacts);
  }

  /** The `CallClientOptions.replayStore` kept in `replay.bin`. */
  replayStore(): ReplayStore {
    const path = join(this.dir, 'replay.bin');
    return {
      load: async () => {
        try {
          return new Uint8Array(await readFile(path));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
      },
      save: async (state) => {
        await writeFile(`${path}.tmp`, state, { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      },
    };
  }

  private async read<T>(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, name), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async write(name: string, value: unknown): Promise<void> {
    const path = join(this.dir, name);
    await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }
}
