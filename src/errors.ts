/**
 * Stable error codes. Apps branch on `error.code`, never on the message text, so a code is never
 * renamed or reused once published.
 */
export type ErrorCode =
  /** Bytes from the network are malformed: bad framing, bad msgpack, a field of the wrong type. */
  | 'BAD_MESSAGE'
  /** A message or envelope names a protocol version this build does not speak. */
  | 'UNSUPPORTED_VERSION'
  /** An envelope, message or field is over its size limit. */
  | 'MESSAGE_TOO_LARGE'
  /** Authentication failed: forged, tampered, truncated, or sealed for another key. */
  | 'DECRYPT_FAILED'
  /** A message that was already accepted, or is older than the replay window. */
  | 'REPLAYED'
  /** An invitation whose lifetime has passed. */
  | 'STALE'
  /** An envelope that belongs to another call or session. */
  | 'WRONG_CALL'
  /** A key of the wrong length, or a peer key that yields a low-order shared secret. */
  | 'BAD_KEY'
  /** An operation that the handshake's current step does not allow. */
  | 'HANDSHAKE_STATE'
  /** The object was disposed and its keys wiped. */
  | 'DISPOSED'
  /** libsodium was used before `ready()` resolved. */
  | 'NOT_READY'
  /** A per-key message counter would wrap. */
  | 'COUNTER_EXHAUSTED'
  /** The transport is closed or cannot deliver. */
  | 'TRANSPORT_CLOSED'
  /** The chat transport refused a send without a code of its own (e.g. while reconnecting); sealcall retries it. */
  | 'TRANSPORT_FAILED'
  /** An argument passed by the app is invalid. */
  | 'INVALID_ARGUMENT'
  /** The operation does not fit the call's current state (e.g. accepting an outgoing call). */
  | 'INVALID_STATE'
  /** A peer id the app's contacts do not know. */
  | 'UNKNOWN_CONTACT'
  /** No RTCPeerConnection: not a browser, and no `wrtc` implementation was passed. */
  | 'WEBRTC_UNAVAILABLE'
  /** The app's ICE server provider (`iceServers` as a function) failed, e.g. its TURN credential service was unreachable. */
  | 'ICE_SERVERS_UNAVAILABLE'
  /** The peer connection failed (SDP rejected, data channel error, …). */
  | 'PEER_CONNECTION_FAILED'
  /** The user or OS refused microphone access. */
  | 'MIC_PERMISSION_DENIED'
  /** The user or OS refused camera access. */
  | 'CAMERA_PERMISSION_DENIED'
  /** The user or OS refused screen sharing, or the user cancelled the browser's picker. */
  | 'SCREEN_PERMISSION_DENIED'
  /** No usable microphone or camera, or capture failed. */
  | 'MEDIA_UNAVAILABLE'
  /** Frame encryption was required but this runtime or the peer cannot do it. */
  | 'E2EE_UNAVAILABLE'
  /** The CallKit provider (or react-native-callkeep's `setup()`) did not become ready in time (3 s by default). */
  | 'CALLKIT_NOT_READY'
  /** The OS refused to show a call (Do Not Disturb, block list, duplicate UUID, not entitled, …). */
  | 'CALLKIT_REPORT_FAILED'
  /** The CallKit provider was reset by the OS: every call it showed is gone and the request was dropped. */
  | 'CALLKIT_RESET'
  /** A contact address (`sc1:…`) is malformed, of an unknown version, or holds keys of the wrong length. */
  | 'BAD_ADDRESS'
  /** The WebSocket transport is disconnected and its outgoing buffer (`maxBuffered`) is full. */
  | 'TRANSPORT_BUFFER_FULL'
  /** The relay could not be reached, or was lost and every reconnect attempt failed. */
  | 'RELAY_UNREACHABLE'
  /** The relay knows no such queue: the contact's address is stale, or the queue was deleted. */
  | 'QUEUE_NOT_FOUND'
  /**
   * Another client subscribed to this transport's queue, so this one receives nothing more: the
   * same saved `state` is in use twice (a second tab or device). Sending still works.
   */
  | 'QUEUE_TAKEN_OVER'
  /** The recipient's queue on the relay is full (too many unacknowledged messages); retry later. */
  | 'QUEUE_FULL'
  /** Too much of something at once: the relay throttled this connection, a contact sent key updates too fast, or too many contacts invited at once. */
  | 'RATE_LIMITED'
  /** The relay refused a command: bad signature, malformed or unsupported frame. A bug or version mismatch, not a network fault. */
  | 'RELAY_ERROR'
  /**
   * The server at a relay URL did not prove it holds the key the URL's fingerprint names (a
   * different relay, or someone in the middle): nothing was sent to it.
   */
  | 'RELAY_KEY_MISMATCH'
  /** The relay server could not listen on the requested host and port. */
  | 'RELAY_LISTEN_FAILED'
  /** The relay's store (`storePath` log) could not be read, parsed or written. */
  | 'RELAY_STORE_FAILED'
  /** The app's `replayStore` failed to load or save the replay state. */
  | 'REPLAY_STORE_FAILED';

/**
 * The only error type sealcall throws or reports. `code` is stable; `message` is for humans and
 * never contains key material or SDP.
 */
export class SealcallError extends Error {
  override readonly name = 'SealcallError';
  readonly code: ErrorCode;
  /** The call concerned, on warnings about one (32 hex digits). */
  readonly callId?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; callId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.callId !== undefined) this.callId = options.callId;
  }

  /** A copy naming the call concerned. */
  withCallId(callId: string): SealcallError {
    return new SealcallError(this.code, this.message, { cause: this.cause, callId });
  }
}

/** True when `error` is a {@link SealcallError}, optionally with the given code. */
export function isSealcallError(error: unknown, code?: ErrorCode): error is SealcallError {
  return error instanceof SealcallError && (code === undefined || error.code === code);
}

/**
 * `error` as a {@link SealcallError}: itself if it is one, else wrapped with `code` (the code of
 * the layer that caught it) and the original as `cause`.
 */
export function toSealcallError(error: unknown, code: ErrorCode): SealcallError {
  if (error instanceof SealcallError) return error;
  return new SealcallError(code, error instanceof Error ? error.message : String(error), { cause: error });
}
