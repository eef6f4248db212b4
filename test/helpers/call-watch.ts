import type { Call, CallEnded } from '../../src/call/call.js';
import type { CallClient } from '../../src/call/call-client.js';
import { isLive, nextState, type CallEvent, type CallState } from '../../src/call/call-state.js';
import { isSealcallError } from '../../src/errors.js';
import { END_REASONS } from '../../src/protocol/messages.js';
import { flakyConnections } from './flaky-wrtc.js';

const EVENTS: CallEvent[] = ['placed', 'invite-received', 'accepted', 'media-connected', 'ice-disconnected', 'ice-recovered', 'hangup-started', 'ended'];

/** What a {@link watch} saw of one call. */
export interface Watched {
  call: Call;
  /** When watching started (Date.now()). */
  since: number;
  /** Every state, in order, with ms since `since`. */
  states: { state: CallState; at: number }[];
  /** Transitions that no {@link CallEvent} allows: must stay empty. */
  violations: string[];
  /** True once the call was connected. */
  wasConnected: boolean;
  /** ms from `since` to `ended`, once ended. */
  endedAt: number | undefined;
  ended: CallEnded | undefined;
}

/**
 * Follows a call: checks each state change against the state machine's table, notes whether it
 * ever connected and when and how it ended (and that the reason is a typed one).
 */
export function watch(call: Call, since = Date.now()): Watched {
  const w: Watched = { call, since, states: [{ state: call.state, at: Date.now() - since }], violations: [], wasConnected: call.state === 'connected', endedAt: undefined, ended: call.endedWith };
  call.on('state', (state, previous) => {
    w.states.push({ state, at: Date.now() - since });
    if (state === 'connected') w.wasConnected = true;
    if (!EVENTS.some((e) => nextState(previous, e) === state)) w.violations.push(`${previous} -> ${state}`);
  });
  call.once('ended', (ended) => {
    w.ended = ended;
    w.endedAt = Date.now() - since;
    if (!(END_REASONS as readonly string[]).includes(ended.reason)) w.violations.push(`untyped end reason ${String(ended.reason)}`);
    if (ended.error !== undefined && !isSealcallError(ended.error)) w.violations.push(`end error is not a SealcallError: ${String(ended.error)}`);
    if (call.state !== 'disconnected') w.violations.push(`ended while ${call.state}`);
  });
  if (call.endedWith) w.endedAt = 0;
  return w;
}

/** Resolves with how `call` ended; rejects if it has not ended within `ms` (a hung call). */
export function endedWithin(call: Call, ms: number, label = 'call'): Promise<CallEnded> {
  const done = call.endedWith;
  if (done) return Promise.resolve(done);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not end within ${ms} ms (still ${call.state})`)), ms);
    call.once('ended', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

/** Resolves once `condition` holds, polling every 10 ms; rejects after `ms`. */
export async function eventually(condition: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Live calls a client still holds (should be none once everything ended). */
export function liveCalls(client: CallClient): Call[] {
  return client.activeCalls.filter((c) => isLive(c.state) || c.state === 'idle');
}

/** Waits (bounded) until every flaky peer connection is closed. */
export function noPeerConnections(ms = 3000): Promise<void> {
  return eventually(() => flakyConnections.size === 0, ms, `all peer connections closed (${flakyConnections.size} open)`);
}
