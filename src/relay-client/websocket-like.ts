import { SealcallError } from '../errors.js';

/**
 * The part of the WebSocket API the transport uses: the browser's `WebSocket` and the `ws`
 * package's both fit, so neither is imported here and the core stays platform neutral.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  // `any`: each implementation has its own event types; the transport reads them defensively.
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `readyState` of an open socket (the same in every implementation). */
export const WS_OPEN = 1;

/** The given constructor, else the runtime's, else `INVALID_ARGUMENT`. */
export function webSocketConstructor(given: WebSocketConstructor | undefined): WebSocketConstructor {
  const ctor = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof ctor !== 'function') {
    throw new SealcallError('INVALID_ARGUMENT', 'no WebSocket in this runtime: pass the `WebSocket` option (e.g. from the ws package)');
  }
  return ctor;
}
