/**
 * The public test kit: fakes for unit-testing an app's integration with sealcall. Fakes, not
 * production transports.
 *
 * @packageDocumentation
 */
export {
  MemoryNetwork,
  MemoryTransport,
  type MemoryNetworkOptions,
  type MemoryNetworkStats,
  type ObservedMessage,
} from '../transport/memory-network.js';
