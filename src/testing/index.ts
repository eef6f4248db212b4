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
} from './memory-network.js';
export { FakeFrameProtector } from './fake-frame-protector.js';
export {
  FakeCallKitProvider,
  type FakeCallKitProviderOptions,
  type FakeCallKitReport,
  type FakeCallKitActionKind,
  type FakeCallKitActionRecord,
  type FakeOsCall,
} from './fake-callkit-provider.js';
export { FakeCallKeep, type FakeCallKeepOptions, type FakeCallKeepCall, type FakeCallKeepHeadset } from './fake-callkeep.js';
