// Types of xmpp-transport.mjs, for TypeScript apps and tests.
import type { Socket } from 'node:net';

export type XmppStatus = 'connecting' | 'online' | 'reconnecting' | 'closed';

export interface XmppTransportOptions {
  /** `xmpp://host:port` (STARTTLS when offered), `xmpps://host:port` or `wss://host/path`. */
  service: string;
  /** The account's domain (`example.org` in `alice@example.org`). */
  domain: string;
  /** The account's local part (`alice`). */
  username: string;
  password: string;
  /** This device's resource; give every device of an account its own. Default: the server picks one. */
  resource?: string;
  /** The server's limit on a stanza from a client, in bytes; longer stanzas are refused here. */
  stanzaSizeLimit?: number;
  /** The longest text one message may carry. Default `stanzaSizeLimit - 1024`, or no limit. */
  maxTextLength?: number;
  /** How long to wait before reconnecting after a drop. Default 1000 ms. */
  reconnectDelayMs?: number;
}

/** The parts of the xmpp.js client (`@xmpp/client`, untyped) that are useful from outside. */
export interface XmppClient {
  readonly status: string;
  /** The TCP or TLS socket while connected. */
  readonly socket: Socket | null;
  /** Sends a stanza built with `xml()` of `@xmpp/client`. */
  send(stanza: unknown): Promise<void>;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** A sealcall `TextChatTransport` over XMPP (pass it to `fromTextTransport`). */
export interface XmppTransport {
  /** Sends `text` to a bare JID; rejects at once (`code` `TRANSPORT_CLOSED`) while not online. */
  send(to: string, text: string): Promise<void>;
  /** Chat messages with a body from other accounts, `from` as a bare JID. */
  onMessage(handler: (from: string, text: string) => void): () => void;
  readonly maxTextLength: number | undefined;
  readonly status: XmppStatus;
  /** Every status change, with the error that caused a drop when there was one. */
  onStatus(handler: (status: XmppStatus, error?: Error & { condition?: string }) => void): () => void;
  close(): Promise<void>;
  readonly xmpp: XmppClient;
}

export function connectXmppTransport(options: XmppTransportOptions): Promise<XmppTransport>;
