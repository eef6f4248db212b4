// The call setup scenarios `npm run bench` measures, by id. Each runs one iteration.
import { sealcallSetup, simplePeerSetup } from './setup.mjs';

export const BASELINE = 'baseline';
export const DEFAULTS = 'defaults';

export const SCENARIOS = [
  { id: BASELINE, name: 'simple-peer (baseline), direct signaling', run: () => simplePeerSetup() },
  { id: DEFAULTS, name: 'sealcall, defaults (gatherWindowMs 200, candidateBatchMs 300)', run: (o) => sealcallSetup(o) },
  { id: 'window0', name: 'sealcall, gatherWindowMs 0', run: (o) => sealcallSetup({ ...o, clientOptions: { gatherWindowMs: 0 } }) },
  {
    id: 'window0-batch0',
    name: 'sealcall, gatherWindowMs 0, candidateBatchMs 0',
    run: (o) => sealcallSetup({ ...o, clientOptions: { gatherWindowMs: 0, candidateBatchMs: 0 } }),
  },
  {
    id: 'defaults-memory',
    name: 'sealcall, defaults, over MemoryNetwork (a 1 ms timer per message)',
    run: (o) => sealcallSetup({ ...o, memoryNetwork: true }),
  },
  { id: 'baseline-50', name: 'simple-peer (baseline), 50 ms per signal', run: () => simplePeerSetup({ latencyMs: 50 }) },
  { id: 'defaults-50', name: 'sealcall, defaults, 50 ms per message', run: (o) => sealcallSetup({ ...o, latencyMs: 50 }) },
  {
    id: 'window0-50',
    name: 'sealcall, gatherWindowMs 0, 50 ms per message',
    run: (o) => sealcallSetup({ ...o, latencyMs: 50, clientOptions: { gatherWindowMs: 0 } }),
  },
];

/** Scenarios also recorded once message by message (sealcall ones only). */
export const TRACED = [
  { id: DEFAULTS, name: 'defaults' },
  { id: 'window0', name: 'gatherWindowMs 0' },
];
