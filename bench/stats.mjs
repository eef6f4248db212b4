// Summary statistics of a list of samples.

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
function percentile(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples) {
  const sorted = [...samples].sort((x, y) => x - y);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { n, median, p90: percentile(sorted, 90), min: sorted[0], max: sorted[n - 1] };
}

/** p50, p90, p99 and max (nearest rank) of latency samples, in a typed array it may sort in place. */
export function latencySummary(samples) {
  if (samples.length === 0) return { n: 0 };
  const sorted = samples.sort();
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}
