import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { decodeMessage, encodeMessage } from '../src/protocol/codec.js';
import { LIMITS } from '../src/protocol/limits.js';
import type { Message, OutgoingMessage } from '../src/protocol/messages.js';

const callId = 'ab'.repeat(16);
const candidate = { candidate: 'candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
const caps = { frameEncryption: ['chacha20poly1305'] };

/** One valid example of every message type. */
const examples: OutgoingMessage[] = [
  { type: 'invite', callId, seq: 0, media: 'video', capabilities: caps, sentAt: 1_700_000_000_000, lifetimeMs: 30_000 },
  { type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: [] } },
  { type: 'reject', callId, seq: 0 },
  { type: 'busy', callId, seq: 0 },
  { type: 'cancel', callId, seq: 0, reason: 'no-answer' },
  { type: 'cancel', callId, seq: 0, reason: 'answered-elsewhere', keepSession: '0123456789abcdef' },
  { type: 'offer', callId, seq: 1, sdp: 'v=0\r\n', candidates: [candidate] },
  { type: 'answer', callId, seq: 1, sdp: 'v=0\r\n', candidates: [] },
  { type: 'ice', callId, seq: 2, candidates: [candidate, { candidate: 'c', sdpMid: null, sdpMLineIndex: null }], end: true },
  { type: 'end', callId, seq: 3, reason: 'ice-failed' },
  { type: 'renegotiate', callId, seq: 4, description: { type: 'offer', sdp: 'v=0\r\n' } },
  { type: 'renegotiate', callId, seq: 5, request: { iceRestart: true, addTransceiver: 'video' } },
  { type: 'renegotiate', callId, seq: 5, request: { iceRestart: false } },
  { type: 'media-state', callId, seq: 6, audioMuted: true, videoEnabled: false },
  { type: 'key-update', callId, seq: 7, kid: 3 },
];

/** Raw msgpack of anything, bypassing our encoder's validation. */
const raw = (value: unknown): Uint8Array => Uint8Array.from(new Packr({ useRecords: false }).pack(value));

function codeOf(bytes: Uint8Array): ErrorCode | 'no error' | 'foreign error' {
  try {
    decodeMessage(bytes);
    return 'no error';
  } catch (error) {
    return isSealcallError(error) ? error.code : 'foreign error';
  }
}

describe('message codec', () => {
  it.each(examples.map((m) => [`${m.type} ${Object.keys(m).join(',')}`, m] as const))('round-trips %s', (_name, m) => {
    const decoded = decodeMessage(encodeMessage(m));
    expect(decoded).toEqual({ ...m, v: 2 });
  });

  it('drops fields it does not know', () => {
    const decoded = decodeMessage(raw({ v: 2, type: 'busy', callId, seq: 0, extra: 'x', nested: { a: 1 } }));
    expect(decoded).toEqual({ v: 2, type: 'busy', callId, seq: 0 });
  });

  it('rejects an unknown protocol version with UNSUPPORTED_VERSION', () => {
    expect(codeOf(raw({ v: 3, type: 'busy', callId, seq: 0 }))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(raw({ v: 1, type: 'busy', callId, seq: 0 }))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(raw({ v: '1', type: 'busy', callId, seq: 0 }))).toBe('BAD_MESSAGE');
  });

  it('rejects malformed msgpack and non-map values', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0xc1), Uint8Array.of(0xdc, 0xff, 0xff), raw([1, 2]), raw('str'), raw(null)]) {
      expect(codeOf(bytes)).toBe('BAD_MESSAGE');
    }
    // Trailing bytes after a valid message.
    expect(codeOf(Uint8Array.from([...encodeMessage(examples[2]!), 0]))).toBe('BAD_MESSAGE');
  });

  it('rejects every field of the wrong type', () => {
    const base: Record<string, unknown> = { v: 2, type: 'invite', callId, seq: 0, media: 'audio', capabilities: caps, sentAt: 1, lifetimeMs: 1 };
    const wrong: Record<string, unknown[]> = {
      type: ['nope', 1, null],
      callId: ['AB'.repeat(16), 'ab'.repeat(15), 7, null],
      seq: [-1, 1.5, 2 ** 32, '0', null],
      media: ['screen', 1],
      capabilities: [[], { frameEncryption: 'x' }, { frameEncryption: [1] }, null],
      sentAt: [-5, 'now', 2 ** 60],
      lifetimeMs: [0, LIMITS.inviteLifetimeMs + 1, true],
    };
    for (const [key, values] of Object.entries(wrong)) {
      for (const value of values) expect(codeOf(raw({ ...base, [key]: value })), `${key}=${String(value)}`).toBe('BAD_MESSAGE');
    }
    for (const key of Object.keys(wrong)) {
      const { [key]: _omitted, ...missing } = base;
      expect(codeOf(raw(missing)), `missing ${key}`).toBe('BAD_MESSAGE');
    }
    expect(codeOf(raw({ v: 2, type: 'end', callId, seq: 0, reason: 'bored' }))).toBe('BAD_MESSAGE');
    expect(codeOf(raw({ v: 2, type: 'cancel', callId, seq: 0, reason: 'hangup' }))).toBe('BAD_MESSAGE');
    expect(codeOf(raw({ v: 2, type: 'cancel', callId, seq: 0, reason: 'cancelled', keepSession: 'xyz' }))).toBe('BAD_MESSAGE');
    expect(codeOf(raw({ v: 2, type: 'renegotiate', callId, seq: 0 }))).toBe('BAD_MESSAGE');
    expect(
      codeOf(raw({ v: 2, type: 'renegotiate', callId, seq: 0, request: { iceRestart: true }, description: { type: 'offer', sdp: 'x' } })),
    ).toBe('BAD_MESSAGE');
    expect(codeOf(raw({ v: 2, type: 'offer', callId, seq: 0, sdp: '', candidates: [] }))).toBe('BAD_MESSAGE');
  });

  it('rejects exotic msgpack types where plain values belong', () => {
    const exotic = [new Date(0), new Set(['a']), new Map([['a', 1]]), /re/, new Uint8Array(4), 2n ** 63n];
    for (const value of exotic) {
      expect(codeOf(raw({ v: 2, type: 'end', callId, seq: 0, reason: value })), String(value)).toBe('BAD_MESSAGE');
      expect(codeOf(raw({ v: 2, type: 'busy', callId: value, seq: 0 })), String(value)).toBe('BAD_MESSAGE');
    }
  });

  it('enforces size limits with MESSAGE_TOO_LARGE', () => {
    expect(codeOf(new Uint8Array(LIMITS.messageBytes + 1))).toBe('MESSAGE_TOO_LARGE');
    const huge = 'a'.repeat(LIMITS.sdpChars + 1);
    expect(codeOf(raw({ v: 2, type: 'offer', callId, seq: 0, sdp: huge, candidates: [] }))).toBe('MESSAGE_TOO_LARGE');
    const many = Array.from({ length: LIMITS.candidatesPerMessage + 1 }, () => candidate);
    expect(codeOf(raw({ v: 2, type: 'ice', callId, seq: 0, candidates: many, end: false }))).toBe('MESSAGE_TOO_LARGE');
    const long = { ...candidate, candidate: 'c'.repeat(LIMITS.candidateChars + 1) };
    expect(codeOf(raw({ v: 2, type: 'ice', callId, seq: 0, candidates: [long], end: false }))).toBe('MESSAGE_TOO_LARGE');
    expect(() => encodeMessage({ type: 'offer', callId, seq: 0, sdp: huge, candidates: [] })).toThrowSealcallError();
  });

  it('is not a prototype-pollution vector', () => {
    const payloads = [
      // {"__proto__": {"polluted": true}, ...} written as raw msgpack map keys.
      rawMap([
        ['__proto__', { polluted: true }],
        ['v', 1],
        ['type', 'busy'],
        ['callId', callId],
        ['seq', 0],
      ]),
      raw({ v: 2, type: 'busy', callId, seq: 0, constructor: { prototype: { polluted: true } } }),
      raw({ v: 2, type: 'invite', callId, seq: 0, media: 'audio', sentAt: 1, lifetimeMs: 1, capabilities: { frameEncryption: [], __proto__: { polluted: true } } }),
      rawMap([
        ['v', 1],
        ['type', 'end'],
        ['callId', callId],
        ['seq', 0],
        ['reason', 'hangup'],
        ['__proto__', { reason: 'injected' }],
      ]),
    ];
    for (const bytes of payloads) {
      let decoded: Message | undefined;
      try {
        decoded = decodeMessage(bytes);
      } catch (error) {
        expect(isSealcallError(error)).toBe(true);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      if (decoded) {
        expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
        for (const key of ['__proto_', '__proto__', 'polluted', 'constructor']) expect(Object.keys(decoded)).not.toContain(key);
        if (decoded.type === 'invite') expect(Object.keys(decoded.capabilities)).toEqual(['frameEncryption']);
        if (decoded.type === 'end') expect(decoded.reason).toBe('hangup');
      }
    }
  });
});

/** Encodes a msgpack map by hand so keys like `__proto__` go on the wire verbatim. */
function rawMap(entries: [string, unknown][]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0x80 | entries.length)];
  for (const [key, value] of entries) parts.push(raw(key), raw(value));
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('candidateBatches', () => {
  it('splits candidates into batches a message may carry, keeping order', async () => {
    const { candidateBatches } = await import('../src/protocol/limits.js');
    const many = Array.from({ length: LIMITS.candidatesPerMessage * 2 + 5 }, (_, i) => ({ ...candidate, candidate: `c${i}` }));
    const batches = candidateBatches(many);
    expect(batches.map((b) => b.length)).toEqual([LIMITS.candidatesPerMessage, LIMITS.candidatesPerMessage, 5]);
    expect(batches.flat()).toEqual(many);
    expect(candidateBatches([])).toEqual([[]]);
    // Each batch encodes; the whole list would not.
    for (const b of batches) expect(() => encodeMessage({ type: 'ice', callId, seq: 1, candidates: b, end: false })).not.toThrow();
    expect(() => encodeMessage({ type: 'ice', callId, seq: 1, candidates: many, end: false })).toThrowSealcallError();
  });
});
