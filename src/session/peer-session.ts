import { EventEmitter } from 'eventemitter3';
import { SealcallError } from '../errors.js';
import type { CallMedia, IceCandidate } from '../protocol/messages.js';
import { CandidateBatcher } from './candidate-batcher.js';
import { FrameAttachment } from './frame-attachment.js';
import { GatheringTracker } from './gathering-tracker.js';
import { PatchedPeer } from './patched-peer.js';
import { RemoteQueue } from './remote-queue.js';
import { selectedPath } from './stats.js';
import type {
  CandidateTiming,
  FrameProtector,
  IceHealth,
  MediaPath,
  SessionSignal,
  StatsReport,
  WebRtcImplementation,
} from './types.js';

/** How to set up a {@link PeerSession}. */
export interface PeerSessionOptions extends CandidateTiming {
  /**
   * `offerer` makes every offer (simple-peer's initiator); `answerer` only answers and asks the
   * offerer to renegotiate. In sealcall the callee offers (SimpleX order).
   */
  role: 'offerer' | 'answerer';
  /** The WebRTC implementation; defaults to the browser's globals. */
  wrtc?: WebRtcImplementation;
  /** STUN/TURN servers. Defaults to none (host candidates only): no third party learns of the call. */
  iceServers?: RTCIceServer[];
  /** `relay` hides both peers' addresses from each other behind TURN. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Local media to send. The session never stops these tracks: whoever captured them does. */
  stream?: MediaStream;
  /**
   * Encrypts every frame sent and decrypts every frame received. The session attaches it to each
   * sender and receiver before any frame flows and limits codecs to those it can protect; the
   * caller installs keys and closes it (the session does not: counters stay readable after).
   */
  frameProtector?: FrameProtector;
}

/** Events of a {@link PeerSession}. None is emitted after `closed`. */
export interface PeerSessionEvents {
  /** A signal for the call layer to send to the peer over the encrypted channel. */
  signal: (signal: SessionSignal) => void;
  /** Once, when ICE, DTLS and the data channel are all up. */
  connected: () => void;
  /** ICE connection health, on change only. `failed` is not fatal: try {@link PeerSession.restartIce}. */
  ice: (health: IceHealth) => void;
  /** A remote media track. */
  track: (track: MediaStreamTrack, stream: MediaStream) => void;
  /** A data channel message (strings arrive as their UTF-8 bytes). */
  data: (data: Uint8Array) => void;
  /**
   * Exactly once, asynchronously (so a listener never re-enters the code that called
   * `destroy()`): without an error after `destroy()`, with `PEER_CONNECTION_FAILED` after a fatal
   * error or when the peer closed its side.
   */
  closed: (error?: SealcallError) => void;
}

/** A renegotiation that the answering side asked for. */
export interface RenegotiateRequest {
  iceRestart: boolean;
  addTransceiver?: CallMedia;
}

/**
 * One WebRTC peer connection (via simple-peer) with trickle ICE batched for an expensive
 * signaling channel, ICE restarts and stats. It never decides anything about the call: it
 * reports, and the call layer acts.
 */
export class PeerSession extends EventEmitter<PeerSessionEvents> {
  /** Which side makes offers. */
  readonly role: 'offerer' | 'answerer';
  private readonly peer: PatchedPeer;
  private readonly batcher: CandidateBatcher;
  private readonly gathering: GatheringTracker;
  private readonly remote: RemoteQueue;
  private health: IceHealth | undefined;
  private failure: SealcallError | undefined;
  private wasConnected = false;
  private isClosed = false;
  private peerClosed = false;
  private channelError = false;
  /** Frame protection of this connection's senders and receivers, when it has a protector. */
  private readonly frames: FrameAttachment | undefined;
  /** Transceivers whose track {@link removeTrack} took away, by kind, for the next {@link addTrack}. */
  private readonly idle = new Map<string, RTCRtpTransceiver>();

  /** @throws SealcallError `WEBRTC_UNAVAILABLE`, `INVALID_ARGUMENT` or `PEER_CONNECTION_FAILED`. */
  constructor(options: PeerSessionOptions) {
    super();
    for (const key of ['gatherWindowMs', 'batchMs', 'hostQuietMs'] as const) {
      const value = options[key];
      if (key === 'hostQuietMs' && value === undefined) continue;
      if (!Number.isFinite(value) || (value as number) < 0) {
        throw new SealcallError('INVALID_ARGUMENT', `${key} must be a non-negative number`);
      }
    }
    this.role = options.role;
    // The protector's settings (e.g. Chromium's `encodedInsertableStreams`) never override ICE's.
    const config: RTCConfiguration = { ...options.frameProtector?.rtcConfiguration, iceServers: options.iceServers ?? [] };
    if (options.iceTransportPolicy) config.iceTransportPolicy = options.iceTransportPolicy;
    try {
      this.peer = new PatchedPeer({
        initiator: options.role === 'offerer',
        wrtc: resolveWebRtc(options.wrtc),
        config,
        trickle: true,
        ...(options.stream ? { stream: options.stream } : {}),
      });
    } catch (error) {
      if (error instanceof SealcallError) throw error;
      throw new SealcallError('PEER_CONNECTION_FAILED', 'could not create the peer connection', { cause: error });
    }
    if (options.frameProtector && this.peer._pc) {
      // simple-peer added the local tracks in its constructor and makes its first offer a task
      // later: protecting now is in the task that created the senders, before any negotiation.
      const attachment = new FrameAttachment(this.peer._pc, options.frameProtector);
      attachment.prepare();
      this.peer.beforeLocalDescription = () => attachment.prepare();
      this.frames = attachment;
    }
    // With STUN/TURN servers the first description waits for a server candidate (see the batcher).
    const serverCandidates = (options.iceServers ?? []).some((server) => [server.urls].flat().length > 0);
    this.batcher = new CandidateBatcher({ ...pick(options), serverCandidates }, (signal) => this.emitOpen('signal', signal));
    this.gathering = new GatheringTracker(
      () => {
        const pc = this.peer._pc;
        return pc ? { sdp: pc.localDescription?.sdp, gatheringState: pc.iceGatheringState } : undefined;
      },
      () => this.batcher.gatheringFinished(),
    );
    this.remote = new RemoteQueue(this.peer, (error) => this.fail('the remote description was rejected', error));
    this.listen();
  }

  /** True once `destroy()` was called or the connection failed for good. */
  get destroyed(): boolean {
    return this.isClosed;
  }

  /** Last reported ICE health (undefined before ICE started). */
  get iceHealth(): IceHealth | undefined {
    return this.health;
  }

  /**
   * True when the session closed because the peer closed its side (with `PEER_CONNECTION_FAILED`).
   * Over a direct path this notice usually beats the peer's `end` message through the relay, so
   * the call layer may wait briefly for that message before calling the close a failure.
   */
  get closedByPeer(): boolean {
    return this.peerClosed;
  }

  /**
   * True when the session closed on a data-channel error after it had connected. Chromium reports
   * a peer that closes its connection this way (the SCTP association aborted) as often as a plain
   * close, so the call layer gives the peer's `end` the same grace before calling it a failure.
   */
  get closedOnChannelError(): boolean {
    return this.channelError;
  }

  /** True while the data channel is open. */
  get connected(): boolean {
    return !this.isClosed && this.peer.connected;
  }

  /**
   * Applies the peer's offer (on the answerer) or answer (on the offerer), initial or
   * renegotiated, then the candidates that came with it. A description the browser rejects
   * closes the session with `PEER_CONNECTION_FAILED`.
   *
   * @throws SealcallError `INVALID_STATE` when the description's type does not fit the role.
   */
  applyDescription(type: 'offer' | 'answer', sdp: string, candidates: IceCandidate[]): void {
    if (this.isClosed) return;
    if ((type === 'offer') !== (this.role === 'answerer')) {
      throw new SealcallError('INVALID_STATE', `the ${this.role} cannot apply an ${type}`);
    }
    this.remote.description(type, sdp, candidates);
  }

  /** Applies a batch of the peer's candidates; `end` marks its end-of-candidates. */
  addCandidates(candidates: IceCandidate[], end: boolean): void {
    if (!this.isClosed) this.remote.candidates(candidates, end);
  }

  /**
   * Acts on the answerer's request for a new offer (ICE restart, a transceiver for a new kind
   * of media). Only the offerer makes offers; the answerer ignores requests.
   */
  handleRenegotiateRequest(request: RenegotiateRequest): void {
    if (this.isClosed || this.role !== 'offerer') return;
    if (request.iceRestart) this.peer.iceRestartPending = true;
    if (request.addTransceiver === 'audio' || request.addTransceiver === 'video') {
      this.peer.addTransceiver(request.addTransceiver); // negotiates too
    } else {
      this.peer._needsNegotiation();
    }
  }

  /**
   * Sends `next` instead of `previous` on the same RTCRtpSender (`replaceTrack`): nothing is
   * renegotiated, and the sender keeps its frame transform, so `next`'s frames are encrypted
   * from the first. The session does not stop `previous`.
   *
   * @throws SealcallError `INVALID_STATE` once closed; `INVALID_ARGUMENT` when `previous` is not
   * being sent or the kinds differ; `E2EE_UNAVAILABLE` for a sender silenced because its frames
   * could not be protected; `PEER_CONNECTION_FAILED` when the runtime refuses the track.
   */
  async replaceTrack(previous: MediaStreamTrack, next: MediaStreamTrack): Promise<void> {
    if (this.isClosed) throw new SealcallError('INVALID_STATE', 'the session is closed');
    if (previous.kind !== next.kind) throw new SealcallError('INVALID_ARGUMENT', `a ${previous.kind} track cannot be replaced by a ${next.kind} track`);
    const sender = this.peer.senderOf(previous);
    if (!sender) throw new SealcallError('INVALID_ARGUMENT', 'that track is not being sent');
    if (this.frames && !this.frames.maySend(sender)) {
      throw new SealcallError('E2EE_UNAVAILABLE', 'this sender stays silent: its frames could not be encrypted');
    }
    try {
      await sender.replaceTrack(next);
    } catch (error) {
      throw new SealcallError('PEER_CONNECTION_FAILED', 'the runtime refused the new track', { cause: error });
    }
    this.peer.senderMoved(previous, next);
  }

  /**
   * Starts sending `track` (as part of `stream`) mid-call and renegotiates. A transceiver that
   * {@link removeTrack} left idle for this kind is used again, so turning video on and off does
   * not grow the SDP by one m-line each time. The answerer only asks the offerer for an offer;
   * a brand-new transceiver of its own is then requested after that answer (simple-peer's
   * transceiver request), so both sides adding one at once still end with a single m-line.
   *
   * @throws SealcallError `INVALID_STATE` once closed; `INVALID_ARGUMENT` for a track already sent.
   */
  addTrack(track: MediaStreamTrack, stream: MediaStream): void {
    const pc = this.peer._pc;
    if (this.isClosed || !pc) throw new SealcallError('INVALID_STATE', 'the session is closed');
    if (this.peer.senderOf(track)) throw new SealcallError('INVALID_ARGUMENT', 'that track is already being sent');
    const idle = this.idle.get(track.kind);
    if (idle && (!this.frames || this.frames.maySend(idle.sender))) {
      this.idle.delete(track.kind);
      idle.direction = 'sendrecv';
      idle.sender.replaceTrack(track).catch((error: unknown) => this.fail('the runtime refused the track', error));
      this.peer._senderMap?.set(track, new Map([[stream, idle.sender]]));
    } else {
      try {
        this.peer._senderMap?.set(track, new Map([[stream, pc.addTrack(track, stream)]]));
      } catch (error) {
        throw new SealcallError('PEER_CONNECTION_FAILED', 'the runtime refused the track', { cause: error });
      }
    }
    this.renegotiate();
  }

  /**
   * Stops sending `track` and renegotiates, so the peer's receiver ends it; the transceiver stays
   * for the next {@link addTrack} of its kind. The session does not stop the track. No-op for a
   * track not being sent.
   */
  removeTrack(track: MediaStreamTrack): void {
    const pc = this.peer._pc;
    const sender = this.peer.senderOf(track);
    if (this.isClosed || !pc || !sender) return;
    this.peer._senderMap?.delete(track);
    const transceiver = pc.getTransceivers().find((t) => t.sender === sender);
    if (!transceiver) return;
    transceiver.direction = 'recvonly';
    sender.replaceTrack(null).catch(() => undefined); // the direction alone already stops it
    this.idle.set(track.kind, transceiver);
    this.renegotiate();
  }

  /** A local change needs a new offer: the offerer makes one, the answerer asks for one. */
  private renegotiate(): void {
    if (this.role === 'offerer') this.peer._needsNegotiation();
    else this.emitOpen('signal', { kind: 'renegotiate-request', iceRestart: false });
  }

  /**
   * Restarts ICE: the offerer renegotiates with an ICE-restart offer; the answerer asks the
   * offerer to (a `renegotiate-request` signal).
   */
  restartIce(): void {
    if (this.isClosed) return;
    if (this.role === 'offerer') this.handleRenegotiateRequest({ iceRestart: true });
    else this.emitOpen('signal', { kind: 'renegotiate-request', iceRestart: true });
  }

  /**
   * Replaces the ICE servers, e.g. with refreshed TURN credentials. Candidates gathered already
   * keep their old allocations; an ICE restart replaces them.
   */
  setIceServers(servers: RTCIceServer[]): void {
    const pc = this.peer._pc;
    if (this.isClosed || !pc) return;
    pc.setConfiguration({ ...pc.getConfiguration(), iceServers: servers });
  }

  /**
   * Sends a message over the data channel.
   *
   * @throws SealcallError `INVALID_STATE` when the data channel is not open.
   */
  send(data: Uint8Array | string): void {
    if (!this.connected) throw new SealcallError('INVALID_STATE', 'the data channel is not open');
    try {
      this.peer.send(data);
    } catch (error) {
      throw new SealcallError('INVALID_STATE', 'the data channel refused the message', { cause: error });
    }
  }

  /**
   * The connection's statistics as plain objects.
   *
   * @throws SealcallError `INVALID_STATE` after the session closed.
   */
  async getStats(): Promise<StatsReport[]> {
    const pc = this.peer._pc;
    if (this.isClosed || !pc) throw new SealcallError('INVALID_STATE', 'the session is closed');
    const reports: StatsReport[] = [];
    (await pc.getStats()).forEach((report: StatsReport) => reports.push({ ...report }));
    return reports;
  }

  /** Whether media flows directly or through TURN, from the selected candidate pair (undefined before one is selected). */
  async path(): Promise<MediaPath | undefined> {
    return selectedPath(await this.getStats());
  }

  /** Closes the connection. Idempotent; `closed` follows once, asynchronously. */
  destroy(): void {
    this.finish(undefined);
  }

  // ---------------------------------------------------------------------------------------------

  private listen(): void {
    const peer = this.peer;
    peer.on('signal', (data: unknown) => this.onPeerSignal(data as PeerSignal));
    peer.on('connect', () => {
      if (this.wasConnected) return;
      this.wasConnected = true;
      this.emitOpen('connected');
    });
    peer.on('iceStateChange', (connection: RTCIceConnectionState, gathering: RTCIceGatheringState) =>
      this.onIceState(connection, gathering),
    );
    peer.on('track', (track: MediaStreamTrack, stream: MediaStream) => this.emitOpen('track', track, stream));
    peer.on('data', (chunk: Uint8Array | string) => this.emitOpen('data', toBytes(chunk)));
    // simple-peer throws when it emits 'error' without a listener; it always emits 'close' next.
    peer.on('error', (error: Error & { code?: string }) => {
      if (!this.failure && this.wasConnected && error.code === 'ERR_DATA_CHANNEL') this.channelError = true;
      this.failure ??= new SealcallError('PEER_CONNECTION_FAILED', failureMessage(error.code), { cause: error });
    });
    peer.on('close', () => {
      peer.clearIceCompleteTimer();
      // Not asked for and no error: the data channel closed, i.e. the peer closed its connection.
      if (!this.isClosed && !this.failure) this.peerClosed = true;
      this.finish(this.failure ?? new SealcallError('PEER_CONNECTION_FAILED', 'the peer closed the connection'));
    });
  }

  private onPeerSignal(data: PeerSignal): void {
    if (data.candidate) {
      const { candidate, sdpMid, sdpMLineIndex } = data.candidate;
      this.gathering.candidate(candidate);
      this.batcher.candidate({ candidate, sdpMid: sdpMid ?? null, sdpMLineIndex: sdpMLineIndex ?? null });
      this.gathering.check();
    } else if ((data.type === 'offer' || data.type === 'answer') && typeof data.sdp === 'string') {
      if (this.gathering.description(data.sdp)) this.batcher.gatheringStarted();
      this.batcher.description(data.type, data.sdp);
      this.gathering.check();
    } else if (data.type === 'renegotiate') {
      this.emitOpen('signal', { kind: 'renegotiate-request', iceRestart: false });
    } else if (data.type === 'transceiverRequest') {
      const kind = data.transceiverRequest?.kind;
      const addTransceiver = kind === 'audio' || kind === 'video' ? kind : undefined;
      this.emitOpen('signal', { kind: 'renegotiate-request', iceRestart: false, ...(addTransceiver ? { addTransceiver } : {}) });
    }
  }

  /** simple-peer reports ICE connection and gathering changes through the same event. */
  private onIceState(connection: RTCIceConnectionState, gathering: RTCIceGatheringState): void {
    this.gathering.gatheringState(gathering);
    this.gathering.check();
    const health = ICE_HEALTH[connection];
    if (health && health !== this.health) {
      this.health = health;
      this.emitOpen('ice', health);
    }
  }

  private fail(message: string, cause: unknown): void {
    this.finish(new SealcallError('PEER_CONNECTION_FAILED', message, { cause }));
  }

  private finish(error: SealcallError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.remote.close();
    this.batcher.dispose();
    this.peer.destroy(); // no error passed: this session reports it
    this.peer.clearIceCompleteTimer();
    queueMicrotask(() => this.emit('closed', error));
  }

  /** Emits unless closed: nothing follows `closed`. */
  private emitOpen<E extends Exclude<keyof PeerSessionEvents, 'closed'>>(
    event: E,
    ...args: Parameters<PeerSessionEvents[E]>
  ): void {
    if (!this.isClosed) (this.emit as (event: E, ...args: unknown[]) => boolean)(event, ...args);
  }
}

// -----------------------------------------------------------------------------------------------

/** What simple-peer's 'signal' event carries (9.11.1). */
interface PeerSignal {
  type?: string;
  sdp?: string;
  candidate?: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null };
  transceiverRequest?: { kind?: string };
}

const ICE_HEALTH: Partial<Record<RTCIceConnectionState, IceHealth>> = {
  new: 'checking',
  checking: 'checking',
  connected: 'connected',
  completed: 'connected',
  disconnected: 'disconnected',
  failed: 'failed',
};

/** Human messages for simple-peer's error codes; never the underlying text, which may quote SDP. */
function failureMessage(code: string | undefined): string {
  switch (code) {
    case 'ERR_PC_CONSTRUCTOR':
      return 'could not create the peer connection';
    case 'ERR_CREATE_OFFER':
    case 'ERR_CREATE_ANSWER':
    case 'ERR_SET_LOCAL_DESCRIPTION':
      return 'could not create the local description';
    case 'ERR_SET_REMOTE_DESCRIPTION':
      return 'the remote description was rejected';
    case 'ERR_CONNECTION_FAILURE':
      return 'the connection failed';
    case 'ERR_DATA_CHANNEL':
      return 'the data channel failed';
    default:
      return `the peer connection failed${code ? ` (${code})` : ''}`;
  }
}

/** Only the timing fields: the batcher keeps its options for the session's lifetime. */
function pick({ gatherWindowMs, batchMs, hostQuietMs }: CandidateTiming): CandidateTiming {
  return { gatherWindowMs, batchMs, ...(hostQuietMs !== undefined ? { hostQuietMs } : {}) };
}

function resolveWebRtc(wrtc: WebRtcImplementation | undefined): WebRtcImplementation {
  if (wrtc) return wrtc;
  const g = globalThis as Partial<WebRtcImplementation>;
  if (g.RTCPeerConnection && g.RTCSessionDescription && g.RTCIceCandidate) {
    return { RTCPeerConnection: g.RTCPeerConnection, RTCSessionDescription: g.RTCSessionDescription, RTCIceCandidate: g.RTCIceCandidate };
  }
  throw new SealcallError('WEBRTC_UNAVAILABLE', 'no RTCPeerConnection here: pass a WebRTC implementation (wrtc)');
}

/** simple-peer hands out Buffers (Node or the `buffer` polyfill); callers get plain bytes. */
function toBytes(chunk: Uint8Array | string): Uint8Array {
  if (typeof chunk === 'string') return new TextEncoder().encode(chunk);
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
