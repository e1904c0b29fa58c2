// Test helper: writes small random Mamba-2 checkpoints (config.json + weights) in every supported layout,
// with deterministic seeded values of realistic scale, so activations stay finite and outputs non-degenerate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType } from '../../src/engine/types';
import { bf16ToF32, f16ToF32, f32ToHalfBits } from '../../src/engine/checkpoint/dtype';

export interface RandomCheckpointOptions {
  format: 'hf' | 'state-spaces';
  weights: 'safetensors' | 'sharded' | 'bin';
  dtype: DType;
  dModel: number;
  nLayer: number;
  vocabSize: number;
  dState: number;
  headdim: number;
  nGroups: number;
  expand?: number;
  seed: number;
  /** default true */
  tieEmbeddings?: boolean;
  /** state-spaces only: pad_vocab_size_multiple written to config.json (default 16). */
  padVocabSizeMultiple?: number;
  /** hf only: rows of the stored embedding (default vocabSize, as HF does not pad). */
  embeddingRows?: number;
  /** Number of shards for weights 'sharded' (default 2). */
  shards?: number;
}

export interface WrittenTensor {
  /** Key as stored in the file. */
  key: string;
  shape: number[];
  dtype: DType;
  /** The values exactly as stored (already rounded to dtype), as float32. */
  data: Float32Array;
}

export interface WrittenCheckpoint {
  dir: string;
  /** The config.json object written. */
  configJson: Record<string, unknown>;
  /** Stored rows of the embedding. */
  paddedVocabSize: number;
  /** Canonical name → tensor (lm_head.weight only when untied). */
  tensors: Map<string, WrittenTensor>;
  /** Weight files written (basenames). */
  weightFiles: string[];
}

/** A tensor to write with writeSafetensors / writeTorchBin: float data converted to dtype, or raw bytes with a raw dtype. */
export type TensorToWrite =
  | { key: string; shape: number[]; dtype: DType; data: Float32Array }
  | { key: string; shape: number[]; rawDType: string; bytes: Buffer };

// ---------------------------------------------------------------- random numbers

/** mulberry32: small, fast, deterministic. */
export function makeRng(seed: number): { uniform(): number; normal(): number } {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { uniform, normal };
}

// ---------------------------------------------------------------- encoding

/** Encodes float32 values as little-endian bytes of dtype; also returns the decoded stored values. */
export function encodeTensor(data: Float32Array, dtype: DType): { bytes: Buffer; stored: Float32Array } {
  if (dtype === 'float32') {
    const copy = new Float32Array(data);
    return { bytes: Buffer.from(copy.buffer), stored: copy };
  }
  const bits = f32ToHalfBits(data, dtype);
  const stored = dtype === 'float16' ? f16ToF32(bits) : bf16ToF32(bits);
  return { bytes: Buffer.from(bits.buffer), stored };
}

const ST_DTYPE: Record<DType, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

function toBytes(t: TensorToWrite): { bytes: Buffer; raw: string } {
  if ('bytes' in t) return { bytes: t.bytes, raw: t.rawDType };
  return { bytes: encodeTensor(t.data, t.dtype).bytes, raw: ST_DTYPE[t.dtype] };
}

/** Writes a safetensors file. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Buffer[] = [];
  let off = 0;
  for (const t of tensors) {
    const { bytes, raw } = toBytes(t);
    header[t.key] = { dtype: raw, shape: t.shape, data_offsets: [off, off + bytes.length] };
    chunks.push(bytes);
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  fs.writeFileSync(file, Buffer.concat([len, hb, ...chunks]));
}

// ---------------------------------------------------------------- the random model

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

export async function writeRandomCheckpoint(dir: string, opts: RandomCheckpointOptions): Promise<WrittenCheckpoint> {
  fs.mkdirSync(dir, { recursive: true });
  const rng = makeRng(opts.seed);
  const expand = opts.expand ?? 2;
  const tie = opts.tieEmbeddings ?? true;
  const d = opts.dModel;
  const dInner = expand * d;
  const H = dInner / opts.headdim;
  if (!Number.isInteger(H) || H % opts.nGroups !== 0) throw new Error('writeRandomCheckpoint: inconsistent head sizes');
  const gs = 2 * opts.nGroups * opts.dState;
  const convDim = dInner + gs;
  const dConv = 4;
  const pad = opts.padVocabSizeMultiple ?? 16;
  const rows = opts.format === 'state-spaces' ? roundUp(opts.vocabSize, pad) : (opts.embeddingRows ?? opts.vocabSize);

  let configJson: Record<string, unknown>;
  if (opts.format === 'state-spaces') {
    configJson = {
      d_model: d,
      d_intermediate: 0,
      n_layer: opts.nLayer,
      vocab_size: opts.vocabSize,
      ssm_cfg: { layer: 'Mamba2', d_state: opts.dState, headdim: opts.headdim, ngroups: opts.nGroups, expand, d_conv: dConv },
      attn_layer_idx: [],
      attn_cfg: {},
      rms_norm: true,
      residual_in_fp32: true,
      fused_add_norm: true,
      pad_vocab_size_multiple: pad,
      tie_embeddings: tie,
    };
  } else {
    configJson = {
      architectures: ['Mamba2ForCausalLM'],
      model_type: 'mamba2',
      hidden_size: d,
      num_hidden_layers: opts.nLayer,
      state_size: opts.dState,
      head_dim: opts.headdim,
      num_heads: H,
      n_groups: opts.nGroups,
      expand,
      conv_kernel: dConv,
      vocab_size: opts.vocabSize,
      layer_norm_epsilon: 1e-5,
      rms_norm: true,
      use_bias: false,
      use_conv_bias: true,
      residual_in_fp32: true,
      tie_word_embeddings: tie,
      pad_vocab_size_multiple: pad,
      torch_dtype: opts.dtype,
    };
  }
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson, null, 2));

  const normal = (n: number, std: number, mean = 0): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = mean + std * rng.normal();
    return a;
  };
  const uniform = (n: number, lo: number, hi: number): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
    return a;
  };
  const clampStd = (fanIn: number): number => Math.min(0.1, Math.max(0.02, 0.5 / Math.sqrt(fanIn)));

  const tensors = new Map<string, WrittenTensor>();
  const order: TensorToWrite[] = [];
  const add = (canonical: string, key: string, shape: number[], values: Float32Array): void => {
    const { stored } = encodeTensor(values, opts.dtype);
    tensors.set(canonical, { key, shape, dtype: opts.dtype, data: stored });
    order.push({ key, shape, dtype: opts.dtype, data: values });
  };

  add('embedding.weight', opts.format === 'hf' ? 'backbone.embeddings.weight' : 'backbone.embedding.weight', [rows, d], normal(rows * d, 2 / Math.sqrt(d)));
  for (let i = 0; i < opts.nLayer; i++) {
    const p = `layers.${i}.`;
    add(p + 'norm.weight', `backbone.${p}norm.weight`, [d], normal(d, 0.1, 1));
    add(p + 'mixer.in_proj.weight', `backbone.${p}mixer.in_proj.weight`, [2 * dInner + gs + H, d], normal((2 * dInner + gs + H) * d, clampStd(d)));
    const cb = 1 / Math.sqrt(dConv);
    add(p + 'mixer.conv1d.weight', `backbone.${p}mixer.conv1d.weight`, [convDim, 1, dConv], uniform(convDim * dConv, -cb, cb));
    add(p + 'mixer.conv1d.bias', `backbone.${p}mixer.conv1d.bias`, [convDim], uniform(convDim, -cb, cb));
    const dtBias = new Float32Array(H);
    for (let h = 0; h < H; h++) {
      const dt = Math.exp(Math.log(1e-3) + rng.uniform() * (Math.log(0.1) - Math.log(1e-3)));
      dtBias[h] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
    }
    add(p + 'mixer.dt_bias', `backbone.${p}mixer.dt_bias`, [H], dtBias);
    const aLog = uniform(H, 1, 16).map(Math.log);
    add(p + 'mixer.A_log', `backbone.${p}mixer.A_log`, [H], aLog);
    add(p + 'mixer.D', `backbone.${p}mixer.D`, [H], normal(H, 0.1, 1));
    add(p + 'mixer.norm.weight', `backbone.${p}mixer.norm.weight`, [dInner], normal(dInner, 0.1, 1));
    add(p + 'mixer.out_proj.weight', `backbone.${p}mixer.out_proj.weight`, [d, dInner], normal(d * dInner, clampStd(dInner)));
  }
  add('norm_f.weight', 'backbone.norm_f.weight', [d], normal(d, 0.1, 1));
  if (!tie) add('lm_head.weight', 'lm_head.weight', [rows, d], normal(rows * d, 2 / Math.sqrt(d)));

  const weightFiles: string[] = [];
  if (opts.weights === 'safetensors') {
    writeSafetensors(path.join(dir, 'model.safetensors'), order);
    weightFiles.push('model.safetensors');
  } else if (opts.weights === 'sharded') {
    const n = Math.max(1, Math.min(opts.shards ?? 2, order.length));
    const per = Math.ceil(order.length / n);
    const weightMap: Record<string, string> = {};
    let total = 0;
    for (let s = 0; s < n; s++) {
      const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
      const part = order.slice(s * per, (s + 1) * per);
      writeSafetensors(path.join(dir, name), part);
      for (const t of part) {
        weightMap[t.key] = name;
        total += fs.statSync(path.join(dir, name)).size;
      }
      weightFiles.push(name);
    }
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
    );
  } else {
    writeTorchBin(path.join(dir, 'pytorch_model.bin'), order);
    weightFiles.push('pytorch_model.bin');
  }
  return { dir, configJson, paddedVocabSize: rows, tensors, weightFiles };
}

/** Writes a PyTorch zip checkpoint (torch.save layout). */
export function writeTorchBin(_file: string, _tensors: TensorToWrite[]): void {
  throw new Error('writeTorchBin: not implemented yet');
}
