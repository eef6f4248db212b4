import { DELIVERY_OVERHEAD, RELAY_KEY_BYTES } from '../crypto/relay-keys.js';
import { SealcallError } from '../errors.js';
import { bad, bytesUpTo, field, fixedBytes, oneOf, record, uint } from '../protocol/fields.js';
import { pack, unpackUntrusted } from '../protocol/msgpack.js';
import { RELAY_LIMITS } from '../protocol/relay-frames.js';
import type { QueueRecord } from './queue-store.js';
import { hex } from './relay-store.js';
import type { RelayIdentity } from '../crypto/relay-keys.js';

/*
 * The records of the relay's store log: encoding, validation and replay. The file format is
 * described in store-log.ts, which does the file I/O.
 */

const LOG_VERSION = 2;
/** Bytes before each record's msgpack: its length, then its CRC-32, both u32 big-endian. */
export const FRAME_HEADER_BYTES = 8;
/** A stored body is a sent body sealed for its recipient. */
const MAX_BODY_BYTES = RELAY_LIMITS.maxBodyBytes + DELIVERY_OVERHEAD;
/** Largest record: a `pushed` with the largest body, with room for its other fields. */
export const MAX_RECORD_BYTES = MAX_BODY_BYTES + 1024;
const IDENTITY_PUBLIC_KEY_BYTES = 32;
const IDENTITY_SECRET_KEY_BYTES = 64;
const KINDS = ['created', 'pushed', 'removed', 'deleted', 'touched'] as const;

type QueueFields = Omit<QueueRecord, 'messages'>;
type Message = QueueRecord['messages'][number];

/** The header record, first in every log. */
export function headerRecord(identity: RelayIdentity): Uint8Array {
  return framed({ v: LOG_VERSION, identity: { publicKey: identity.publicKey, secretKey: identity.secretKey } });
}

/** A queue was created (or, in a compacted log, exists). */
export function createdRecord(q: QueueFields): Uint8Array {
  const { recipientId, senderId, recipientKey, deliveryKey, lastActive } = q;
  return framed({ t: 'created', recipientId, senderId, recipientKey, deliveryKey, lastActive });
}

/** A message was stored (or, in a compacted log, is held). */
export function pushedRecord(recipientId: Uint8Array, m: Message): Uint8Array {
  return framed({ t: 'pushed', recipientId, msgId: m.msgId, body: m.body, ts: m.ts });
}

/** A message was acknowledged or expired. */
export function removedRecord(recipientId: Uint8Array, msgId: Uint8Array): Uint8Array {
  return framed({ t: 'removed', recipientId, msgId });
}

/** A queue was deleted with its messages. */
export function deletedRecord(recipientId: Uint8Array): Uint8Array {
  return framed({ t: 'deleted', recipientId });
}

/** A queue's `lastActive` moved. */
export function touchedRecord(recipientId: Uint8Array, lastActive: number): Uint8Array {
  return framed({ t: 'touched', recipientId, lastActive });
}

/** Every record of a compacted log holding `queues`: the header, then each queue and its messages. */
export function* compactedRecords(identity: RelayIdentity, queues: QueueRecord[]): Generator<Uint8Array> {
  yield headerRecord(identity);
  for (const q of queues) {
    yield createdRecord(q);
    for (const m of q.messages) yield pushedRecord(q.recipientId, m);
  }
}

/** Length and CRC-32 of the record whose frame header starts `bytes`. */
export function frameHeader(bytes: Uint8Array): { length: number; crc: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  return { length: view.getUint32(0), crc: view.getUint32(4) };
}

/** Decodes and validates the header record. Throws {@link SealcallError}. */
export function decodeHeader(payload: Uint8Array): RelayIdentity {
  const obj = record(unpackUntrusted(payload, MAX_RECORD_BYTES, 'store header'), 'store header');
  if (field(obj, 'v') !== LOG_VERSION) throw new SealcallError('UNSUPPORTED_VERSION', 'unknown relay store version');
  const identity = record(field(obj, 'identity'), 'identity');
  const publicKey = fixedBytes(field(identity, 'publicKey'), 'publicKey', IDENTITY_PUBLIC_KEY_BYTES);
  const secretKey = fixedBytes(field(identity, 'secretKey'), 'secretKey', IDENTITY_SECRET_KEY_BYTES);
  // A libsodium Ed25519 secret key ends with its public key: a mismatch is a damaged file.
  if (hex(secretKey.subarray(IDENTITY_SECRET_KEY_BYTES - IDENTITY_PUBLIC_KEY_BYTES)) !== hex(publicKey)) {
    throw bad('the identity secret key does not match its public key');
  }
  return { publicKey, secretKey };
}

/**
 * Whether the file's first bytes are a version-1 snapshot: msgpack `{v: 1, …}` (a map, first
 * key `v`, value 1), as every relay before the log wrote it. A log starts with a small
 * big-endian length, so byte 0 is zero.
 */
export function isSnapshotV1(head: Uint8Array): boolean {
  const first = head[0] ?? 0;
  const key = first >= 0x80 && first <= 0x8f ? 1 : first === 0xde ? 3 : first === 0xdf ? 5 : 0;
  return key > 0 && head[key] === 0xa1 && head[key + 1] === 0x76 && head[key + 2] === 0x01;
}

/**
 * Rebuilds the queues from records in log order. Records naming an unknown queue, and repeated
 * ones, change nothing. Every field is validated even when the record is then ignored.
 */
export class Replay {
  private readonly queues = new Map<string, { fields: QueueFields; messages: Map<string, Message> }>();
  private readonly senders = new Set<string>();

  /** Applies one record's msgpack. Throws {@link SealcallError} if it is malformed. */
  apply(payload: Uint8Array): void {
    const obj = record(unpackUntrusted(payload, MAX_RECORD_BYTES, 'store record'), 'store record');
    const kind = oneOf(field(obj, 't'), KINDS, 't');
    const recipientId = queueId(obj, 'recipientId');
    const key = hex(recipientId);
    const queue = this.queues.get(key);
    switch (kind) {
      case 'created': {
        const fields = {
          recipientId,
          senderId: queueId(obj, 'senderId'),
          recipientKey: fixedBytes(field(obj, 'recipientKey'), 'recipientKey', RELAY_LIMITS.publicKeyBytes),
          deliveryKey: fixedBytes(field(obj, 'deliveryKey'), 'deliveryKey', RELAY_KEY_BYTES),
          lastActive: time(obj, 'lastActive'),
        };
        const sender = hex(fields.senderId);
        if (queue || this.senders.has(sender)) return;
        this.queues.set(key, { fields, messages: new Map() });
        this.senders.add(sender);
        return;
      }
      case 'pushed': {
        const msgId = messageId(obj);
        const body = bytesUpTo(field(obj, 'body'), 'body', MAX_BODY_BYTES);
        const ts = time(obj, 'ts');
        if (queue && !queue.messages.has(hex(msgId))) queue.messages.set(hex(msgId), { msgId, body, ts });
        return;
      }
      case 'removed':
        queue?.messages.delete(hex(messageId(obj)));
        return;
      case 'deleted':
        if (!queue) return;
        this.queues.delete(key);
        this.senders.delete(hex(queue.fields.senderId));
        return;
      case 'touched': {
        const lastActive = time(obj, 'lastActive');
        if (queue) queue.fields.lastActive = lastActive;
        return;
      }
    }
  }

  /** The queues as the records left them, messages oldest first. */
  records(): QueueRecord[] {
    return [...this.queues.values()].map(({ fields, messages }) => ({ ...fields, messages: [...messages.values()] }));
  }
}

const queueId = (obj: Record<string, unknown>, name: string) => fixedBytes(field(obj, name), name, RELAY_LIMITS.queueIdBytes);
const messageId = (obj: Record<string, unknown>) => fixedBytes(field(obj, 'msgId'), 'msgId', RELAY_LIMITS.msgIdBytes);
const time = (obj: Record<string, unknown>, name: string) => uint(field(obj, name), name, Number.MAX_SAFE_INTEGER);

/** `value` as msgpack behind its frame header. */
function framed(value: unknown): Uint8Array {
  const payload = pack(value);
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload));
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

// CRC-32 (IEEE, as zlib computes it). In JS: zlib.crc32 needs Node 20.15, and sealcall supports 20.0.
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 of `bytes`, unsigned. */
export function crc32(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

// Sizes a compacted log spends, to tell when the log is mostly garbage. Estimates from records of
// zeros with the largest timestamps: msgpack sizes of integers and body headers vary by a few
// bytes, and only the ratio of the file to the live data matters.
const zeros = (n: number) => new Uint8Array(n);
const ID = zeros(RELAY_LIMITS.queueIdBytes);
const HEADER_BYTES = headerRecord({ publicKey: zeros(IDENTITY_PUBLIC_KEY_BYTES), secretKey: zeros(IDENTITY_SECRET_KEY_BYTES) }).length;
/** About what a compacted log spends on one queue, not counting its messages. */
export const QUEUE_BYTES = createdRecord({
  recipientId: ID,
  senderId: ID,
  recipientKey: zeros(RELAY_LIMITS.publicKeyBytes),
  deliveryKey: zeros(RELAY_KEY_BYTES),
  lastActive: Number.MAX_SAFE_INTEGER,
}).length;
const MESSAGE_BYTES = pushedRecord(ID, { msgId: zeros(RELAY_LIMITS.msgIdBytes), body: zeros(0), ts: Number.MAX_SAFE_INTEGER }).length;

/** About what a compacted log spends on one message. */
export const messageBytes = (m: { body: Uint8Array }): number => MESSAGE_BYTES + m.body.length;

/** About the size of a compacted log holding `queues`. */
export function liveBytes(queues: QueueRecord[]): number {
  let bytes = HEADER_BYTES;
  for (const q of queues) {
    bytes += QUEUE_BYTES;
    for (const m of q.messages) bytes += messageBytes(m);
  }
  return bytes;
}
