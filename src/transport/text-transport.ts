import type { ChatTransport, PeerId } from './chat-transport.js';

/** A chat channel that carries only text. */
export interface TextChatTransport {
  send(to: PeerId, text: string): Promise<void>;
  onMessage(handler: (from: PeerId, text: string) => void): () => void;
}

/** Marks sealcall's messages among a chat's ordinary text. */
export const TEXT_PREFIX = 'sealcall:';

/**
 * Wraps a text-only chat channel as a {@link ChatTransport}: each envelope travels as
 * `sealcall:` + base64url. Incoming text without the prefix, or with a body that is not
 * base64url, is not sealcall's and is ignored.
 */
export function fromTextTransport(text: TextChatTransport): ChatTransport {
  return {
    send: (to, payload) => text.send(to, TEXT_PREFIX + toBase64Url(payload)),
    onMessage: (handler) =>
      text.onMessage((from, message) => {
        if (typeof message !== 'string' || !message.startsWith(TEXT_PREFIX)) return;
        const bytes = fromBase64Url(message.slice(TEXT_PREFIX.length));
        if (bytes) handler(from, bytes);
      }),
  };
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function fromBase64Url(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
