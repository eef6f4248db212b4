import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { identityFromSecretKey } from '../src/crypto/identity.js';
import { ready } from '../src/crypto/sodium.js';
import { encodeMessage } from '../src/protocol/codec.js';
import { ENVELOPE_VERSION } from '../src/signaling/envelope.js';
import { IncomingHandshake, OutgoingHandshake, openOneShot, sealOneShot } from '../src/signaling/handshake.js';
import { openPair, pairKeys, sealPair } from '../src/signaling/pair-seal.js';
import { hex, loadVectorFiles, REPO_VECTORS_DIR, toHex, VECTOR_DIRS } from './helpers/vectors.js';

/**
 * sealcall's own wire format, published as vectors (test/vectors/envelope-v2.json) so another
 * implementation can interoperate: two identities, the pair keys, and one of each envelope kind
 * (invitation, ringing reply, transport message, one-shot cancel, a second transport message
 * carrying the optional `held` field, a one-shot cancel from one of Bob's devices to his others,
 * bound to the caller, and a third transport message carrying the optional `screenSharing` field)
 * with every random input fixed.
 * `SEALCALL_WRITE_VECTORS=1` rewrites the repository's file from this code; otherwise the code
 * must reproduce every file byte for byte.
 */

interface EnvelopeMessage {
  name: string;
  from: 'alice' | 'bob';
  /** The receiver, when it is not the other party: Bob's own devices. */
  to?: 'bob';
  /** The caller's public key bound into an own-device cancel's prologue. */
  callerKey?: string;
  ephemeralSecretKey?: string;
  payload: string;
  nonce: string;
  inner: string;
  sealed: string;
}

interface EnvelopeVector {
  description: string;
  version: number;
  envelopeBytes: number;
  alice: { secretKey: string; publicKey: string };
  bob: { secretKey: string; publicKey: string };
  pairKeys: { aliceToBob: string; bobToAlice: string };
  callId: string;
  sessionTag: string;
  messages: EnvelopeMessage[];
}

beforeAll(() => ready());

const bytes = (seed: number, n = 32) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);

/** Builds the vector from fixed inputs with the library's own code. */
function build(): EnvelopeVector {
  const envelopeBytes = 512;
  const alice = identityFromSecretKey(bytes(1));
  const bob = identityFromSecretKey(bytes(2));
  const ab = pairKeys(alice, bob.publicKey);
  const ba = pairKeys(bob, alice.publicKey);
  const callId = toHex(bytes(3, 16));
  const messages: EnvelopeMessage[] = [];
  const bb = pairKeys(bob, bob.publicKey);
  const record = (name: string, from: 'alice' | 'bob', payload: Uint8Array, inner: Uint8Array, nonce: Uint8Array, ephemeral?: Uint8Array, own?: { callerKey: Uint8Array }) => {
    const sealed = sealPair(own ? bb : from === 'alice' ? ab : ba, inner, nonce);
    messages.push({
      name,
      from,
      ...(own ? { to: 'bob' as const, callerKey: toHex(own.callerKey) } : {}),
      ...(ephemeral ? { ephemeralSecretKey: toHex(ephemeral) } : {}),
      payload: toHex(payload),
      nonce: toHex(nonce),
      inner: toHex(inner),
      sealed: toHex(sealed),
    });
  };

  const invitePayload = encodeMessage({ type: 'invite', callId, seq: 0, media: 'video', capabilities: { frameEncryption: ['chacha20poly1305'] }, sentAt: 1_767_225_600_000, lifetimeMs: 30_000 });
  const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey, callId, ephemeralSecretKey: bytes(4) });
  const invite = outgoing.invite(invitePayload, envelopeBytes);
  record('invite (Noise KK message 1)', 'alice', invitePayload, invite, bytes(5, 24), bytes(4));

  const ringingPayload = encodeMessage({ type: 'ringing', callId, seq: 0, capabilities: { frameEncryption: ['chacha20poly1305'] } });
  const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, ephemeralSecretKey: bytes(6) });
  const { session: callee, envelope: ringing } = incoming.respond(ringingPayload, envelopeBytes);
  record('ringing (Noise KK message 2)', 'bob', ringingPayload, ringing, bytes(7, 24), bytes(6));
  const { session: caller } = outgoing.accept(ringing);

  const statePayload = encodeMessage({ type: 'media-state', callId, seq: 1, audioMuted: false, videoEnabled: true });
  const transport = callee.seal(statePayload, envelopeBytes);
  record('media-state (transport message, counter 0)', 'bob', statePayload, transport, bytes(8, 24));
  expect(caller.open(transport)).toEqual(statePayload);

  const cancelPayload = encodeMessage({ type: 'cancel', callId, seq: 0, reason: 'cancelled' });
  const cancel = sealOneShot({ identity: alice, remotePublicKey: bob.publicKey, callId, payload: cancelPayload, envelopeBytes, ephemeralSecretKey: bytes(9) });
  record('cancel (one-shot, a fresh KK message 1)', 'alice', cancelPayload, cancel, bytes(10, 24), bytes(9));

  // Added with hold: the optional `held` field, sent only as true (older peers ignore it).
  const heldPayload = encodeMessage({ type: 'media-state', callId, seq: 2, audioMuted: false, videoEnabled: true, held: true });
  const held = callee.seal(heldPayload, envelopeBytes);
  record('media-state on hold (transport message, counter 1)', 'bob', heldPayload, held, bytes(11, 24));
  expect(caller.open(held)).toEqual(heldPayload);

  // Added with ownDevices: after a silent reject, Bob's device tells his others. Noise KK with
  // Bob's key at both ends, prologue "sealcall own cancel v1" ‖ call id ‖ the caller's public
  // key; pair-sealed with the one key Bob's devices share (crypto_kx of his key with itself).
  const ownPayload = encodeMessage({ type: 'cancel', callId, seq: 0, reason: 'declined-elsewhere' });
  const callerKey = alice.publicKey;
  const own = sealOneShot({ identity: bob, remotePublicKey: bob.publicKey, callId, callerKey, payload: ownPayload, envelopeBytes, ephemeralSecretKey: bytes(12) });
  record("own cancel (one-shot from one of Bob's devices to his others, bound to the caller)", 'bob', ownPayload, own, bytes(13, 24), bytes(12), { callerKey });

  // Added with screen sharing: the optional `screenSharing` field, sent only as true like `held`
  // (older peers ignore it). Bob's third transport message (counter 2).
  const sharingPayload = encodeMessage({ type: 'media-state', callId, seq: 3, audioMuted: false, videoEnabled: true, screenSharing: true });
  const sharing = callee.seal(sharingPayload, envelopeBytes);
  record('media-state sharing the screen (transport message, counter 2)', 'bob', sharingPayload, sharing, bytes(14, 24));
  expect(caller.open(sharing)).toEqual(sharingPayload);

  return {
    description:
      'sealcall envelope v2: every input fixed. sealed = nonce ‖ XChaCha20-Poly1305(pair key of the sender, nonce, ad "sealcall pair v2", inner); inner = version ‖ kind ‖ call id ‖ session tag ‖ counter ‖ Noise body (docs/ARCHITECTURE.md, "Envelope"). Pair keys: crypto_kx session keys, the smaller public key as client.',
    version: ENVELOPE_VERSION,
    envelopeBytes,
    alice: { secretKey: toHex(alice.secretKey), publicKey: toHex(alice.publicKey) },
    bob: { secretKey: toHex(bob.secretKey), publicKey: toHex(bob.publicKey) },
    pairKeys: { aliceToBob: toHex(ab.send), bobToAlice: toHex(ba.send) },
    callId,
    sessionTag: caller.sessionTag,
    messages,
  };
}

if (process.env.SEALCALL_WRITE_VECTORS) {
  beforeAll(() => writeFileSync(join(REPO_VECTORS_DIR, 'envelope-v2.json'), `${JSON.stringify([build()], null, 2)}\n`));
}

const files = () => loadVectorFiles<EnvelopeVector>('envelope-');

describe(`envelope v2 vectors from ${VECTOR_DIRS.join(', ')}`, () => {
  it('the repository publishes them', () => {
    expect(files().map((f) => f.file)).toContain('test/vectors/envelope-v2.json');
  });

  it('reproduces every envelope byte for byte from the fixed inputs', () => {
    for (const { file, vectors } of files()) {
      for (const vector of vectors) expect(build(), file).toEqual(vector);
    }
  });

  it('opens every sealed envelope with the receiver’s pair key and reads its payload back', () => {
    for (const { vectors } of files()) {
      for (const v of vectors) {
        const alice = identityFromSecretKey(hex(v.alice.secretKey));
        const bob = identityFromSecretKey(hex(v.bob.secretKey));
        for (const m of v.messages) {
          const [me, them] = m.to === 'bob' ? [bob, bob] : m.from === 'alice' ? [bob, alice] : [alice, bob];
          const inner = openPair(pairKeys(me, them.publicKey), hex(m.sealed));
          expect(toHex(inner)).toBe(m.inner);
          expect(hex(m.sealed)).toHaveLength(v.envelopeBytes);
          if (m.name.startsWith('cancel')) {
            expect(toHex(openOneShot({ identity: me, remotePublicKey: them.publicKey, envelope: inner }).payload)).toBe(m.payload);
          }
          if (m.callerKey !== undefined) {
            const opened = openOneShot({ identity: me, remotePublicKey: them.publicKey, envelope: inner, callerKey: hex(m.callerKey) });
            expect(toHex(opened.payload)).toBe(m.payload);
            // Bound to that caller: under another caller's key, or as a caller's cancel, it does not open.
            expect(() => openOneShot({ identity: me, remotePublicKey: them.publicKey, envelope: inner, callerKey: hex(v.bob.publicKey) })).toThrow();
            expect(() => openOneShot({ identity: me, remotePublicKey: them.publicKey, envelope: inner })).toThrow();
          }
        }
      }
    }
  });
});
