import type { EndReason } from '../protocol/messages.js';
import type { CallKitEndReason } from './types.js';

/**
 * How a call's end reaches the OS: `'local'` means this user ended it, which CallKit learns as
 * the fulfilment of an end action (the coordinator requests one when the app hung up by itself);
 * anything else is reported with `reportCallEnded`.
 */
export type CallKitEnd = CallKitEndReason | 'local';

/**
 * Every sealcall end reason mapped to CallKit, per direction of the call. Written out in full so
 * that a new end reason fails to compile until someone decides how CallKit shows it.
 *
 * The choices, and why:
 * - `rejected` is local on the callee (this user declined) but the remote side's decision on the
 *   caller: `remoteEnded`, as FaceTime shows a declined call.
 * - `busy`: CallKit has no busy reason; `remoteEnded` avoids the "Call Failed" alert that
 *   `failed` brings for what is a normal outcome.
 * - `cancelled` (the caller withdrew before anyone answered): `remoteEnded`, so Recents shows a
 *   missed call on the callee, as for a phone call the caller hung up.
 * - `no-answer` (the ring timeout): `unanswered` on both sides.
 * - network, media and protocol failures: `failed`.
 */
export const CALLKIT_END_REASONS: Readonly<Record<EndReason, { incoming: CallKitEnd; outgoing: CallKitEnd }>> = {
  hangup: { incoming: 'local', outgoing: 'local' },
  'remote-hangup': { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
  rejected: { incoming: 'local', outgoing: 'remoteEnded' },
  busy: { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
  'no-answer': { incoming: 'unanswered', outgoing: 'unanswered' },
  cancelled: { incoming: 'remoteEnded', outgoing: 'remoteEnded' },
  'answered-elsewhere': { incoming: 'answeredElsewhere', outgoing: 'answeredElsewhere' },
  'declined-elsewhere': { incoming: 'declinedElsewhere', outgoing: 'declinedElsewhere' },
  'ice-failed': { incoming: 'failed', outgoing: 'failed' },
  'connect-timeout': { incoming: 'failed', outgoing: 'failed' },
  'media-failed': { incoming: 'failed', outgoing: 'failed' },
  'protocol-error': { incoming: 'failed', outgoing: 'failed' },
  'transport-failed': { incoming: 'failed', outgoing: 'failed' },
};

/** How a call that ended with `reason` reaches CallKit. */
export function callKitEnd(reason: EndReason, direction: 'incoming' | 'outgoing'): CallKitEnd {
  return CALLKIT_END_REASONS[reason]?.[direction] ?? 'failed';
}

/**
 * react-native-callkeep's numeric end reasons on iOS (`CONSTANTS.END_CALL_REASONS`), which its
 * native code turns into `CXCallEndedReason`. Android reads the same numbers differently: see
 * {@link CALLKEEP_ANDROID_END_REASONS}.
 */
export const CALLKEEP_END_REASONS: Readonly<Record<CallKitEndReason, number>> = {
  failed: 1,
  remoteEnded: 2,
  unanswered: 3,
  answeredElsewhere: 4,
  declinedElsewhere: 5,
};

/**
 * react-native-callkeep's numeric end reasons on Android, which `VoiceConnection.reportDisconnect`
 * turns into a `DisconnectCause`: 1 ERROR, 2 REMOTE, 4 ANSWERED_ELSEWHERE, 6 MISSED. An
 * unanswered call is MISSED (iOS's 3 would show as BUSY there); Android has no "declined
 * elsewhere", so it is REMOTE, as callkeep's own `CONSTANTS.END_CALL_REASONS.DECLINED_ELSEWHERE`.
 */
export const CALLKEEP_ANDROID_END_REASONS: Readonly<Record<CallKitEndReason, number>> = {
  failed: 1,
  remoteEnded: 2,
  unanswered: 6,
  answeredElsewhere: 4,
  declinedElsewhere: 2,
};
