// Per-operation costs behind the relay's per-message work, measured in the same run as the load
// bench so the breakdown matches the machine: Ed25519 verify (the relay checks every `ack`),
// Node's randomFillSync into 16 bytes (the relay's fresh message id per stored message) against
// libsodium's randombytes_buf(16), and Ed25519 sign (what each recipient does per `ack`).
import { randomBytes, randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadRelayProtocol } from './internal.mjs';

function time(fn, iterations) {
  for (let i = 0; i < Math.min(200, iterations); i++) fn();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - start) * 1000) / iterations;
}

/** µs per operation. */
export async function relayMicroCosts() {
  const { sodium } = await loadRelayProtocol();
  const s = sodium();
  const keys = s.crypto_sign_keypair();
  const message = randomBytes(90); // label + session id + [t, corr, recipientId, msgId]
  const sig = s.crypto_sign_detached(message, keys.privateKey);
  return {
    verify: time(() => s.crypto_sign_verify_detached(sig, message, keys.publicKey), 2000),
    sign: time(() => s.crypto_sign_detached(message, keys.privateKey), 2000),
    sodiumRandom16: time(() => s.randombytes_buf(16), 5000),
    nodeRandom16: time(() => randomFillSync(new Uint8Array(16)), 5000),
  };
}
