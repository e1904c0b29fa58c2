// `mamba-explain merge`: the results files of the N shards of one dataset run (`run --shard I/N`) → the results
// file of the unsharded run. The shards must belong together (same model, dataset, settings but the shard, tool,
// provider and config hash; every shard 0 … N−1 exactly once); each problem is one UserError. The merged file is
// assembled by dataset.ts's assembleRun from the union of the shards' prompts and skipped rows, so that its per-prompt
// records, aggregate (the bootstrap is re-drawn over all prompts in row order, with the run's seed), counts and
// warnings are exactly those of the unsharded run; only `timing` and `provenance.createdAt` (the earliest shard's)
// differ. See docs/sharding.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../types';
import { RESULTS_SCHEMA_VERSION, type DatasetRunResult, type Provenance, type SkippedPrompt } from './resultTypes';
import { assembleRun, nothingMeasured, orderTallies, type RunFrame, type WarningTally } from './dataset';
import { parseShard, shardLabel, type ShardSpec } from './shard';
import { checkOutputFile, writeJsonAtomic } from '../util/atomicFile';

/** One shard's results file, read and checked on its own. */
export interface ShardFile {
  file: string;
  shard: ShardSpec;
  result: DatasetRunResult;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one shard's results file; a file that cannot be a shard's is one UserError naming it. */
export function readShardFile(file: string): ShardFile {
  let text: string;
  try {
    if (fs.statSync(file).isDirectory()) throw new UserError(`shard file '${file}' is a folder: give the shards' results files`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`shard file '${file}' cannot be read: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`shard file '${file}' is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(data) || data.kind !== 'dataset-run')
    throw new UserError(`'${file}' is not the results file of a dataset run${isObj(data) && typeof data.kind === 'string' ? ` (its kind is '${data.kind}')` : ''}: merge takes the files of \`run --shard I/N\``);
  if (data.schemaVersion !== RESULTS_SCHEMA_VERSION)
    throw new UserError(`'${file}' has results schema ${String(data.schemaVersion)}; merge reads shard files of schema ${RESULTS_SCHEMA_VERSION} (made by this version of mamba-explain)`);
  if (data.status === 'partial') throw new UserError(`'${file}' is the checkpoint of an unfinished shard: finish that shard (its command again with --resume), then merge its results file`);
  const r = data as unknown as DatasetRunResult;
  const missing = (['provenance', 'dataset', 'settings', 'counts', 'aggregate'] as const).find((k) => !isObj(r[k])) ?? (['prompts', 'skipped'] as const).find((k) => !Array.isArray(r[k]));
  if (missing) throw new UserError(`'${file}' is not a complete results file: its "${missing}" is missing or malformed`);
  if (r.status !== 'complete') throw new UserError(`'${file}' is not a complete results file (status '${String(r.status)}')`);
  if (r.settings.shard === undefined) throw new UserError(`'${file}' is not a shard's results file (it was made without --shard${r.timing?.shards ? '; it is already a merged file' : ''})`);
  let shard: ShardSpec;
  try {
    shard = parseShard(r.settings.shard);
  } catch (e) {
    throw new UserError(`'${file}' records a bad shard: ${(e as Error).message}`);
  }
  if (typeof r.configHash !== 'string' || !isObj(r.provenance.model) || typeof r.provenance.model.hash !== 'string' || typeof r.dataset.sha256 !== 'string' || !isObj(r.settings.interval))
    throw new UserError(`'${file}' is not a complete results file: its configHash, model hash, dataset hash or settings.interval is missing`);
  return { file, shard, result: r };
}

const canon = (v: unknown) => JSON.stringify(v ?? null);
const short = (v: unknown, n = 60) => {
  const s = canon(v);
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
};

/** What must be equal in the provenance of every shard (the rest: paths, device, createdAt, may differ). */
const PROVENANCE_KEYS: [string, (p: Provenance) => unknown][] = [
  ['tool version', (p) => p.tool?.version],
  ['tokenizer (sha256)', (p) => p.model.tokenizer?.sha256],
  ['execution provider (ep)', (p) => p.ep],
  ['compute dtype', (p) => p.computeDType],
  ['sweep', (p) => p.sweep],
  ['conv path', (p) => p.conv],
  ['CUDA math (--tf32)', (p) => p.cudaMath],
  ['steering (--steer)', (p) => p.steer],
];

/** Checks that the shards are the N shards of one run, each once; returns them in shard order. */
export function checkShardsBelongTogether(shards: readonly ShardFile[]): ShardFile[] {
  if (shards.length === 0) throw new UserError('merge: no shard file given (mamba-explain merge --out FILE SHARD0.json SHARD1.json …)');
  const a = shards[0];
  const ra = a.result;
  for (const b of shards.slice(1)) {
    const rb = b.result;
    const differ = (what: string, x: unknown, y: unknown) =>
      canon(x) !== canon(y) ? new UserError(`'${b.file}' and '${a.file}' are not shards of one run: ${what} differs (${short(y)} vs ${short(x)})`) : undefined;
    if (b.shard.count !== a.shard.count) throw new UserError(`'${b.file}' is shard ${shardLabel(b.shard)} but '${a.file}' is shard ${shardLabel(a.shard)}: the shards of one run have the same count`);
    const err =
      differ('the model (hash)', ra.provenance.model.hash, rb.provenance.model.hash) ??
      differ('the dataset (sha256)', ra.dataset.sha256, rb.dataset.sha256) ??
      differ('the experiment', ra.experiment, rb.experiment) ??
      [...new Set([...Object.keys(ra.settings), ...Object.keys(rb.settings)])]
        .filter((k) => k !== 'shard')
        .sort()
        .map((k) => differ(`settings.${k}`, (ra.settings as Record<string, unknown>)[k], (rb.settings as Record<string, unknown>)[k]))
        .find((e) => e) ??
      PROVENANCE_KEYS.map(([what, get]) => differ(what, get(ra.provenance), get(rb.provenance))).find((e) => e) ??
      differ('the config hash (the --chunk size or --max-batch)', ra.configHash, rb.configHash);
    if (err) throw err;
  }
  const byIndex = new Map<number, ShardFile>();
  for (const s of shards) {
    const twice = byIndex.get(s.shard.index);
    if (twice) throw new UserError(`shard ${shardLabel(s.shard)} is given twice: '${twice.file}' and '${s.file}'`);
    byIndex.set(s.shard.index, s);
  }
  const n = a.shard.count;
  if (byIndex.size !== n) {
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
    const list = missing.slice(0, 8).join(', ') + (missing.length > 8 ? ', …' : '');
    throw new UserError(`shard${missing.length === 1 ? '' : 's'} ${list} of ${n} ${missing.length === 1 ? 'is' : 'are'} missing: merge needs the results files of all ${n} shards (given: ${[...byIndex.keys()].sort((x, y) => x - y).join(', ')})`);
  }
  const ordered = Array.from({ length: n }, (_, i) => byIndex.get(i)!);
  const owner = new Map<number, string>();
  for (const s of ordered)
    for (const p of s.result.prompts) {
      const other = owner.get(p.index);
      if (other !== undefined) throw new UserError(`'${other}' and '${s.file}' both measured row ${p.index}: they are not shards of one run`);
      owner.set(p.index, s.file);
    }
  return ordered;
}

/** The shards' per-prompt warnings, summed (the first 10 rows of a code over all shards are among each shard's first 10). */
function mergeTallies(shards: readonly ShardFile[]): WarningTally[] {
  const byCode = new Map<string, { count: number; indices: number[] }>();
  for (const s of shards)
    for (const w of s.result.warnings ?? []) {
      if (w.code === 'few-prompts-kept' || typeof w.count !== 'number' || !Array.isArray(w.indices)) continue;
      const t = byCode.get(w.code) ?? { count: 0, indices: [] };
      byCode.set(w.code, t);
      t.count += w.count;
      t.indices.push(...w.indices);
    }
  return orderTallies([...byCode].map(([code, t]) => ({ code, count: t.count, indices: [...new Set(t.indices)].sort((x, y) => x - y).slice(0, 10) })));
}

/** The merged provenance: shard 0's, started when the first shard started, with every GPU the shards used. */
function mergedProvenance(shards: readonly ShardFile[]): Provenance {
  const p: Provenance = { ...shards[0].result.provenance };
  p.createdAt = shards.map((s) => s.result.provenance.createdAt).filter((c) => typeof c === 'string').sort()[0] ?? p.createdAt;
  const gpus = [...new Set(shards.flatMap((s) => s.result.provenance.devices ?? (s.result.provenance.device !== undefined ? [s.result.provenance.device] : [])))].sort((x, y) => x - y);
  if (gpus.length > 1) p.devices = gpus;
  else delete p.devices;
  return p;
}

/** Merges the checked shards (checkShardsBelongTogether) into the unsharded run's result. */
export function mergeShards(files: readonly ShardFile[]): DatasetRunResult {
  const shards = checkShardsBelongTogether(files);
  const ref = shards[0].result;
  const { shard: _shard, ...settings } = ref.settings;
  const of = (cause: SkippedPrompt['cause']) => shards.flatMap((s) => s.result.skipped.filter((x) => x.cause === cause));
  const frame: RunFrame = {
    experiment: ref.experiment,
    settings,
    configHash: ref.configHash!,
    dataset: ref.dataset,
    provenance: mergedProvenance(shards),
    // the rows of the file that are never selected: every shard lists all of them
    unusable: ref.skipped.filter((x) => x.cause === 'unusable'),
    prepSkipped: of('skipped'),
    selected: shards.reduce((a, s) => a + (s.result.counts?.selected ?? 0), 0),
  };
  const records = shards.flatMap((s) => s.result.prompts);
  const filtered = of('filtered');
  if (records.length === 0) throw new UserError(nothingMeasured(frame.selected, frame.prepSkipped, filtered.length, settings.filterCorrect));
  const seconds = shards.reduce((a, s) => a + (s.result.timing?.seconds ?? 0), 0);
  const weighted = shards.reduce((a, s) => a + (s.result.timing?.seconds ?? 0) * (s.result.timing?.promptsPerSecond ?? 0), 0);
  const timing = { seconds, promptsPerSecond: seconds > 0 ? weighted / seconds : 0, resumed: shards.some((s) => s.result.timing?.resumed === true), shards: shards.length };
  const tallies = mergeTallies(shards);
  return assembleRun(frame, records, filtered, 'complete', { tallies: () => tallies, timing });
}

/** Reads, checks and merges shard files into `out` (written atomically; checked before anything is read). */
export function mergeShardFiles(files: readonly string[], out: string): DatasetRunResult {
  const abs = checkOutputFile(out, 'merged results file');
  for (const f of files) if (path.resolve(f) === abs) throw new UserError(`--out '${out}' is one of the shard files: give another file for the merged results`);
  const merged = mergeShards(files.map(readShardFile));
  writeJsonAtomic(abs, merged);
  return merged;
}
