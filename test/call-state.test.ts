import { describe, expect, it } from 'vitest';
import { isLive, isTerminal, nextState, type CallEvent, type CallState } from '../src/call/call-state.js';

const STATES: CallState[] = ['idle', 'incoming', 'outgoing', 'joining', 'connected', 'reconnecting', 'disconnecting', 'disconnected'];
const EVENTS: CallEvent[] = ['placed', 'invite-received', 'accepted', 'media-connected', 'ice-disconnected', 'ice-recovered', 'hangup-started', 'ended'];

/** The only transitions that may exist: the seeds' lifecycle. */
const ALLOWED = new Set([
  'idle→outgoing', 'idle→incoming', 'idle→disconnected',
  'incoming→joining', 'incoming→disconnecting', 'incoming→disconnected',
  'outgoing→joining', 'outgoing→disconnecting', 'outgoing→disconnected',
  'joining→connected', 'joining→disconnecting', 'joining→disconnected',
  'connected→reconnecting', 'connected→disconnecting', 'connected→disconnected',
  'reconnecting→connected', 'reconnecting→disconnecting', 'reconnecting→disconnected',
  'disconnecting→disconnected',
]);

describe('call state machine', () => {
  it('allows exactly the lifecycle transitions, whatever event arrives in whatever state', () => {
    const seen = new Set<string>();
    for (const state of STATES) {
      for (const event of EVENTS) {
        const next = nextState(state, event);
        if (next === undefined) continue;
        expect(ALLOWED, `${state} --${event}--> ${next}`).toContain(`${state}→${next}`);
        seen.add(`${state}→${next}`);
      }
    }
    expect([...seen].sort()).toEqual([...ALLOWED].sort());
  });

  it('ends from every state except the end, and never leaves it', () => {
    for (const state of STATES.filter((s) => s !== 'disconnected')) expect(nextState(state, 'ended')).toBe('disconnected');
    for (const event of EVENTS) expect(nextState('disconnected', event)).toBeUndefined();
    expect(isTerminal('disconnected')).toBe(true);
    expect(STATES.filter(isLive)).toEqual(['incoming', 'outgoing', 'joining', 'connected', 'reconnecting', 'disconnecting']);
  });

  it('walks random event sequences without ever reaching a state outside the table', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 2000; run++) {
      let state: CallState = 'idle';
      for (let step = 0; step < 20; step++) {
        const next = nextState(state, EVENTS[Math.floor(random() * EVENTS.length)]!);
        if (next === undefined) continue;
        expect(ALLOWED).toContain(`${state}→${next}`);
        state = next;
      }
    }
  });
});
