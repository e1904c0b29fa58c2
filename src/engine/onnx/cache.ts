// The ONNX cache of a checkpoint: <root>/<hash>-v<builderVersion>[-f16]/{manifest.json, layer_<i>.onnx,
// [row_<i>.onnx,] [step_<i>.onnx,] head.onnx, chunk.onnx, weights.bin}.
// Built into a temp folder beside it (<dir>.tmp-<host>-<pid>-<random>), the manifest (with every file's size) written
// last, and renamed into place only when complete: a conversion killed at any point leaves either no folder at <dir>
// (the next open rebuilds it) or a complete one. A file whose size is not the manifest's (cut short, e.g. by a power
// cut before the disk had it) makes the cache incomplete, so it is rebuilt. The temp folder of a conversion whose
// process is gone is removed by the next conversion of the same checkpoint. (The files are not fsynced: it is a cache,
// rebuilt when it is not whole, and syncing the weights of a large model would slow every conversion.)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { managedCacheDir } from '../hub/cache';
import { basename, dirname, join } from 'node:path';
import { processAlive } from '../util/atomicFile';
import type { Checkpoint, ModelConfig, ProgressEvent } from '../types';
import { BUILDER_VERSION, buildHeadGraph, buildLayerGraph, buildRowGraph, buildStepGraph, ComputeDType, hasRowGraphs, hasStepGraphs, WeightStore } from './builder';
import { buildChunkGraph } from './chunkGraph';
import { WeightsFile } from './graph';

export interface OnnxManifest {
  builderVersion: number;
  checkpointHash: string;
  computeDType: ComputeDType;
  config: ModelConfig;
  layers: string[];
  /** per layer, the last-position row graph (families with one); absent: the layer graphs serve the rows */
  rows?: string[];
  /** per layer, the recurrent step graph (generation) */
  steps: string[];
  head: string;
  /** a chunk's clean forward + its knockout rows in one graph (buildChunkGraph), same weights */
  chunk: string;
  weights: string;
  weightsBytes: number;
  createdAt: string;
  convertSeconds: number;
  /** bytes of every file above (caches of earlier versions lack it): a file of another size makes the cache incomplete */
  sizes?: Record<string, number>;
}

/** <managed cache>/onnx: MAMBA_EXPLAIN_CACHE, else XDG_CACHE_HOME/mamba-explain, else ~/.cache/mamba-explain (as the model folders). */
export function cacheRoot(): string {
  return join(managedCacheDir(), 'onnx');
}

export function cacheDirFor(ckpt: Checkpoint, dtype: ComputeDType, root = cacheRoot()): string {
  return join(root, `${ckpt.hash.slice(0, 32)}-v${BUILDER_VERSION}${dtype === 'float16' ? '-f16' : ''}`);
}

/** Reads a complete cache's manifest, or undefined when the folder is absent or not a valid complete cache. */
export function readManifest(dir: string, ckpt: Checkpoint, dtype: ComputeDType): OnnxManifest | undefined {
  const f = join(dir, 'manifest.json');
  if (!existsSync(f)) return undefined;
  try {
    const m = JSON.parse(readFileSync(f, 'utf8')) as OnnxManifest;
    if (m.builderVersion !== BUILDER_VERSION || m.checkpointHash !== ckpt.hash || m.computeDType !== dtype) return undefined;
    for (const file of [...m.layers, ...(m.rows ?? []), ...(m.steps ?? []), m.head, m.chunk, m.weights]) {
      if (!existsSync(join(dir, file))) return undefined;
      const want = file === m.weights ? m.weightsBytes : m.sizes?.[file];
      if (want !== undefined && statSync(join(dir, file)).size !== want) return undefined;
    }
    return m;
  } catch {
    return undefined;
  }
}

/** This machine in a temp folder's name (a cache on a shared file system may be converted on several machines). */
export function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_').slice(0, 64) || 'host';
}

/** A fresh temp folder name beside `dir`. */
function tempDirFor(dir: string): string {
  return `${dir}.tmp-${hostTag()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Removes the temp folders beside `dir` left by conversions that were killed (or crashed): those of this machine whose
 * process no longer runs, and those without a machine in their name (earlier versions) untouched for a day. A temp
 * folder of a live conversion, or of another machine, is left alone.
 */
export function removeStaleTempDirs(dir: string): string[] {
  const root = dirname(dir);
  const prefix = `${basename(dir)}.tmp-`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const tagged = /^(.+)-(\d+)-[a-z0-9]+$/.exec(rest);
    const old = /^(\d+)-[a-z0-9]+$/.exec(rest);
    const p = join(root, name);
    let stale = false;
    if (old) {
      try {
        stale = Date.now() - statSync(p).mtimeMs > 24 * 3600 * 1000 && !processAlive(Number(old[1]));
      } catch {
        stale = false;
      }
    } else if (tagged) stale = tagged[1] === hostTag() && !processAlive(Number(tagged[2]));
    if (!stale) continue;
    try {
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    } catch {
      /* another process removes it, or it is not ours to remove */
    }
  }
  return removed;
}

export interface ConvertOptions {
  dtype?: ComputeDType;
  root?: string;
  onProgress?: (p: ProgressEvent) => void;
}

/** Returns the cache folder of the checkpoint, building it first when needed. */
export function ensureOnnxCache(ckpt: Checkpoint, opts: ConvertOptions = {}): { dir: string; manifest: OnnxManifest; built: boolean } {
  const dtype = opts.dtype ?? 'float32';
  const root = opts.root ?? cacheRoot();
  const dir = cacheDirFor(ckpt, dtype, root);
  const existing = readManifest(dir, ckpt, dtype);
  if (existing) return { dir, manifest: existing, built: false };

  const t0 = Date.now();
  mkdirSync(root, { recursive: true });
  removeStaleTempDirs(dir);
  const tmp = tempDirFor(dir);
  mkdirSync(tmp, { recursive: true });
  const wf = new WeightsFile(join(tmp, 'weights.bin'), 'weights.bin');
  const store = new WeightStore(wf);
  const L = ckpt.config.nLayer;
  try {
    const layers: string[] = [];
    const rows: string[] | undefined = hasRowGraphs(ckpt.config) ? [] : undefined;
    const steps: string[] = [];
    for (let i = 0; i < L; i++) {
      const name = `layer_${i}.onnx`;
      writeFileSync(join(tmp, name), buildLayerGraph(ckpt, i, store, dtype));
      layers.push(name);
      if (rows) {
        writeFileSync(join(tmp, `row_${i}.onnx`), buildRowGraph(ckpt, i, store, dtype));
        rows.push(`row_${i}.onnx`);
      }
      if (hasStepGraphs(ckpt.config)) {
        writeFileSync(join(tmp, `step_${i}.onnx`), buildStepGraph(ckpt, i, store, dtype));
        steps.push(`step_${i}.onnx`);
      }
      opts.onProgress?.({ done: i + 1, total: L + 1, message: `converting layer ${i + 1}/${L} to ONNX` });
    }
    writeFileSync(join(tmp, 'head.onnx'), buildHeadGraph(ckpt, store, dtype));
    writeFileSync(join(tmp, 'chunk.onnx'), buildChunkGraph(ckpt, store, dtype));
    wf.close();
    const files = [...layers, ...(rows ?? []), ...steps, 'head.onnx', 'chunk.onnx', 'weights.bin'];
    const manifest: OnnxManifest = {
      builderVersion: BUILDER_VERSION,
      checkpointHash: ckpt.hash,
      computeDType: dtype,
      config: ckpt.config,
      layers,
      ...(rows ? { rows } : {}),
      steps,
      head: 'head.onnx',
      chunk: 'chunk.onnx',
      weights: 'weights.bin',
      weightsBytes: wf.size,
      createdAt: new Date().toISOString(),
      convertSeconds: (Date.now() - t0) / 1000,
      sizes: Object.fromEntries(files.map((f) => [f, statSync(join(tmp, f)).size])),
    };
    // the manifest is written last, then one rename makes the folder the cache
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
    opts.onProgress?.({ done: L + 1, total: L + 1, message: 'ONNX conversion done' });
    try {
      renameSync(tmp, dir);
    } catch {
      // another process finished first: use its folder if it is valid, else replace it
      const other = readManifest(dir, ckpt, dtype);
      if (other) {
        rmSync(tmp, { recursive: true, force: true });
        return { dir, manifest: other, built: false };
      }
      // an invalid (incomplete or stale) folder is in the way: moved aside (one rename, so that <dir> is never half
      // removed), replaced, then removed; a kill in between leaves a temp folder that the next conversion removes
      const aside = tempDirFor(dir);
      renameSync(dir, aside);
      renameSync(tmp, dir);
      rmSync(aside, { recursive: true, force: true });
    }
    return { dir, manifest, built: true };
  } catch (e) {
    wf.close();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
