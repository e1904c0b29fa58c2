// Result shapes of the experiments, shared by the engine, the CLI (--json), the results file
// (docs/results-schema.md) and the webviews. Keep them plain JSON.
import type { ModelIdentity } from '../types';

export const RESULTS_SCHEMA_VERSION = 1;

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
  createdAt: string;
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
  windows: MacroWindow[];
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
}

export interface SkippedPrompt {
  index: number;
  prompt?: string;
  reason: string;
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
  };
  status: 'complete' | 'partial';
  prompts: PromptRecord[];
  skipped: SkippedPrompt[];
  aggregate: DatasetAggregate;
  /** sha256 over the canonical JSON of everything that determines the results (optional extra, see docs/results-schema.md) */
  configHash?: string;
  /** counts of rows through the pipeline (optional extra) */
  counts?: { selected: number; measured: number; skipped: number; filteredOut: number };
  /** wall-clock figures; NOT deterministic, excluded from reproducibility comparisons (optional extra) */
  timing?: { seconds: number; promptsPerSecond: number; resumed: boolean };
  /** only in `<out>.partial.json` (status 'partial'): what --resume needs (optional extra) */
  resume?: { chunkSize: number; doneChunks: number[]; totalChunks: number };
}

export type AnyResult = TraceResult | MicroResult | DatasetRunResult;
