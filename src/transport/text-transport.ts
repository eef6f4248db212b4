import { fromBase64, toBase64 } from '../protocol/base64.js';
import type { ChatTransport, PeerId, SendHints } from './chat-transport.js';

/** A chat channel that carries only text. */
export interface TextChatTransport {
  /** `hints` as in {@link ChatTransport.send}, passed through. */
  send(to: PeerId, text: string, hints?: SendHints): Promise<void>;
  onMessage(handler: (from: PeerId, text: string) => void): () => void;
  /**
   * The longest text, in characters, one message may carry; the wrapper turns it into the
   * binary transport's `maxPayloadBytes`. Default: no limit.
   */
  readonly maxTextLength?: number;
}

/** Marks sealcall's messages among a chat's ordinary text. */
export const TEXT_PREFIX = 'sealcall:';

/**
 * Wraps a text-only chat channel as a {@link ChatTransport}: each envelope travels as
 * `sealcall:` + base64url. Incoming text without the prefix, or with a body that is not
 * base64url, is not sealcall's and is ignored.
 */
export function fromTextTransport(text: TextChatTransport): ChatTransport {
  const limit = text.maxTextLength;
  return {
    // base64url: 4 characters carry 3 bytes.
    ...(limit !== undefined ? { maxPayloadBytes: Math.floor((limit - TEXT_PREFIX.length) / 4) * 3 } : {}),
    send: (to, payload, hints) => (hints ? text.send(to, TEXT_PREFIX + toBase64(payload, 'url'), hints) : text.send(to, TEXT_PREFIX + toBase64(payload, 'url'))),
    onMessage: (handler) =>
      text.onMessage((from, message) => {
        if (typeof message !== 'string' || !message.startsWith(TEXT_PREFIX)) return;
        const bytes = fromBase64(message.slice(TEXT_PREFIX.length), 'url');
        if (bytes) handler(from, bytes);
      }),
  };
}
