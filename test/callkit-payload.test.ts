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
  CALL_PUSH_VERSION,
  generatePushKey,
  MAX_CALLER_HINT_BYTES,
  MAX_PUSH_ENVELOPE_BYTES,
  openCallPush,
  parseCallPush,
  unwrapCallPush,
  type CallPushPayload,
  type PushKeyPair,
} from '../src/callkit/push-payload.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { isSealcallError, type ErrorCode } from '../src/errors.js';
import { ENVELOPE_BUCKETS } from '../src/signaling/envelope.js';

/** crypto_box_seal's overhead (ephemeral public key and tag) and the padded hint field. */
const SEAL_OVERHEAD = 48;
const HINT_FIELD = 1 + MAX_CALLER_HINT_BYTES;
/** The sealed part of a push carrying a default (3,072-byte) envelope. */
const SEALED_BYTES = SEAL_OVERHEAD + HINT_FIELD + MAX_PUSH_ENVELOPE_BYTES;
const UUID = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';

function random(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) globalThis.crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

/** An envelope-sized byte string (opening it is the client's job, not the push's). */
const fakeEnvelope = (size = MAX_PUSH_ENVELOPE_BYTES) => random(size);

function withChar(text: string, at: number, ch: string): string {
  return text.slice(0, at) + ch + text.slice(at + 1);
}

/**
 * A well-formed payload built by hand, without libsodium: `parseCallPush` checks its shape only
 * (whether the sealed part opens is `openCallPush`'s business).
 */
function shaped(overrides: Partial<Record<keyof CallPushPayload, unknown>> = {}, sealedBytes = SEALED_BYTES): Record<string, unknown> {
  return { v: 2, uuid: UUID, sealed: toBase64(random(sealedBytes)), ...overrides };
}

/** Seals arbitrary contents to a push key, as only a buggy or hostile sender would. */
function sealRaw(plain: Uint8Array, key: PushKeyPair) {
  return parseCallPush({ v: 2, uuid: UUID, sealed: toBase64(sodium().crypto_box_seal(plain, key.publicKey)) });
}

/** The plaintext of a sealed part: hint length, hint padded to 128 bytes, envelope. */
function contents(hint: Uint8Array, envelope: Uint8Array, declaredLength = hint.length): Uint8Array {
  const plain = new Uint8Array(HINT_FIELD + envelope.length);
  plain[0] = declaredLength;
  plain.set(hint, 1);
  plain.set(envelope, HINT_FIELD);
  return plain;
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
  // First in the file: this process has not loaded libsodium, and reading a push must not need it
  // (iOS wants the call reported within seconds of the push, often before libsodium loaded).
  it('parses synchronously without libsodium', () => {
    expect(() => sodium()).toThrow();
    const sealed = random(SEALED_BYTES);
    const payload = { v: 2, uuid: UUID.toUpperCase(), sealed: toBase64(sealed) };
    // Through JSON, as APNs delivers it.
    expect(parseCallPush(JSON.parse(JSON.stringify(payload)))).toEqual({ uuid: UUID, sealed });
    expect(() => sodium()).toThrow();
  });

  it('builds a payload of exactly v, uuid and sealed that opens with the device key into the hint and the envelope', async () => {
    await ready();
    const device = generatePushKey();
    for (const size of ENVELOPE_BUCKETS.filter((b) => b <= MAX_PUSH_ENVELOPE_BYTES)) {
      const envelope = fakeEnvelope(size);
      const built = buildCallPush({ envelope, callerHint: 'alice', pushKey: device.publicKey, uuid: UUID.toUpperCase() });
      expect(Object.keys(built).sort()).toEqual(['sealed', 'uuid', 'v']);
      expect(built.v).toBe(CALL_PUSH_VERSION);
      expect(CALL_PUSH_VERSION).toBe(2);
      expect(built.uuid).toBe(UUID);
      expect(fromBase64(built.sealed)).toHaveLength(SEAL_OVERHEAD + HINT_FIELD + size);
      const parsed = parseCallPush(JSON.parse(JSON.stringify(built)));
      expect(parsed.uuid).toBe(UUID);
      expect(openCallPush(parsed, device)).toEqual({ callerHint: 'alice', envelope });
    }
    // Hints of any length up to 128 UTF-8 bytes, multibyte ones included, come back intact.
    for (const callerHint of ['a', 'x'.repeat(MAX_CALLER_HINT_BYTES), 'é'.repeat(MAX_CALLER_HINT_BYTES / 2), 'bob@example.org', '🦊 fox']) {
      const envelope = fakeEnvelope();
      const push = parseCallPush(buildCallPush({ envelope, callerHint, pushKey: device.publicKey }));
      expect(openCallPush(push, device)).toEqual({ callerHint, envelope });
    }
  });

  it('pads the hint, so the sealed part has one length whatever the caller', async () => {
    await ready();
    const device = generatePushKey();
    const lengths = ['a', 'alice', 'x'.repeat(MAX_CALLER_HINT_BYTES)].map(
      (callerHint) => buildCallPush({ envelope: fakeEnvelope(), callerHint, pushKey: device.publicKey }).sealed.length,
    );
    expect(new Set(lengths).size).toBe(1);
    expect(lengths[0]).toBe(Math.ceil(SEALED_BYTES / 3) * 4);
  });

  it('gives each push a fresh UUID unless one is given', async () => {
    await ready();
    const { publicKey } = generatePushKey();
    const a = buildCallPush({ envelope: fakeEnvelope(), callerHint: 'alice', pushKey: publicKey });
    const b = buildCallPush({ envelope: fakeEnvelope(), callerHint: 'alice', pushKey: publicKey });
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('accepts the UUID in any case and returns it lowercased', () => {
    const upper = shaped({ uuid: 'A0B1C2D3-E4F5-4A6B-8C7D-9E0F1A2B3C4D' });
    expect(parseCallPush(upper).uuid).toBe('a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d');
  });

  it.each<[string, unknown, ErrorCode]>([
    ['null', null, 'BAD_MESSAGE'],
    ['a string', 'push', 'BAD_MESSAGE'],
    ['an array', [], 'BAD_MESSAGE'],
    ['no version', shaped({ v: undefined }), 'BAD_MESSAGE'],
    ['version 1 (the readable format)', { v: 1, uuid: UUID, callId: '00'.repeat(16), callerHint: 'alice', media: 'audio', envelope: 'AAAA' }, 'UNSUPPORTED_VERSION'],
    ['version 3', shaped({ v: 3 }), 'UNSUPPORTED_VERSION'],
    ['version "2"', shaped({ v: '2' }), 'BAD_MESSAGE'],
    ['an unknown field', { ...shaped(), extra: 1 }, 'BAD_MESSAGE'],
    ['a readable caller hint next to the sealed part', { ...shaped(), callerHint: 'alice' }, 'BAD_MESSAGE'],
    ['a readable media kind next to the sealed part', { ...shaped(), media: 'video' }, 'BAD_MESSAGE'],
    ['no uuid', shaped({ uuid: undefined }), 'BAD_MESSAGE'],
    ['a bad uuid', shaped({ uuid: 'not-a-uuid' }), 'BAD_MESSAGE'],
    ['a numeric uuid', shaped({ uuid: 42 }), 'BAD_MESSAGE'],
    ['no sealed part', shaped({ sealed: undefined }), 'BAD_MESSAGE'],
    ['a sealed part that is not a string', shaped({ sealed: [1, 2] }), 'BAD_MESSAGE'],
    ['base64 with whitespace', shaped({ sealed: ` ${toBase64(random(SEALED_BYTES)).slice(1)}` }), 'BAD_MESSAGE'],
    ['url-safe base64', shaped({ sealed: withChar(toBase64(random(SEALED_BYTES)), 100, '-') }), 'BAD_MESSAGE'],
    ['truncated base64', shaped({ sealed: toBase64(random(SEALED_BYTES)).slice(0, -1) }), 'BAD_MESSAGE'],
    ['base64 with non-zero padding bits', shaped({ sealed: `${toBase64(random(SEALED_BYTES - 1)).slice(0, -2)}B=` }), 'BAD_MESSAGE'],
    ['a sealed part too short for the smallest envelope', shaped({}, SEAL_OVERHEAD + HINT_FIELD + ENVELOPE_BUCKETS[0] - 1), 'BAD_MESSAGE'],
    ['a sealed part of a 4,096-byte envelope', shaped({}, SEAL_OVERHEAD + HINT_FIELD + 4096), 'MESSAGE_TOO_LARGE'],
    ['a huge sealed part that is not even base64', shaped({ sealed: '!'.repeat(1_000_000) }), 'MESSAGE_TOO_LARGE'],
  ])('rejects %s with a typed error', (_name, input, code) => {
    expect(codeOf(() => parseCallPush(input))).toBe(code);
  });

  it('accepts sealed parts from the smallest envelope to the largest a push carries', () => {
    expect(codeOf(() => parseCallPush(shaped({}, SEAL_OVERHEAD + HINT_FIELD + ENVELOPE_BUCKETS[0])))).toBe('no error');
    expect(codeOf(() => parseCallPush(shaped({}, SEALED_BYTES)))).toBe('no error');
  });

  it('opens a push only with the key it was sealed to', async () => {
    await ready();
    const device = generatePushKey();
    const other = generatePushKey();
    const envelope = fakeEnvelope();
    const push = parseCallPush(buildCallPush({ envelope, callerHint: 'alice', pushKey: device.publicKey }));
    expect(codeOf(() => openCallPush(push, other))).toBe('DECRYPT_FAILED');
    // A sealed part changed in transit (one bit anywhere) does not open either.
    for (const at of [0, 40, 100, push.sealed.length - 1]) {
      const sealed = push.sealed.slice();
      sealed[at]! ^= 1;
      expect(codeOf(() => openCallPush({ ...push, sealed }, device))).toBe('DECRYPT_FAILED');
    }
    expect(openCallPush(push, device)).toEqual({ callerHint: 'alice', envelope });
  });

  it('refuses sealed contents that are malformed although they open', async () => {
    await ready();
    const device = generatePushKey();
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const cases: [string, Uint8Array][] = [
      ['an empty hint', contents(new Uint8Array(), fakeEnvelope())],
      ['a hint length over 128', contents(utf8('alice'), fakeEnvelope(), MAX_CALLER_HINT_BYTES + 1)],
      ['a hint that is not UTF-8', contents(Uint8Array.of(0x61, 0xff, 0x62), fakeEnvelope())],
      ['a hint with a C0 control character', contents(utf8('ali\u0000ce'), fakeEnvelope())],
      ['a hint with a C1 control character', contents(utf8('ali\u0085ce'), fakeEnvelope())],
      ['an envelope of no bucket length', contents(utf8('alice'), fakeEnvelope(600))],
    ];
    for (const [name, plain] of cases) {
      expect([name, codeOf(() => openCallPush(sealRaw(plain, device), device))]).toEqual([name, 'BAD_MESSAGE']);
    }
    expect(openCallPush(sealRaw(contents(utf8('alice'), fakeEnvelope(512)), device), device).callerHint).toBe('alice');
  });

  it('refuses to build a push from anything but an envelope that fits, a clean hint and a push key', async () => {
    await ready();
    const { publicKey: pushKey } = generatePushKey();
    const valid = { envelope: fakeEnvelope(), callerHint: 'alice', pushKey };
    expect(codeOf(() => buildCallPush(valid))).toBe('no error');
    expect(codeOf(() => buildCallPush({ ...valid, envelope: fakeEnvelope(300) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, envelope: [...fakeEnvelope()] as unknown as Uint8Array }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, envelope: fakeEnvelope(4096) }))).toBe('MESSAGE_TOO_LARGE');
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: '' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: 'x'.repeat(MAX_CALLER_HINT_BYTES + 1) }))).toBe('INVALID_ARGUMENT');
    // Bytes count, not characters: 65 two-byte characters are 130 bytes.
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: 'é'.repeat(MAX_CALLER_HINT_BYTES / 2 + 1) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: 'ali\u0000ce' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: 'ali\u009bce' }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, callerHint: { name: 'alice' } as unknown as string }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, pushKey: pushKey.subarray(1) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, pushKey: 'key' as unknown as Uint8Array }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildCallPush({ ...valid, uuid: 'x' }))).toBe('INVALID_ARGUMENT');
    // The largest push, nested in an APNs dictionary, fits APNs' 5,120-byte VoIP payload limit.
    const largest = buildCallPush({ ...valid, callerHint: 'x'.repeat(MAX_CALLER_HINT_BYTES) });
    const dictionary = JSON.stringify({ aps: { 'content-available': 1 }, [CALL_PUSH_KEY]: largest });
    expect(new TextEncoder().encode(dictionary).length).toBeLessThan(5120);
  });

  it('finds the payload nested in an app push dictionary', () => {
    const inner = shaped();
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
