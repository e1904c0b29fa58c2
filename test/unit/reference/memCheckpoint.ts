// A tiny in-memory Checkpoint with random Mamba-2 weights, for the backend tests (no files needed).
import { createHash } from 'node:crypto';
import type { Checkpoint, DType, Mamba2Config, TensorInfo } from '../../../src/engine/types';
import { f32ToF16Bits } from '../../../src/engine/onnx/builder';

export interface MemCheckpointOptions {
  dModel?: number;
  nLayer?: number;
  vocabSize?: number;
  dState?: number;
  headdim?: number;
  nGroups?: number;
  dtype?: DType;
  tie?: boolean;
  seed?: number;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return {
    uniform: (a: number, b: number) => a + (b - a) * next(),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
}

function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function roundTo(dtype: DType, v: number): number {
  if (dtype === 'float16') return f16BitsToF32(f32ToF16Bits(v));
  if (dtype === 'bfloat16') {
    f32[0] = v;
    const x = u32[0];
    u32[0] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
    return f32[0];
  }
  return Math.fround(v);
}

export function memCheckpoint(o: MemCheckpointOptions = {}): Checkpoint {
  const dModel = o.dModel ?? 32;
  const expand = 2;
  const headdim = o.headdim ?? 8;
  const dInner = expand * dModel;
  const nGroups = o.nGroups ?? 1;
  const dState = o.dState ?? 16;
  const vocabSize = o.vocabSize ?? 50;
  const paddedVocabSize = Math.ceil(vocabSize / 16) * 16;
  const dtype = o.dtype ?? 'float32';
  const config: Mamba2Config = {
    arch: 'mamba2',
    format: 'state-spaces',
    dModel,
    nLayer: o.nLayer ?? 2,
    vocabSize,
    paddedVocabSize,
    dState,
    headdim,
    nGroups,
    expand,
    dConv: 4,
    dInner,
    nHeads: dInner / headdim,
    eps: 1e-5,
    tieEmbeddings: o.tie ?? true,
  };
  const H = config.nHeads;
  const convDim = dInner + 2 * nGroups * dState;
  const r = rng(o.seed ?? 1234);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, shape: number[], gen: () => number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = roundTo(dtype, gen());
    tensors.set(name, { shape, data });
  };
  add('embedding.weight', [paddedVocabSize, dModel], () => r.normal() * 0.5);
  for (let i = 0; i < config.nLayer; i++) {
    const p = `layers.${i}.`;
    add(p + 'norm.weight', [dModel], () => 1 + 0.1 * r.normal());
    add(p + 'mixer.in_proj.weight', [2 * dInner + 2 * nGroups * dState + H, dModel], () => r.normal() / Math.sqrt(dModel));
    add(p + 'mixer.conv1d.weight', [convDim, 1, 4], () => r.normal() * 0.4);
    add(p + 'mixer.conv1d.bias', [convDim], () => r.normal() * 0.1);
    add(p + 'mixer.dt_bias', [H], () => {
      const dt = Math.exp(r.uniform(Math.log(0.001), Math.log(0.1)));
      return dt + Math.log(-Math.expm1(-dt));
    });
    add(p + 'mixer.A_log', [H], () => Math.log(r.uniform(1, 16)));
    add(p + 'mixer.D', [H], () => 1 + 0.1 * r.normal());
    add(p + 'mixer.norm.weight', [dInner], () => 1 + 0.1 * r.normal());
    add(p + 'mixer.out_proj.weight', [dModel, dInner], () => r.normal() / Math.sqrt(dInner));
  }
  add('norm_f.weight', [dModel], () => 1 + 0.1 * r.normal());
  if (!config.tieEmbeddings) add('lm_head.weight', [paddedVocabSize, dModel], () => r.normal() * 0.5);
  const hash = createHash('sha256').update(JSON.stringify({ config, seed: o.seed ?? 1234, dtype })).digest('hex');
  return {
    dir: '<memory>',
    config,
    hash,
    storedDType: dtype,
    tensorNames: () => [...tensors.keys()],
    info: (name: string): TensorInfo => {
      const t = tensors.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return { name, dtype, shape: t.shape };
    },
    readF32: (name: string) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      return t.data.slice();
    },
    readRowsF32: (name: string, start: number, count: number) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`no tensor ${name}`);
      const w = t.shape[1];
      return t.data.slice(start * w, (start + count) * w);
    },
    close: () => undefined,
  };
}
