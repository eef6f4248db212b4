/**
 * sealcall/relay: the SMP-style store-and-forward relay server (Node only). Clients reach it
 * with `WebSocketTransport` from `sealcall`.
 *
 * @packageDocumentation
 */
export { Relay, type RelayAddress, type ListenOptions, type RelayTlsOptions } from './relay.js';
export type { RelayOptions, RelayStats, RelayLogger } from './options.js';
export {
  RELAY_PROTOCOL_VERSION,
  RELAY_LIMITS,
  RELAY_ERROR_CODES,
  type RelayErrorCode,
  type ClientFrame,
  type RelayFrame,
} from '../protocol/relay-frames.js';
