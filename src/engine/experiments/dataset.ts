// Dataset runs: filter to prompts the model gets right, group by token length, run macro or micro knockouts in chunks,
// aggregate per window start (mean diff%, 95% interval: percentile bootstrap by default or Student t, accuracy),
// checkpoint to <out>.partial.json, --resume.
//
// Determinism: the chunks (prompts of one token length, `chunkSize` at a time, in selection order) are fixed by the
// inputs before any work, and the partial file is written only at chunk boundaries; a resumed run recomputes exactly
// the chunks that were not done, with the same batch composition, so its final file equals an uninterrupted run's
// (except `timing` and `provenance.createdAt`, which is kept from the first start).
import * as fs from 'node:fs';
import { CancelledError, UserError, type EngineSession, type MethodContext } from '../types';
import {
  RESULTS_SCHEMA_VERSION,
  type AggregateCurve,
  type AggregateWindow,
  type DatasetAggregate,
  type DatasetRunResult,
  type PromptRecord,
  type ResultWarning,
  type SkippedPrompt,
  type SourceSetName,
} from './resultTypes';
import { loadDataset, sampleItems, type DatasetItem } from '../datasets/index';
import { checkOutputFile, writeJsonAtomic } from '../util/atomicFile';
import { hashConfig } from '../util/hash';
import { columnIntervals, intervalSpec, type IntervalSpec } from '../util/stats';
import { tokenPieces } from '../util/tokenText';
import { DEFAULT_SETS, parseSets, subjectHasFirst, type PromptPositions } from './positions';
import { cleanForward, diffPct, runVariants, type Variant } from './runner';
import { checkWindows, defaultMacroWindows, defaultWindow, DEFAULT_MICRO_WINDOW, preparePrompt, provenance, startsFor, targetInfo } from './common';
import { macroVariants, macroWindows } from './macro';
import { resolveFeatureParams, variantsPerGroup } from './features';

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

interface Prepared {
  item: DatasetItem;
  ids: Int32Array;
  offsets: [number, number][];
  pos: PromptPositions;
  targetId: number;
  warnings: ResultWarning[];
}

interface Chunk {
  id: number;
  n: number;
  members: Prepared[];
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
        const vals = records.map((r) => r.windows![wi].curves[s].diffPct);
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
      vals.push(meanOver(m.diffPct, idx));
      const tops = (m.top1 ?? m.diffPct.map((row) => row.map(() => false))).map((row) => row.map((b) => (b ? 1 : 0)));
      t1.push(meanOver(tops, idx));
    }
    curves[cat] = aggregateCurve(vals, t1, startsFor(k, nLayer).length, interval);
  }
  return [{ window: k, starts: startsFor(k, nLayer), curves }];
}

function aggregateAll(records: PromptRecord[], experiment: 'macro' | 'micro', windows: number[], sets: SourceSetName[], nLayer: number, split: boolean, interval: IntervalSpec): DatasetAggregate {
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
function jsonSafe<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))) as T;
}

export async function runDataset(session: EngineSession, params: DatasetRunParams, ctx?: MethodContext): Promise<DatasetRunResult> {
  const t0 = Date.now();
  const L = session.backend.config.nLayer;
  const experiment = params.experiment;
  if (experiment !== 'macro' && experiment !== 'micro') throw new UserError(`--experiment must be macro or micro, got '${String(experiment)}'`);
  if (typeof params.out !== 'string' || params.out === '') throw new UserError('missing results file (--out FILE)');
  checkOutputFile(params.out, 'results file');
  checkOutputFile(partialPath(params.out), 'checkpoint file');
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
  const chunkSize = params.chunkSize ?? 8;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new UserError(`chunk size must be a positive integer, got ${chunkSize}`);
  if (params.limit !== undefined && (!Number.isInteger(params.limit) || params.limit < 1)) throw new UserError(`--limit must be a positive integer, got ${params.limit}`);
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
  }

  const ds = loadDataset(params.dataset);
  // conv is recorded only when it is not the default, so that runs of earlier versions resume
  const settings: DatasetRunResult['settings'] = { windows, sets, filterCorrect: filter, limit: params.limit, seed: params.seed, split, ...(conv === 'block' ? { conv } : {}), ...(featureGroups ? { features: featureGroups.map((g) => g.info.features), featureMode: featureGroups[0].info.mode } : {}), interval };
  // the interval is left out of the hash: it only changes the aggregate, which is recomputed from the prompts at the
  // end, so a resumed run may ask for another one
  const configHash = hashConfig({
    tool: TOOL_VERSION,
    model: session.identity.hash,
    ep: session.backend.ep,
    computeDType: session.computeDType,
    dataset: ds.sha256,
    experiment,
    settings: { ...settings, interval: undefined },
    chunkSize,
    maxBatch: params.maxBatch ?? null,
  });
  if (partial && partial.configHash !== configHash)
    throw new UserError(`cannot resume from '${ppath}': it was made with a different model, dataset or settings (config hash differs)`);

  // prepare every selected row
  const selected = sampleItems(ds.items, params.limit, params.seed);
  const unusable: SkippedPrompt[] = ds.skipped.map((s) => ({ index: s.index, prompt: s.prompt, reason: s.reason, cause: 'unusable' }));
  const prepSkipped: SkippedPrompt[] = [];
  const prepared: Prepared[] = [];
  for (const item of selected) {
    try {
      const p = preparePrompt(session, item.prompt, item.subject, item.target);
      prepared.push({ item, ids: Int32Array.from(p.enc.ids), offsets: p.enc.offsets, pos: p.pos!, targetId: p.targetId!, warnings: p.warnings });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      prepSkipped.push({ index: item.index, prompt: item.prompt, reason: e.message, cause: 'skipped' });
    }
  }
  const warningsOf = new Map<number, ResultWarning[]>(prepared.map((p) => [p.item.index, p.warnings]));
  // fixed chunks: group by token length (in order of first appearance), chunkSize prompts each
  const groups = new Map<number, Prepared[]>();
  for (const p of prepared) {
    const g = groups.get(p.ids.length);
    if (g) g.push(p);
    else groups.set(p.ids.length, [p]);
  }
  const chunks: Chunk[] = [];
  for (const [n, members] of groups) for (let i = 0; i < members.length; i += chunkSize) chunks.push({ id: chunks.length, n, members: members.slice(i, i + chunkSize) });

  const doneChunks = new Set<number>(partial?.resume?.doneChunks ?? []);
  const records: PromptRecord[] = partial ? partial.prompts.slice() : [];
  const runSkipped: SkippedPrompt[] = partial ? partial.skipped.filter((s) => s.cause === 'filtered' || (s.cause === undefined && s.reason.startsWith('filtered:'))).map((s) => ({ ...s, cause: 'filtered' as const })) : [];
  const createdAt = partial?.provenance.createdAt ?? new Date().toISOString();
  const total = prepared.length;
  let done = 0;
  for (const c of chunks) if (doneChunks.has(c.id)) done += c.members.length;
  const doneAtStart = done;
  const sessionStart = Date.now();
  const checkpointMs = 1000 * (params.checkpointSeconds ?? 2);
  let lastCheckpoint = -Infinity;
  const tok = session.tokenizer;

  const build = (status: 'complete' | 'partial'): DatasetRunResult => {
    const prompts = records.slice().sort((a, b) => a.index - b.index);
    const skipped = [...unusable, ...prepSkipped, ...runSkipped].sort((a, b) => a.index - b.index);
    const filteredOut = runSkipped.length;
    const agg = status === 'complete' ? interval : PARTIAL_INTERVAL;
    const warnings = runWarnings(prompts, warningsOf, filter, filteredOut);
    const r: DatasetRunResult = {
      kind: 'dataset-run',
      schemaVersion: RESULTS_SCHEMA_VERSION,
      provenance: provenance(session, createdAt, conv),
      experiment,
      dataset: { file: ds.file, sha256: ds.sha256, format: ds.format, rows: ds.rows },
      settings: status === 'complete' ? settings : { ...settings, interval: agg },
      status,
      prompts,
      skipped,
      aggregate: {
        ...aggregateAll(prompts, experiment, windows, sets, L, split, agg),
        ...(featureGroups && featureGroups.length > 1
          ? { groups: featureGroups.map((g, gi) => ({ ...g.info, windows: aggregateRecords(prompts.map((r) => ({ ...r, windows: r.groups![gi].windows })), experiment, windows, sets, L, agg) })) }
          : {}),
      },
      configHash,
      counts: { selected: selected.length, measured: prompts.length, skipped: prepSkipped.length, filteredOut, unusable: unusable.length, rows: ds.rows },
      ...(warnings.length ? { warnings } : {}),
    };
    if (status === 'partial') r.resume = { chunkSize, doneChunks: Array.from(doneChunks).sort((a, b) => a - b), totalChunks: chunks.length };
    const secs = (Date.now() - t0) / 1000;
    r.timing = { seconds: secs, promptsPerSecond: secs > 0 ? (done - doneAtStart) / ((Date.now() - sessionStart) / 1000 || 1) : 0, resumed: !!partial };
    return jsonSafe(r);
  };

  const report = () => {
    const el = (Date.now() - sessionStart) / 1000;
    const rate = el > 0 && done > doneAtStart ? (done - doneAtStart) / el : undefined;
    ctx?.progress({ done, total, rate, etaSeconds: rate ? (total - done) / rate : undefined, message: 'prompts' });
  };
  report();

  for (const chunk of chunks) {
    if (doneChunks.has(chunk.id)) continue;
    if (ctx?.cancelled()) throw new CancelledError();
    const opts = { ctx, maxBatch: params.maxBatch };
    const clean = await cleanForward(
      session.backend,
      chunk.members.map((m) => ({ ids: m.ids, target: m.targetId })),
      opts,
    );
    const kept: number[] = [];
    chunk.members.forEach((m, i) => {
      if (!filter || clean.top1[i] === m.targetId) kept.push(i);
      else
        runSkipped.push({
          index: m.item.index,
          prompt: m.item.prompt,
          reason: `filtered: clean top-1 '${tok.decode([clean.top1[i]])}' is not the target '${tok.decode([m.targetId])}'`,
          cause: 'filtered',
        });
    });
    const variants: Variant[] = [];
    const offsets: number[] = [];
    for (const i of kept) {
      offsets.push(variants.length);
      // one block of variants per feature group (the prompt's first group's block first)
      if (experiment === 'macro') variants.push(...variantsPerGroup(featureGroups, macroVariants(i, chunk.members[i].pos, windows, sets, L, undefined, conv).variants));
      else variants.push(...variantsPerGroup(featureGroups, microVariants(i, chunk.n, windows[0], L, conv)));
    }
    const results = variants.length ? await runVariants(session.backend, clean, variants, opts) : [];
    kept.forEach((i, ki) => {
      const m = chunk.members[i];
      const baseProb = clean.baseProbs[i];
      const rec: PromptRecord = {
        index: m.item.index,
        prompt: m.item.prompt,
        subject: m.item.subject,
        target: targetInfo(session, m.targetId),
        baseProb,
        subjectHasFirst: subjectHasFirst(m.pos),
        tokenCount: chunk.n,
      };
      if (experiment === 'macro') {
        const per = macroVariantCount(windows, sets, L);
        rec.windows = macroWindows(windows, sets, L, baseProb, results, offsets[ki]);
        if (featureGroups && featureGroups.length > 1) rec.groups = featureGroups.map((g, gi) => ({ ...g.info, windows: macroWindows(windows, sets, L, baseProb, results, offsets[ki] + gi * per) }));
      }
      else {
        const g = microGrid(chunk.n, windows[0], L, baseProb, results, offsets[ki]);
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
    doneChunks.add(chunk.id);
    done += chunk.members.length;
    if (done < total && Date.now() - lastCheckpoint >= checkpointMs) {
      writeJsonAtomic(ppath, build('partial'));
      lastCheckpoint = Date.now();
    }
    report();
  }
  if (records.length === 0) {
    try {
      fs.unlinkSync(ppath);
    } catch {
      /* none */
    }
    throw new UserError(nothingMeasured(selected.length, prepSkipped, runSkipped.length, filter));
  }
  const final = build('complete');
  writeJsonAtomic(params.out, final);
  try {
    fs.unlinkSync(ppath);
  } catch {
    /* none */
  }
  return final;
}

/** The UserError message of a run that measured no prompt (no results file is written). */
function nothingMeasured(selected: number, skipped: SkippedPrompt[], filteredOut: number, filter: boolean): string {
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

/** Warnings of a run: the per-prompt warnings counted over the measured prompts, and a filter that kept < 5%. */
function runWarnings(prompts: PromptRecord[], warningsOf: Map<number, ResultWarning[]>, filter: boolean, filteredOut: number): ResultWarning[] {
  const out: ResultWarning[] = [];
  const n = prompts.length;
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
  const byCode = new Map<string, number[]>();
  for (const p of prompts) for (const w of warningsOf.get(p.index) ?? []) byCode.set(w.code, [...(byCode.get(w.code) ?? []), p.index]);
  const what: Record<string, string> = {
    'multi-token-target': 'have a target of several tokens; only its first token is followed',
    'subject-covers-last': 'have a subject that covers the last position; their subject set contains the prediction position',
    'empty-relation': 'have no relation position; their relation curve blocks nothing',
    'trailing-whitespace': 'end in whitespace, which changes their tokenisation and prediction',
  };
  for (const [code, idx] of byCode) {
    out.push({ code, message: `${idx.length} of ${n} measured prompts ${what[code] ?? code}`, count: idx.length, indices: idx.slice(0, 10) });
  }
  return out;
}

/** diff% helper re-exported for the CLI summaries */
export { diffPct };
