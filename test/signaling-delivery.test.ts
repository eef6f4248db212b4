import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ready } from '../src/crypto/sodium.js';
import { SealcallError } from '../src/errors.js';
import type { Message } from '../src/protocol/messages.js';
import { SignalingChannel, type DeliveryOptions } from '../src/signaling/channel.js';
import { DEFAULT_ENVELOPE_BYTES } from '../src/signaling/envelope.js';
import { PAIR_SEAL_OVERHEAD } from '../src/signaling/pair-seal.js';
import { seededRandom } from '../src/testing/seeded-random.js';
import { handshakePair } from './helpers/crypto.js';

// Reliable delivery on one channel pair, with a hand-driven "transport" and fake timers.
beforeAll(() => ready());
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const DELIVERY: DeliveryOptions = { retransmitMs: 1000, retransmitMaxMs: 8000, ackDelayMs: 200, lingerMs: 8000, envelopeBytes: DEFAULT_ENVELOPE_BYTES };

interface Side {
  channel: SignalingChannel;
  /** Envelopes this side handed to the transport, in order (inner envelopes: the router pair-seals them). */
  wire: Uint8Array[];
  received: Message[];
  warnings: SealcallError[];
  closed: boolean;
  /** When set, sends are refused like a reconnecting chat would. */
  failSends: boolean;
  /** The length of every envelope this side sends, once pair-sealed. */
  envelopeBytes: number;
}

function pair(delivery: DeliveryOptions = DELIVERY): { a: Side; b: Side } {
  const { caller, callee } = handshakePair();
  const make = (session: typeof caller): Side => {
    const side: Side = { channel: undefined as unknown as SignalingChannel, wire: [], received: [], warnings: [], closed: false, failSends: false, envelopeBytes: delivery.envelopeBytes };
    side.channel = new SignalingChannel(
      session,
      'peer',
      async (_to, envelope) => {
        if (side.failSends) throw new Error('chat is reconnecting');
        side.wire.push(envelope);
      },
      { frameEncryption: [] },
      delivery,
      { messages: (m) => side.received.push(...m), warn: (e) => side.warnings.push(e) },
      () => (side.closed = true),
    );
    return side;
  };
  return { a: make(caller), b: make(callee) };
}

/**
 * Delivers (and removes) what `from` put on the wire to `to`, except the indexes in `drop`. Every
 * envelope, whatever it carries, is the one length the delivery options name.
 */
function deliver(from: Side, to: Side, drop: number[] = []): void {
  const envelopes = from.wire.splice(0);
  for (const e of envelopes) expect(e.length).toBe(from.envelopeBytes - PAIR_SEAL_OVERHEAD);
  envelopes.forEach((e, i) => {
    if (!drop.includes(i)) to.channel.receive(e);
  });
}

const types = (side: Side) => side.received.map((m) => m.type);

/** `n` bytes of seeded noise as base64: text that does not deflate much. */
const noise = (n: number): string => {
  const random = seededRandom(7);
  return Buffer.from(Uint8Array.from({ length: n }, () => Math.floor(random() * 256))).toString('base64');
};

describe('reliable signaling delivery', () => {
  it('resends a lost message until it is acknowledged, and the receiver applies it once', async () => {
    const { a, b } = pair();
    a.channel.send({ type: 'media-state', audioMuted: true, videoEnabled: false });
    await vi.advanceTimersByTimeAsync(0);
    deliver(a, b, [0]); // lost
    expect(b.received).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000); // first retransmission timeout
    expect(a.wire).toHaveLength(1);
    deliver(a, b);
    expect(types(b)).toEqual(['media-state']);
    expect(a.channel.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(200); // b's acknowledgement goes alone
    deliver(b, a);
    expect(a.channel.pending).toBe(0);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(a.wire).toEqual([]); // nothing more once acknowledged
  });

  it('drops duplicates, acknowledging them again', async () => {
    const { a, b } = pair();
    a.channel.send({ type: 'key-update', kid: 1 });
    await vi.advanceTimersByTimeAsync(0);
    const [first] = a.wire.splice(0);
    b.channel.receive(first!);
    await vi.advanceTimersByTimeAsync(200);
    expect(b.wire).toHaveLength(1); // the ack, lost below
    b.wire.splice(0);
    await vi.advanceTimersByTimeAsync(800);
    deliver(a, b); // the retransmission: same seq, sealed afresh
    expect(types(b)).toEqual(['key-update']);
    await vi.advanceTimersByTimeAsync(200);
    deliver(b, a); // acknowledged again
    expect(a.channel.pending).toBe(0);
  });

  it('applies order-free messages on arrival while ordered ones wait for the gap to fill', async () => {
    const { a, b } = pair();
    a.channel.send({ type: 'ice', candidates: [], end: false });
    a.channel.send({ type: 'media-state', audioMuted: true, videoEnabled: true });
    a.channel.send({ type: 'ice', candidates: [], end: true });
    await vi.advanceTimersByTimeAsync(0);
    deliver(a, b, [0]);
    expect(types(b)).toEqual(['media-state']); // the second ice waits for the first
    await vi.advanceTimersByTimeAsync(1000);
    deliver(a, b);
    expect(types(b)).toEqual(['media-state', 'ice', 'ice']);
    expect(b.received.filter((m) => m.type === 'ice').map((m) => (m as { end: boolean }).end)).toEqual([false, true]);
  });

  it('acknowledgements ride on messages going the other way, with no separate ack', async () => {
    const { a, b } = pair();
    a.channel.send({ type: 'media-state', audioMuted: false, videoEnabled: false });
    await vi.advanceTimersByTimeAsync(0);
    deliver(a, b);
    b.channel.send({ type: 'media-state', audioMuted: true, videoEnabled: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(b.wire).toHaveLength(1);
    deliver(b, a);
    expect(a.channel.pending).toBe(0);
    await vi.advanceTimersByTimeAsync(250);
    expect(b.wire).toEqual([]); // the ack it owed went with its message
  });

  it('a refused send is reported once with a transport code and retried until the chat is back', async () => {
    const { a, b } = pair();
    a.failSends = true;
    a.channel.send({ type: 'media-state', audioMuted: true, videoEnabled: false });
    await vi.advanceTimersByTimeAsync(3000); // two more attempts, both refused
    expect(a.warnings.map((w) => w.code)).toEqual(['TRANSPORT_FAILED']);
    a.failSends = false;
    await vi.advanceTimersByTimeAsync(4000);
    deliver(a, b);
    expect(types(b)).toEqual(['media-state']);
  });

  it('backs off: 1 s, 2 s, 4 s, then every 8 s', async () => {
    const { a } = pair();
    a.channel.send({ type: 'key-update', kid: 2 });
    const at: number[] = [];
    const start = Date.now();
    for (let t = 0; t <= 25_000; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      for (const _ of a.wire.splice(0)) at.push(Date.now() - start);
    }
    expect(at.map((ms) => Math.round(ms / 1000))).toEqual([0, 1, 3, 7, 15, 23]);
  });

  it('a closing channel delivers its last end, then wipes its keys once it is acknowledged', async () => {
    const { a, b } = pair();
    a.channel.send({ type: 'end', reason: 'hangup' });
    a.channel.close({ linger: true });
    expect(a.channel.open).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    deliver(a, b, [0]); // lost
    await vi.advanceTimersByTimeAsync(1000);
    deliver(a, b);
    expect(types(b)).toEqual(['end']);
    b.channel.close({ linger: true });
    await vi.advanceTimersByTimeAsync(200); // b acknowledges, then has nothing left to do
    expect(b.closed).toBe(true);
    deliver(b, a);
    expect(a.closed).toBe(true);
  });

  it('gives up lingering after lingerMs when the peer never answers', async () => {
    const { a } = pair();
    a.channel.send({ type: 'end', reason: 'hangup' });
    a.channel.close({ linger: true });
    await vi.advanceTimersByTimeAsync(7_999);
    expect(a.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.closed).toBe(true);
    expect(() => a.channel.send({ type: 'end', reason: 'hangup' })).toThrowSealcallError();
  });

  it('splits a message too large for the transport into parts that each fit, resends a lost part, and joins them once', async () => {
    const { a, b } = pair({ ...DELIVERY, envelopeBytes: 1024 });
    // Random text does not deflate: about 3 KB of SDP on the wire.
    const sdp = `v=0\r\n${noise(3000)}`;
    a.channel.send({ type: 'offer', sdp, candidates: [] });
    a.channel.send({ type: 'media-state', audioMuted: false, videoEnabled: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(a.wire.length).toBeGreaterThan(4);
    expect(a.wire.every((e) => e.length === 1024 - PAIR_SEAL_OVERHEAD)).toBe(true);
    deliver(a, b, [1]); // the second part is lost
    expect(types(b)).toEqual(['media-state']);
    await vi.advanceTimersByTimeAsync(200);
    deliver(b, a); // b's ack names what arrived around the gap
    await vi.advanceTimersByTimeAsync(800);
    expect(a.wire).toHaveLength(1); // only the lost part comes again
    deliver(a, b);
    expect(types(b)).toEqual(['media-state', 'offer']);
    expect(b.received[1]).toMatchObject({ type: 'offer', sdp });
  });

  it('refuses a message that would need more than 64 parts, before sending anything', () => {
    const { a } = pair({ ...DELIVERY, envelopeBytes: 512 });
    const sdp = `v=0\r\n${noise(24_000)}`;
    expect(() => a.channel.send({ type: 'offer', sdp, candidates: [] })).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }));
    expect(a.channel.pending).toBe(0);
  });
});

