// The ONNX cache of a checkpoint: <root>/<hash>-v<builderVersion>[-f16]/{manifest.json, layer_<i>.onnx,
// [row_<i>.onnx,] head.onnx, sweep.onnx, weights.bin}.
// Built into a temp folder beside it and renamed into place only when complete, so a half-written cache is never used.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { managedCacheDir } from '../hub/cache';
import { join } from 'node:path';
import type { Checkpoint, ModelConfig, ProgressEvent } from '../types';
import { BUILDER_VERSION, buildHeadGraph, buildLayerGraph, buildRowGraph, buildStepGraph, buildSweepGraph, ComputeDType, hasRowGraphs, hasStepGraphs, WeightStore } from './builder';
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
  /** all layers + head for knockout rows in one graph (buildSweepGraph), same weights */
  sweep: string;
  weights: string;
  weightsBytes: number;
  createdAt: string;
  convertSeconds: number;
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
    for (const file of [...m.layers, ...(m.rows ?? []), ...(m.steps ?? []), m.head, m.sweep, m.weights]) if (!existsSync(join(dir, file))) return undefined;
    return m;
  } catch {
    return undefined;
  }
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
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
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
    writeFileSync(join(tmp, 'sweep.onnx'), buildSweepGraph(ckpt, store, dtype));
    wf.close();
    const manifest: OnnxManifest = {
      builderVersion: BUILDER_VERSION,
      checkpointHash: ckpt.hash,
      computeDType: dtype,
      config: ckpt.config,
      layers,
      ...(rows ? { rows } : {}),
      steps,
      head: 'head.onnx',
      sweep: 'sweep.onnx',
      weights: 'weights.bin',
      weightsBytes: wf.size,
      createdAt: new Date().toISOString(),
      convertSeconds: (Date.now() - t0) / 1000,
    };
    // the manifest is written last: its presence marks a complete folder
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
      // an invalid (incomplete or stale) folder is in the way: replace it
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
    return { dir, manifest, built: true };
  } catch (e) {
    wf.close();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
