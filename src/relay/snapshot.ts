import { open, readFile, rename, rm } from 'node:fs/promises';
import { SealcallError, isSealcallError } from '../errors.js';
import { bytesUpTo, field, fixedBytes, list, record, uint } from '../protocol/fields.js';
import { pack, unpackUntrusted } from '../protocol/msgpack.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';
import type { RelayLogger } from './options.js';
import type { QueueRecord } from './queue-store.js';

/**
 * Snapshot file format, version 1: msgpack `{v: 1, queues: [{recipientId, senderId,
 * recipientKey, messages: [{msgId, body, ts}], lastActive}]}` (`lastActive`, ms, may be absent
 * in older files: such a queue counts as used when it is loaded). The whole store is rewritten each time, which
 * is simple and crash-safe (temp file, fsync, rename) and fine for the sizes a signaling relay
 * holds; a relay storing gigabytes would want an append-only log instead.
 */
const SNAPSHOT_VERSION = 1;
/** Upper bounds when reading a snapshot back, so a corrupt file cannot make us allocate wildly. */
const MAX_SNAPSHOT_BYTES = 2 ** 31;
const MAX_ENTRIES = 10_000_000;

/** Reads the snapshot at `path`; undefined if there is none yet. Throws `RELAY_STORE_FAILED`. */
export async function loadSnapshot(path: string): Promise<QueueRecord[] | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SealcallError('RELAY_STORE_FAILED', 'cannot read the relay store', { cause: error });
  }
  try {
    return decodeSnapshot(bytes);
  } catch (error) {
    // Refuse to start rather than silently drop every queue of a corrupt store.
    throw new SealcallError('RELAY_STORE_FAILED', 'the relay store is corrupt', { cause: error });
  }
}

/** Encodes queue records as a snapshot file. */
function encodeSnapshot(queues: QueueRecord[]): Uint8Array {
  return pack({ v: SNAPSHOT_VERSION, queues });
}

/** Decodes and validates a snapshot file. Throws {@link SealcallError}. */
export function decodeSnapshot(bytes: Uint8Array): QueueRecord[] {
  const obj = record(unpackUntrusted(bytes, MAX_SNAPSHOT_BYTES, 'snapshot'), 'snapshot');
  if (field(obj, 'v') !== SNAPSHOT_VERSION) throw new SealcallError('UNSUPPORTED_VERSION', 'unknown snapshot version');
  return list(field(obj, 'queues'), 'queues', MAX_ENTRIES).map((value): QueueRecord => {
    const q = record(value, 'queue');
    return {
      recipientId: fixedBytes(field(q, 'recipientId'), 'recipientId', RELAY_LIMITS.queueIdBytes),
      senderId: fixedBytes(field(q, 'senderId'), 'senderId', RELAY_LIMITS.queueIdBytes),
      recipientKey: fixedBytes(field(q, 'recipientKey'), 'recipientKey', RELAY_LIMITS.publicKeyBytes),
      messages: list(field(q, 'messages'), 'messages', MAX_ENTRIES).map((item) => {
        const m = record(item, 'message');
        return {
          msgId: fixedBytes(field(m, 'msgId'), 'msgId', RELAY_LIMITS.msgIdBytes),
          body: bytesUpTo(field(m, 'body'), 'body', RELAY_LIMITS.maxBodyBytes),
          ts: uint(field(m, 'ts'), 'ts', Number.MAX_SAFE_INTEGER),
        };
      }),
      ...(field(q, 'lastActive') === undefined ? {} : { lastActive: uint(field(q, 'lastActive'), 'lastActive', Number.MAX_SAFE_INTEGER) }),
    };
  });
}

/**
 * Writes snapshots of the store to `path`: `schedule()` after each change writes once the changes
 * pause for `debounceMs`; `flush()` writes now. Writes never overlap and each replaces the file
 * atomically, so a crash leaves either the old snapshot or the new one, never a torn file.
 */
export class SnapshotWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private sequence = 0;

  constructor(
    private readonly path: string,
    private readonly debounceMs: number,
    private readonly snapshot: () => QueueRecord[],
    private readonly logger: RelayLogger,
  ) {}

  /** Notes a change; a write follows after the debounce. */
  schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Background writes report failures to the logger; the next change retries.
      this.flush().catch(() => {});
    }, this.debounceMs);
    // The relay's open server keeps the process alive; a pending snapshot alone should not.
    this.timer.unref?.();
  }

  /** Writes the current state now (after any write in progress). Throws `RELAY_STORE_FAILED`. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const next = this.writing.catch(() => {}).then(() => (this.dirty ? this.write() : undefined));
    this.writing = next;
    return next;
  }

  private async write(): Promise<void> {
    this.dirty = false;
    const records = this.snapshot();
    const bytes = encodeSnapshot(records);
    const tmp = `${this.path}.${process.pid}.${++this.sequence}.tmp`;
    try {
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    } catch (error) {
      this.dirty = true;
      await rm(tmp, { force: true }).catch(() => {});
      this.logger('store-failed');
      throw isSealcallError(error) ? error : new SealcallError('RELAY_STORE_FAILED', 'cannot write the relay store', { cause: error });
    }
    this.logger('store-saved', {
      queues: records.length,
      messages: records.reduce((n, q) => n + q.messages.length, 0),
      bytes: bytes.length,
    });
  }
}
