/** The public states of a call (the seeds' RTCCallState). */
export type CallState =
  | 'idle'
  | 'incoming'
  | 'outgoing'
  | 'joining'
  | 'connected'
  | 'reconnecting'
  | 'disconnecting'
  | 'disconnected';

/**
 * Everything that can move a call. A state changes only through one of these, so an invalid
 * transition cannot be written: an event that does not apply in the current state is ignored.
 */
export type CallEvent =
  | 'placed' // the user placed the call: at once, before devices, ICE servers and the invitation
  | 'invite-received' // callee opened an invitation
  | 'accepted' // callee accepted, or caller received the offer: media setup begins
  | 'media-connected' // the peer connection is up
  | 'ice-disconnected' // ICE lost the path
  | 'ice-recovered' // ICE found a path again
  | 'hangup-started' // the local user hung up; the end message is on its way
  | 'ended'; // the call is over, for any reason

const TRANSITIONS: Record<CallState, Partial<Record<CallEvent, CallState>>> = {
  idle: { placed: 'outgoing', 'invite-received': 'incoming', ended: 'disconnected' },
  incoming: { accepted: 'joining', 'hangup-started': 'disconnecting', ended: 'disconnected' },
  outgoing: { accepted: 'joining', 'hangup-started': 'disconnecting', ended: 'disconnected' },
  joining: { 'media-connected': 'connected', 'hangup-started': 'disconnecting', ended: 'disconnected' },
  connected: { 'ice-disconnected': 'reconnecting', 'hangup-started': 'disconnecting', ended: 'disconnected' },
  reconnecting: { 'ice-recovered': 'connected', 'hangup-started': 'disconnecting', ended: 'disconnected' },
  disconnecting: { ended: 'disconnected' },
  disconnected: {},
};

/** The state `event` leads to from `state`, or undefined when it does not apply there. */
export function nextState(state: CallState, event: CallEvent): CallState | undefined {
  return TRANSITIONS[state][event];
}

/** True once a call can no longer change. */
export function isTerminal(state: CallState): boolean {
  return state === 'disconnected';
}

/** True while a call is in progress (it makes its user busy for other invitations). */
export function isLive(state: CallState): boolean {
  return state !== 'idle' && state !== 'disconnected';
}
