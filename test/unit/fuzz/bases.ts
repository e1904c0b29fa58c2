// Valid starting points of the fuzz suite (small checkpoints of both families in every layout, real files written by
// torch / transformers, the tiny tokenizer) and independent oracles for the results a reader may return.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint, DType } from '../../../src/engine/types';
import { bf16ToF32, f16ToF32 } from '../../../src/engine/checkpoint/dtype';
import { canonicalName, openCheckpoint } from '../../../src/engine/checkpoint';
import { RandomCheckpointOptions, writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { guard } from './harness';

export const REPO = path.resolve(__dirname, '../../..');
export const CKPT_FIXTURES = path.join(REPO, 'test/unit/checkpoint/fixtures');
export const PARITY = path.join(REPO, 'test/fixtures/parity');
export const PARITY_M1 = path.join(REPO, 'test/fixtures/parity-mamba1');

const small = { dModel: 8, nLayer: 1, vocabSize: 20, dState: 4, headdim: 4, nGroups: 1, seed: 7 } as const;

/** The generated bases: both families, both config layouts, every weight layout and dtype. */
export const BASES: Record<string, RandomCheckpointOptions> = {
  'm2-ss-st-f32': { ...small, arch: 'mamba2', format: 'state-spaces', weights: 'safetensors', dtype: 'float32' },
  'm2-hf-st-bf16-untied': { ...small, arch: 'mamba2', format: 'hf', weights: 'safetensors', dtype: 'bfloat16', tieEmbeddings: false, nGroups: 2 },
  'm2-hf-sharded-f16': { ...small, arch: 'mamba2', format: 'hf', weights: 'sharded', dtype: 'float16', shards: 3 },
  'm2-ss-bin-f16': { ...small, arch: 'mamba2', format: 'state-spaces', weights: 'bin', dtype: 'float16' },
  'm1-ss-st-f32': { ...small, arch: 'mamba1', format: 'state-spaces', weights: 'safetensors', dtype: 'float32' },
  'm1-hf-st-f16': { ...small, arch: 'mamba1', format: 'hf', weights: 'safetensors', dtype: 'float16' },
  'falcon-hf-st-bf16': { ...small, arch: 'mamba1', variant: 'falcon_mamba', format: 'hf', weights: 'safetensors', dtype: 'bfloat16', dtRank: 3 },
  'm1-hf-bin-f32-untied': { ...small, arch: 'mamba1', format: 'hf', weights: 'bin', dtype: 'float32', tieEmbeddings: false },
  'm1-hf-sharded-bf16': { ...small, arch: 'mamba1', format: 'hf', weights: 'sharded', dtype: 'bfloat16', shards: 2 },
};

export interface Base {
  name: string;
  dir: string;
  /** file name → bytes of every file of the folder */
  files: Map<string, Buffer>;
}

/** Writes the generated bases under `root` and adds the real checkpoints of the repository. */
export async function makeBases(root: string, names: readonly string[] = Object.keys(BASES)): Promise<Base[]> {
  const out: Base[] = [];
  for (const name of names) {
    const dir = path.join(root, 'base-' + name);
    await writeRandomCheckpoint(dir, BASES[name]);
    out.push(readBase(name, dir));
  }
  return out;
}

export function readBase(name: string, dir: string): Base {
  const files = new Map<string, Buffer>();
  for (const f of fs.readdirSync(dir).sort()) if (fs.statSync(path.join(dir, f)).isFile()) files.set(f, fs.readFileSync(path.join(dir, f)));
  return { name, dir, files };
}

/** The real checkpoints (torch / transformers writers) of the repository. */
export function realBases(): Base[] {
  const dirs: [string, string][] = [
    ['real-hf-tiny', path.join(CKPT_FIXTURES, 'hf-tiny')],
    ['real-hf-tiny-bf16-sharded', path.join(CKPT_FIXTURES, 'hf-tiny-bf16-sharded')],
    ['real-ss-tiny-f16-bin', path.join(CKPT_FIXTURES, 'ss-tiny-f16-bin')],
    ['real-ss-g1-f32-bin', path.join(PARITY, 'ss-g1-f32')],
    ['real-hf-falcon-f16', path.join(PARITY_M1, 'hf-falcon-f16')],
    ['real-ss-m1-f16-auto', path.join(PARITY_M1, 'ss-m1-f16-auto')],
  ];
  return dirs.filter(([, d]) => fs.existsSync(d)).map(([n, d]) => {
    const b = readBase(n, d);
    for (const f of [...b.files.keys()]) if (f === 'expected.json' || f === 'tokenizer.json') b.files.delete(f);
    return b;
  });
}

/** Writes `files` as the only content of `dir` (emptied first). */
export function writeCase(dir: string, files: Map<string, Buffer | string>): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, b] of files) fs.writeFileSync(path.join(dir, f), b);
}

/**
 * Writes `files` as the case in `dir` and opens it with openCheckpoint under guard (a UserError ends the case); an
 * opened checkpoint must satisfy `check` (checkOpened, …) and is closed after it.
 */
export async function openCase(dir: string, files: Map<string, Buffer | string>, label: string, check: (ck: Checkpoint) => void): Promise<void> {
  writeCase(dir, files);
  const r = await guard(label, () => openCheckpoint(dir));
  if (r.ok) {
    try {
      check(r.value);
    } finally {
      r.value.close();
    }
  }
}

// ------------------------------------------------------------------ oracles

const ST_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const ST_DTYPE: Record<string, DType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** A straightforward decoding of a safetensors file's tensors of supported dtype (undefined when it is not one). */
export function safetensorsOracle(buf: Buffer): Map<string, { dtype: DType; shape: number[]; values: Float32Array }> | undefined {
  if (buf.length < 8) return undefined;
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) return undefined;
  let h: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    h = JSON.parse(buf.toString('utf8', 8, 8 + n));
  } catch {
    return undefined;
  }
  const out = new Map<string, { dtype: DType; shape: number[]; values: Float32Array }>();
  for (const [k, e] of Object.entries(h)) {
    if (k === '__metadata__' || !e || !(e.dtype in ST_BYTES)) continue;
    const [a, b] = e.data_offsets;
    const raw = Buffer.from(buf.subarray(8 + n + a, 8 + n + b));
    const values =
      e.dtype === 'F32' ? new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4) : (e.dtype === 'F16' ? f16ToF32 : bf16ToF32)(new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2));
    out.set(k, { dtype: ST_DTYPE[e.dtype], shape: e.shape, values });
  }
  return out;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * What an opened checkpoint must satisfy: every canonical tensor has the shape the family expects for the config, and
 * reads (whole, and by rows for 2-D ones) without error into exactly product(shape) values; where `oracle` knows a
 * tensor (by canonical name), the values are bit for bit the oracle's.
 */
export function checkOpened(ck: Checkpoint, label: string, oracle?: Map<string, Float32Array>): void {
  const c = ck.config;
  for (const k of ['dModel', 'nLayer', 'vocabSize', 'paddedVocabSize', 'dConv'] as const) {
    assert.ok(Number.isSafeInteger(c[k]) && c[k] > 0, `${label}: config.${k} = ${c[k]} is not a positive safe integer`);
  }
  assert.ok(Number.isFinite(c.eps) && c.eps > 0, `${label}: config.eps = ${c.eps}`);
  for (const name of ck.tensorNames()) {
    const info = ck.info(name);
    const n = info.shape.reduce((a, b) => a * b, 1);
    const v = ck.readF32(name);
    assert.equal(v.length, n, `${label}: ${name} read ${v.length} values for shape [${info.shape}]`);
    if (info.shape.length === 2 && info.shape[0] > 0) {
      const row = ck.readRowsF32(name, info.shape[0] - 1, 1);
      assert.ok(sameBits(row, v.subarray(n - info.shape[1])), `${label}: ${name}: the last row read alone differs from the whole read`);
    }
    const want = oracle?.get(name);
    if (want) assert.ok(sameBits(v, want), `${label}: ${name}: the values differ from the file's bytes`);
  }
}

/** The oracle of a folder of safetensors weights, by canonical name. */
export function folderOracle(files: Map<string, Buffer>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const seen = new Map<string, number>();
  for (const [f, b] of files) {
    if (!f.endsWith('.safetensors')) continue;
    for (const [k, t] of safetensorsOracle(b) ?? []) {
      const name = canonicalName(k);
      seen.set(name, (seen.get(name) ?? 0) + 1);
      out.set(name, t.values);
    }
  }
  // a name in several shards: the index decides which one is read; the oracle does not guess
  for (const [name, count] of seen) if (count > 1) out.delete(name);
  return out;
}
