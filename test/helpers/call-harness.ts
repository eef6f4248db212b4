import wrtc from '@roamhq/wrtc';
import { CallClient, type CallClientEvents, type CallOptions } from '../../src/call/call-client.js';
import type { Call, CallEnded, CallEvents, MediaOptions, RemoteMediaState } from '../../src/call/call.js';
import type { CallState } from '../../src/call/call-state.js';
import type { CallClientOptions } from '../../src/call/options.js';
import { generateIdentity, type Identity } from '../../src/crypto/identity.js';
import type { ErrorCode, SealcallError } from '../../src/errors.js';
import { ready } from '../../src/crypto/sodium.js';
import type { WebRtcImplementation } from '../../src/session/types.js';
import type { ChatTransport } from '../../src/transport/chat-transport.js';
import type { MemoryNetwork } from '../../src/testing/memory-network.js';

export const nodeWrtc = wrtc as unknown as WebRtcImplementation;

export interface User {
  name: string;
  identity: Identity;
  client: CallClient;
  /** Every warning the client reported, in order. */
  warnings: SealcallError[];
}

/** Everything a test made, so `afterEach` can close it all. */
export class Harness {
  readonly clients: CallClient[] = [];
  private readonly identities = new Map<string, Identity>();
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  constructor(
    readonly network: MemoryNetwork,
    private readonly defaults: Partial<CallClientOptions> = {},
  ) {}

  /** A user (or another device of one, when the name repeats) on the network. */
  async user(name: string, options: Partial<CallClientOptions> & { transport?: ChatTransport } = {}): Promise<User> {
    await ready();
    let identity = this.identities.get(name);
    if (!identity) this.identities.set(name, (identity = generateIdentity()));
    const client = await CallClient.create({
      identity,
      transport: options.transport ?? this.network.endpoint(name),
      contacts: (peer) => this.identities.get(peer)?.publicKey,
      wrtc: nodeWrtc,
      ...this.defaults,
      ...options,
    });
    this.clients.push(client);
    const warnings: SealcallError[] = [];
    client.on('warning', (w) => warnings.push(w));
    return { name, identity, client, warnings };
  }

  /** Registers a cleanup to run at `close()`. */
  onClose(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    for (const fn of this.cleanups.splice(0)) await fn();
    this.network.close();
  }
}

/** Resolves with the listener arguments of the next `event`. */
export function once<E extends keyof CallEvents>(call: Call, event: E): Promise<Parameters<CallEvents[E]>>;
export function once<E extends keyof CallClientEvents>(client: CallClient, event: E): Promise<Parameters<CallClientEvents[E]>>;
export function once(emitter: { once(event: string, fn: (...args: unknown[]) => void): unknown }, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

/** Resolves with the peer's media state once `done` holds for it (at once if it already does). */
export function peerMedia(call: Call, done: (media: RemoteMediaState) => boolean): Promise<RemoteMediaState> {
  const now = call.remoteMedia;
  if (now && done(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    const check = (media: RemoteMediaState) => {
      if (!done(media)) return;
      call.off('remote-media', check);
      resolve(media);
    };
    call.on('remote-media', check);
  });
}

/** Resolves when the call is in `state` (at once if it already is). */
export function reach(call: Call, state: CallState): Promise<void> {
  if (call.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onState = (s: CallState) => {
      if (s !== state) return;
      call.off('state', onState);
      resolve();
    };
    call.on('state', onState);
    call.once('ended', (e) => {
      if (state !== 'disconnected') reject(new Error(`call ended (${e.reason}${describeFailure(e.error)}) before reaching ${state}`));
    });
  });
}

/** `: CODE message ← cause`, so a failure in a test run says why the call ended. */
function describeFailure(error: { code: string; message: string; cause?: unknown } | undefined): string {
  if (!error) return '';
  const cause = error.cause instanceof Error ? ` ← ${error.cause.message}` : error.cause === undefined ? '' : ` ← ${String(error.cause)}`;
  return `: ${error.code} ${error.message}${cause}`;
}

/** Resolves with how the call ended. */
export function ended(call: Call): Promise<CallEnded> {
  const done = call.endedWith;
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => call.once('ended', resolve));
}

/** Options of {@link ringingPair} and {@link connectedPair}. */
export interface PairOptions {
  alice?: Partial<CallClientOptions> & { transport?: ChatTransport };
  bob?: Partial<CallClientOptions> & { transport?: ChatTransport };
  call?: CallOptions;
  accept?: MediaOptions;
}

/** Alice calls Bob; resolves when Bob's call rings (`rang` resolves when Alice hears it). */
export async function ringingPair(h: Harness, options: PairOptions = {}) {
  const alice = await h.user('alice', options.alice);
  const bob = await h.user('bob', options.bob);
  const incoming = once(bob.client, 'incoming');
  const aliceCall = await alice.client.call('bob', options.call);
  const rang = once(aliceCall, 'ringing');
  const [bobCall] = await incoming;
  return { alice, bob, aliceCall, bobCall, rang };
}

/** Alice calls Bob and Bob accepts; resolves when both are connected. */
export async function connectedPair(h: Harness, options: PairOptions = {}) {
  const pair = await ringingPair(h, options);
  await pair.bobCall.accept(options.accept);
  await Promise.all([reach(pair.aliceCall, 'connected'), reach(pair.bobCall, 'connected')]);
  return pair;
}

/** Resolves once the user's client has reported a warning with `code`. */
export async function warned(user: User, code: ErrorCode): Promise<void> {
  while (!user.warnings.some((w) => w.code === code)) await once(user.client, 'warning');
}
