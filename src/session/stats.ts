import type { MediaPath, StatsReport } from './types.js';

/** The media path of the selected candidate pair: relayed when either end is a TURN candidate. */
export function selectedPath(reports: StatsReport[]): MediaPath | undefined {
  const byId = new Map(reports.map((report) => [report.id, report]));
  const transport = reports.find((r) => r.type === 'transport' && typeof r['selectedCandidatePairId'] === 'string');
  const pair =
    (transport && byId.get(transport['selectedCandidatePairId'] as string)) ??
    // Firefox has no transport stats; it flags the pair itself.
    reports.find((r) => r.type === 'candidate-pair' && (r['selected'] === true || (r['nominated'] === true && r['state'] === 'succeeded')));
  if (!pair) return undefined;
  const ends = [byId.get(pair['localCandidateId'] as string), byId.get(pair['remoteCandidateId'] as string)];
  if (ends.every((end) => end === undefined)) return undefined;
  return ends.some((end) => end?.['candidateType'] === 'relay') ? 'relayed' : 'direct';
}
