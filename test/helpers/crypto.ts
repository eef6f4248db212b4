import { encodeMessage } from '../../src/protocol/codec.js';
import type { OutgoingMessage } from '../../src/protocol/messages.js';
import { ReplayCache } from '../../src/signaling/replay-cache.js';
import { generateIdentity, type Identity } from '../../src/crypto/identity.js';
import { IncomingHandshake, OutgoingHandshake } from '../../src/signaling/handshake.js';
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
  bobCache: ReplayCache;
}

/** A finished handshake between two fresh identities. */
export function handshakePair(invitePayload = text('invite'), replyPayload = text('ringing')): Pair {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const bobCache = new ReplayCache();
  const outgoing = new OutgoingHandshake({ identity: alice, remotePublicKey: bob.publicKey });
  const invite = outgoing.invite(invitePayload);
  const incoming = IncomingHandshake.open({ identity: bob, remotePublicKey: alice.publicKey, envelope: invite, replayCache: bobCache });
  const { session: callee, envelope: reply } = incoming.respond(replyPayload);
  const { session: caller } = outgoing.accept(reply);
  return { alice, bob, outgoing, invite, reply, caller, callee, bobCache };
}

/** Encodes a message with defaults for the fields tests do not care about. */
export function message(m: OutgoingMessage): Uint8Array {
  return encodeMessage(m);
}
