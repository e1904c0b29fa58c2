// Feature knockout on the host side (SPEC §4), pure (no `vscode`): the decay payload of one layer for the panel,
// the group means of a layer's attention matrices for the heatmap, and the checks of a feature run.
import type { FeaturesReport } from '../../engine/experiments/features';
import { DECAY_GROUPS, isFeatureGroup, type DecayGroup, type FeatureMode, type FeaturesPayload, type GroupMean, type PayloadModel } from '../../shared/protocol';

/** One layer of the engine's FeaturesReport as the panel's payload. Throws on a layer out of range. */
export function decayPayload(report: FeaturesReport, layer: number, model?: PayloadModel): FeaturesPayload {
  const nLayers = report.layers.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers) throw new RangeError(`layer ${layer} is out of range (0..${nLayers - 1})`);
  const l = report.layers[layer];
  return {
    unit: report.unit,
    count: report.count,
    nLayers,
    layer,
    decay: { scores: l.scores.slice(), fast: l.fast.slice(), middle: l.middle.slice(), slow: l.slow.slice() },
    ...(model ? { model } : {}),
  };
}

/**
 * The mean of a layer's matrices over each decay third: `matrices[k]` is the matrix of unit `ids[k]` (default
 * k). Units of a group that are not among the matrices are left out of its mean (its count says how many were
 * used). `withUnits`: list the group's units (Mamba-2 heads; a Mamba-1 layer has too many channels to be worth it).
 */
export function groupMeans(matrices: readonly (readonly (readonly number[])[])[], thirds: Record<DecayGroup, readonly number[]>, withUnits: boolean, ids?: readonly number[]): Record<DecayGroup, GroupMean> {
  const index = new Map<number, number>();
  (ids ?? matrices.map((_, k) => k)).forEach((u, k) => index.set(u, k));
  const n = matrices[0]?.length ?? 0;
  const out = {} as Record<DecayGroup, GroupMean>;
  for (const g of DECAY_GROUPS) {
    const ks = thirds[g].map((u) => index.get(u)).filter((k): k is number => k !== undefined);
    const mean = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (const k of ks) {
      const m = matrices[k];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mean[i][j] += m[i][j];
    }
    if (ks.length) for (const row of mean) for (let j = 0; j < n; j++) row[j] /= ks.length;
    const used = thirds[g].filter((u) => index.has(u));
    out[g] = { count: ks.length, ...(withUnits ? { units: used } : {}), mean };
  }
  return out;
}

/**
 * Why a trace with these feature groups cannot run, or undefined: the groups must be the engine's syntax, and a
 * restricted group cannot go with mambaExplain.conv = block (which cuts the conv taps of every channel).
 */
export function checkFeatureRun(features: readonly string[] | undefined, featureMode: unknown, conv: 'keep' | 'block'): string | undefined {
  if (features === undefined) return featureMode === undefined ? undefined : 'A feature mode needs feature groups.';
  if (features.length === 0) return 'Choose at least one feature group (all, fast, middle, slow, or a head / channel list).';
  const bad = features.find((g) => !isFeatureGroup(g));
  if (bad !== undefined) return `'${bad}' is not a feature group (use all, fast, middle, slow, heads:LIST or channels:LIST, e.g. heads:3,5,8-11).`;
  if (featureMode !== undefined && featureMode !== 'only' && featureMode !== 'except') return `The feature mode must be only or except, not ${JSON.stringify(featureMode)}.`;
  if (conv === 'block' && features.some((g) => g !== 'all')) {
    return 'A feature knockout restricts the edge knockout to some heads / channels, but mambaExplain.conv = block cuts the conv taps of every channel: set mambaExplain.conv to keep to run feature groups.';
  }
  return undefined;
}

/** 'all, fast, slow (except)' for progress messages. */
export function describeFeatureRun(features: readonly string[], mode: FeatureMode = 'only'): string {
  return `${features.join(', ')} (${mode})`;
}
