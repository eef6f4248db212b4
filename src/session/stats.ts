import type { MediaPath, StatsReport } from './types.js';

/** The candidate pair media flows over, if one is selected. */
export function selectedCandidatePair(reports: StatsReport[]): StatsReport | undefined {
  const transport = reports.find((r) => r.type === 'transport' && typeof r['selectedCandidatePairId'] === 'string');
  const byTransport = transport && reports.find((r) => r.id === transport['selectedCandidatePairId']);
  // Firefox has no transport stats; it flags the pair itself.
  return (
    byTransport ??
    reports.find((r) => r.type === 'candidate-pair' && (r['selected'] === true || (r['nominated'] === true && r['state'] === 'succeeded')))
  );
}

/** The media path of the selected candidate pair: relayed when either end is a TURN candidate. */
export function selectedPath(reports: StatsReport[]): MediaPath | undefined {
  const pair = selectedCandidatePair(reports);
  if (!pair) return undefined;
  const byId = new Map(reports.map((report) => [report.id, report]));
  const ends = [byId.get(pair['localCandidateId'] as string), byId.get(pair['remoteCandidateId'] as string)];
  if (ends.every((end) => end === undefined)) return undefined;
  return ends.some((end) => end?.['candidateType'] === 'relay') ? 'relayed' : 'direct';
}
