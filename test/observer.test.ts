import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import type { Call } from '../src/call/call.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { DELIVERY_OVERHEAD } from '../src/crypto/relay-keys.js';
import { SEALED_SENDER_BYTES } from '../src/relay-client/sealed-sender.js';
import { DEFAULT_ENVELOPE_BYTES } from '../src/signaling/envelope.js';
import { MemoryNetwork } from '../src/testing/memory-network.js';
import { ended, Harness, once, reach, type User } from './helpers/call-harness.js';
import { eventually, noPeerConnections } from './helpers/call-watch.js';
import { tone } from './helpers/audio.js';
import { RelayFixture } from './helpers/relay-fixture.js';
import { RelayTap } from './helpers/relay-tap.js';

/**
 * The observer of the issue "what the relay learns": it records every envelope that crosses the
 * chat network (MemoryNetwork), and every body that goes into the real relay (`send`) and comes
 * out of it (`msg`, which the relay re-encrypts for the recipient), during many calls among
 * four contacts — audio and video, answered, rejected and unanswered — and knows every public key. Per envelope it sees one length and bytes that look
 * uniformly random whatever the call, so it can neither link an envelope to a call or a pair of
 * parties by its content, nor tell answered from unanswered or audio from video, nor match a body
 * leaving the relay to one that entered it. (It still sees who sends to whom — the transport is
 * the app's chat — and how many envelopes pass when: an answered call exchanges more, and the
 * relay itself sees which queue each message goes to. docs/ARCHITECTURE.md's threat model says so.)
 */

const { RTCVideoSource } = (wrtc as unknown as { nonstandard: { RTCVideoSource: new () => { createTrack(): MediaStreamTrack } } }).nonstandard;
const WrtcMediaStream = (wrtc as unknown as { MediaStream: typeof MediaStream }).MediaStream;

let harness: Harness | undefined;
let tap: RelayTap | undefined;
const fx = new RelayFixture();
const stops: (() => void)[] = [];
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await tap?.close();
  tap = undefined;
  await fx.close();
  for (const stop of stops.splice(0)) stop();
  await noPeerConnections(5000);
});

/** Real tracks, so offers and answers carry real audio or audio+video descriptions. */
function media(kind: 'audio' | 'video'): MediaStream {
  const sound = tone(440);
  stops.push(sound.stop);
  if (kind === 'audio') return sound.stream;
  const video = new RTCVideoSource().createTrack();
  stops.push(() => video.stop());
  return new WrtcMediaStream([...sound.stream.getTracks(), video]);
}

type Outcome = 'answered' | 'rejected' | 'unanswered';
interface Recorded {
  media: 'audio' | 'video';
  outcome: Outcome;
  envelopes: Uint8Array[];
  /** What `delivered()` recorded (on the relay: the `msg` bodies coming down). */
  delivered: Uint8Array[];
}

/** Places one call and returns what `recorded()` (and `delivered()`) hold beyond what they held before. */
async function placeCall(
  recorded: () => Uint8Array[],
  settled: () => Promise<void>,
  caller: User,
  callee: User,
  kind: 'audio' | 'video',
  outcome: Outcome,
  delivered: () => Uint8Array[] = () => [],
): Promise<Recorded> {
  const from = recorded().length;
  const fromDelivered = delivered().length;
  const rang = once(callee.client, 'incoming');
  const call = await caller.client.call(callee.name, { media: kind, stream: media(kind) });
  const [incoming] = (await rang) as [Call];
  if (outcome === 'answered') {
    await incoming.accept({ stream: media(kind) });
    await Promise.all([reach(call, 'connected'), reach(incoming, 'connected')]);
    await call.hangup();
  } else if (outcome === 'rejected') {
    await incoming.reject();
  }
  await Promise.all([ended(call), ended(incoming)]);
  await settled();
  return { media: kind, outcome, envelopes: recorded().slice(from), delivered: delivered().slice(fromDelivered) };
}

/** Twelve calls among four people: audio and video, answered, rejected and unanswered. */
async function placeCalls(people: User[], recorded: () => Uint8Array[], settled: () => Promise<void>, delivered?: () => Uint8Array[]): Promise<Recorded[]> {
  const outcomes: Outcome[] = ['answered', 'rejected', 'unanswered'];
  const calls: Recorded[] = [];
  for (let i = 0; i < 12; i++) {
    const caller = people[i % 4]!;
    const callee = people[(i + 1 + (i >> 2)) % 4]!;
    calls.push(await placeCall(recorded, settled, caller, callee, i % 2 === 0 ? 'audio' : 'video', outcomes[i % 3]!, delivered));
  }
  return calls;
}

/**
 * Everything the observer checks on the payloads of `calls` (all `length` bytes long), the
 * envelope in each from byte `envelopeAt` on (before it, on the relay: the sealed-sender header,
 * an X25519 ephemeral key whose top bit is always clear, then ciphertext).
 */
function expectNothingToLearn(calls: Recorded[], people: User[], length: number, envelopeAt = 0): void {
  const whole = calls.flatMap((c) => c.envelopes);
  const all = whole.map((e) => e.subarray(envelopeAt));
  expect(all.length).toBeGreaterThan(100);

  // One length for everything: invitations, replies, offers, answers, candidates, acks, ends.
  expect(new Set(whole.map((e) => e.length))).toEqual(new Set([length]));

  // Nothing repeats: no call id, session tag, counter, ephemeral key or retransmitted copy
  // that would tie two envelopes together. (Among ~10^6 random 8-byte strings a chance repeat
  // has probability ~10^-7.)
  expect(repeatedWindows(whole)).toBe(0);

  // Nothing derived from a public key appears: not even an 8-byte piece of one.
  for (const person of people) {
    const key = Buffer.from(person.identity.publicKey.subarray(0, 8));
    expect(whole.some((e) => Buffer.from(e).indexOf(key) >= 0)).toBe(false);
  }

  // No header in clear: every bit of the first 64 bytes is set in about half the envelopes (a
  // version byte, a kind or a zero field would sit at 0 or 1). Five standard deviations: for
  // random bytes, one of the 512 bits strays that far once in a few thousand runs.
  expect(largestBitBias(all, 64)).toBeLessThan(2.5 / Math.sqrt(all.length));

  // Each class of call is indistinguishable from uniform random bytes: a chi-square over 255
  // degrees of freedom stays far below 400 (p < 10^-8) for random data.
  const of = (pick: (c: Recorded) => boolean) => calls.filter(pick).flatMap((c) => c.envelopes.map((e) => e.subarray(envelopeAt)));
  for (const [name, envelopes] of Object.entries({
    answered: of((c) => c.outcome === 'answered'),
    unanswered: of((c) => c.outcome !== 'answered'),
    audio: of((c) => c.media === 'audio'),
    video: of((c) => c.media === 'video'),
  })) {
    expect(envelopes.length, name).toBeGreaterThan(10);
    expect(chiSquare(envelopes), name).toBeLessThan(400);
  }
}

/** Pearson's chi-square of the byte values in `chunks` against the uniform distribution (255 degrees of freedom). */
function chiSquare(chunks: Uint8Array[]): number {
  const counts = new Float64Array(256);
  let total = 0;
  for (const chunk of chunks) {
    for (const byte of chunk) counts[byte]!++;
    total += chunk.length;
  }
  const expected = total / 256;
  let chi = 0;
  for (const count of counts) chi += (count - expected) ** 2 / expected;
  return chi;
}

/** How many 8-byte strings, at any offset, occur twice or more across all `envelopes`. */
function repeatedWindows(envelopes: Uint8Array[]): number {
  const windows = new BigUint64Array(envelopes.reduce((n, e) => n + e.length - 7, 0));
  let at = 0;
  for (const envelope of envelopes) {
    const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.length);
    for (let i = 0; i + 8 <= envelope.length; i++) windows[at++] = view.getBigUint64(i);
  }
  windows.sort();
  let repeats = 0;
  for (let i = 1; i < windows.length; i++) if (windows[i] === windows[i - 1]) repeats++;
  return repeats;
}

/** Per bit of the first `bytes` bytes, how far the share of envelopes with it set strays from one half (the largest). */
function largestBitBias(envelopes: Uint8Array[], bytes: number): number {
  let worst = 0;
  for (let i = 0; i < bytes; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const ones = envelopes.filter((e) => (e[i]! >> bit) & 1).length;
      worst = Math.max(worst, Math.abs(ones / envelopes.length - 0.5));
    }
  }
  return worst;
}

describe('an observer of every envelope, knowing every public key', () => {
  it('on the chat network: cannot link envelopes to calls or parties, nor tell answered from unanswered or audio from video, from their bytes', async () => {
    const network = new MemoryNetwork({ seed: 12 });
    const h = (harness = new Harness(network, { ringTimeoutMs: 1200, wrtc: wrtc as never }));
    const people = [await h.user('alice'), await h.user('bob'), await h.user('carol'), await h.user('dave')];
    const calls = await placeCalls(people, () => network.observed.map((m) => m.payload), () => network.settled());
    expectNothingToLearn(calls, people, DEFAULT_ENVELOPE_BYTES);
  }, 120_000);

  it('on the real relay: every body going in (sealed-sender header and envelope) and coming out (re-encrypted) tells it as little, and none matches another', async () => {
    const relay = await fx.start();
    tap = await RelayTap.start(relay.address!.url);
    const names = ['alice', 'bob', 'carol', 'dave'] as const;
    const ids = Object.fromEntries(names.map((n) => [n, generateIdentity()])) as Record<(typeof names)[number], ReturnType<typeof generateIdentity>>;
    const ws = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await fx.user(relay, { identity: ids[n], url: tap!.url })] as const)));
    for (const a of names) for (const b of names) if (a !== b) ws[a]!.addContact(b, ws[b]!.address);
    const h = (harness = new Harness(new MemoryNetwork(), { ringTimeoutMs: 1200, wrtc: wrtc as never }));
    const people: User[] = [];
    const contacts = (peer: string) => ids[peer as (typeof names)[number]]?.publicKey;
    for (const n of names) people.push(await h.user(n, { identity: ids[n], contacts, transport: ws[n]! }));
    // What goes into the relay: the bodies of `send` frames. What comes out: the bodies of `msg`
    // frames, each a stored body re-encrypted for its recipient (DELIVERY_OVERHEAD longer).
    const sent = () => tap!.frames.flatMap((f) => (f.dir === 'up' && f.frame?.t === 'send' ? [f.frame.body] : []));
    const delivered = () => tap!.frames.flatMap((f) => (f.dir === 'down' && f.frame?.t === 'msg' ? [f.frame.body] : []));
    // Drained: every send the tap passed is stored (one may still be on its way) and acknowledged.
    const drained = () =>
      eventually(() => relay.stats.messagesReceived === sent().length && relay.stats.bytesQueued === 0, 5000, 'relay queues drained');
    const calls = await placeCalls(people, sent, drained, delivered);
    expectNothingToLearn(calls, people, SEALED_SENDER_BYTES + DEFAULT_ENVELOPE_BYTES, SEALED_SENDER_BYTES);
    // The same holds for what comes out, all of it ciphertext from the first byte…
    const out = calls.map((c) => ({ ...c, envelopes: c.delivered }));
    expectNothingToLearn(out, people, SEALED_SENDER_BYTES + DEFAULT_ENVELOPE_BYTES + DELIVERY_OVERHEAD);
    expect(out.flatMap((c) => c.envelopes)).toHaveLength(calls.flatMap((c) => c.envelopes).length); // each stored body delivered once
    // …and nothing links a body coming out to the one that went in: no 8-byte string occurs in both.
    expect(repeatedWindows([...calls.flatMap((c) => c.envelopes), ...out.flatMap((c) => c.envelopes)])).toBe(0);
  }, 180_000);
});
