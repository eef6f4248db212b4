import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  authenticate,
  commandKey,
  deliveryKey,
  helloContent,
  openDelivery,
  sealDelivery,
  signHello,
  verifyAuth,
  verifyHello,
} from '../src/crypto/relay-keys.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import { toBase64 } from '../src/protocol/base64.js';
import { unpackUntrusted } from '../src/protocol/msgpack.js';
import {
  AUTH_CONTENT_MAX_BYTES,
  authContent,
  decodeRelayBlock,
  encodeClientBlock,
  encodeRelayBlock,
  RELAY_PROTOCOL_VERSION,
  unpackBlock,
  validateClientFrame,
  type ClientFrame,
  type RelayFrame,
} from '../src/protocol/relay-frames.js';
import { pinnedRelayKey } from '../src/protocol/relay-url.js';
import { hex, loadVectorFiles, REPO_VECTORS_DIR, toHex, VECTOR_DIRS } from './helpers/vectors.js';

/**
 * sealcall's relay wire protocol, version 2, published as vectors (test/vectors/relay-v2.json) so
 * another implementation of a relay or of a relay client can interoperate: the relay's identity
 * and `hello`, the command key and the authenticator of each recipient command, the delivery key
 * and one delivered `msg`, with every key and random value fixed. `SEALCALL_WRITE_VECTORS=1`
 * rewrites the repository's file from this code; otherwise the code must reproduce every file
 * byte for byte.
 */

interface KeyPairHex {
  secretKey: string;
  publicKey: string;
}

interface CommandVector {
  t: 'new' | 'sub' | 'ack' | 'del';
  corr: number;
  recipientKey?: string;
  recipientId?: string;
  msgId?: string;
  authContent: string;
  auth: string;
  block: string;
}

interface RelayVector {
  description: string;
  version: number;
  relayIdentity: { description: string; seed: string; publicKey: string; secretKey: string; url: string };
  session: KeyPairHex & { description: string };
  queue: KeyPairHex & { description: string };
  server: KeyPairHex & { description: string };
  hello: { description: string; content: string; sig: string; block: string };
  commandKey: { description: string; key: string };
  commands: { description: string; cases: CommandVector[] };
  ids: { description: string; corr: number; recipientId: string; senderId: string; block: string };
  send: { description: string; corr: number; senderId: string; body: string; block: string };
  deliveryKey: { description: string; key: string };
  msg: { description: string; recipientId: string; msgId: string; ts: number; body: string; nonce: string; ad: string; sealed: string; block: string };
  end: { description: string; recipientId: string; block: string };
}

beforeAll(() => ready());

const bytes = (seed: number, n = 32) => Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
const text = (s: string) => new TextEncoder().encode(s);

/** An X25519 key pair from fixed secret bytes. */
function x25519(secretKey: Uint8Array) {
  return { secretKey, publicKey: sodium().crypto_scalarmult_base(secretKey) };
}

const pairHex = (pair: { secretKey: Uint8Array; publicKey: Uint8Array }): KeyPairHex => ({ secretKey: toHex(pair.secretKey), publicKey: toHex(pair.publicKey) });

/** `msgId ‖ ts` as 8 bytes big-endian: the delivery layer's associated data, built here from its description. */
function deliveryAd(msgId: Uint8Array, ts: number): Uint8Array {
  const ad = new Uint8Array(msgId.length + 8);
  ad.set(msgId, 0);
  new DataView(ad.buffer).setBigUint64(msgId.length, BigInt(ts));
  return ad;
}

/** Builds the vector from fixed inputs with the library's own code. */
function build(): RelayVector {
  const seed = bytes(1);
  const { publicKey: relayKey, privateKey: relaySecret } = sodium().crypto_sign_seed_keypair(seed);
  const session = x25519(bytes(2));
  const queue = x25519(bytes(3));
  const server = x25519(bytes(4));
  const recipientId = bytes(5, 16);
  const senderId = bytes(6, 16);
  const msgId = bytes(7, 16);
  const ts = 1_767_225_600_000; // 2026-01-01T00:00:00Z
  const body = text('sealcall relay v2 vector: an opaque body, end-to-end encrypted by its sender');

  const sig = signHello(relaySecret, session.publicKey);
  const hello: RelayFrame = { t: 'hello', v: RELAY_PROTOCOL_VERSION, relayKey, sessionKey: session.publicKey, sig };

  // Both ends derive the same keys: the client from its queue secret, the relay from its own.
  const clientCommandKey = commandKey(queue.secretKey, session.publicKey, session.publicKey, queue.publicKey);
  const relayCommandKey = commandKey(session.secretKey, queue.publicKey, session.publicKey, queue.publicKey);
  if (toHex(clientCommandKey) !== toHex(relayCommandKey)) throw new Error('the two ends derive different command keys');
  const clientDeliveryKey = deliveryKey(queue.secretKey, server.publicKey, server.publicKey, queue.publicKey);
  const relayDeliveryKey = deliveryKey(server.secretKey, queue.publicKey, server.publicKey, queue.publicKey);
  if (toHex(clientDeliveryKey) !== toHex(relayDeliveryKey)) throw new Error('the two ends derive different delivery keys');

  // One corr per msgpack integer width: positive fixint, uint8, uint16, uint32.
  const frames = [
    { t: 'new', corr: 1, recipientKey: queue.publicKey },
    { t: 'sub', corr: 200, recipientId },
    { t: 'ack', corr: 300, recipientId, msgId },
    { t: 'del', corr: 70_000, recipientId },
  ] as const;
  const cases = frames.map((frame): CommandVector => {
    const content = authContent(frame);
    // The relay and the transport write it into a scratch array that held the previous command's.
    const scratch = new Uint8Array(AUTH_CONTENT_MAX_BYTES).fill(0xee);
    if (toHex(authContent(frame, scratch)) !== toHex(content)) throw new Error('authContent differs when written into an array');
    const auth = authenticate(clientCommandKey, content);
    const block = encodeClientBlock([{ ...frame, auth } as ClientFrame]);
    return {
      t: frame.t,
      corr: frame.corr,
      ...('recipientKey' in frame ? { recipientKey: toHex(frame.recipientKey) } : { recipientId: toHex(frame.recipientId) }),
      ...('msgId' in frame ? { msgId: toHex(frame.msgId) } : {}),
      authContent: toHex(content),
      auth: toHex(auth),
      block: toHex(block),
    };
  });

  const sealed = sealDelivery(clientDeliveryKey, msgId, ts, body);

  return {
    description:
      "sealcall relay protocol v2 (src/protocol/relay-frames.ts, src/crypto/relay-keys.ts): every input fixed, every byte string lowercase hex. Each WebSocket message is a block: a msgpack array of 1..64 frames, each a msgpack map; ids, keys and authenticators are msgpack bin. The blocks here hold one frame each as sealcall's encoder (msgpackr) writes them: keys in this order, every map as map16, ts (over 2^32) as float64. A decoder must accept any valid msgpack encoding and key order: authenticators cover authContent, never the block bytes.",
    version: RELAY_PROTOCOL_VERSION,
    relayIdentity: {
      description:
        "The relay's long-term Ed25519 key pair: crypto_sign_seed_keypair(seed); secretKey is libsodium's 64 bytes (seed ‖ publicKey). Relay URLs carry base64url(publicKey) as their user name, the fingerprint: ws://<fingerprint>@host:port.",
      seed: toHex(seed),
      publicKey: toHex(relayKey),
      secretKey: toHex(relaySecret),
      url: `ws://${toBase64(relayKey, 'url')}@127.0.0.1:7443`,
    },
    session: { description: "This connection's X25519 key pair, fresh per connection (publicKey = crypto_scalarmult_base(secretKey)).", ...pairHex(session) },
    queue: { description: "The recipient's X25519 queue key pair, registered by `new` as recipientKey.", ...pairHex(queue) },
    server: { description: "The relay's X25519 key pair for this queue; `ids` returns its public half as serverKey.", ...pairHex(server) },
    hello: {
      description:
        "hello: the relay's long-term Ed25519 key signs `\"sealcall relay v2 hello\" ‖ sessionKey`, a fresh X25519 key per connection. A client that knows the relay's key (the fingerprint in the relay URL) knows it talks to that relay and no other. content = the signed bytes; sig = crypto_sign_detached(content, relay secretKey); block = the first block on every connection, {t:'hello', v:2, relayKey, sessionKey, sig} alone.",
      content: toHex(helloContent(session.publicKey)),
      sig: toHex(sig),
      block: toHex(encodeRelayBlock([hello])),
    },
    commandKey: {
      description:
        'command key: BLAKE2b-256(`"sealcall relay v2 auth"` ‖ X25519(queue key, session key) ‖ sessionKey ‖ recipientKey). Only the queue\'s owner and this connection\'s relay side can compute it (the client with its queue secret and sessionKey, the relay with its session secret and recipientKey; both get these bytes). An all-zero shared secret (a low-order key) authorizes nothing.',
      key: toHex(clientCommandKey),
    },
    commands: {
      description:
        'An authenticator is keyed BLAKE2b-256 of the command (authContent) under the command key: auth = crypto_generichash(32, authContent, commandKey). authContent = the label `sealcall relay v2 command`, then the canonical msgpack array [t, corr, recipientId] ([t, corr, recipientId, msgId] for ack, [t, corr, recipientKey] for new), shortest encodings (fixstr, positive fixint / uint8 / uint16 / uint32, bin8). The connection is bound by the key, not by these bytes. block = the client block carrying the frame with its auth.',
      cases,
    },
    ids: {
      description: "The relay's reply to `new`: {t:'ids', corr, recipientId, senderId, serverKey}, two unrelated random ids and the server public key.",
      corr: 1,
      recipientId: toHex(recipientId),
      senderId: toHex(senderId),
      block: toHex(encodeRelayBlock([{ t: 'ids', corr: 1, recipientId, senderId, serverKey: server.publicKey }])),
    },
    send: {
      description: "A sender's `send` of body to senderId: no account, no authenticator.",
      corr: 9,
      senderId: toHex(senderId),
      body: toHex(body),
      block: toHex(encodeClientBlock([{ t: 'send', corr: 9, senderId, body }])),
    },
    deliveryKey: {
      description:
        "delivery key: BLAKE2b-256(`\"sealcall relay v2 deliver\"` ‖ X25519(queue key, relay's queue key) ‖ serverKey ‖ recipientKey), agreed when the queue is created (the recipient with its queue secret and serverKey, the relay with its per-queue secret and recipientKey).",
      key: toHex(clientDeliveryKey),
    },
    msg: {
      description:
        "A delivered body is ChaCha20-Poly1305-IETF(delivery key, nonce = msgId[0..12], ad = msgId ‖ ts as 8 bytes big-endian, body): the relay re-encrypts what it stored, so bytes in and out differ. sealed = ciphertext ‖ 16-byte tag (body + 16 bytes, what the relay stores and counts against its quotas); block = {t:'msg', recipientId, msgId, body: sealed, ts}.",
      recipientId: toHex(recipientId),
      msgId: toHex(msgId),
      ts,
      body: toHex(body),
      nonce: toHex(msgId.subarray(0, 12)),
      ad: toHex(deliveryAd(msgId, ts)),
      sealed: toHex(sealed),
      block: toHex(encodeRelayBlock([{ t: 'msg', recipientId, msgId, body: sealed, ts }])),
    },
    end: {
      description:
        "{t:'end', recipientId}: sent once to a queue's subscriber when another connection subscribed to the queue (on this relay process or another sharing its store) and gets its messages from then on, as SMP's END. No reply; the relay sends nothing more for the queue on this connection unless it subscribes again.",
      recipientId: toHex(recipientId),
      block: toHex(encodeRelayBlock([{ t: 'end', recipientId }])),
    },
  };
}

if (process.env.SEALCALL_WRITE_VECTORS) {
  beforeAll(() => writeFileSync(join(REPO_VECTORS_DIR, 'relay-v2.json'), `${JSON.stringify([build()], null, 2)}\n`));
}

const files = () => loadVectorFiles<RelayVector>('relay-');

describe(`relay v2 vectors from ${VECTOR_DIRS.join(', ')}`, () => {
  it('the repository publishes them', () => {
    expect(files().map((f) => f.file)).toContain('test/vectors/relay-v2.json');
  });

  it('reproduces every frame, key and authenticator byte for byte from the fixed inputs', () => {
    for (const { file, vectors } of files()) {
      for (const vector of vectors) expect(build(), file).toEqual(vector);
    }
  });

  it('checks every construction with libsodium directly, as another implementation would', () => {
    const s = sodium();
    const label = (l: string) => text(`sealcall relay v2 ${l}`);
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
    for (const { vectors } of files()) {
      for (const v of vectors) {
        // Identity and hello.
        const identity = s.crypto_sign_seed_keypair(hex(v.relayIdentity.seed));
        expect(toHex(identity.publicKey)).toBe(v.relayIdentity.publicKey);
        expect(toHex(pinnedRelayKey(v.relayIdentity.url))).toBe(v.relayIdentity.publicKey);
        for (const pair of [v.session, v.queue, v.server]) expect(toHex(s.crypto_scalarmult_base(hex(pair.secretKey)))).toBe(pair.publicKey);
        expect(v.hello.content).toBe(toHex(cat(label('hello'), hex(v.session.publicKey))));
        expect(s.crypto_sign_verify_detached(hex(v.hello.sig), hex(v.hello.content), hex(v.relayIdentity.publicKey))).toBe(true);
        expect(verifyHello(hex(v.relayIdentity.publicKey), hex(v.session.publicKey), hex(v.hello.sig))).toBe(true);
        const [hello] = decodeRelayBlock(hex(v.hello.block));
        expect(hello).toEqual({ t: 'hello', v: v.version, relayKey: hex(v.relayIdentity.publicKey), sessionKey: hex(v.session.publicKey), sig: hex(v.hello.sig) });

        // Command key, from either end.
        const key = hex(v.commandKey.key);
        const sessionKey = hex(v.session.publicKey);
        const recipientKey = hex(v.queue.publicKey);
        for (const shared of [s.crypto_scalarmult(hex(v.queue.secretKey), sessionKey), s.crypto_scalarmult(hex(v.session.secretKey), recipientKey)]) {
          expect(toHex(s.crypto_generichash(32, cat(label('auth'), shared, sessionKey, recipientKey), null))).toBe(v.commandKey.key);
        }

        // Each command: its authContent, its authenticator, its block.
        expect(v.commands.cases.map((c) => c.t)).toEqual(['new', 'sub', 'ack', 'del']);
        for (const c of v.commands.cases) {
          const content = hex(c.authContent);
          const prefix = label('command');
          expect(toHex(content.subarray(0, prefix.length))).toBe(toHex(prefix));
          const id = hex(c.recipientKey ?? c.recipientId!);
          expect(unpackUntrusted(content.subarray(prefix.length), 1024, 'authContent')).toEqual([c.t, c.corr, id, ...(c.msgId ? [hex(c.msgId)] : [])]);
          expect(toHex(s.crypto_generichash(32, content, key))).toBe(c.auth);
          expect(verifyAuth(key, content, hex(c.auth))).toBe(true);
          const [frame] = unpackBlock(hex(c.block)).map(validateClientFrame);
          expect(frame).toEqual({
            t: c.t,
            corr: c.corr,
            ...(c.recipientKey ? { recipientKey: id } : { recipientId: id }),
            ...(c.msgId ? { msgId: hex(c.msgId) } : {}),
            auth: hex(c.auth),
          });
        }

        // ids and send.
        expect(decodeRelayBlock(hex(v.ids.block))).toEqual([
          { t: 'ids', corr: v.ids.corr, recipientId: hex(v.ids.recipientId), senderId: hex(v.ids.senderId), serverKey: hex(v.server.publicKey) },
        ]);
        expect(unpackBlock(hex(v.send.block)).map(validateClientFrame)).toEqual([
          { t: 'send', corr: v.send.corr, senderId: hex(v.send.senderId), body: hex(v.send.body) },
        ]);

        // Delivery key, from either end, and the delivered message.
        const serverKey = hex(v.server.publicKey);
        for (const shared of [s.crypto_scalarmult(hex(v.queue.secretKey), serverKey), s.crypto_scalarmult(hex(v.server.secretKey), recipientKey)]) {
          expect(toHex(s.crypto_generichash(32, cat(label('deliver'), shared, serverKey, recipientKey), null))).toBe(v.deliveryKey.key);
        }
        const msgId = hex(v.msg.msgId);
        expect(v.msg.nonce).toBe(toHex(msgId.subarray(0, 12)));
        expect(v.msg.ad).toBe(toHex(deliveryAd(msgId, v.msg.ts)));
        const sealed = hex(v.msg.sealed);
        expect(sealed).toHaveLength(hex(v.msg.body).length + 16);
        const plain = s.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, hex(v.msg.ad), hex(v.msg.nonce), hex(v.deliveryKey.key));
        expect(toHex(plain)).toBe(v.msg.body);
        expect(toHex(openDelivery(hex(v.deliveryKey.key), msgId, v.msg.ts, sealed))).toBe(v.msg.body);
        expect(decodeRelayBlock(hex(v.msg.block))).toEqual([{ t: 'msg', recipientId: hex(v.msg.recipientId), msgId, body: sealed, ts: v.msg.ts }]);
        expect(decodeRelayBlock(hex(v.end.block))).toEqual([{ t: 'end', recipientId: hex(v.end.recipientId) }]);
        expect(unpackUntrusted(hex(v.end.block), 1024, 'end')).toEqual([{ t: 'end', recipientId: hex(v.end.recipientId) }]);
        // The relay re-encrypts: the sealed body shares no 16-byte window with the body sent.
        const sent = Buffer.from(hex(v.send.body));
        for (let i = 0; i + 16 <= sent.length; i++) expect(Buffer.from(hex(v.msg.block)).includes(sent.subarray(i, i + 16))).toBe(false);
      }
    }
  });
});
