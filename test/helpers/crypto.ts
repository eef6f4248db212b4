import { encodeMessage } from '../../src/protocol/codec.js';
import type { OutgoingMessage } from '../../src/protocol/messages.js';
import { DEFAULT_ENVELOPE_BYTES } from '../../src/signaling/envelope.js';
import { generateIdentity, type Identity } from '../../src/crypto/identity.js';
import { IncomingHandshake, OutgoingHandshake } from '../../src/signaling/handshake.js';
import { openPair, pairKeys, sealPair } from '../../src/signaling/pair-seal.js';
import type { SignalingSession } from '../../src/signaling/session.js';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface Pair {
  alice: Identity;
  bob: Identity;
  outgoing: OutgoingHandshake;
  invite: Uint8Array;
  reply: Uint8Array;
  caller: SignalingSession;
  callee: SignalingSession;
}

/** A finished handshake between two fresh identities. */
export function handshakePair(invitePayload = text('invite'), replyPayload = text('ringing')): Pair {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
  const invite = outgoing.invite(invitePayload, DEFAULT_ENVELOPE_BYTES);
  const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite });
  const { session: callee, envelope: reply } = incoming.respond(replyPayload, DEFAULT_ENVELOPE_BYTES);
  const { session: caller } = outgoing.accept(reply);
  return { alice, bob, outgoing, invite, reply, caller, callee };
}

/** Encodes a message with defaults for the fields tests do not care about. */
export function message(m: OutgoingMessage): Uint8Array {
  return encodeMessage(m);
}

/** Pair-seals an inner envelope from `from` to the contact with public key `to` (what a client's router does before sending). */
export function sealFor(from: Identity, to: Uint8Array, inner: Uint8Array): Uint8Array {
  return sealPair(pairKeys(from, to), inner);
}

/** Opens what the contact with public key `from` pair-sealed for `me`. */
export function openFrom(me: Identity, from: Uint8Array, outer: Uint8Array): Uint8Array {
  return openPair(pairKeys(me, from), outer);
}
