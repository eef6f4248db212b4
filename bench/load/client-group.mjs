// Several clients' processes (clients.mjs) driven as one: each holds an equal share of the
// clients, in a ring of its own, and carries an equal share of the traffic; their replies are
// merged into the one a single process would give. Latency percentiles come from all processes'
// samples together, so a process's clock is only ever compared with itself.
import { latencySummary } from '../stats.mjs';

/** `children`: started clients.mjs processes (startChild). The same `request`, `kill` and `exited` as one child. */
export function clientGroup(children) {
  if (children.length === 1) return children[0];
  const k = children.length;
  /** Child `i`'s share of `n`: the shares add up to `n`. */
  const share = (n, i) => Math.floor(n / k) + (i < n % k ? 1 : 0);
  const split = (type, payload, i) => {
    if (type === 'connect') return { ...payload, count: share(payload.count, i) };
    if (type === 'paced') return { ...payload, rate: share(payload.rate, i), keepSamples: true };
    if (type === 'closed') return { ...payload, keepSamples: true };
    return payload;
  };
  return {
    exited: Promise.all(children.map((c) => c.exited)),
    kill: () => Promise.all(children.map((c) => c.kill())),
    async request(type, payload = {}, timeoutMs) {
      const parts = await Promise.all(children.map((child, i) => child.request(type, split(type, payload, i), timeoutMs)));
      return type === 'closed' || type === 'paced' ? mergePhases(parts) : mergeCounts(parts);
    },
  };
}

/** One traffic phase's results from every process, as one. */
function mergePhases(parts) {
  const samples = new Float64Array(parts.reduce((n, p) => n + p.latencySamples.length, 0));
  let at = 0;
  for (const p of parts) {
    samples.set(p.latencySamples, at);
    at += p.latencySamples.length;
  }
  const merged = mergeCounts(parts.map(({ latencySamples, latencyMs, elapsedMs, drained, ...rest }) => rest));
  return {
    ...merged,
    // The processes ran their windows side by side: the rates add up, the window is the longest.
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    drained: parts.every((p) => p.drained),
    latencyMs: latencySummary(samples),
  };
}

/** Sums every number, field by field and in nested objects (counters, memory, CPU shares); the longest `ms`; any `timedOut`. */
function mergeCounts(parts) {
  const out = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part ?? {})) {
      if (typeof value === 'number') out[key] = key === 'ms' ? Math.max(out[key] ?? 0, value) : (out[key] ?? 0) + value;
      else if (typeof value === 'boolean') out[key] = (out[key] ?? false) || value;
      else if (value && typeof value === 'object' && !Array.isArray(value)) out[key] = mergeCounts([out[key], value]);
      else out[key] = value;
    }
  }
  return out;
}
