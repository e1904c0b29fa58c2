// Feature groups of the feature knockout (SPEC §4): the static decay score of every feature (Mamba-2 heads, Mamba-1
// channels), the fast / middle / slow thirds per layer, explicit head / channel lists, and the parsing of --features.
import { familyOf } from '../arch/index';
import { FEATURE_MODES, type FeatureMode, type FeatureSelection } from '../interventions/spec';
import { UserError, type Checkpoint } from '../types';
import { expandRangeList } from '../util/rangeList';

export const DECAY_GROUPS = ['fast', 'middle', 'slow'] as const;
export type DecayGroup = (typeof DECAY_GROUPS)[number];

export interface LayerDecay {
  /** static decay score per feature: exp(A) at Δ = 1 (Mamba-2 head), Σ_n of it over d_state (Mamba-1 channel) */
  scores: number[];
  /** indices (ascending) of the n // 3 features of lowest score (they forget within a few tokens) */
  fast: number[];
  middle: number[];
  /** the n // 3 features of highest score (they carry information across the prompt) */
  slow: number[];
}

export interface FeaturesReport {
  unit: 'head' | 'channel';
  count: number;
  layers: LayerDecay[];
}

/** Sorts ascending by (score, index) and cuts in thirds: t = n // 3 fast, t slow, the rest middle. */
export function decayThirds(scores: ArrayLike<number>): Omit<LayerDecay, 'scores'> {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const t = Math.floor(n / 3);
  const asc = (xs: number[]) => xs.sort((a, b) => a - b);
  return { fast: asc(order.slice(0, t)), middle: asc(order.slice(t, n - t)), slow: asc(order.slice(n - t)) };
}

/** Decay scores and thirds of every layer. */
export function featuresReport(ckpt: Checkpoint): FeaturesReport {
  const c = ckpt.config;
  const family = familyOf(c);
  const { unit, count } = family.attentionUnits(c);
  const layers: LayerDecay[] = [];
  if (!family.decayScores) {
    throw new UserError(`${family.label(c)} ${unit}s have no decay (no A in attention), so there are no fast / middle / slow groups; use an explicit list such as --features heads:0,3`);
  }
  for (let l = 0; l < c.nLayer; l++) {
    const scores = family.decayScores(ckpt, l);
    layers.push({ scores: Array.from(scores), ...decayThirds(scores) });
  }
  return { unit, count, layers };
}

/** A group as the user wrote it: 'all' (unrestricted), a decay third, or an explicit heads:/channels: list. */
export interface FeatureGroupSpec {
  name: string;
  kind: 'all' | DecayGroup | 'list';
  list?: number[];
}

function parseList(v: string, what: string): number[] {
  return expandRangeList(
    v,
    {
      notAList: () => `--features ${what}: '${v}' is not a list of indices and ranges such as 3,5,8-11`,
      empty: (r) => `--features ${what}: range ${r} is empty (its end is below its start)`,
      tooLong: (r) => `--features ${what}: range ${r} is too long`,
    },
    { spaced: true, unique: true },
  );
}

/**
 * Parses --features: groups separated by commas, each 'all', 'fast', 'middle', 'slow', 'heads:LIST' or
 * 'channels:LIST' (LIST = 3,5,8-11: the numbers after a heads:/channels: belong to its list).
 */
export function parseFeatureGroups(value: string | readonly string[]): FeatureGroupSpec[] {
  const parts = (Array.isArray(value) ? value.join(',') : (value as string)).split(',').map((s) => s.trim());
  const groups: FeatureGroupSpec[] = [];
  let listOf: { prefix: string; items: string[] } | undefined;
  const closeList = () => {
    if (!listOf) return;
    const name = `${listOf.prefix}:${listOf.items.join(',')}`;
    groups.push({ name, kind: 'list', list: parseList(listOf.items.join(','), listOf.prefix) });
    listOf = undefined;
  };
  for (const p of parts) {
    if (p === '') throw new UserError(`--features: empty group in '${Array.isArray(value) ? value.join(',') : value}'`);
    const m = /^(heads|channels):(.*)$/.exec(p);
    if (m) {
      closeList();
      if (m[2].trim() === '') throw new UserError(`--features ${m[1]}: needs a list of indices, e.g. ${m[1]}:3,5,8-11`);
      listOf = { prefix: m[1], items: [m[2].trim()] };
    } else if (listOf && /^\d+(\s*-\s*\d+)?$/.test(p)) {
      listOf.items.push(p);
    } else {
      closeList();
      if (p === 'all' || (DECAY_GROUPS as readonly string[]).includes(p)) groups.push({ name: p, kind: p as FeatureGroupSpec['kind'] });
      else throw new UserError(`--features: unknown group '${p}' (use all, fast, middle, slow, heads:LIST or channels:LIST)`);
    }
  }
  closeList();
  const seen = new Set<string>();
  return groups.filter((g) => (seen.has(g.name) ? false : (seen.add(g.name), true)));
}

export function parseFeatureMode(v: unknown): FeatureMode {
  if (v === undefined || v === null) return 'only';
  if ((FEATURE_MODES as readonly unknown[]).includes(v)) return v as FeatureMode;
  throw new UserError(`--feature-mode must be only or except, got ${JSON.stringify(v)}`);
}

/**
 * The FeatureSelection of a group on a model (undefined for 'all': every unit). Decay groups need a family with
 * decay scores; explicit lists must name the model's unit (heads on Mamba-2, channels on Mamba-1) and be in range.
 */
export function resolveFeatureGroup(ckpt: Checkpoint, g: FeatureGroupSpec, mode: FeatureMode, report?: FeaturesReport): FeatureSelection | undefined {
  if (g.kind === 'all') return undefined;
  const c = ckpt.config;
  const family = familyOf(c);
  const { unit, count } = family.attentionUnits(c);
  const label = family.label(c);
  if (g.kind === 'list') {
    const want = g.name.startsWith('heads:') ? 'head' : 'channel';
    if (want !== unit) throw new UserError(`--features ${g.name}: this ${label} model has ${unit}s, not ${want}s (use ${unit}s:LIST)`);
    for (const u of g.list!) if (u >= count) throw new UserError(`--features ${g.name}: ${unit} ${u} is out of range: the model has ${unit}s 0..${count - 1}`);
    if (g.list!.length === 0) throw new UserError(`--features ${g.name}: the list is empty`);
    return { name: g.name, mode, units: Array.from({ length: c.nLayer }, () => g.list!) };
  }
  const r = report ?? featuresReport(ckpt);
  return { name: g.name, mode, units: r.layers.map((l) => l[g.kind as DecayGroup]) };
}

/** Whether a layer's scores span orders of magnitude (Mamba-2 heads): its histogram is then over log10(score). */
export function logScale(scores: readonly number[]): boolean {
  const lo = Math.min(...scores);
  return lo > 0 && Math.max(...scores) / lo > 100;
}

/** A compact text histogram of one layer's decay scores (over log10 when they span orders of magnitude). */
export function decayHistogram(layer: LayerDecay, bins = 24): string {
  const s = logScale(layer.scores) ? layer.scores.map(Math.log10) : layer.scores;
  const lo = Math.min(...s);
  const hi = Math.max(...s);
  const counts = new Array<number>(bins).fill(0);
  for (const v of s) counts[hi > lo ? Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)) : 0]++;
  const max = Math.max(...counts);
  const bars = ' ▁▂▃▄▅▆▇█';
  return counts.map((k) => bars[k === 0 ? 0 : Math.max(1, Math.round((k / max) * 8))]).join('');
}

/** The feature groups of one experiment call, resolved on the model. */
export interface ResolvedGroup {
  info: { features: string; mode: FeatureMode };
  /** undefined for 'all' (unrestricted) */
  selection?: FeatureSelection;
}

/**
 * The --features / --feature-mode params of trace, micro and run, resolved on the model; undefined without --features.
 * A feature group restricts the edge knockout only: --conv block (which cuts the conv taps of every channel) is refused
 * with it, and --feature-mode without --features is an error.
 */
export function resolveFeatureParams(ckpt: Checkpoint, features: string | readonly string[] | undefined, featureMode: unknown, conv: string): ResolvedGroup[] | undefined {
  const none = features === undefined || (Array.isArray(features) ? features.length === 0 : (features as string).trim() === '');
  if (none) {
    if (featureMode !== undefined && featureMode !== null) throw new UserError('--feature-mode needs --features (the groups whose features it applies to)');
    return undefined;
  }
  const mode = parseFeatureMode(featureMode);
  const specs = parseFeatureGroups(features!);
  if (conv === 'block' && specs.some((g) => g.kind !== 'all')) {
    throw new UserError('--conv block cuts the conv taps of every channel, so it cannot be restricted to a feature group: use --conv keep with --features');
  }
  const report = specs.some((g) => (DECAY_GROUPS as readonly string[]).includes(g.kind)) ? featuresReport(ckpt) : undefined;
  return specs.map((g) => ({ info: { features: g.name, mode }, selection: resolveFeatureGroup(ckpt, g, mode, report) }));
}

/** The variants of every group: the unrestricted variants, once per group with the group's restriction. */
export function variantsPerGroup<V extends { features?: FeatureSelection }>(groups: readonly ResolvedGroup[] | undefined, variants: readonly V[]): V[] {
  if (!groups) return variants.slice();
  return groups.flatMap((g) => variants.map((v) => (g.selection ? { ...v, features: g.selection } : v)));
}
