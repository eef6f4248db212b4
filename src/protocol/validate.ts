import { SealcallError } from '../errors.js';
import { bad, bool, bytesUpTo, field, list, oneOf, record, text, uint } from './fields.js';
import { decompressSdp } from './sdp-compression.js';
import { LIMITS } from './limits.js';
import {
  CANCEL_REASONS,
  END_REASONS,
  MAX_PARTS,
  MAX_SACKS,
  PROTOCOL_VERSION,
  type CallMedia,
  type Capabilities,
  type IceCandidate,
  type Message,
} from './messages.js';

/**
 * Turns a decoded, untrusted value into a {@link Message}, or throws `BAD_MESSAGE` /
 * `UNSUPPORTED_VERSION` / `MESSAGE_TOO_LARGE`. The result is a fresh object holding only known
 * fields, so nothing the sender smuggled in (extra keys, prototypes, exotic types) survives.
 */
export function validateMessage(value: unknown): Message {
  const obj = record(value, 'message');
  const v = field(obj, 'v');
  if (v !== PROTOCOL_VERSION) {
    if (typeof v === 'number' && Number.isInteger(v)) {
      throw new SealcallError('UNSUPPORTED_VERSION', `unsupported protocol version ${v}`);
    }
    throw bad('v must be an integer');
  }
  const type = field(obj, 'type');
  const base = {
    v: PROTOCOL_VERSION,
    callId: callId(field(obj, 'callId')),
    seq: uint(field(obj, 'seq'), 'seq', 0xffff_ffff),
    ...delivery(obj),
  } as const;
  switch (type) {
    case 'invite':
      return {
        ...base,
        type,
        media: media(field(obj, 'media'), 'media'),
        capabilities: capabilities(field(obj, 'capabilities')),
        sentAt: uint(field(obj, 'sentAt'), 'sentAt', Number.MAX_SAFE_INTEGER),
        lifetimeMs: positive(field(obj, 'lifetimeMs'), 'lifetimeMs', LIMITS.inviteLifetimeMs),
      };
    case 'ringing':
      return { ...base, type, capabilities: capabilities(field(obj, 'capabilities')) };
    case 'reject':
    case 'busy':
      return { ...base, type };
    case 'cancel': {
      const keep = field(obj, 'keepSession');
      return {
        ...base,
        type,
        reason: oneOf(field(obj, 'reason'), CANCEL_REASONS, 'reason'),
        ...(keep === undefined ? {} : { keepSession: sessionTag(keep) }),
      };
    }
    case 'offer':
    case 'answer':
      return {
        ...base,
        type,
        sdp: sdpOf(obj),
        candidates: candidates(field(obj, 'candidates')),
      };
    case 'ice':
      return {
        ...base,
        type,
        candidates: candidates(field(obj, 'candidates')),
        end: bool(field(obj, 'end'), 'end'),
      };
    case 'end':
      return { ...base, type, reason: oneOf(field(obj, 'reason'), END_REASONS, 'reason') };
    case 'renegotiate':
      return { ...base, type, ...renegotiation(obj) };
    case 'media-state': {
      // Optional (older peers omit them); `false` is read as absent, the one way this build writes them.
      const held = field(obj, 'held');
      const screenSharing = field(obj, 'screenSharing');
      return {
        ...base,
        type,
        audioMuted: bool(field(obj, 'audioMuted'), 'audioMuted'),
        videoEnabled: bool(field(obj, 'videoEnabled'), 'videoEnabled'),
        ...(held !== undefined && bool(held, 'held') ? { held: true as const } : {}),
        ...(screenSharing !== undefined && bool(screenSharing, 'screenSharing') ? { screenSharing: true as const } : {}),
      };
    }
    case 'key-update':
      return { ...base, type, kid: uint(field(obj, 'kid'), 'kid', 0xffff_ffff) };
    case 'part': {
      const count = uint(field(obj, 'count'), 'count', MAX_PARTS);
      const index = uint(field(obj, 'index'), 'index', MAX_PARTS - 1);
      if (count < 2 || index >= count) throw bad('part index and count do not fit');
      const whole = positive(field(obj, 'whole'), 'whole', 0xffff_ffff);
      if (base.seq !== whole + index) throw bad('a part’s seq is its whole’s first seq plus its index');
      return { ...base, type, whole, index, count, data: bytesUpTo(field(obj, 'data'), 'data', LIMITS.messageBytes) };
    }
    case 'ack':
      if (base.seq !== 0) throw bad('an ack is unsequenced (seq 0)');
      return { ...base, type };
    default:
      throw bad('unknown message type');
  }
}

/** The optional delivery fields every message may carry. */
function delivery(obj: Record<string, unknown>): { ack?: number; sacks?: number[]; order?: number } {
  const ack = field(obj, 'ack');
  const sacks = field(obj, 'sacks');
  const order = field(obj, 'order');
  return {
    ...(ack === undefined ? {} : { ack: uint(ack, 'ack', 0xffff_ffff) }),
    ...(sacks === undefined ? {} : { sacks: list(sacks, 'sacks', MAX_SACKS).map((s) => uint(s, 'sack', 0xffff_ffff)) }),
    ...(order === undefined ? {} : { order: positive(order, 'order', 0xffff_ffff) }),
  };
}

function renegotiation(obj: Record<string, unknown>): {
  description?: { type: 'offer' | 'answer'; sdp: string };
  request?: { iceRestart: boolean; addTransceiver?: CallMedia };
} {
  const description = field(obj, 'description');
  const request = field(obj, 'request');
  if ((description === undefined) === (request === undefined)) {
    throw bad('renegotiate needs exactly one of description and request');
  }
  if (description !== undefined) {
    const d = record(description, 'description');
    return {
      description: {
        type: oneOf(field(d, 'type'), ['offer', 'answer'] as const, 'description.type'),
        sdp: sdpOf(d),
      },
    };
  }
  const r = record(request, 'request');
  const add = field(r, 'addTransceiver');
  return {
    request: {
      iceRestart: bool(field(r, 'iceRestart'), 'request.iceRestart'),
      ...(add === undefined ? {} : { addTransceiver: media(add, 'request.addTransceiver') }),
    },
  };
}

function capabilities(value: unknown): Capabilities {
  const obj = record(value, 'capabilities');
  const suites = list(field(obj, 'frameEncryption'), 'capabilities.frameEncryption', LIMITS.capabilityEntries);
  return {
    frameEncryption: suites.map((s) => text(s, 'capability', LIMITS.capabilityChars)),
  };
}

function candidates(value: unknown): IceCandidate[] {
  return list(value, 'candidates', LIMITS.candidatesPerMessage).map((item): IceCandidate => {
    const c = record(item, 'candidate');
    const mid = field(c, 'sdpMid');
    const index = field(c, 'sdpMLineIndex');
    return {
      candidate: text(field(c, 'candidate'), 'candidate', LIMITS.candidateChars),
      sdpMid: mid === null ? null : text(mid, 'sdpMid', LIMITS.sdpMidChars),
      sdpMLineIndex: index === null ? null : uint(index, 'sdpMLineIndex', 255),
    };
  });
}

/** A description's SDP: `sdp` as text, or `sdpz` deflated (exactly one of them). */
function sdpOf(obj: Record<string, unknown>): string {
  const plain = field(obj, 'sdp');
  const deflated = field(obj, 'sdpz');
  if ((plain === undefined) === (deflated === undefined)) throw bad('a description needs exactly one of sdp and sdpz');
  return sdp(plain === undefined ? decompressSdp(bytesUpTo(deflated, 'sdpz', LIMITS.sdpChars)) : plain);
}

function sdp(value: unknown): string {
  const s = text(value, 'sdp', LIMITS.sdpChars);
  if (s.length === 0) throw bad('sdp is empty');
  return s;
}

const CALL_ID = /^[0-9a-f]{32}$/;
const SESSION_TAG = /^[0-9a-f]{16}$/;

function callId(value: unknown): string {
  if (typeof value !== 'string' || !CALL_ID.test(value)) throw bad('callId must be 32 hex digits');
  return value;
}

function sessionTag(value: unknown): string {
  if (typeof value !== 'string' || !SESSION_TAG.test(value)) throw bad('session tag must be 16 hex digits');
  return value;
}

function media(value: unknown, name: string): CallMedia {
  return oneOf(value, ['audio', 'video'] as const, name);
}

function positive(value: unknown, name: string, max: number): number {
  const n = uint(value, name, max);
  if (n === 0) throw bad(`${name} must be positive`);
  return n;
}
