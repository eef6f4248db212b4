import { describe, expect, it } from 'vitest';
import { SealcallError } from '../src/errors.js';
import { fromBase64 as decode, toBase64 as encode } from '../src/protocol/base64.js';

const toBase64 = (bytes: Uint8Array) => encode(bytes, 'standard');
const fromBase64 = (text: string) => {
  const bytes = decode(text, 'standard');
  if (!bytes) throw new SealcallError('BAD_MESSAGE', 'invalid base64');
  return bytes;
};
import {
  buildCallPush,
  CALL_PUSH_KEY,
  inviteCallId,
  isCallInvite,
  MAX_PUSH_ENVELOPE_BYTES,
  parseCallPush,
  unwrapCallPush,
  type CallPushPayload,
} from '../src/callkit/push-payload.js';
import { sodium } from '../src/crypto/sodium.js';
import { isSealcallError, type ErrorCode } from '../src/errors.js';

const CALL_ID = '00112233445566778899aabbccddeeff';

/** An invitation-shaped envelope: header by hand, random body (opening it is the client's job). */
function fakeInvite(options: { size?: number; version?: number; kind?: number; tag?: boolean; callId?: string } = {}): Uint8Array {
  const bytes = new Uint8Array(options.size ?? 256);
  globalThis.crypto.getRandomValues(bytes.subarray(34));
  bytes[0] = options.version ?? 1;
  bytes[1] = options.kind ?? 1;
  const id = options.callId ?? CALL_ID;
  for (let i = 0; i < 16; i++) bytes[2 + i] = parseInt(id.slice(2 * i, 2 * i + 2), 16);
  if (options.tag) bytes[20] = 7;
  return bytes;
}

function withChar(text: string, at: number, ch: string): string {
  return text.slice(0, at) + ch + text.slice(at + 1);
}

function payload(overrides: Partial<Record<keyof CallPushPayload, unknown>> = {}): Record<string, unknown> {
  return { ...buildCallPush({ envelope: fakeInvite(), callerHint: 'alice', media: 'video' }), ...overrides };
}

function codeOf(fn: () => unknown): ErrorCode | 'no error' | 'not a SealcallError' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return isSealcallError(error) ? error.code : 'not a SealcallError';
  }
}

describe('call push payload', () => {
  // First in the file: this process has not loaded libsodium, and must not need it.
  it('builds and parses synchronously without libsodium', () => {
    expect(() => sodium()).toThrow();
    const envelope = fakeInvite();
    const built = buildCallPush({ envelope, callerHint: 'alice', media: 'video', uuid: 'A0B1C2D3-E4F5-4a6b-8c7d-9e0f1a2b3c4d' });
    expect(built).toEqual({
      v: 1,
      uuid: 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
      callId: CALL_ID,
      callerHint: 'alice',
      media: 'video',
      envelope: toBase64(envelope),
    });
    // Through JSON, as APNs delivers it.
    const parsed = parseCallPush(JSON.parse(JSON.stringify(built)));
    expect(parsed).toEqual({ uuid: built.uuid, callId: CALL_ID, callerHint: 'alice', media: 'video', envelope });
    expect(() => sodium()).toThrow();
  });

  it('gives each push a fresh UUID unless one is given', () => {
    const a = buildCallPush({ envelope: fakeInvite(), callerHint: 'alice', media: 'audio' });
    const b = buildCallPush({ envelope: fakeInvite(), callerHint: 'alice', media: 'audio' });
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('accepts the UUID in any case and returns it lowercased', () => {
    const upper = payload({ uuid: 'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D' });
    expect(parseCallPush(upper).uuid).toBe('a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d');
  });

  it.each<[string, unknown, ErrorCode]>([
    ['null', null, 'BAD_MESSAGE'],
    ['a string', 'push', 'BAD_MESSAGE'],
    ['an array', [], 'BAD_MESSAGE'],
    ['no version', payload({ v: undefined }), 'BAD_MESSAGE'],
    ['version 2', payload({ v: 2 }), 'UNSUPPORTED_VERSION'],
    ['version "1"', payload({ v: '1' }), 'BAD_MESSAGE'],
    ['an unknown field', { ...payload(), extra: 1 }, 'BAD_MESSAGE'],
    ['a bad uuid', payload({ uuid: 'not-a-uuid' }), 'BAD_MESSAGE'],
    ['a numeric uuid', payload({ uuid: 42 }), 'BAD_MESSAGE'],
    ['an empty hint', payload({ callerHint: '' }), 'BAD_MESSAGE'],
    ['a long hint', payload({ callerHint: 'x'.repeat(257) }), 'BAD_MESSAGE'],
    ['a hint with control characters', payload({ callerHint: 'ali\u0000ce' }), 'BAD_MESSAGE'],
    ['a hint that is not a string', payload({ callerHint: { name: 'alice' } }), 'BAD_MESSAGE'],
    ['unknown media', payload({ media: 'screen' }), 'BAD_MESSAGE'],
    ['an envelope that is not a string', payload({ envelope: [1, 2] }), 'BAD_MESSAGE'],
    ['base64 with whitespace', payload({ envelope: ` ${toBase64(fakeInvite()).slice(1)}` }), 'BAD_MESSAGE'],
    ['url-safe base64', payload({ envelope: withChar(toBase64(fakeInvite()), 100, '-') }), 'BAD_MESSAGE'],
    ['truncated base64', payload({ envelope: toBase64(fakeInvite()).slice(0, -1) }), 'BAD_MESSAGE'],
    ['an envelope of no bucket size', payload({ envelope: toBase64(fakeInvite({ size: 300 })) }), 'BAD_MESSAGE'],
    ['an oversized envelope', payload({ envelope: toBase64(fakeInvite({ size: 4096 })) }), 'MESSAGE_TOO_LARGE'],
    ['another envelope version', payload({ envelope: toBase64(fakeInvite({ version: 2 })) }), 'UNSUPPORTED_VERSION'],
    ['a transport envelope', payload({ envelope: toBase64(fakeInvite({ kind: 3 })) }), 'BAD_MESSAGE'],
    ['an invitation with a session tag', payload({ envelope: toBase64(fakeInvite({ tag: true })) }), 'BAD_MESSAGE'],
    ['a call id that does not match the envelope', payload({ callId: 'ff'.repeat(16) }), 'BAD_MESSAGE'],
    ['an uppercase call id', payload({ callId: CALL_ID.toUpperCase() }), 'BAD_MESSAGE'],
  ])('rejects %s with a typed error', (_name, input, code) => {
    expect(codeOf(() => parseCallPush(input))).toBe(code);
  });

  it('refuses to build a push from anything but an invitation that fits', () => {
    expect(codeOf(() => buildCallPush({ envelope: fakeInvite({ kind: 2 }), callerHint: 'alice', media: 'audio' }))).toBe('BAD_MESSAGE');
    expect(codeOf(() => buildCallPush({ envelope: fakeInvite({ size: 4096 }), callerHint: 'a', media: 'audio' }))).toBe('MESSAGE_TOO_LARGE');
    expect(codeOf(() => buildCallPush({ envelope: fakeInvite(), callerHint: '', media: 'audio' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ envelope: fakeInvite(), callerHint: 'a', media: 'screen' as 'audio' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ envelope: fakeInvite(), callerHint: 'a', media: 'audio', uuid: 'x' }))).toBe('INVALID_ARGUMENT');
    expect(MAX_PUSH_ENVELOPE_BYTES * (4 / 3)).toBeLessThan(5120); // APNs' VoIP payload limit
  });

  it('reads the call id of invitations and tells them from other envelopes', () => {
    expect(inviteCallId(fakeInvite({ size: 512 }))).toBe(CALL_ID);
    expect(isCallInvite(fakeInvite())).toBe(true);
    expect(isCallInvite(fakeInvite({ kind: 4 }))).toBe(false);
    expect(isCallInvite(new Uint8Array(10))).toBe(false);
  });

  it('finds the payload nested in an app push dictionary', () => {
    const inner = payload();
    expect(unwrapCallPush({ aps: {}, [CALL_PUSH_KEY]: inner })).toBe(inner);
    expect(unwrapCallPush(inner)).toBe(inner);
    expect(unwrapCallPush(null)).toBe(null);
  });
});

describe('base64', () => {
  it('matches Node for every length and rejects non-canonical input', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(n);
      globalThis.crypto.getRandomValues(bytes);
      const text = toBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(fromBase64(text)).toEqual(bytes);
    }
    expect(codeOf(() => fromBase64('QQ=A'))).toBe('BAD_MESSAGE');
    expect(codeOf(() => fromBase64('QR=='))).toBe('BAD_MESSAGE'); // non-zero padding bits
    expect(codeOf(() => fromBase64('Q==='))).toBe('BAD_MESSAGE');
    expect(codeOf(() => fromBase64('QUJD\n'))).toBe('BAD_MESSAGE');
  });
});
