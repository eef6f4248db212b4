import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RelayIdentity } from '../crypto/relay-keys.js';
import { SealcallError, isSealcallError } from '../errors.js';
import type { RelayLogger } from './options.js';
import type { Queue, QueueRecord, StoreJournal } from './queue-store.js';
import type { StoredMessage } from './relay-store.js';
import {
  compactedRecords,
  crc32,
  createdRecord,
  decodeHeader,
  deletedRecord,
  FRAME_HEADER_BYTES,
  frameHeader,
  isSnapshotV1,
  liveBytes,
  MAX_RECORD_BYTES,
  messageBytes,
  pushedRecord,
  QUEUE_BYTES,
  removedRecord,
  Replay,
  touchedRecord,
} from './store-records.js';

/*
 * The relay's store on disk: an append-only log of what changed, compacted when it is mostly
 * garbage, so a send costs in proportion to its message, never to the store.
 *
 * Format, version 2. One file of records, each `length ‖ crc ‖ msgpack map`: `length` is the
 * map's byte count and `crc` its CRC-32 (IEEE), both u32 big-endian.
 * - First a header, `{v: 2, identity: {publicKey, secretKey}}`: the relay's Ed25519 key pair
 *   (libsodium's 64-byte secret key). The file is created with mode 0600.
 * - Then, in the order things happened:
 *   - `{t: 'created', recipientId, senderId, recipientKey, deliveryKey, lastActive}`
 *   - `{t: 'pushed', recipientId, msgId, body, ts}`: a message stored (body as sealed for the recipient)
 *   - `{t: 'removed', recipientId, msgId}`: acknowledged or expired
 *   - `{t: 'deleted', recipientId}`: the queue and its messages
 *   - `{t: 'touched', recipientId, lastActive}`: journaled at most about hourly per queue
 *   Replay applies them in order; one naming an unknown queue, or repeating a message, changes nothing.
 *
 * Writes: changes are buffered and written `debounceMs` after the first of them, all in one write
 * and one fdatasync, so a crash loses at most that window (more while a compaction runs: appends
 * wait for it). Writes never overlap, and one costs what it appends. A failed write keeps its
 * records for the next one, which rewrites them at the same offset over whatever part landed.
 *
 * Crashes: a bad last record (it runs past the end of the file, or fails its checksum and only
 * zero bytes follow it, as when the size landed but not the data) is a torn write and is cut off
 * at open. Any other bad record is damage, and the relay refuses to start (`RELAY_STORE_FAILED`)
 * rather than drop queues.
 *
 * Compaction: once the file is over COMPACT_MIN_BYTES and COMPACT_FACTOR times what its live
 * queues and messages take, a fresh log (header, one `created` per queue, one `pushed` per message)
 * goes to a temp file, is fsynced and renamed over the old one (a crash leaves one or the other),
 * and appends continue on it. It rewrites less than the garbage it drops, and each appended byte
 * becomes garbage at most once, so compaction at most doubles what appends write.
 *
 * One relay process at a time per file. A version-1 file (one msgpack snapshot `{v: 1, queues}`)
 * is refused: its queues used Ed25519 keys the current protocol cannot use.
 */

/** A log this much bigger than its live data is compacted… */
const COMPACT_FACTOR = 2;
/** …unless it is smaller than this, which is cheap to keep as it is. */
const COMPACT_MIN_BYTES = 1024 * 1024;
/** Chunk in which a log is read and a compacted log written. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/** Options of {@link openStoreLog}. */
export interface StoreLogOptions {
  /** Delay between a change and its write, in ms. */
  debounceMs: number;
  /** Gets `store-loaded`, `store-appended`, `store-compacted` and `store-failed` (see RelayLogger). */
  logger: RelayLogger;
  /** The identity of a new store. */
  newIdentity: () => RelayIdentity;
  /** The queues now (`QueueStore.toRecords`), for compaction. */
  snapshot: () => QueueRecord[];
}

/** What a store log holds. */
export interface StoreContents {
  identity: RelayIdentity;
  records: QueueRecord[];
  /** Bytes of whole records; a torn tail lies beyond. */
  length: number;
  /** Bytes of the file. */
  size: number;
}

/**
 * Opens the log at `path`, creating it (with `newIdentity()`) if there is none, cutting off a torn
 * tail and compacting it if it is mostly garbage. Hand `records` to `QueueStore.restore` with `log`
 * as its journal. Throws `RELAY_STORE_FAILED` (unreadable, damaged, or of an older version).
 */
export async function openStoreLog(path: string, options: StoreLogOptions): Promise<{ identity: RelayIdentity; records: QueueRecord[]; log: StoreLog }> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storeError('cannot open the relay store', error);
    const identity = options.newIdentity();
    const fresh = await writeFresh(path, identity, []).catch((cause: unknown) => {
      throw storeError('cannot create the relay store', cause);
    });
    return { identity, records: [], log: new StoreLog(path, identity, fresh.handle, fresh.size, liveBytes([]), options) };
  }
  let contents: StoreContents;
  try {
    contents = await replay(handle);
    if (contents.length < contents.size) await handle.truncate(contents.length);
  } catch (error) {
    await handle.close().catch(() => {});
    throw isSealcallError(error, 'RELAY_STORE_FAILED') ? error : storeError('cannot repair the relay store', error);
  }
  const { identity, records, length } = contents;
  options.logger('store-loaded', { queues: records.length, messages: records.reduce((n, q) => n + q.messages.length, 0) });
  const log = new StoreLog(path, identity, handle, length, liveBytes(records), options);
  await log.compactIfDue(records);
  return { identity, records, log };
}

/** Reads the log at `path` without changing it; undefined if there is none. Throws `RELAY_STORE_FAILED`. */
export async function readStoreLog(path: string): Promise<StoreContents | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storeError('cannot read the relay store', error);
  }
  try {
    return await replay(handle);
  } finally {
    await handle.close();
  }
}

/**
 * The journal of a {@link QueueStore} on disk: buffers each change as a record and appends them
 * `debounceMs` after the first, compacting when the file is mostly garbage. Create with
 * {@link openStoreLog}.
 */
export class StoreLog implements StoreJournal {
  private pending: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Size past which the next compaction is due (raised after one fails, so it is not retried at every write). */
  private compactAbove = COMPACT_MIN_BYTES;

  /** @internal */
  constructor(
    private readonly path: string,
    readonly identity: RelayIdentity,
    private handle: FileHandle,
    /** Bytes of whole records in the file: where the next write goes. */
    private size: number,
    /** About the size of a compacted log of the store now. */
    private live: number,
    private readonly options: StoreLogOptions,
  ) {}

  created(queue: Queue): void {
    this.live += QUEUE_BYTES;
    this.append(createdRecord(queue));
  }

  pushed(queue: Queue, message: StoredMessage): void {
    this.live += messageBytes(message);
    this.append(pushedRecord(queue.recipientId, message));
  }

  removed(queue: Queue, message: StoredMessage): void {
    this.live -= messageBytes(message);
    this.append(removedRecord(queue.recipientId, message.msgId));
  }

  deleted(queue: Queue): void {
    this.live -= queue.messages.reduce((n, m) => n + messageBytes(m), QUEUE_BYTES);
    this.append(deletedRecord(queue.recipientId));
  }

  touched(queue: Queue): void {
    this.append(touchedRecord(queue.recipientId, queue.lastActive));
  }

  /** Writes the buffered records now (after any write in progress). Throws `RELAY_STORE_FAILED`. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.writing.catch(() => {}).then(() => this.write());
    this.writing = next;
    return next;
  }

  /** Flushes and closes the file. Throws `RELAY_STORE_FAILED` if the flush fails (the file is closed anyway). */
  async close(): Promise<void> {
    try {
      // Records journaled while a write runs (or kept by a failed compaction) wait for the next one.
      do await this.flush();
      while (this.pending.length > 0);
    } finally {
      clearTimeout(this.timer);
      // Everything written was synced already: an error closing the descriptor loses nothing.
      await this.handle.close().catch(() => {});
    }
  }

  /**
   * Compacts if the file is mostly garbage. `queues` must be the store now, every buffered record
   * included: those records are dropped, and only later ones follow on the compacted log.
   * @internal
   */
  async compactIfDue(queues: QueueRecord[]): Promise<void> {
    if (this.size <= Math.max(this.compactAbove, COMPACT_FACTOR * this.live)) return;
    const subsumed = this.pending;
    this.pending = [];
    let fresh: { handle: FileHandle; size: number };
    try {
      fresh = await writeFresh(this.path, this.identity, queues);
    } catch {
      // The old log is intact and still takes appends; the dropped records go back in front.
      this.pending = subsumed.concat(this.pending);
      this.compactAbove = this.size + COMPACT_MIN_BYTES;
      this.options.logger('store-failed', { stage: 'compaction' });
      return;
    }
    const old = this.handle;
    this.handle = fresh.handle;
    this.size = fresh.size;
    this.compactAbove = COMPACT_MIN_BYTES;
    const messages = queues.reduce((n, q) => n + q.messages.length, 0);
    this.options.logger('store-compacted', { queues: queues.length, messages, bytes: fresh.size });
    await old.close().catch(() => {});
  }

  private append(record: Uint8Array): void {
    this.pending.push(record);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Failures are logged; the next change retries.
      this.flush().catch(() => {});
    }, this.options.debounceMs);
    // The relay's open server keeps the process alive; a pending write alone should not.
    this.timer.unref?.();
  }

  private async write(): Promise<void> {
    if (this.pending.length === 0) return;
    const records = this.pending;
    this.pending = [];
    const bytes = Buffer.concat(records);
    try {
      await writeAt(this.handle, bytes, this.size);
      await this.handle.datasync();
    } catch (error) {
      // The retry starts at the same offset and is at least as long: it overwrites what landed.
      this.pending = records.concat(this.pending);
      this.options.logger('store-failed', { stage: 'append' });
      throw storeError('cannot write the relay store', error);
    }
    this.size += bytes.length;
    this.options.logger('store-appended', { records: records.length, bytes: bytes.length });
    await this.compactIfDue(this.options.snapshot());
  }
}

/**
 * Writes a log holding `queues` to a temp file, syncs it and renames it to `path`. Returns the
 * open file, ready for appends, and its size. On failure `path` is untouched and the temp file gone.
 * Written in chunks, as `queues` may hold gigabytes.
 */
async function writeFresh(path: string, identity: RelayIdentity, queues: QueueRecord[]): Promise<{ handle: FileHandle; size: number }> {
  const tmp = `${path}.${process.pid}.${++tmpSequence}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    let size = 0;
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const writeChunk = async () => {
      const bytes = Buffer.concat(chunk);
      await writeAt(handle, bytes, size);
      size += bytes.length;
      chunk = [];
      chunkBytes = 0;
    };
    for (const record of compactedRecords(identity, queues)) {
      chunk.push(record);
      chunkBytes += record.length;
      if (chunkBytes >= CHUNK_BYTES) await writeChunk();
    }
    await writeChunk();
    await handle.sync();
    await rename(tmp, path);
    await syncDirectory(dirname(path));
    return { handle, size };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw error;
  }
}
let tmpSequence = 0;

/** Reads and replays a whole log. Throws `RELAY_STORE_FAILED`. */
async function replay(handle: FileHandle): Promise<StoreContents> {
  const reader = new ChunkReader(handle, await stat(handle));
  try {
    const head = (await reader.bytes(0, Math.min(reader.size, FRAME_HEADER_BYTES))) ?? new Uint8Array(0);
    if (isSnapshotV1(head)) {
      throw storeError('the relay store was written by an older relay version (a version-1 snapshot) and must be removed: its queues use keys this version cannot use');
    }
    const header = await recordAt(reader, 0);
    // The header is written with the file, atomically: it is never torn.
    if (header === 'torn') throw storeError('the relay store has no valid header');
    const identity = decodeHeader(header.payload);
    const queues = new Replay();
    let offset = header.end;
    while (offset < reader.size) {
      const record = await recordAt(reader, offset);
      if (record === 'torn') break;
      queues.apply(record.payload);
      offset = record.end;
    }
    return { identity, records: queues.records(), length: offset, size: reader.size };
  } catch (error) {
    // Refuse to start rather than silently drop every queue of a damaged store.
    throw isSealcallError(error, 'RELAY_STORE_FAILED') ? error : storeError('the relay store is corrupt', error);
  }
}

/** The record at `offset` and where it ends, or 'torn' for a torn last write. Throws for damage. */
async function recordAt(reader: ChunkReader, offset: number): Promise<{ payload: Uint8Array; end: number } | 'torn'> {
  const head = await reader.bytes(offset, FRAME_HEADER_BYTES);
  if (!head) return 'torn';
  const { length, crc } = frameHeader(head);
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > reader.size) return 'torn';
  if (length > 0 && length <= MAX_RECORD_BYTES) {
    const payload = (await reader.bytes(offset + FRAME_HEADER_BYTES, length))!;
    if (crc32(payload) === crc) return { payload, end };
  }
  if (await reader.zeroFrom(end)) return 'torn';
  throw new SealcallError('BAD_MESSAGE', `the record at byte ${offset} is damaged`);
}

/** Reads a file in chunks, so a log of gigabytes needs no buffer of its size. */
class ChunkReader {
  private buffer = new Uint8Array(CHUNK_BYTES);
  /** File offset of `buffer[0]`. */
  private start = 0;
  private filled = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** The `n` bytes at `offset`, valid until the next call; undefined if the file ends first. */
  async bytes(offset: number, n: number): Promise<Uint8Array | undefined> {
    if (offset + n > this.size) return undefined;
    if (offset < this.start || offset + n > this.start + this.filled) {
      if (n > this.buffer.length) this.buffer = new Uint8Array(n);
      const want = Math.min(this.buffer.length, this.size - offset);
      this.start = offset;
      this.filled = 0;
      while (this.filled < want) {
        const { bytesRead } = await this.handle.read(this.buffer, this.filled, want - this.filled, offset + this.filled).catch((cause: unknown) => {
          throw storeError('cannot read the relay store', cause);
        });
        if (bytesRead === 0) throw storeError('the relay store shrank while it was read');
        this.filled += bytesRead;
      }
    }
    return this.buffer.subarray(offset - this.start, offset - this.start + n);
  }

  /** Whether every byte from `offset` to the end of the file is zero. */
  async zeroFrom(offset: number): Promise<boolean> {
    for (let at = offset; at < this.size; at += CHUNK_BYTES) {
      const bytes = (await this.bytes(at, Math.min(CHUNK_BYTES, this.size - at)))!;
      if (bytes.some((b) => b !== 0)) return false;
    }
    return true;
  }
}

async function stat(handle: FileHandle): Promise<number> {
  try {
    return (await handle.stat()).size;
  } catch (cause) {
    throw storeError('cannot read the relay store', cause);
  }
}

/** Writes all of `bytes` at `position` (a write may take fewer bytes than asked). */
async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Makes a rename durable across power loss (POSIX wants the directory synced). Best effort: the
 * rename has happened either way, and some platforms (Windows) cannot open a directory.
 */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => {});
  await handle?.close().catch(() => {});
}


function storeError(message: string, cause?: unknown): SealcallError {
  return new SealcallError('RELAY_STORE_FAILED', message, cause === undefined ? undefined : { cause });
}
