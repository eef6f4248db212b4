import { SealcallError } from '../errors.js';
import { LIMITS } from './limits.js';
import {
  CANCEL_REASONS,
  END_REASONS,
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
        sdp: sdp(field(obj, 'sdp')),
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
    case 'media-state':
      return {
        ...base,
        type,
        audioMuted: bool(field(obj, 'audioMuted'), 'audioMuted'),
        videoEnabled: bool(field(obj, 'videoEnabled'), 'videoEnabled'),
      };
    case 'key-update':
      return { ...base, type, kid: uint(field(obj, 'kid'), 'kid', 0xffff_ffff) };
    default:
      throw bad('unknown message type');
  }
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
        sdp: sdp(field(d, 'sdp')),
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
  const list = array(field(obj, 'frameEncryption'), 'capabilities.frameEncryption', LIMITS.capabilityEntries);
  return {
    frameEncryption: list.map((s) => string(s, 'capability', LIMITS.capabilityChars)),
  };
}

function candidates(value: unknown): IceCandidate[] {
  return array(value, 'candidates', LIMITS.candidatesPerMessage).map((item): IceCandidate => {
    const c = record(item, 'candidate');
    const mid = field(c, 'sdpMid');
    const index = field(c, 'sdpMLineIndex');
    return {
      candidate: string(field(c, 'candidate'), 'candidate', LIMITS.candidateChars),
      sdpMid: mid === null ? null : string(mid, 'sdpMid', LIMITS.sdpMidChars),
      sdpMLineIndex: index === null ? null : uint(index, 'sdpMLineIndex', 255),
    };
  });
}

function sdp(value: unknown): string {
  const s = string(value, 'sdp', LIMITS.sdpChars);
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

// ---- primitive readers: each checks one JS type and never calls into the value ----

function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`${name} must be a map`);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw bad(`${name} must be a plain map`);
  return value as Record<string, unknown>;
}

/** Own properties only: an inherited or prototype-polluted key reads as absent. */
function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function array(value: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw bad(`${name} must be an array`);
  if (value.length > max) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `${name} has more than ${max} entries`);
  }
  return value;
}

function string(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string') throw bad(`${name} must be a string`);
  if (value.length > max) {
    throw new SealcallError('MESSAGE_TOO_LARGE', `${name} is longer than ${max} characters`);
  }
  return value;
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw bad(`${name} must be a boolean`);
  return value;
}

function uint(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw bad(`${name} must be an integer in 0..${max}`);
  }
  return value;
}

function positive(value: unknown, name: string, max: number): number {
  const n = uint(value, name, max);
  if (n === 0) throw bad(`${name} must be positive`);
  return n;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw bad(`${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function bad(message: string): SealcallError {
  return new SealcallError('BAD_MESSAGE', message);
}
