// Per-operation costs behind the relay's per-message work in protocol v2, measured in the same
// run as the load bench so the breakdown matches the machine (µs per call, one thread, the same
// libsodium build the relay uses):
// - the keyed BLAKE2b-256 authenticator of an `ack` (over its authContent bytes), which the
//   recipient computes and the relay recomputes to verify, with the authContent bytes built as
//   both sides build them;
// - ChaCha20-Poly1305-IETF sealing of a stored body (sealDelivery: the relay, once per accepted
//   message) at both bench body sizes, and opening it (the recipient);
// - the X25519 command-key derivation (commandKey: once per queue per connection, both sides);
// - an X25519 key pair (generateRelayKeyPair: the relay's session key, once per connection);
// - 16 random bytes from the relay's RandomPool (a fresh message id per stored message), against
//   one randomFillSync call per id and libsodium's randombytes_buf(16) (its randomness pooled as
//   sealcall's ready() sets it up) for comparison.
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadRelayProtocol } from './internal.mjs';

/** Body sizes of the load bench: envelopes of 3,072 and 512 bytes plus the 80-byte sealed-sender header. */
export const MICRO_BODY_BYTES = { large: 3152, small: 592 };

function time(fn, iterations) {
  for (let i = 0; i < Math.min(500, iterations); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - start) * 1000) / iterations;
}

/** µs per operation, and the sizes they were measured at. */
export async function relayMicroCosts() {
  const p = await loadRelayProtocol();
  const s = p.sodium();
  const queue = p.generateRelayKeyPair();
  const session = p.generateRelayKeyPair();
  const key = p.commandKey(queue.secretKey, session.publicKey, session.publicKey, queue.publicKey);
  // A typical ack: a 5-byte corr (as after a few thousand requests: uint32 encoding), 16-byte ids.
  const ack = { t: 'ack', corr: 123_456, recipientId: s.randombytes_buf(16), msgId: s.randombytes_buf(16) };
  const content = p.authContent(ack);
  const scratch = new Uint8Array(p.AUTH_CONTENT_MAX_BYTES); // as the relay writes it
  const auth = p.authenticate(key, content);
  const server = p.generateRelayKeyPair();
  const deliveryKey = p.deliveryKey(server.secretKey, queue.publicKey, server.publicKey, queue.publicKey);
  const msgId = s.randombytes_buf(16);
  const ts = Date.now();
  const large = s.randombytes_buf(MICRO_BODY_BYTES.large);
  const small = s.randombytes_buf(MICRO_BODY_BYTES.small);
  const sealedLarge = p.sealDelivery(deliveryKey, msgId, ts, large);
  const pool = new p.RandomPool();
  return {
    sizes: { authContent: content.length, ...MICRO_BODY_BYTES },
    /** BLAKE2b-256 keyed with the command key over an ack's authContent bytes. */
    authenticate: time(() => p.authenticate(key, content), 20_000),
    /** What the relay does per ack: build authContent, recompute the authenticator, compare. */
    verifyAck: time(() => p.verifyAuth(key, p.authContent(ack, scratch), auth), 20_000),
    sealLarge: time(() => p.sealDelivery(deliveryKey, msgId, ts, large), 10_000),
    sealSmall: time(() => p.sealDelivery(deliveryKey, msgId, ts, small), 10_000),
    openLarge: time(() => p.openDelivery(deliveryKey, msgId, ts, sealedLarge), 10_000),
    /** X25519 + BLAKE2b: a command key (and, at `new`, a delivery key) per queue per connection. */
    commandKey: time(() => p.commandKey(session.secretKey, queue.publicKey, session.publicKey, queue.publicKey), 1000),
    /** X25519 key pair: the relay's session key, once per connection. */
    keyPair: time(() => p.generateRelayKeyPair(), 2000),
    /** As the relay draws message ids (commands.ts). */
    pooledRandom16: time(() => pool.bytes(16), 20_000),
    nodeRandom16: time(() => randomFillSync(new Uint8Array(16)), 20_000),
    sodiumRandom16: time(() => s.randombytes_buf(16), 20_000),
  };
}

// `node bench/load/micro.mjs` prints them.
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  console.log(await relayMicroCosts());
}
