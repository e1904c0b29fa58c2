// Result shapes of the experiments, shared by the engine, the CLI (--json), the results file
// (docs/results-schema.md) and the webviews. Keep them plain JSON.
import type { ModelIdentity } from '../types';
import type { IntervalSpec } from '../util/stats';

export type { IntervalSpec };

/**
 * 3: comparison results (`kind: 'comparison'`: one experiment on several models in one file) and the first-position
 * effect of dataset micro runs (`aggregate.firstPosition`).
 * 2: dataset runs record their interval (settings.interval; bootstrap by default, 1 = Student t only), `counts` with
 * disjoint skipped / filteredOut / unusable, skipped[].cause, warnings[]. Readers accept 1 … 3 (see docs/results-schema.md).
 */
export const RESULTS_SCHEMA_VERSION = 3;
/** The oldest schema version this code still reads. */
export const OLDEST_READABLE_SCHEMA_VERSION = 1;

/**
 * Something about the inputs that silently changes the experiment (docs/results-schema.md lists the codes):
 * 'multi-token-target', 'subject-covers-last', 'empty-relation', 'trailing-whitespace', 'few-prompts-kept'.
 * In a dataset run one warning per code, with the number of prompts it concerns and the first few of their indices.
 */
export interface ResultWarning {
  code: string;
  message: string;
  /** dataset runs: how many prompts the warning concerns */
  count?: number;
  /** dataset runs: the first (at most 10) row indices it concerns */
  indices?: number[];
}

/** Named source sets of SPEC §3, plus custom ones ('custom:<name>'). */
export type SourceSetName = 'subject' | 'relation' | 'last' | 'first' | 'all' | string;

export interface TargetInfo {
  id: number;
  text: string;
}

export interface TopToken {
  id: number;
  text: string;
  prob: number;
}

export type TokenRole = 'subject' | 'relation' | 'last';

export interface TokenInfo {
  id: number;
  text: string;
  /** [start, end) in UTF-16 code units of the prompt */
  start: number;
  end: number;
  role: TokenRole;
}

export interface Curve {
  /** p′ per window start */
  probs: number[];
  /** (p′ − p) / p · 100 per window start */
  diffPct: number[];
  /** whether the target is still the argmax, per window start */
  top1: boolean[];
}

export interface MacroWindow {
  window: number;
  /** window start layers ℓ = 0 … L−k */
  starts: number[];
  curves: Record<SourceSetName, Curve>;
}

export interface Provenance {
  tool: { name: 'mamba-explain'; version: string };
  model: ModelIdentity;
  /** execution provider actually used */
  ep: string;
  /** how knockout rows went through the layers: 'fused' (one sweep-graph call for all layers + head) or 'layers' (same maths) */
  sweep?: 'fused' | 'layers';
  computeDType: 'float32' | 'float16';
  /** the conv path of the knocked-out layers (SPEC §8): 'keep' (edge knockout, the papers') or 'block' (complete); absent in older files = 'keep' */
  conv?: 'keep' | 'block';
  /** CUDA only: 'float32' (exact: NVIDIA_TF32_OVERRIDE=0, the default) or 'tf32' (--tf32: faster, about 1e-3 relative), and the GPU */
  cudaMath?: 'float32' | 'tf32';
  device?: number;
  /** a run over several GPUs (`run --devices`, or merged shards that ran on different GPUs): every GPU index; `device` is the first */
  devices?: number[];
  /** steering applied to the model (SPEC §5): channels of layer `layer`'s mixer output multiplied by `scale`; absent = none */
  steer?: { layer: number; channels: number[]; scale: number }[];
  createdAt: string;
}

/** A feature group of a feature-knockout result (SPEC §4): the group as named (all, fast, slow, heads:3,5, …) and the mode. */
export interface FeatureInfo {
  features: string;
  /** 'only': the edges are cut in the group's features; 'except': in every feature but the group's */
  mode: 'only' | 'except';
}

/** The curves of one feature group (several groups computed in one call). */
export interface FeatureGroupWindows extends FeatureInfo {
  windows: MacroWindow[];
}

/** One prompt, macro experiment (trace). */
export interface TraceResult {
  kind: 'trace';
  schemaVersion: number;
  provenance: Provenance;
  prompt: string;
  subject: string;
  target: TargetInfo;
  baseProb: number;
  /** clean top-k predictions at the last position */
  baseTop: TopToken[];
  tokens: TokenInfo[];
  subjectPositions: number[];
  relationPositions: number[];
  lastPosition: number;
  /** the curves (of the first feature group when there are several) */
  windows: MacroWindow[];
  /** with --features: the group (one group) … */
  features?: FeatureInfo;
  /** … or every group, each with its curves (several groups; windows = groups[0].windows) */
  groups?: FeatureGroupWindows[];
  /** inputs that change the experiment (optional; absent = none) */
  warnings?: ResultWarning[];
}

/** One prompt, micro experiment: per position × window start. */
export interface MicroResult {
  kind: 'micro';
  schemaVersion: number;
  provenance: Provenance;
  prompt: string;
  subject?: string;
  target: TargetInfo;
  baseProb: number;
  baseTop: TopToken[];
  tokens: TokenInfo[];
  window: number;
  starts: number[];
  /** probs[c][s]: p′ when (last ← c) is blocked in the window starting at starts[s] */
  probs: number[][];
  diffPct: number[][];
  /** top1[c][s]: whether the target is still the argmax (optional extra) */
  top1?: boolean[][];
  /** with --features: the group (one group) … */
  features?: FeatureInfo;
  /** … or every group with its grid (several groups; probs/diffPct/top1 = the first group's) */
  groups?: (FeatureInfo & { probs: number[][]; diffPct: number[][]; top1: boolean[][] })[];
  /** inputs that change the experiment (optional; absent = none) */
  warnings?: ResultWarning[];
}

export interface AggregateCurve {
  mean: number[];
  ciLow: number[];
  ciHigh: number[];
  /** fraction of prompts whose target is still top-1 */
  accuracy: number[];
  n: number[];
}

export interface AggregateWindow {
  window: number;
  starts: number[];
  curves: Record<SourceSetName, AggregateCurve>;
}

export interface DatasetAggregate {
  windows: AggregateWindow[];
  /** SPEC §3: split by whether the subject contains position 0 */
  split?: { subjectHasFirst: AggregateWindow[]; subjectLacksFirst: AggregateWindow[]; counts: { subjectHasFirst: number; subjectLacksFirst: number } };
  /** several feature groups (SPEC §4): each group's aggregate (windows = groups[0]'s) */
  groups?: (FeatureInfo & { windows: AggregateWindow[] })[];
  /** micro runs (schema 3): the effect of blocking (last ← 0), the first position, per window start */
  firstPosition?: FirstPositionAggregate;
}

/** Mean diff% of blocking (last ← 0) over a set of prompts, per window start, with the run's interval. */
export interface FirstPositionStats {
  /** mean over the prompts of diff% when (last ← 0) is blocked in the window starting at starts[s] */
  meanDiffPct: number[];
  /** the run's interval (settings.interval) of that mean */
  ci: { low: number[]; high: number[] };
  /** fraction of the prompts whose target is still top-1 */
  top1Kept: number[];
  /** number of prompts */
  n: number;
}

/**
 * The first-position effect of a dataset micro run (the papers discuss it: position 0 can matter far beyond its
 * content). `notSubject` is the same over the prompts whose subject does not contain position 0, where blocking it
 * removes no subject token.
 */
export interface FirstPositionAggregate extends FirstPositionStats {
  window: number;
  starts: number[];
  notSubject: FirstPositionStats;
}

export interface SkippedPrompt {
  index: number;
  prompt?: string;
  reason: string;
  /**
   * why the row is not measured (schema 2): 'unusable' (a row of the file without prompt, subject or target; never
   * selected), 'skipped' (a selected row that cannot be measured: subject not in the prompt, …) or 'filtered' (its clean
   * top-1 is not the target). Absent in schema 1: 'filtered' when the reason starts with 'filtered:'.
   */
  cause?: 'unusable' | 'skipped' | 'filtered';
}

export interface PromptRecord {
  index: number;
  prompt: string;
  subject: string;
  target: TargetInfo;
  baseProb: number;
  subjectHasFirst: boolean;
  /** macro: per window; micro: per position × start (diffPct only) */
  windows?: MacroWindow[];
  /** several feature groups: each group's curves (windows = groups[0]'s) */
  groups?: FeatureGroupWindows[];
  micro?: { window: number; starts: number[]; diffPct: number[][]; tokens: string[]; top1?: boolean[][]; subjectPositions?: number[] };
  /** number of tokens of the prompt (optional extra) */
  tokenCount?: number;
}

/** The results file of a dataset run (docs/results-schema.md). */
export interface DatasetRunResult {
  kind: 'dataset-run';
  schemaVersion: number;
  provenance: Provenance;
  experiment: 'macro' | 'micro';
  dataset: { file: string; sha256: string; format: string; rows: number };
  settings: {
    windows: number[];
    sets: SourceSetName[];
    filterCorrect: boolean;
    limit?: number;
    seed?: number;
    split: boolean;
    /** 'block' when the run cut the conv taps too (complete knockout, SPEC §8); absent = 'keep' */
    conv?: 'keep' | 'block';
    /** feature knockout (SPEC §4): the groups and their mode; absent = every feature */
    features?: string[];
    featureMode?: 'only' | 'except';
    /** how aggregate.ciLow / ciHigh were computed (schema 2; absent in schema 1 = Student t, 95%) */
    interval?: IntervalSpec;
    /** a shard's file (`run --shard I/N`): shard `index` (0-based) of `count`; absent in whole and merged runs */
    shard?: { index: number; count: number };
  };
  status: 'complete' | 'partial';
  prompts: PromptRecord[];
  skipped: SkippedPrompt[];
  aggregate: DatasetAggregate;
  /** sha256 over the canonical JSON of everything that determines the results (optional extra, see docs/results-schema.md) */
  configHash?: string;
  /**
   * rows through the pipeline (optional extra). Schema 2: selected = measured + filteredOut + skipped, and
   * `unusable` rows of the file are outside the selection. Schema 1: `skipped` counted every skipped[] entry.
   */
  counts?: { selected: number; measured: number; skipped: number; filteredOut: number; unusable?: number; rows?: number };
  /** inputs that change the experiment, one per code with its count (optional; absent = none) */
  warnings?: ResultWarning[];
  /** wall-clock figures; NOT deterministic, excluded from reproducibility comparisons (optional extra) */
  timing?: {
    seconds: number;
    promptsPerSecond: number;
    resumed: boolean;
    /** engine workers that ran the chunks (`run --devices`), when more than one */
    workers?: number;
    /** a merged file: the number of shards; `seconds` is then their sum */
    shards?: number;
  };
  /**
   * only in `<out>.partial.json` (status 'partial'): what --resume needs (optional extra); `chunking`: how prompts formed
   * chunks (dataset.ts formChunks), absent in checkpoints of earlier versions = 'length'
   */
  resume?: { chunkSize: number; chunking?: 'mixed' | 'length'; doneChunks: number[]; totalChunks: number };
}

export type AnyResult = TraceResult | MicroResult | DatasetRunResult;

/** A result that a comparison holds one of per model. */
export type ComparedResult = TraceResult | MicroResult | DatasetRunResult;

/** One model of a comparison. */
export interface ComparedModel {
  /** the model as given (--model / --compare-model: 'demo', 'demo-mamba1', a folder, a Hub id) */
  ref: string;
  /** the model's name in legends, unique within the comparison (e.g. 'demo-mamba1 (Mamba-1)') */
  label: string;
  /** the model's result, exactly what the experiment gives on that model alone (its own provenance) */
  result: ComparedResult;
}

/** Which selected rows of a dataset comparison each model measured (each model filters on its own prediction). */
export interface ComparisonCoverage {
  /** rows selected from the dataset (the same for every model) */
  selected: number;
  /** rows that every model measured */
  measuredByAll: number;
  /** the first (at most 20) rows that some model measured and another did not */
  notByAll: number[];
  models: { label: string; measured: number; filteredOut: number; skipped: number; filteredIndices: number[] }[];
}

/**
 * The same experiment (the same prompts or dataset rows, window sizes and settings) on several models in one file
 * (schema 3). Each model has its own tokenisation, positions and depth; figures put the models on one axis of relative
 * depth, start / (L − k). `provenance` is the first model's.
 */
export interface ComparisonResult {
  kind: 'comparison';
  schemaVersion: number;
  provenance: Provenance;
  /** the kind of every model's result */
  experiment: ComparedResult['kind'];
  models: ComparedModel[];
  /** dataset runs: which rows each model measured */
  coverage?: ComparisonCoverage;
  /** inputs that change the comparison (optional; each model's result has its own warnings) */
  warnings?: ResultWarning[];
}

/** The kinds of AnyResult (results files the report, the panel and `report` read). */
export const RESULT_KINDS = ['trace', 'micro', 'dataset-run'] as const;
/** Kinds that wrap results of RESULT_KINDS (the report and the panel read them too). */
export const WRAPPER_KINDS = ['comparison'] as const;

/**
 * Provenance of a CLI result that does not come from a knockout experiment (`tokenize`, `download`, `report`):
 * the tool and the time, plus what it used.
 */
export interface ToolProvenance {
  tool: { name: 'mamba-explain'; version: string };
  createdAt: string;
  /** tokenize: the tokenizer.json used */
  tokenizer?: { file: string; sha256: string };
  /** download: the Hub endpoint */
  endpoint?: string;
}
