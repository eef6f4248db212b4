import { Packr, Unpackr } from 'msgpackr';
import type { Identity } from '../../src/crypto/identity.js';
import { DEFAULT_ENVELOPE_BYTES } from '../../src/signaling/envelope.js';
import { openPair, pairKeys, sealPair, type PairKeys } from '../../src/signaling/pair-seal.js';
import { IncomingHandshake, OutgoingHandshake } from '../../src/signaling/handshake.js';
import type { SignalingSession } from '../../src/signaling/session.js';
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.js';
import type { Capabilities, InviteMessage, Message } from '../../src/protocol/messages.js';
import { PeerSession } from '../../src/session/peer-session.js';
import type { SessionSignal } from '../../src/session/types.js';
import type { ChatTransport, PeerId } from '../../src/transport/chat-transport.js';
import { flakyWrtc } from './flaky-wrtc.js';

/** Packs anything, valid or not, the way the codec would (plain msgpack, no records). */
export const rawPackr = new Packr({ useRecords: false, structuredClone: false });
export const pack = (value: unknown): Uint8Array => Uint8Array.from(rawPackr.pack(value));
const rawUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false, int64AsType: 'number' });
/** Unpacks like the codec, without validation. Throws on bad msgpack. */
export const unpack = (bytes: Uint8Array): unknown => rawUnpackr.unpack(bytes);

/**
 * A direct, in-process link between a victim CallClient and a hand-written hostile peer (a
 * contact: it holds a key the victim knows). Deliveries to the victim are synchronous, so an
 * exception thrown by the victim's message handler surfaces at the hostile's `deliver()` call
 * (where a real transport would crash or drop it); what the victim sends is queued for the
 * hostile to read. The link applies the pair seal both ways, so the hostile reads and writes
 * inner envelopes; `deliverRaw` hands over bytes as they are.
 */
export class DirectLink {
  readonly inbox: Uint8Array[] = [];
  private readonly pair: PairKeys;
  /** Called (in a microtask) after the victim sent something. */
  listener: (() => void) | undefined;
  private handler: ((from: PeerId, payload: Uint8Array) => void) | undefined;
  private waiters: (() => void)[] = [];

  constructor(hostile: Identity, victimKey: Uint8Array) {
    this.pair = pairKeys(hostile, victimKey);
  }

  /** The victim's ChatTransport. */
  readonly victim: ChatTransport = {
    send: (_to, payload) => {
      this.inbox.push(openPair(this.pair, payload));
      for (const w of this.waiters.splice(0)) w();
      if (this.listener) queueMicrotask(() => this.listener?.());
      return Promise.resolve();
    },
    onMessage: (handler) => {
      this.handler = handler;
      return () => {
        if (this.handler === handler) this.handler = undefined;
      };
    },
  };

  /** Seals an inner envelope and hands it to the victim as coming from `from`. Returns what its handler threw, if anything. */
  deliver(payload: Uint8Array, from: PeerId = 'mallory'): unknown {
    return this.deliverRaw(sealPair(this.pair, payload), from);
  }

  /** Hands `payload` to the victim exactly as given. Returns what its handler threw, if anything. */
  deliverRaw(payload: Uint8Array, from: PeerId = 'mallory'): unknown {
    try {
      this.handler?.(from, payload);
      return undefined;
    } catch (error) {
      return error ?? new Error('handler threw a falsy value');
    }
  }

  /** The next payload from the victim matching `match` (consumed), or undefined after `ms`. */
  async next(match: (p: Uint8Array) => boolean, ms = 2000): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export const kindOf = (payload: Uint8Array): number => payload[1] ?? 0;

/** The hostile answers the victim's invitation for real (Noise KK message 2) and returns its session. */
export async function answerInvite(
  link: DirectLink,
  hostile: Identity,
  victimKey: Uint8Array,
  reply: (callId: string) => Uint8Array,
): Promise<{ session: SignalingSession; invite: InviteMessage } | undefined> {
  const envelope = await link.next((p) => kindOf(p) === 1);
  if (!envelope) return undefined;
  const incoming = IncomingHandshake.open({ identity: hostile, remotePublicKey: victimKey, envelope });
  const invite = decodeMessage(incoming.payload) as InviteMessage;
  const { session, envelope: response } = incoming.respond(reply(invite.callId), DEFAULT_ENVELOPE_BYTES);
  const thrown = link.deliver(response);
  if (thrown) throw thrown;
  return { session, invite };
}

/** The hostile invites the victim for real (Noise KK message 1) and completes the handshake with its reply. */
export async function invite(
  link: DirectLink,
  hostile: Identity,
  victimKey: Uint8Array,
  payload: (callId: string) => Uint8Array,
): Promise<{ session: SignalingSession; callId: string; reply: Message } | { thrown: unknown } | undefined> {
  const out = new OutgoingHandshake({ identity: hostile, remotePublicKey: victimKey });
  const thrown = link.deliver(out.invite(payload(out.callId), DEFAULT_ENVELOPE_BYTES));
  if (thrown) return { thrown };
  // The victim handles a delivery synchronously: its reply, if any, is already there.
  const response = await link.next((p) => kindOf(p) === 2, 0);
  if (!response) {
    out.dispose();
    return undefined;
  }
  const { session, payload: reply } = out.accept(response);
  out.dispose();
  return { session, callId: out.callId, reply: decodeMessage(reply) };
}

export const validInvite = (callId: string, capabilities: Capabilities = { frameEncryption: [] }): Uint8Array =>
  encodeMessage({ type: 'invite', callId, seq: 0, media: 'audio', capabilities, sentAt: Date.now(), lifetimeMs: 60_000 });

/**
 * The hostile's real media side: a PeerSession driven by the messages it exchanges with the
 * victim, so a call can really connect before the hostile starts misbehaving.
 */
export class HostileMedia {
  readonly session: PeerSession;
  /** What the victim's handler threw at this side's (well-formed) messages. */
  readonly thrown: unknown[] = [];
  private seq = 1;
  closed = false;

  constructor(
    role: 'offerer' | 'answerer',
    private readonly channel: SignalingSession,
    private readonly link: DirectLink,
    private readonly callId: string,
  ) {
    this.session = new PeerSession({ role, wrtc: flakyWrtc, gatherWindowMs: 50, batchMs: 50 });
    this.session.on('signal', (s) => this.onSignal(s));
    this.session.on('closed', () => (this.closed = true));
    link.listener = () => this.pump();
  }

  /** Where this side's sequence numbers come from; a fuzzer taking over the call replaces it. */
  seqSource: () => number = () => this.seq++;

  /** The next sequence number. */
  takeSeq(): number {
    return this.seqSource();
  }

  get nextSeq(): number {
    return this.seq;
  }

  /** Seals and delivers one message; returns what the victim's handler threw. */
  send(message: Record<string, unknown>): unknown {
    if (this.closed) return undefined;
    const thrown = this.link.deliver(this.channel.seal(encodeMessage({ ...message, callId: this.callId, seq: this.takeSeq() } as never), DEFAULT_ENVELOPE_BYTES));
    if (thrown) this.thrown.push(thrown);
    return thrown;
  }

  /** Reads what the victim sent and applies its media messages. */
  pump(): void {
    if (this.closed) return;
    for (const envelope of this.link.inbox.splice(0)) {
      if (kindOf(envelope) !== 3) continue;
      let message: Message;
      try {
        message = decodeMessage(this.channel.open(envelope));
      } catch {
        continue;
      }
      if (message.type === 'offer' || message.type === 'answer') this.session.applyDescription(message.type, message.sdp, message.candidates);
      else if (message.type === 'ice') this.session.addCandidates(message.candidates, message.end);
      else if (message.type === 'renegotiate') {
        if (message.description) {
          try {
            this.session.applyDescription(message.description.type, message.description.sdp, []);
          } catch {
            // not for this role
          }
        }
        if (message.request) this.session.handleRenegotiateRequest(message.request);
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.link.listener) this.link.listener = undefined;
    this.session.destroy();
  }

  private onSignal(signal: SessionSignal): void {
    if (signal.kind === 'description') {
      if (signal.initial) this.send({ type: signal.type, sdp: signal.sdp, candidates: signal.candidates });
      else {
        this.send({ type: 'renegotiate', description: { type: signal.type, sdp: signal.sdp } });
        if (signal.candidates.length) this.send({ type: 'ice', candidates: signal.candidates, end: false });
      }
    } else if (signal.kind === 'candidates') this.send({ type: 'ice', candidates: signal.candidates, end: signal.end });
    else this.send({ type: 'renegotiate', request: { iceRestart: signal.iceRestart, ...(signal.addTransceiver ? { addTransceiver: signal.addTransceiver } : {}) } });
  }
}
