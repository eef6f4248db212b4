import type { FrameProtector } from './types.js';

/**
 * Keeps one peer connection's frames under a {@link FrameProtector}: every sender and receiver
 * gets its transform in the task that creates it, and the SDP only offers codecs whose frames
 * sealcall can encrypt (Opus, VP8).
 *
 * "In the task that creates it" is Chromium's rule for `RTCRtpScriptTransform`: a sender or
 * receiver still without a transform once that task ends is short-circuited for good (its frames
 * bypass any transform assigned later, which is accepted without an error). Senders and receivers
 * appear in addTrack/addTransceiver and in setRemoteDescription; each of those protects them at once.
 */
export class FrameAttachment {
  private readonly restricted = new WeakSet<RTCRtpTransceiver>();
  /** Senders and receivers handed to the protector: each exactly once. */
  private readonly protectedEndpoints = new WeakSet<RTCRtpSender | RTCRtpReceiver>();
  /** Senders whose transform could not be attached: silenced for good. */
  private readonly silenced = new WeakSet<RTCRtpSender>();

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly protector: FrameProtector,
  ) {
    // Whoever adds a track or transceiver (simple-peer, the session mid-call, a transceiver the
    // peer asked for), its sender and receiver are protected before the call returns.
    const { addTrack, addTransceiver } = pc;
    pc.addTrack = (...args: Parameters<RTCPeerConnection['addTrack']>) => this.protectNew(addTrack.apply(pc, args));
    pc.addTransceiver = (...args: Parameters<RTCPeerConnection['addTransceiver']>) => this.protectNew(addTransceiver.apply(pc, args));
    // A remote description's new receivers: the track event fires in the task that applies it.
    // (The session also calls prepare() right after setRemoteDescription resolves, in that task.)
    pc.addEventListener('track', () => this.protectAll());
  }

  /** Before an offer or answer: protect what is new, and restrict the codecs it may negotiate. */
  prepare(): void {
    this.protectAll();
    for (const transceiver of this.pc.getTransceivers()) {
      if (this.restricted.has(transceiver) || isStopped(transceiver)) continue;
      this.restricted.add(transceiver);
      restrictCodecs(transceiver);
    }
  }

  /** Protects every sender and receiver not protected yet. */
  protectAll(): void {
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = mediaKind(transceiver);
      if (!kind || isStopped(transceiver)) continue;
      const { sender, receiver } = transceiver;
      if (this.claim(sender)) {
        try {
          this.protector.protectSender(sender, kind);
        } catch {
          // Fail closed: a sender without its transform would send clear frames (script
          // transforms). Silence it for good; the protector reports its own failures.
          this.silenced.add(sender);
          sender.replaceTrack(null).catch(() => undefined);
        }
      }
      if (this.claim(receiver)) {
        try {
          this.protector.protectReceiver(receiver, kind);
        } catch {
          // An unprotected receiver only ever sees ciphertext, which does not decode: nothing leaks.
        }
      }
    }
  }

  /** Protects what `created` brought along, then returns it. */
  private protectNew<T>(created: T): T {
    this.protectAll();
    return created;
  }

  /** Whether `sender` may be given a track: false for one silenced because it is unprotected. */
  maySend(sender: RTCRtpSender): boolean {
    return !this.silenced.has(sender);
  }

  /** True the first time an endpoint is seen. */
  private claim(endpoint: RTCRtpSender | RTCRtpReceiver): boolean {
    if (this.protectedEndpoints.has(endpoint)) return false;
    this.protectedEndpoints.add(endpoint);
    return true;
  }
}

/**
 * Codecs sealcall can protect. Not RTX, although it only carries protected packets: libwebrtc
 * probes bandwidth by resending old media packets over RTX, and the receiver reassembles them into
 * frames it already had, which the receive transform then sees again (and drops as replays, noise
 * that would hide real ones). Without RTX, NACK retransmissions use the media stream itself.
 */
const PROTECTABLE_CODECS: Record<'audio' | 'video', readonly string[]> = {
  audio: ['audio/opus'],
  video: ['video/vp8'],
};

/**
 * Narrows a transceiver's codecs to Opus or VP8. The answer can only pick from the offer, so the
 * offerer's preferences decide for both sides. Left alone where the runtime cannot set
 * preferences or lacks the codec: the worker then drops frames of any other codec (fail closed).
 */
function restrictCodecs(transceiver: RTCRtpTransceiver): void {
  const kind = mediaKind(transceiver);
  const capabilities = kind && globalThis.RTCRtpReceiver?.getCapabilities?.(kind);
  if (!kind || !capabilities || typeof transceiver.setCodecPreferences !== 'function') return;
  const allowed = PROTECTABLE_CODECS[kind];
  const codecs = capabilities.codecs.filter((codec) => allowed.includes(codec.mimeType.toLowerCase()));
  if (!codecs.some((codec) => codec.mimeType.toLowerCase() === allowed[0])) return;
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    // A runtime that refuses the list negotiates its defaults; the worker drops the rest.
  }
}

function mediaKind(transceiver: RTCRtpTransceiver): 'audio' | 'video' | undefined {
  const kind = transceiver.receiver.track?.kind;
  return kind === 'audio' || kind === 'video' ? kind : undefined;
}

function isStopped(transceiver: RTCRtpTransceiver): boolean {
  return transceiver.currentDirection === 'stopped' || (transceiver as { stopped?: boolean }).stopped === true;
}
