// The first-position effect of a dataset micro run: the mean diff% of blocking (last ← 0) per window start, over all
// measured prompts and over those whose subject does not contain position 0 (where position 0 is plain context).
// The papers discuss it: the first token can carry far more than its content. Pure (no I/O).
import type { FirstPositionAggregate, FirstPositionStats, PromptRecord } from './resultTypes';
import { columnIntervals, type IntervalSpec } from '../util/stats';

/** The label that marks position 0 in the micro views (heatmaps in the panel, the exports and the report). */
export const FIRST_POSITION_LABEL = 'pos 0 (first)';

function stats(records: readonly PromptRecord[], S: number, interval: IntervalSpec): FirstPositionStats {
  const rows = records.map((r) => r.micro!.diffPct[0].slice(0, S));
  const kept = records.map((r) => (r.micro!.top1?.[0] ?? []).map((b) => (b ? 1 : 0)));
  const ci = columnIntervals(rows, S, interval);
  const top1Kept = Array.from({ length: S }, (_, s) => (kept.length ? kept.reduce((a, k) => a + (k[s] ?? 0), 0) / kept.length : NaN));
  return { meanDiffPct: ci.mean, ci: { low: ci.low, high: ci.high }, top1Kept, n: records.length };
}

/**
 * The first-position aggregate of micro prompt records (every record has `micro` with row 0 = position 0); undefined
 * when no record has a micro grid. Same interval as the rest of the run's aggregate.
 */
export function firstPositionAggregate(records: readonly PromptRecord[], interval: IntervalSpec): FirstPositionAggregate | undefined {
  const withMicro = records.filter((r) => r.micro && r.micro.diffPct.length > 0);
  const first = withMicro[0]?.micro;
  if (!first) return undefined;
  const S = first.starts.length;
  const notSubject = withMicro.filter((r) => !r.subjectHasFirst);
  return { window: first.window, starts: first.starts.slice(), ...stats(withMicro, S, interval), notSubject: stats(notSubject, S, interval) };
}
