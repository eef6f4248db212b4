import { SealcallError } from '../errors.js';
import type { FrameBaseKeys, SignalingSession } from './session.js';
import { decodeMessage, encodeMessage } from '../protocol/codec.js';
import type { Capabilities, Message, OutgoingMessage } from '../protocol/messages.js';
import type { ChatTransport, PeerId } from '../transport/chat-transport.js';
import { MessageOrderer } from './message-orderer.js';

/** A message as a call writes it: the channel fills in call id and sequence number. */
export type ChannelMessage = OutgoingMessage extends infer M
  ? M extends OutgoingMessage
    ? Omit<M, 'callId' | 'seq'>
    : never
  : never;

/**
 * The encrypted conversation with one device of the peer, after the handshake: numbers, encodes,
 * seals and sends messages; opens, decodes, checks and re-orders what arrives.
 */
export class SignalingChannel {
  private nextSeq = 1; // seq 0 was the handshake message
  private readonly orderer = new MessageOrderer<Message>(1);

  constructor(
    private readonly session: SignalingSession,
    /** Where this device is reached on the chat transport. */
    readonly peer: PeerId,
    private readonly transport: ChatTransport,
    /** What this device said it supports (in its invitation or ringing reply). */
    readonly capabilities: Capabilities,
  ) {}

  /** The session tag that names this device's session. */
  get tag(): string {
    return this.session.sessionTag;
  }

  /** Seals and sends one message. Rejects with the transport's (or the encoder's) error. */
  async send(message: ChannelMessage): Promise<void> {
    // async: an encoding or sealing error becomes a rejection the caller handles, never a throw.
    const bytes = encodeMessage({ ...message, callId: this.session.callId, seq: this.nextSeq++ } as OutgoingMessage);
    await this.transport.send(this.peer, this.session.seal(bytes));
  }

  /**
   * Opens one envelope and returns the messages that are now due, in the sender's order. `end`
   * is due at once, whatever came before it, so a hang-up is never stuck behind a lost message.
   * Throws SealcallError for anything forged, replayed, malformed or of another call.
   */
  receive(envelope: Uint8Array): Message[] {
    const message = decodeMessage(this.session.open(envelope));
    if (message.callId !== this.session.callId) throw new SealcallError('WRONG_CALL', 'message names another call');
    if (message.seq === 0) throw new SealcallError('BAD_MESSAGE', 'transport message with the handshake’s sequence number');
    if (message.type === 'end') return [message];
    return this.orderer.push(message);
  }

  /** This session's frame-encryption base keys (fresh copies the caller wipes). */
  frameBaseKeys(): FrameBaseKeys {
    return this.session.frameBaseKeys();
  }

  /** Wipes the session keys. */
  dispose(): void {
    this.session.dispose();
  }
}
