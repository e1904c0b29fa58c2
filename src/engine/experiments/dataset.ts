// Dataset runs: filter to prompts the model gets right, run macro or micro knockouts in chunks of prompts of mixed
// token lengths (padding that changes no number: runner.ts cleanForward, sweeps.ts), aggregate per window start (mean
// diff%, 95% interval: percentile bootstrap by default or Student t, accuracy), checkpoint to <out>.partial.json,
// --resume.
//
// Determinism: the chunks (formChunks: the prompts sorted by token length, `chunkSize` at a time) are fixed by the
// inputs before any work, and the partial file is written only at chunk boundaries; a resumed run recomputes exactly
// the chunks that were not done, with the same batch composition, so its final file equals an uninterrupted run's
// (except `timing` and `provenance.createdAt`, which is kept from the first start).
//
// A run is planned (planDatasetRun), its chunks are run from one queue by one or more executors (runChunk on this
// session, or on several engine workers: runtime/pool.ts), and the file is assembled from the prompts (assembleRun),
// in row order whatever order the chunks finished in. `--shard I/N` keeps every N-th chunk (shard.ts); merge.ts
// assembles the shards' files into the unsharded run's with the same assembleRun.
import * as fs from 'node:fs';
import { DEFAULT_HINTS, UserError, type EngineSession, type MethodContext } from '../types';
import {
  RESULTS_SCHEMA_VERSION,
  type AggregateCurve,
  type AggregateWindow,
  type DatasetAggregate,
  type DatasetRunResult,
  type PromptRecord,
  type Provenance,
  type ResultWarning,
  type SkippedPrompt,
  type SourceSetName,
} from './resultTypes';
import { loadDataset, sampleItems, type DatasetItem } from '../datasets/index';
import { checkOutputFile, removeStaleTempFiles, writeJsonAtomic } from '../util/atomicFile';
import { hashConfig } from '../util/hash';
import { columnIntervals, intervalSpec, type IntervalSpec } from '../util/stats';
import { tokenPieces } from '../util/tokenText';
import { DEFAULT_SETS, parseSets, subjectHasFirst, type PromptPositions } from './positions';
import { diffPct, runKnockouts, runKnockoutsIfTop1, type Variant, type VariantResult } from './runner';
import { checkWindows, defaultMacroWindows, defaultWindow, DEFAULT_MICRO_WINDOW, preparePrompt, provenance, startsFor, targetInfo } from './common';
import { macroVariants, macroWindows } from './macro';
import { resolveFeatureParams, variantsPerGroup, type ResolvedGroup } from './features';
import { inShard, parseShard, sameShard, shardLabel, type ShardSpec } from './shard';
import { drainQueue, type Executor } from './chunkQueue';
import { firstPositionAggregate } from './firstPosition';

/** Variants per prompt of the macro experiment: windows × sets × starts. */
function macroVariantCount(windows: readonly number[], sets: readonly string[], nLayer: number): number {
  return windows.reduce((a, k) => a + sets.length * (nLayer - k + 1), 0);
}
import { microGrid, microVariants } from './micro';
import { TOOL_VERSION } from '../version';
import { parseConvPath, type ConvPath } from '../interventions/spec';

export interface DatasetRunParams {
  /** dataset file (JSON) */
  dataset: string;
  experiment: 'macro' | 'micro';
  /**
   * window sizes (macro: several allowed; micro: exactly one). Default macro: defaultMacroWindows (9 on models of 24+
   * layers, else a quarter and a half of the depth); micro: 5 (clipped to the depth).
   */
  windows?: number[];
  /** macro source sets (default subject, relation, last) */
  sets?: string[];
  limit?: number;
  seed?: number;
  /** keep only prompts whose clean top-1 is the target (default true; CLI --no-filter turns it off) */
  filter?: boolean;
  split?: boolean;
  /** results file; its folder must exist */
  out: string;
  resume?: boolean;
  /** most variants per backend call */
  maxBatch?: number;
  /** prompts per chunk (checkpoint granularity), default 8 */
  chunkSize?: number;
  /**
   * how prompts form chunks (formChunks): 'mixed' (default) prompts of different token lengths together, 'length' one
   * token length per chunk (the chunks of earlier versions; a resumed checkpoint keeps its own). Same numbers either way
   * up to float32 rounding; 'mixed' makes fuller backend calls.
   */
  chunking?: Chunking;
  /**
   * least seconds between two writes of <out>.partial.json (default 2; 0 = after every chunk). The checkpoint always
   * holds whole chunks, so this only changes how much work an interruption can lose, never the final results.
   */
  checkpointSeconds?: number;
  /** the conv path of the knocked-out layers (SPEC §8), default 'keep' */
  conv?: ConvPath;
  /** feature knockout (SPEC §4, macro only for several groups): groups all, fast, middle, slow, heads:LIST, channels:LIST */
  features?: string | string[];
  featureMode?: 'only' | 'except';
  /** interval of the aggregate means: 'bootstrap' (default; percentile bootstrap, seeded) or 't' (Student t) */
  ci?: 'bootstrap' | 't';
  /** bootstrap resamples (default 2000, at least 100) */
  ciResamples?: number;
  /** bootstrap seed (default 0) */
  ciSeed?: number;
  /** run only shard I of N (`I/N`, 0-based): every N-th chunk of the selection (shard.ts); merge the files with merge.ts */
  shard?: string | ShardSpec;
}

/** A run whose filter keeps less than this fraction of the prompts warns ('few-prompts-kept'). */
export const FEW_KEPT_FRACTION = 0.05;

/** The interval of a dataset run from its params (UserError on bad values). */
export function runInterval(params: Pick<DatasetRunParams, 'ci' | 'ciResamples' | 'ciSeed'>): IntervalSpec {
  const method = params.ci ?? 'bootstrap';
  if (method !== 'bootstrap' && method !== 't') throw new UserError(`--ci must be bootstrap or t, got '${String(method)}'`);
  if (method === 't' && (params.ciResamples !== undefined || params.ciSeed !== undefined)) throw new UserError('--ci-resamples and --ci-seed go with --ci bootstrap');
  try {
    return intervalSpec(method, { resamples: params.ciResamples, seed: params.ciSeed });
  } catch (e) {
    throw new UserError(`--ci ${method}: ${(e as Error).message}`);
  }
}

/** The Student-t interval the checkpoint file's provisional aggregate uses (cheap to recompute after every chunk). */
const PARTIAL_INTERVAL: IntervalSpec = { method: 't', level: 0.95 };

/** Micro aggregate categories (documented in docs/results-schema.md). */
export const MICRO_CATEGORIES = ['first', 'subject', 'subject-last', 'relation', 'last'] as const;

/** A selected prompt ready for the model (plain data: it crosses to other engine workers inside its chunk). */
export interface Prepared {
  item: DatasetItem;
  ids: Int32Array;
  offsets: [number, number][];
  pos: PromptPositions;
  targetId: number;
  warnings: ResultWarning[];
}

/** Prompts measured together (of mixed token lengths, see formChunks): the unit of batching, checkpoints, devices and shards. */
export interface Chunk {
  id: number;
  members: Prepared[];
}

export type Chunking = 'mixed' | 'length';

/**
 * The chunks of a run as lists of indices into the prepared prompts (deterministic, so a resumed run recomputes the
 * same chunks). 'mixed': the prompts in order of token length (stable: selection order within a length), `size` at a
 * time, so a chunk mixes a few neighbouring lengths and pads little. 'length': the prompts of each token length (in
 * order of first appearance), `size` at a time.
 */
export function formChunks(lengths: readonly number[], size: number, chunking: Chunking): number[][] {
  const chunks: number[][] = [];
  if (chunking === 'mixed') {
    const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let i = 0; i < order.length; i += size) chunks.push(order.slice(i, i + size));
    return chunks;
  }
  const groups = new Map<number, number[]>();
  lengths.forEach((n, i) => groups.set(n, [...(groups.get(n) ?? []), i]));
  for (const members of groups.values()) for (let i = 0; i < members.length; i += size) chunks.push(members.slice(i, i + size));
  return chunks;
}

export function partialPath(out: string): string {
  return out + '.partial.json';
}

function aggregateCurve(values: number[][], top1: number[][], S: number, interval: IntervalSpec): AggregateCurve {
  // values[prompt][start]; with no prompt every start has n = 0 and null (NaN) statistics
  const ci = columnIntervals(values, S, interval);
  const c: AggregateCurve = { mean: ci.mean, ciLow: ci.low, ciHigh: ci.high, accuracy: [], n: [] };
  for (let s = 0; s < S; s++) {
    const acc = top1.map((t) => t[s]);
    c.accuracy.push(acc.length ? acc.reduce((a, b) => a + b, 0) / acc.length : NaN);
    c.n.push(values.length);
  }
  return c;
}

/** A row of a record read back from a file, where a value that was not finite is null: null → NaN, as when it was measured. */
const finite = (row: readonly (number | null)[]): number[] => row.map((x) => (x === null ? NaN : x));

function meanOver(rows: number[][], idx: number[]): number[] {
  const S = rows[0]?.length ?? 0;
  const out = new Array(S).fill(0);
  for (const i of idx) for (let s = 0; s < S; s++) out[s] += rows[i][s];
  return out.map((x) => x / idx.length);
}

/** Aggregates prompt records per window start (default interval: Student t, 95%). Exported for tests. */
export function aggregateRecords(
  records: PromptRecord[],
  experiment: 'macro' | 'micro',
  windows: number[],
  sets: SourceSetName[],
  nLayer: number,
  interval: IntervalSpec = PARTIAL_INTERVAL,
): AggregateWindow[] {
  if (experiment === 'macro') {
    return windows.map((k, wi) => {
      const curves: Record<SourceSetName, AggregateCurve> = {};
      for (const s of sets) {
        const vals = records.map((r) => finite(r.windows![wi].curves[s].diffPct));
        const t1 = records.map((r) => r.windows![wi].curves[s].top1.map((b) => (b ? 1 : 0)));
        curves[s] = aggregateCurve(vals, t1, startsFor(k, nLayer).length, interval);
      }
      return { window: k, starts: startsFor(k, nLayer), curves };
    });
  }
  const k = windows[0];
  const curves: Record<SourceSetName, AggregateCurve> = {};
  for (const cat of MICRO_CATEGORIES) {
    const vals: number[][] = [];
    const t1: number[][] = [];
    for (const r of records) {
      const m = r.micro!;
      const n = m.diffPct.length;
      const subj = m.subjectPositions ?? [];
      const sset = new Set(subj);
      let idx: number[];
      if (cat === 'first') idx = [0];
      else if (cat === 'last') idx = [n - 1];
      else if (cat === 'subject') idx = subj;
      else if (cat === 'subject-last') idx = subj.length ? [subj[subj.length - 1]] : [];
      else idx = Array.from({ length: n - 1 }, (_, i) => i).filter((i) => !sset.has(i));
      if (idx.length === 0) continue;
      vals.push(meanOver(m.diffPct.map(finite), idx));
      const tops = (m.top1 ?? m.diffPct.map((row) => row.map(() => false))).map((row) => row.map((b) => (b ? 1 : 0)));
      t1.push(meanOver(tops, idx));
    }
    curves[cat] = aggregateCurve(vals, t1, startsFor(k, nLayer).length, interval);
  }
  return [{ window: k, starts: startsFor(k, nLayer), curves }];
}

export function aggregateAll(records: PromptRecord[], experiment: 'macro' | 'micro', windows: number[], sets: SourceSetName[], nLayer: number, split: boolean, interval: IntervalSpec): DatasetAggregate {
  const agg: DatasetAggregate = { windows: aggregateRecords(records, experiment, windows, sets, nLayer, interval) };
  if (split) {
    const yes = records.filter((r) => r.subjectHasFirst);
    const no = records.filter((r) => !r.subjectHasFirst);
    agg.split = {
      subjectHasFirst: aggregateRecords(yes, experiment, windows, sets, nLayer, interval),
      subjectLacksFirst: aggregateRecords(no, experiment, windows, sets, nLayer, interval),
      counts: { subjectHasFirst: yes.length, subjectLacksFirst: no.length },
    };
  }
  return agg;
}

/** Replaces NaN / ±Infinity by null so the file is plain JSON (documented). */
export function jsonSafe<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as T;
}

/** The settings of a run resolved on the model: what planning and chunk execution share (plain data). */
export interface RunSetup {
  experiment: 'macro' | 'micro';
  windows: number[];
  sets: SourceSetName[];
  filter: boolean;
  split: boolean;
  conv: ConvPath;
  featureGroups?: ResolvedGroup[];
  chunkSize: number;
  /** how the prompts form chunks (formChunks); the checkpoint records it */
  chunking: Chunking;
  maxBatch?: number;
  interval: IntervalSpec;
}

/** What a results file is assembled from besides the measured prompts (also rebuilt from shard files by merge.ts). */
export interface RunFrame {
  experiment: 'macro' | 'micro';
  /** the final settings (with the final interval; with `shard` in a shard's file) */
  settings: DatasetRunResult['settings'];
  configHash: string;
  dataset: DatasetRunResult['dataset'];
  provenance: Provenance;
  /** rows of the file that are never selected */
  unusable: SkippedPrompt[];
  /** selected prompts that cannot be measured (this shard's) */
  prepSkipped: SkippedPrompt[];
  /** selected prompts (this shard's) */
  selected: number;
}

/**
 * A planned run: everything fixed before the first chunk, and what a checkpoint had already done. Plain data that
 * crosses from an engine worker to the main thread (runtime/pool.ts runs the chunks on several workers).
 */
export interface RunPlan extends RunFrame {
  out: string;
  setup: RunSetup;
  shard?: ShardSpec;
  /** this run's chunks (a shard's: every N-th), done or not, in id order */
  chunks: Chunk[];
  doneChunks: number[];
  /** measured and filtered prompts of the done chunks (from the checkpoint) */
  records: PromptRecord[];
  filtered: SkippedPrompt[];
  resumed: boolean;
  /** warning codes of every prepared prompt by row index */
  promptWarnings: Map<number, string[]>;
  checkpointSeconds: number;
  startedAt: number;
}

/** What one chunk gives: its measured prompts and those the filter dropped. */
export interface ChunkOutcome {
  records: PromptRecord[];
  filtered: SkippedPrompt[];
}

/** Resolves and checks the settings of a run on the model (UserError on bad values); reads no file. */
export function resolveRunSetup(session: EngineSession, params: DatasetRunParams): RunSetup {
  const L = session.backend.config.nLayer;
  const experiment = params.experiment;
  const interval = runInterval(params);
  const dflt = experiment === 'macro' ? defaultMacroWindows(L) : [defaultWindow(DEFAULT_MICRO_WINDOW, L)];
  const windows = checkWindows(params.windows && params.windows.length ? params.windows : dflt, L);
  if (experiment === 'micro' && windows.length !== 1) throw new UserError(`the micro experiment takes one window size, got ${windows.join(',')}`);
  const sets: SourceSetName[] = experiment === 'macro' ? (params.sets && params.sets.length ? parseSets(params.sets.join(',')) : DEFAULT_SETS.slice()) : [];
  for (const s of sets) if (s.startsWith('custom:') || s.startsWith('pos:')) throw new UserError(`custom source set '${s}' is not supported in dataset runs (prompts differ in length)`);
  const filter = params.filter !== false;
  const split = params.split === true;
  const conv = parseConvPath(params.conv, '--conv', session.backend.config);
  const featureGroups = resolveFeatureParams(session.checkpoint, params.features, params.featureMode, conv);
  if (featureGroups && featureGroups.length > 1 && params.experiment === 'micro') throw new UserError('several --features groups need --experiment macro (a micro run takes one group)');
  // --chunk, else the backend's default (8 prompts on the CPU, 64 on a GPU: BackendHints.datasetChunk)
  const chunkSize = params.chunkSize ?? (session.backend.hints ?? DEFAULT_HINTS).datasetChunk;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new UserError(`chunk size must be a positive integer, got ${chunkSize}`);
  const cs = params.checkpointSeconds;
  if (cs !== undefined && !(Number.isFinite(cs) && cs >= 0)) throw new UserError(`the checkpoint interval must be a number of seconds ≥ 0, got ${cs}`);
  if (params.limit !== undefined && (!Number.isInteger(params.limit) || params.limit < 1)) throw new UserError(`--limit must be a positive integer, got ${params.limit}`);
  if (params.chunking !== undefined && params.chunking !== 'mixed' && params.chunking !== 'length') throw new UserError(`chunking must be mixed or length, got '${String(params.chunking)}'`);
  // a resumed run takes its checkpoint's chunking (planDatasetRun)
  return { experiment, windows, sets, filter, split, conv, featureGroups, chunkSize, chunking: params.chunking ?? 'mixed', maxBatch: params.maxBatch, interval };
}

/**
 * Plans a run: checks the params and the output files, reads the dataset (and the checkpoint with --resume),
 * prepares every selected prompt and cuts the fixed chunks (a shard keeps every N-th, see shard.ts).
 */
export function planDatasetRun(session: EngineSession, params: DatasetRunParams): RunPlan {
  const startedAt = Date.now();
  const experiment = params.experiment;
  if (experiment !== 'macro' && experiment !== 'micro') throw new UserError(`--experiment must be macro or micro, got '${String(experiment)}'`);
  if (typeof params.out !== 'string' || params.out === '') throw new UserError('missing results file (--out FILE)');
  checkOutputFile(params.out, 'results file');
  checkOutputFile(partialPath(params.out), 'checkpoint file');
  // the temp files of a run that was killed while writing one of them (the files themselves are written atomically)
  removeStaleTempFiles(params.out);
  removeStaleTempFiles(partialPath(params.out));
  const setup = resolveRunSetup(session, params);
  const { windows, sets, filter, split, conv, featureGroups, interval } = setup;
  const shard = params.shard !== undefined ? parseShard(params.shard) : undefined;
  const ppath = partialPath(params.out);
  let partial: DatasetRunResult | undefined;
  if (params.resume) {
    if (!fs.existsSync(ppath))
      throw new UserError(`nothing to resume: '${ppath}' does not exist${fs.existsSync(params.out) ? ` (the run is already complete: '${params.out}')` : ''}`);
    try {
      partial = JSON.parse(fs.readFileSync(ppath, 'utf8')) as DatasetRunResult;
    } catch (e) {
      throw new UserError(`partial results '${ppath}' cannot be read: ${(e as Error).message}`);
    }
    if (partial.kind !== 'dataset-run' || partial.status !== 'partial' || !partial.resume)
      throw new UserError(`'${ppath}' is not a partial results file of a dataset run`);
    // a checkpoint keeps the chunking it was made with (one without the field: an earlier version's, one length per chunk)
    const saved: Chunking = partial.resume.chunking ?? 'length';
    if (params.chunking !== undefined && params.chunking !== saved)
      throw new UserError(`cannot resume from '${ppath}': its chunks hold ${saved === 'length' ? 'one token length each' : 'prompts of mixed lengths'}, not ${params.chunking === 'length' ? 'one token length each' : 'prompts of mixed lengths'} as asked`);
    setup.chunking = saved;
    // and its chunk size, unless --chunk asks for one (a checkpoint of another default, e.g. an earlier version's 8 on
    // a GPU, still resumes); a --chunk that differs fails on the config hash below
    if (params.chunkSize === undefined && Number.isInteger(partial.resume.chunkSize) && partial.resume.chunkSize > 0) setup.chunkSize = partial.resume.chunkSize;
  }
  const chunking = setup.chunking;
  const chunkSize = setup.chunkSize;

  const ds = loadDataset(params.dataset);
  // conv is recorded only when it is not the default, so that runs of earlier versions resume
  const settings: DatasetRunResult['settings'] = { windows, sets, filterCorrect: filter, limit: params.limit, seed: params.seed, split, ...(conv === 'block' ? { conv } : {}), ...(featureGroups ? { features: featureGroups.map((g) => g.info.features), featureMode: featureGroups[0].info.mode } : {}), interval, ...(shard ? { shard } : {}) };
  // the interval is left out of the hash: it only changes the aggregate, which is recomputed from the prompts at the
  // end, so a resumed run may ask for another one. The shard is left out too: every shard of a run (and the merged
  // file) has the unsharded run's hash; --resume checks the shard apart.
  const configHash = hashConfig({
    tool: TOOL_VERSION,
    model: session.identity.hash,
    ep: session.backend.ep,
    computeDType: session.computeDType,
    dataset: ds.sha256,
    experiment,
    settings: { ...settings, interval: undefined, shard: undefined },
    chunkSize,
    // absent for one length per chunk, as in the hashes of earlier versions (their checkpoints resume)
    ...(chunking === 'mixed' ? { chunking } : {}),
    maxBatch: params.maxBatch ?? null,
  });
  if (partial && partial.configHash !== configHash)
    throw new UserError(`cannot resume from '${ppath}': it was made with a different model, dataset or settings (config hash differs)`);
  if (partial && !sameShard(partial.settings.shard, shard)) {
    const was = partial.settings.shard ? `shard ${shardLabel(partial.settings.shard)}` : 'an unsharded run';
    throw new UserError(`cannot resume from '${ppath}': it is the checkpoint of ${was}, not of ${shard ? `shard ${shardLabel(shard)}` : 'an unsharded run'}`);
  }

  // prepare every selected row (every shard prepares all: the chunks are cut from the whole selection)
  const selected = sampleItems(ds.items, params.limit, params.seed);
  const unusable: SkippedPrompt[] = ds.skipped.map((s) => ({ index: s.index, prompt: s.prompt, reason: s.reason, cause: 'unusable' }));
  const prepSkipped: SkippedPrompt[] = [];
  const prepared: Prepared[] = [];
  selected.forEach((item, k) => {
    try {
      const p = preparePrompt(session, item.prompt, item.subject, item.target);
      prepared.push({ item, ids: Int32Array.from(p.enc.ids), offsets: p.enc.offsets, pos: p.pos!, targetId: p.targetId!, warnings: p.warnings });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (inShard(k, shard)) prepSkipped.push({ index: item.index, prompt: item.prompt, reason: e.message, cause: 'skipped' });
    }
  });
  // fixed chunks (formChunks)
  const allChunks: Chunk[] = formChunks(prepared.map((p) => p.ids.length), chunkSize, chunking).map((idx, id) => ({ id, members: idx.map((i) => prepared[i]) }));
  const chunks = allChunks.filter((c) => inShard(c.id, shard));
  const mine = chunks.reduce((a, c) => a + c.members.length, 0);

  return {
    experiment,
    settings,
    configHash,
    dataset: { file: ds.file, sha256: ds.sha256, format: ds.format, rows: ds.rows },
    provenance: provenance(session, partial?.provenance.createdAt ?? new Date().toISOString(), conv),
    unusable,
    prepSkipped,
    selected: mine + prepSkipped.length,
    out: params.out,
    setup,
    ...(shard ? { shard } : {}),
    chunks,
    doneChunks: partial?.resume?.doneChunks ?? [],
    records: partial ? partial.prompts.slice() : [],
    filtered: partial ? partial.skipped.filter((s) => s.cause === 'filtered' || (s.cause === undefined && s.reason.startsWith('filtered:'))).map((s) => ({ ...s, cause: 'filtered' as const })) : [],
    resumed: !!partial,
    promptWarnings: new Map(prepared.map((p) => [p.item.index, p.warnings.map((w) => w.code)])),
    checkpointSeconds: params.checkpointSeconds ?? 2,
    startedAt,
  };
}

/** Runs one chunk on a session: the clean forward of its prompts, the filter, the knockout variants, the records. */
export async function runChunk(session: EngineSession, setup: RunSetup, chunk: Chunk, ctx?: MethodContext): Promise<ChunkOutcome> {
  const L = session.backend.config.nLayer;
  const tok = session.tokenizer;
  const { experiment, windows, sets, filter, conv, featureGroups } = setup;
  const records: PromptRecord[] = [];
  const filtered: SkippedPrompt[] = [];
  const opts = { ctx, maxBatch: setup.maxBatch };
  // every member's variants; those of a member whose clean top-1 is not its target are not run (the filter)
  const variants: Variant[] = [];
  const offsets: number[] = [];
  chunk.members.forEach((m, i) => {
    offsets.push(variants.length);
    // one block of variants per feature group (the prompt's first group's block first)
    if (experiment === 'macro') variants.push(...variantsPerGroup(featureGroups, macroVariants(i, m.pos, windows, sets, L, undefined, conv).variants));
    else variants.push(...variantsPerGroup(featureGroups, microVariants(i, m.ids.length, windows[0], L, conv)));
  });
  const prompts = chunk.members.map((m) => ({ ids: m.ids, target: m.targetId }));
  // with the filter, the variants of the members filtered out below are not run: their results are undefined, and only
  // the kept members' are read
  const run = filter ? await runKnockoutsIfTop1(session.backend, prompts, variants, opts) : await runKnockouts(session.backend, prompts, variants, opts);
  const { clean } = run;
  const results = run.results as VariantResult[];
  const kept: number[] = [];
  chunk.members.forEach((m, i) => {
    if (!filter || clean.top1[i] === m.targetId) kept.push(i);
    else
      filtered.push({
        index: m.item.index,
        prompt: m.item.prompt,
        reason: `filtered: clean top-1 '${tok.decode([clean.top1[i]])}' is not the target '${tok.decode([m.targetId])}'`,
        cause: 'filtered',
      });
  });
  kept.forEach((i) => {
    const m = chunk.members[i];
    const baseProb = clean.baseProbs[i];
    const rec: PromptRecord = {
      index: m.item.index,
      prompt: m.item.prompt,
      subject: m.item.subject,
      target: targetInfo(session, m.targetId),
      baseProb,
      subjectHasFirst: subjectHasFirst(m.pos),
      tokenCount: m.ids.length,
    };
    if (experiment === 'macro') {
      const per = macroVariantCount(windows, sets, L);
      rec.windows = macroWindows(windows, sets, L, baseProb, results, offsets[i]);
      if (featureGroups && featureGroups.length > 1) rec.groups = featureGroups.map((g, gi) => ({ ...g.info, windows: macroWindows(windows, sets, L, baseProb, results, offsets[i] + gi * per) }));
    }
    else {
      const g = microGrid(m.ids.length, windows[0], L, baseProb, results, offsets[i]);
      rec.micro = {
        window: windows[0],
        starts: g.starts,
        diffPct: g.diffPct,
        tokens: tokenPieces(
          m.item.prompt,
          m.offsets.map(([start, end]) => ({ start, end })),
          Array.from(m.ids, (id) => tok.decode([id])),
        ),
        top1: g.top1,
        subjectPositions: m.pos.subject,
      };
    }
    records.push(rec);
  });
  return { records, filtered };
}

/**
 * Assembles the results file (or, status 'partial', the checkpoint) of a run from its frame and its prompts: the
 * prompts and skipped lists in row order, the aggregate recomputed from the prompts, counts and warnings. The same
 * prompts give the same file, whichever order they were measured in (or in how many shards).
 */
export function assembleRun(
  frame: RunFrame,
  records: readonly PromptRecord[],
  filtered: readonly SkippedPrompt[],
  status: 'complete' | 'partial',
  extra: { tallies: (prompts: PromptRecord[]) => WarningTally[]; resume?: DatasetRunResult['resume']; timing?: DatasetRunResult['timing'] },
): DatasetRunResult {
  const { experiment, settings } = frame;
  const L = frame.provenance.model.nLayer;
  const prompts = records.slice().sort((a, b) => a.index - b.index);
  const skipped = [...frame.unusable, ...frame.prepSkipped, ...filtered].sort((a, b) => a.index - b.index);
  const filteredOut = filtered.length;
  const agg = status === 'complete' ? settings.interval ?? PARTIAL_INTERVAL : PARTIAL_INTERVAL;
  const warnings = runWarnings(extra.tallies(prompts), prompts.length, settings.filterCorrect, filteredOut);
  const features = settings.features ?? [];
  const r: DatasetRunResult = {
    kind: 'dataset-run',
    schemaVersion: RESULTS_SCHEMA_VERSION,
    provenance: frame.provenance,
    experiment,
    dataset: frame.dataset,
    settings: status === 'complete' ? settings : { ...settings, interval: agg },
    status,
    prompts,
    skipped,
    aggregate: {
      ...aggregateAll(prompts, experiment, settings.windows, settings.sets, L, settings.split, agg),
      ...(experiment === 'micro' ? { firstPosition: firstPositionAggregate(prompts, agg) } : {}),
      ...(features.length > 1
        ? { groups: features.map((f, gi) => ({ features: f, mode: settings.featureMode ?? 'only', windows: aggregateRecords(prompts.map((r) => ({ ...r, windows: r.groups![gi].windows })), experiment, settings.windows, settings.sets, L, agg) })) }
        : {}),
    },
    configHash: frame.configHash,
    counts: { selected: frame.selected, measured: prompts.length, skipped: frame.prepSkipped.length, filteredOut, unusable: frame.unusable.length, rows: frame.dataset.rows },
    ...(warnings.length ? { warnings } : {}),
  };
  if (status === 'partial' && extra.resume) r.resume = extra.resume;
  if (extra.timing) r.timing = extra.timing;
  return jsonSafe(r);
}

/**
 * Runs a plan's chunks that are not done yet on one or more executors (one per engine worker), handing them out
 * from one queue; writes the checkpoint at chunk boundaries (at most every checkpointSeconds, and once more when
 * the run is cancelled or fails) and the results file at the end. Progress is in prompts.
 */
export async function executePlan(plan: RunPlan, executors: readonly Executor<Chunk, ChunkOutcome>[], ctx?: MethodContext): Promise<DatasetRunResult> {
  const ppath = partialPath(plan.out);
  const doneChunks = new Set<number>(plan.doneChunks);
  const records = plan.records.slice();
  const filtered = plan.filtered.slice();
  const total = plan.chunks.reduce((a, c) => a + c.members.length, 0);
  let done = 0;
  for (const c of plan.chunks) if (doneChunks.has(c.id)) done += c.members.length;
  const doneAtStart = done;
  const sessionStart = Date.now();
  const checkpointMs = 1000 * plan.checkpointSeconds;
  let lastCheckpoint = -Infinity;
  let unsaved = false;
  const tallies = (prompts: PromptRecord[]) => tallyWarnings(prompts, plan.promptWarnings);

  const build = (status: 'complete' | 'partial'): DatasetRunResult => {
    const secs = (Date.now() - plan.startedAt) / 1000;
    const timing = { seconds: secs, promptsPerSecond: secs > 0 ? (done - doneAtStart) / ((Date.now() - sessionStart) / 1000 || 1) : 0, resumed: plan.resumed, ...(executors.length > 1 ? { workers: executors.length } : {}) };
    const resume = { chunkSize: plan.setup.chunkSize, chunking: plan.setup.chunking, doneChunks: Array.from(doneChunks).sort((a, b) => a - b), totalChunks: plan.chunks.length };
    return assembleRun(plan, records, filtered, status, { tallies, resume, timing });
  };
  const checkpoint = () => {
    writeJsonAtomic(ppath, build('partial'));
    lastCheckpoint = Date.now();
    unsaved = false;
  };

  const report = () => {
    const el = (Date.now() - sessionStart) / 1000;
    const rate = el > 0 && done > doneAtStart ? (done - doneAtStart) / el : undefined;
    ctx?.progress({ done, total, rate, etaSeconds: rate ? (total - done) / rate : undefined, message: 'prompts' });
  };
  report();

  try {
    await drainQueue(
      plan.chunks.filter((c) => !doneChunks.has(c.id)),
      executors,
      {
        cancelled: () => ctx?.cancelled() ?? false,
        done: (chunk, outcome) => {
          records.push(...outcome.records);
          filtered.push(...outcome.filtered);
          doneChunks.add(chunk.id);
          done += chunk.members.length;
          unsaved = true;
          if (done < total && Date.now() - lastCheckpoint >= checkpointMs) checkpoint();
          report();
        },
      },
    );
  } catch (e) {
    // keep the chunks that finished since the last checkpoint (whole chunks only), so that --resume repeats none
    if (unsaved && done < total) {
      try {
        checkpoint();
      } catch {
        /* the error that stopped the run is the one to report */
      }
    }
    throw e;
  }
  // a shard may measure nothing (its prompts were all filtered out, or it got no chunk): its file is still written,
  // and merge.ts reports an empty run
  if (records.length === 0 && !plan.shard) {
    try {
      fs.unlinkSync(ppath);
    } catch {
      /* none */
    }
    throw new UserError(nothingMeasured(plan.selected, plan.prepSkipped, filtered.length, plan.settings.filterCorrect));
  }
  const final = build('complete');
  writeJsonAtomic(plan.out, final);
  try {
    fs.unlinkSync(ppath);
  } catch {
    /* none */
  }
  return final;
}

/** A whole dataset run in this engine session: plan, then every chunk on this session's backend. */
export async function runDataset(session: EngineSession, params: DatasetRunParams, ctx?: MethodContext): Promise<DatasetRunResult> {
  const plan = planDatasetRun(session, params);
  return executePlan(plan, [(chunk) => runChunk(session, plan.setup, chunk, ctx)], ctx);
}

/** The UserError message of a run that measured no prompt (no results file is written). */
export function nothingMeasured(selected: number, skipped: SkippedPrompt[], filteredOut: number, filter: boolean): string {
  if (selected === 0) return 'no prompt was measured: the selection is empty (the dataset has no usable row)';
  const usable = selected - skipped.length;
  if (usable === 0) {
    const reasons = new Map<string, number>();
    for (const s of skipped) {
      const r = s.reason.replace(/'[^']*'/g, "'…'");
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const top = [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([r, n]) => `${n}× ${r}`);
    return `no prompt was measured: none of the ${selected} selected rows can be used (${top.join('; ')}); no results file was written`;
  }
  if (filter && filteredOut === usable)
    return (
      `no prompt was measured: the model's clean top-1 is the target for none of the ${usable} prompts (it knows 0 of ${usable} facts), ` +
      `and the filter keeps only those; run with --no-filter to measure them anyway, or use a model that knows these facts; no results file was written`
    );
  return 'no prompt was measured; no results file was written';
}

/** One per-prompt warning code of a run: how many measured prompts have it, and the first (at most 10) of their rows. */
export interface WarningTally {
  code: string;
  count: number;
  indices: number[];
}

/** The order in which promptWarnings (common.ts) emits the codes of one prompt. */
const WARNING_ORDER = ['trailing-whitespace', 'multi-token-target', 'subject-covers-last', 'empty-relation'];

/** The run's order of the codes: by the first row that has the code, then in the order of one prompt's warnings. */
export function orderTallies(tallies: WarningTally[]): WarningTally[] {
  const rank = (c: string) => (WARNING_ORDER.includes(c) ? WARNING_ORDER.indexOf(c) : WARNING_ORDER.length);
  return tallies.slice().sort((a, b) => (a.indices[0] ?? Infinity) - (b.indices[0] ?? Infinity) || rank(a.code) - rank(b.code) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** The per-prompt warnings counted over the measured prompts (in row order). */
export function tallyWarnings(prompts: readonly PromptRecord[], codesOf: Map<number, string[]>): WarningTally[] {
  const byCode = new Map<string, WarningTally>();
  for (const p of prompts)
    for (const code of codesOf.get(p.index) ?? []) {
      const t = byCode.get(code) ?? { code, count: 0, indices: [] };
      byCode.set(code, t);
      t.count++;
      if (t.indices.length < 10) t.indices.push(p.index);
    }
  return orderTallies([...byCode.values()]);
}

/** Warnings of a run: a filter that kept < 5%, then the per-prompt warnings' tallies over the n measured prompts. */
export function runWarnings(tallies: readonly WarningTally[], n: number, filter: boolean, filteredOut: number): ResultWarning[] {
  const out: ResultWarning[] = [];
  const reached = n + filteredOut;
  if (filter && reached > 0 && n / reached < FEW_KEPT_FRACTION) {
    out.push({
      code: 'few-prompts-kept',
      message:
        `the filter kept ${n} of ${reached} prompts (${((100 * n) / reached).toFixed(1)}%): the model's clean top-1 is the target for only ${n} of them, ` +
        `so every mean rests on n = ${n}; run with --no-filter to measure all ${reached}, or use a model that knows these facts`,
      count: n,
    });
  }
  const what: Record<string, string> = {
    'multi-token-target': 'have a target of several tokens; only its first token is followed',
    'subject-covers-last': 'have a subject that covers the last position; their subject set contains the prediction position',
    'empty-relation': 'have no relation position; their relation curve blocks nothing',
    'trailing-whitespace': 'end in whitespace, which changes their tokenisation and prediction',
  };
  for (const t of tallies) {
    out.push({ code: t.code, message: `${t.count} of ${n} measured prompts ${what[t.code] ?? t.code}`, count: t.count, indices: t.indices.slice() });
  }
  return out;
}

/** diff% helper re-exported for the CLI summaries */
export { diffPct };
