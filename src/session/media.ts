import { SealcallError, type ErrorCode } from '../errors.js';
import type { WebRtcImplementation } from './types.js';

/** What local media to capture. */
export interface MediaRequest {
  audio: boolean;
  video: boolean;
}

type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

/**
 * Captures the microphone and/or camera. Uses `wrtc.mediaDevices.getUserMedia`, then
 * `wrtc.getUserMedia` (Node's `@roamhq/wrtc` has both, with fake devices), then the browser's
 * `navigator.mediaDevices.getUserMedia`.
 *
 * Rejects with a {@link SealcallError}: `MIC_PERMISSION_DENIED` / `CAMERA_PERMISSION_DENIED`
 * when the user or OS refused, `MEDIA_UNAVAILABLE` when there is no capture API, no device, or
 * capture failed, `INVALID_ARGUMENT` when neither audio nor video is requested.
 */
export async function acquireLocalMedia(request: MediaRequest, wrtc?: WebRtcImplementation): Promise<MediaStream> {
  if (!request.audio && !request.video) {
    throw new SealcallError('INVALID_ARGUMENT', 'request audio, video or both');
  }
  const getUserMedia = findGetUserMedia(wrtc);
  if (!getUserMedia) throw new SealcallError('MEDIA_UNAVAILABLE', 'no getUserMedia in this runtime');

  let stream: MediaStream;
  try {
    stream = await getUserMedia({ audio: request.audio, video: request.video });
  } catch (error) {
    throw captureError(error, request);
  }
  // An implementation may quietly leave out a kind it cannot capture; the caller asked for it.
  const missing = (['audio', 'video'] as const).find(
    (kind) => request[kind] && !stream.getTracks().some((track) => track.kind === kind),
  );
  if (missing) {
    stopStream(stream);
    throw new SealcallError('MEDIA_UNAVAILABLE', `no ${missing === 'audio' ? 'microphone' : 'camera'} track was captured`);
  }
  return stream;
}

/**
 * Captures one microphone or camera track with `constraints` (e.g. `{ deviceId: { exact } }`),
 * through the same APIs as {@link acquireLocalMedia}, with the same typed errors.
 */
export async function acquireTrack(
  kind: 'audio' | 'video',
  constraints: MediaTrackConstraints,
  wrtc?: WebRtcImplementation,
): Promise<MediaStreamTrack> {
  const getUserMedia = findGetUserMedia(wrtc);
  if (!getUserMedia) throw new SealcallError('MEDIA_UNAVAILABLE', 'no getUserMedia in this runtime');
  let stream: MediaStream;
  try {
    stream = await getUserMedia({ [kind]: constraints });
  } catch (error) {
    throw captureError(error, { audio: kind === 'audio', video: kind === 'video' });
  }
  const [track, ...others] = stream.getTracks().filter((t) => t.kind === kind);
  for (const other of others) other.stop();
  if (!track) throw new SealcallError('MEDIA_UNAVAILABLE', `no ${kind === 'audio' ? 'microphone' : 'camera'} track was captured`);
  return track;
}

/**
 * Captures a screen, window or tab the user picks, with the browser's `getDisplayMedia` (video
 * only). Rejects with `MEDIA_UNAVAILABLE` where there is none (Node, React Native) or capture
 * failed, `SCREEN_PERMISSION_DENIED` when the user or OS refused (or cancelled the picker).
 */
export async function acquireDisplayTrack(): Promise<MediaStreamTrack> {
  const devices = (globalThis as { navigator?: { mediaDevices?: MediaDevices } }).navigator?.mediaDevices;
  if (typeof devices?.getDisplayMedia !== 'function') {
    throw new SealcallError('MEDIA_UNAVAILABLE', 'no getDisplayMedia in this runtime: screen sharing needs a browser');
  }
  let stream: MediaStream;
  try {
    stream = await devices.getDisplayMedia({ video: true, audio: false });
  } catch (error) {
    if (permissionRefused(error)) throw new SealcallError('SCREEN_PERMISSION_DENIED', 'screen sharing was refused', { cause: error });
    throw captureError(error, { audio: false, video: true });
  }
  const [track, ...others] = stream.getTracks();
  for (const other of others) other.stop();
  if (track?.kind !== 'video') {
    track?.stop();
    throw new SealcallError('MEDIA_UNAVAILABLE', 'no screen track was captured');
  }
  return track;
}

/** Stops every track of `stream`, releasing the microphone and camera. */
export function stopStream(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

/**
 * Enables or disables the tracks of one kind and returns the state read back from the tracks
 * (true only when there is at least one track and all of them are enabled), so that mute and
 * camera toggles report what really happened, never an optimistic guess.
 */
export function setTracksEnabled(stream: MediaStream | undefined, kind: 'audio' | 'video', enabled: boolean): boolean {
  const tracks = stream?.getTracks().filter((track) => track.kind === kind) ?? [];
  for (const track of tracks) track.enabled = enabled;
  return tracks.length > 0 && tracks.every((track) => track.enabled);
}

function findGetUserMedia(wrtc?: WebRtcImplementation): GetUserMedia | undefined {
  const devices = wrtc?.mediaDevices;
  if (devices) return (constraints) => devices.getUserMedia(constraints);
  const legacy = wrtc?.getUserMedia;
  if (legacy) return (constraints) => legacy.call(wrtc, constraints);
  const browser = (globalThis as { navigator?: { mediaDevices?: MediaDevices } }).navigator?.mediaDevices;
  if (typeof browser?.getUserMedia === 'function') return (constraints) => browser.getUserMedia(constraints);
  return undefined;
}

/** Maps a getUserMedia rejection (normally a DOMException) to a stable error code. */
function captureError(error: unknown, request: MediaRequest): SealcallError {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (permissionRefused(error)) {
    const camera = (request.video && !request.audio) || /camera|video/i.test(message);
    const code: ErrorCode = camera ? 'CAMERA_PERMISSION_DENIED' : 'MIC_PERMISSION_DENIED';
    return new SealcallError(code, `${camera ? 'camera' : 'microphone'} access was denied`, { cause: error });
  }
  // NotFoundError, NotReadableError, OverconstrainedError, AbortError and anything unknown.
  return new SealcallError('MEDIA_UNAVAILABLE', `media capture failed${name ? ` (${name})` : ''}`, { cause: error });
}

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : '';
}

function permissionRefused(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError';
}
