import { fromBase64, toBase64 } from './base64.js';

/*
 * Relay URLs name the relay's key: `ws://<fingerprint>@host:port` or `wss://…`, the fingerprint
 * being base64url of the relay's 32-byte Ed25519 public key (as SMP server addresses carry their
 * key hash). The fingerprint is never sent: a client connects without it and checks the key the
 * relay's `hello` proves. Validation is `checkRelayUrl` in relay-client/address.ts.
 */

/** The relay key a checked relay URL pins (its fingerprint, decoded). */
export function pinnedRelayKey(url: string): Uint8Array {
  return fromBase64(new URL(url).username, 'url')!;
}

/** The URL a WebSocket connects to: the relay URL without its fingerprint, which is checked in `hello` instead. */
export function socketUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  return parsed.href;
}

/**
 * The relay URL with `relayKey`'s fingerprint: what a relay listening at `url` publishes
 * (`ws://<fingerprint>@host:port`, no trailing slash unless `url` has a path).
 */
export function withFingerprint(url: string, relayKey: Uint8Array): string {
  const { protocol, host, pathname, search } = new URL(url);
  return `${protocol}//${toBase64(relayKey, 'url')}@${host}${pathname === '/' ? '' : pathname}${search}`;
}

