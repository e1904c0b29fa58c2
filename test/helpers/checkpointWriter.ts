// Test helper: writes small random Mamba-2 or Mamba-1 / Falcon-Mamba checkpoints (config.json + weights) in every supported layout,
// with deterministic seeded values of realistic scale, so activations stay finite and outputs non-degenerate.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { DType } from '../../src/engine/types';
import { bf16ToF32, f16ToF32, f32ToHalfBits } from '../../src/engine/checkpoint/dtype';

export interface RandomCheckpointOptions {
  /** model family (default mamba2); for mamba1, headdim and nGroups are ignored */
  arch?: 'mamba2' | 'mamba1';
  /** mamba1 only: 'falcon_mamba' writes an HF FalconMamba config (format must be 'hf') */
  variant?: 'mamba' | 'falcon_mamba';
  /** mamba1 only: dt_rank (default ceil(dModel / 16), written as "auto") */
  dtRank?: number;
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
  /**
   * Keep the written values in the result's `tensors[].data` (default: only when the model has at most 64M
   * parameters; reading `data` of a larger model throws unless this is true).
   */
  keepValues?: boolean;
}

const KEEP_VALUES_LIMIT = 64 * 1024 * 1024;

export interface WrittenTensor {
  /** Key as stored in the file. */
  key: string;
  shape: number[];
  dtype: DType;
  /** The values exactly as stored (already rounded to dtype), as float32 (see keepValues). */
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
  | { key: string; shape: number[]; dtype: DType; make: () => Float32Array }
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

function elementBytes(t: TensorToWrite): number {
  if ('bytes' in t) return t.bytes.length;
  return t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'float32' ? 4 : 2);
}

function rawDType(t: TensorToWrite): string {
  return 'bytes' in t ? t.rawDType : ST_DTYPE[t.dtype];
}

function toBytes(t: TensorToWrite): Buffer {
  if ('bytes' in t) return t.bytes;
  const values = 'data' in t ? t.data : t.make();
  return encodeTensor(values, t.dtype).bytes;
}

function writeAll(fd: number, buf: Buffer, pos: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), pos + done);
}

/** Writes a safetensors file, tensor by tensor (lazy tensors are generated one at a time). */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const n = elementBytes(t);
    header[t.key] = { dtype: rawDType(t), shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hb = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, len, 0);
    writeAll(fd, hb, 8);
    let pos = 8 + hb.length;
    for (const t of tensors) {
      const b = toBytes(t);
      if (b.length !== elementBytes(t)) throw new Error(`writeSafetensors: '${t.key}' has ${b.length} bytes, shape needs ${elementBytes(t)}`);
      writeAll(fd, b, pos);
      pos += b.length;
    }
  } finally {
    fs.closeSync(fd);
  }
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
  const m1 = opts.arch === 'mamba1';
  const H = m1 ? 1 : dInner / opts.headdim;
  if (!m1 && (!Number.isInteger(H) || H % opts.nGroups !== 0)) throw new Error('writeRandomCheckpoint: inconsistent head sizes');
  const R = opts.dtRank ?? Math.ceil(d / 16);
  const gs = 2 * opts.nGroups * opts.dState;
  const convDim = dInner + gs;
  const dConv = 4;
  const pad = opts.padVocabSizeMultiple ?? 16;
  const rows = opts.format === 'state-spaces' ? roundUp(opts.vocabSize, pad) : (opts.embeddingRows ?? opts.vocabSize);

  let configJson: Record<string, unknown>;
  if (m1 && opts.format === 'state-spaces') {
    configJson = {
      d_model: d,
      n_layer: opts.nLayer,
      vocab_size: opts.vocabSize,
      ssm_cfg: { d_state: opts.dState, expand, d_conv: dConv, ...(opts.dtRank !== undefined ? { dt_rank: opts.dtRank } : {}) },
      rms_norm: true,
      residual_in_fp32: true,
      fused_add_norm: true,
      pad_vocab_size_multiple: pad,
      tie_embeddings: tie,
    };
  } else if (m1) {
    const falcon = opts.variant === 'falcon_mamba';
    configJson = {
      architectures: [falcon ? 'FalconMambaForCausalLM' : 'MambaForCausalLM'],
      model_type: falcon ? 'falcon_mamba' : 'mamba',
      hidden_size: d,
      num_hidden_layers: opts.nLayer,
      state_size: opts.dState,
      expand,
      intermediate_size: dInner,
      conv_kernel: dConv,
      time_step_rank: opts.dtRank ?? 'auto',
      vocab_size: opts.vocabSize,
      layer_norm_epsilon: 1e-5,
      use_bias: false,
      use_conv_bias: true,
      hidden_act: 'silu',
      tie_word_embeddings: tie,
      ...(falcon ? { mixer_rms_eps: 1e-6 } : {}),
      torch_dtype: opts.dtype,
    };
  } else if (opts.format === 'state-spaces') {
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

  // Values are generated lazily, in canonical order, while the weight files are written (the files are written in
  // that same order), so that a full-size model never has to be held in memory.
  const normal = (n: number, std: number, mean = 0) => (): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = mean + std * rng.normal();
    return a;
  };
  const uniform = (n: number, lo: number, hi: number) => (): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
    return a;
  };
  const clampStd = (fanIn: number): number => Math.min(0.1, Math.max(0.02, 0.5 / Math.sqrt(fanIn)));

  const specs: { canonical: string; key: string; shape: number[]; make: () => Float32Array }[] = [];
  const add = (canonical: string, key: string, shape: number[], make: () => Float32Array): void => {
    specs.push({ canonical, key, shape, make });
  };

  add('embedding.weight', opts.format === 'hf' ? 'backbone.embeddings.weight' : 'backbone.embedding.weight', [rows, d], normal(rows * d, 2 / Math.sqrt(d)));
  const dtBiasOf = (n: number) => () => {
    const b = new Float32Array(n);
    for (let h = 0; h < n; h++) {
      const dt = Math.exp(Math.log(1e-3) + rng.uniform() * (Math.log(0.1) - Math.log(1e-3)));
      b[h] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
    }
    return b;
  };
  for (let i = 0; m1 && i < opts.nLayer; i++) {
    const p = `layers.${i}.`;
    const S = opts.dState;
    const cb = 1 / Math.sqrt(dConv);
    add(p + 'norm.weight', `backbone.${p}norm.weight`, [d], normal(d, 0.1, 1));
    add(p + 'mixer.in_proj.weight', `backbone.${p}mixer.in_proj.weight`, [2 * dInner, d], normal(2 * dInner * d, clampStd(d)));
    add(p + 'mixer.conv1d.weight', `backbone.${p}mixer.conv1d.weight`, [dInner, 1, dConv], uniform(dInner * dConv, -cb, cb));
    add(p + 'mixer.conv1d.bias', `backbone.${p}mixer.conv1d.bias`, [dInner], uniform(dInner, -cb, cb));
    add(p + 'mixer.x_proj.weight', `backbone.${p}mixer.x_proj.weight`, [R + 2 * S, dInner], normal((R + 2 * S) * dInner, clampStd(dInner) * 3));
    add(p + 'mixer.dt_proj.weight', `backbone.${p}mixer.dt_proj.weight`, [dInner, R], uniform(dInner * R, -1 / Math.sqrt(R), 1 / Math.sqrt(R)));
    add(p + 'mixer.dt_proj.bias', `backbone.${p}mixer.dt_proj.bias`, [dInner], dtBiasOf(dInner));
    add(p + 'mixer.A_log', `backbone.${p}mixer.A_log`, [dInner, S], () => {
      const a = new Float32Array(dInner * S);
      for (let c = 0; c < dInner; c++) for (let n = 0; n < S; n++) a[c * S + n] = Math.log((n + 1) * (0.5 + rng.uniform()));
      return a;
    });
    add(p + 'mixer.D', `backbone.${p}mixer.D`, [dInner], normal(dInner, 0.1, 1));
    add(p + 'mixer.out_proj.weight', `backbone.${p}mixer.out_proj.weight`, [d, dInner], normal(d * dInner, clampStd(dInner)));
  }
  for (let i = 0; !m1 && i < opts.nLayer; i++) {
    const p = `layers.${i}.`;
    add(p + 'norm.weight', `backbone.${p}norm.weight`, [d], normal(d, 0.1, 1));
    add(p + 'mixer.in_proj.weight', `backbone.${p}mixer.in_proj.weight`, [2 * dInner + gs + H, d], normal((2 * dInner + gs + H) * d, clampStd(d)));
    const cb = 1 / Math.sqrt(dConv);
    add(p + 'mixer.conv1d.weight', `backbone.${p}mixer.conv1d.weight`, [convDim, 1, dConv], uniform(convDim * dConv, -cb, cb));
    add(p + 'mixer.conv1d.bias', `backbone.${p}mixer.conv1d.bias`, [convDim], uniform(convDim, -cb, cb));
    add(p + 'mixer.dt_bias', `backbone.${p}mixer.dt_bias`, [H], () => {
      const dtBias = new Float32Array(H);
      for (let h = 0; h < H; h++) {
        const dt = Math.exp(Math.log(1e-3) + rng.uniform() * (Math.log(0.1) - Math.log(1e-3)));
        dtBias[h] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
      }
      return dtBias;
    });
    add(p + 'mixer.A_log', `backbone.${p}mixer.A_log`, [H], () => uniform(H, 1, 16)().map(Math.log));
    add(p + 'mixer.D', `backbone.${p}mixer.D`, [H], normal(H, 0.1, 1));
    add(p + 'mixer.norm.weight', `backbone.${p}mixer.norm.weight`, [dInner], normal(dInner, 0.1, 1));
    add(p + 'mixer.out_proj.weight', `backbone.${p}mixer.out_proj.weight`, [d, dInner], normal(d * dInner, clampStd(dInner)));
  }
  add('norm_f.weight', 'backbone.norm_f.weight', [d], normal(d, 0.1, 1));
  if (!tie) add('lm_head.weight', 'lm_head.weight', [rows, d], normal(rows * d, 2 / Math.sqrt(d)));

  const totalElements = specs.reduce((acc, t) => acc + t.shape.reduce((x, y) => x * y, 1), 0);
  const keep = opts.keepValues ?? totalElements <= KEEP_VALUES_LIMIT;
  const tensors = new Map<string, WrittenTensor>();
  const order: TensorToWrite[] = specs.map((t) => {
    const w: WrittenTensor = { key: t.key, shape: t.shape, dtype: opts.dtype, data: new Float32Array(0) };
    if (!keep) {
      Object.defineProperty(w, 'data', {
        get() {
          throw new Error(`writeRandomCheckpoint: values of this ${totalElements}-parameter checkpoint were not kept (pass keepValues: true)`);
        },
      });
    }
    tensors.set(t.canonical, w);
    return {
      key: t.key,
      shape: t.shape,
      dtype: opts.dtype,
      make: () => {
        const values = t.make();
        if (keep) w.data = encodeTensor(values, opts.dtype).stored;
        return values;
      },
    };
  });

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
        total += elementBytes(t);
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

// ---------------------------------------------------------------- PyTorch zip + pickle writer

/** Emits pickle opcodes (protocol 2, like torch.save), memoizing globals like CPython's pickler. */
export class PickleWriter {
  private readonly parts: Buffer[] = [];
  private memoNext = 0;
  private readonly globals = new Map<string, number>();

  raw(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  proto(v = 2): this {
    return this.raw(0x80, v);
  }
  put(): this {
    const k = this.memoNext++;
    if (k < 256) return this.raw(0x71, k);
    const b = Buffer.alloc(5);
    b[0] = 0x72;
    b.writeUInt32LE(k, 1);
    this.parts.push(b);
    return this;
  }
  global(module: string, name: string): this {
    const key = `${module}.${name}`;
    const m = this.globals.get(key);
    if (m !== undefined) return m < 256 ? this.raw(0x68, m) : this.longGet(m);
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    this.globals.set(key, this.memoNext);
    return this.put();
  }
  private longGet(k: number): this {
    const b = Buffer.alloc(5);
    b[0] = 0x6a;
    b.writeUInt32LE(k, 1);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    this.parts.push(h, b);
    return this.put();
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.raw(0x4b, v);
    if (v >= 0 && v < 65536) return this.raw(0x4d, v & 0xff, v >> 8);
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(v, 1);
      this.parts.push(b);
      return this;
    }
    // LONG1, little-endian two's complement
    let x = BigInt(v);
    const bytes: number[] = [];
    do {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
    } while (!(x === 0n && (bytes[bytes.length - 1] & 0x80) === 0) && !(x === -1n && (bytes[bytes.length - 1] & 0x80) !== 0));
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  intTuple(v: number[]): this {
    if (v.length === 0) return this.raw(0x29);
    if (v.length <= 3) {
      v.forEach((x) => this.int(x));
      return this.raw(0x84 + v.length).put();
    }
    this.raw(0x28);
    v.forEach((x) => this.int(x));
    return this.raw(0x74).put();
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74).put();
  }
  reduce(): this {
    return this.raw(0x52).put();
  }
  stop(): Buffer {
    this.raw(0x2e);
    return Buffer.concat(this.parts);
  }
}

export interface ZipMember {
  name: string;
  /** The bytes, or a producer of them in chunks (called once, while writing) together with their total size. */
  data: Buffer | { size: number; chunks: () => Iterable<Buffer> };
}

/**
 * Writes a zip of stored members, each aligned to 64 bytes like torch.save, streaming the data.
 * zip64 records are written when asked, or by default when the archive could pass 4 GiB.
 */
export function writeZip(file: string, members: ZipMember[], opts: { zip64?: boolean } = {}): void {
  const sizeOf = (m: ZipMember): number => (Buffer.isBuffer(m.data) ? m.data.length : m.data.size);
  const z64 = opts.zip64 ?? members.reduce((a, m) => a + sizeOf(m) + 200, 0) > 0xfff00000;
  const central: Buffer[] = [];
  const fd = fs.openSync(file, 'w');
  try {
    let off = 0;
    for (const m of members) {
      const size = sizeOf(m);
      const name = Buffer.from(m.name, 'utf8');
      const z64Extra = Buffer.alloc(z64 ? 20 : 0);
      if (z64) {
        z64Extra.writeUInt16LE(1, 0);
        z64Extra.writeUInt16LE(16, 2);
        z64Extra.writeBigUInt64LE(BigInt(size), 4);
        z64Extra.writeBigUInt64LE(BigInt(size), 12);
      }
      const padLen = (64 - ((off + 30 + name.length + z64Extra.length + 4) % 64)) % 64;
      const pad = Buffer.alloc(4 + padLen, 0x5a);
      pad.writeUInt16LE(0x4246, 0); // 'FB' padding field, as torch writes it
      pad.writeUInt16LE(padLen, 2);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(z64 ? 45 : 20, 4);
      local.writeUInt32LE(z64 ? 0xffffffff : size, 18);
      local.writeUInt32LE(z64 ? 0xffffffff : size, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(z64Extra.length + pad.length, 28);
      const localOff = off;
      const head = Buffer.concat([local, name, z64Extra, pad]);
      off += head.length;
      let crc = 0;
      let written = 0;
      for (const chunk of Buffer.isBuffer(m.data) ? [m.data] : m.data.chunks()) {
        crc = zlib.crc32(chunk, crc);
        writeAll(fd, chunk, off);
        off += chunk.length;
        written += chunk.length;
      }
      if (written !== size) throw new Error(`writeZip: member '${m.name}' produced ${written} bytes, announced ${size}`);
      head.writeUInt32LE(crc, 14);
      writeAll(fd, head, localOff);

      const cx = Buffer.alloc(z64 ? 28 : 0);
      if (z64) {
        cx.writeUInt16LE(1, 0);
        cx.writeUInt16LE(24, 2);
        cx.writeBigUInt64LE(BigInt(size), 4);
        cx.writeBigUInt64LE(BigInt(size), 12);
        cx.writeBigUInt64LE(BigInt(localOff), 20);
      }
      const c = Buffer.alloc(46);
      c.writeUInt32LE(0x02014b50, 0);
      c.writeUInt16LE(z64 ? 45 : 20, 4);
      c.writeUInt16LE(z64 ? 45 : 20, 6);
      c.writeUInt32LE(crc, 16);
      c.writeUInt32LE(z64 ? 0xffffffff : size, 20);
      c.writeUInt32LE(z64 ? 0xffffffff : size, 24);
      c.writeUInt16LE(name.length, 28);
      c.writeUInt16LE(cx.length, 30);
      c.writeUInt32LE(z64 ? 0xffffffff : localOff, 42);
      central.push(c, name, cx);
    }
    const cd = Buffer.concat(central);
    const cdOff = off;
    const tail: Buffer[] = [cd];
    off += cd.length;
    if (z64) {
      const e64 = Buffer.alloc(56);
      e64.writeUInt32LE(0x06064b50, 0);
      e64.writeBigUInt64LE(44n, 4);
      e64.writeUInt16LE(45, 12);
      e64.writeUInt16LE(45, 14);
      e64.writeBigUInt64LE(BigInt(members.length), 24);
      e64.writeBigUInt64LE(BigInt(members.length), 32);
      e64.writeBigUInt64LE(BigInt(cd.length), 40);
      e64.writeBigUInt64LE(BigInt(cdOff), 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(0x07064b50, 0);
      loc.writeBigUInt64LE(BigInt(off), 8);
      loc.writeUInt32LE(1, 16);
      tail.push(e64, loc);
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(z64 ? 0xffff : members.length, 8);
    eocd.writeUInt16LE(z64 ? 0xffff : members.length, 10);
    eocd.writeUInt32LE(z64 ? 0xffffffff : cd.length, 12);
    eocd.writeUInt32LE(z64 ? 0xffffffff : cdOff, 16);
    tail.push(eocd);
    writeAll(fd, Buffer.concat(tail), cdOff);
  } finally {
    fs.closeSync(fd);
  }
}

export interface TorchBinOptions {
  /** zip folder name (torch uses the file's stem, e.g. 'pytorch_model' or 'archive') */
  prefix?: string;
  /** write zip64 records */
  zip64?: boolean;
  /** put all tensors of a dtype into one storage, at increasing storage offsets */
  shareStorage?: boolean;
  /** wrap every tensor in torch._utils._rebuild_parameter */
  parameters?: boolean;
  /** override the stride written for these keys (to test the contiguity check) */
  strides?: Record<string, number[]>;
}

const STORAGE_CLASS: Record<string, string> = { float32: 'FloatStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage' };
const RAW_STORAGE: Record<string, [string, number]> = { I64: ['LongStorage', 8], F64: ['DoubleStorage', 8], I32: ['IntStorage', 4] };

/** Writes a PyTorch zip checkpoint in torch.save's layout: <prefix>/data.pkl, <prefix>/data/<n>, byteorder, version. */
export function writeTorchBin(file: string, tensors: TensorToWrite[], opts: TorchBinOptions = {}): void {
  const prefix = opts.prefix ?? 'pytorch_model';
  const storages: { key: string; cls: string; parts: TensorToWrite[]; numel: number; bpe: number }[] = [];
  const placed: { t: TensorToWrite; storage: (typeof storages)[number]; offset: number }[] = [];
  for (const t of tensors) {
    const [cls, bpe] = 'bytes' in t ? (RAW_STORAGE[t.rawDType] ?? ['ByteStorage', 1]) : [STORAGE_CLASS[t.dtype], t.dtype === 'float32' ? 4 : 2];
    let s = opts.shareStorage ? storages.find((x) => x.cls === cls) : undefined;
    if (!s) {
      s = { key: String(storages.length), cls, parts: [], numel: 0, bpe };
      storages.push(s);
    }
    placed.push({ t, storage: s, offset: s.numel });
    s.parts.push(t);
    s.numel += elementBytes(t) / bpe;
  }
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').raw(0x29).reduce();
  w.mark();
  for (const { t, storage, offset } of placed) {
    w.str(t.key);
    if (opts.parameters) w.global('torch._utils', '_rebuild_parameter');
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    w.mark().str('storage').global('torch', storage.cls).str(storage.key).str('cpu').int(storage.numel).tuple();
    w.raw(0x51); // BINPERSID
    w.int(offset);
    w.intTuple(t.shape);
    const stride: number[] = [];
    let acc = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      stride.unshift(acc);
      acc *= t.shape[i];
    }
    w.intTuple(opts.strides?.[t.key] ?? stride);
    w.raw(0x89); // NEWFALSE
    w.global('collections', 'OrderedDict').raw(0x29).reduce();
    w.tuple().reduce();
    if (opts.parameters) w.raw(0x89).global('collections', 'OrderedDict').raw(0x29).reduce().raw(0x87).put().reduce();
  }
  w.raw(0x75); // SETITEMS
  // state: {'_metadata': OrderedDict({'': {'version': 1}})}, applied with BUILD, as torch writes it
  w.raw(0x7d).put().str('_metadata').global('collections', 'OrderedDict').raw(0x29).reduce();
  w.str('').raw(0x7d).put().str('version').int(1).raw(0x73).raw(0x73); // SETITEM, SETITEM
  w.raw(0x73).raw(0x62); // SETITEM into state dict, BUILD
  const members: ZipMember[] = [
    { name: `${prefix}/data.pkl`, data: w.stop() },
    { name: `${prefix}/byteorder`, data: Buffer.from('little') },
  ];
  for (const s of storages) {
    members.push({
      name: `${prefix}/data/${s.key}`,
      data: { size: s.numel * s.bpe, chunks: () => s.parts.map(toBytes) },
    });
  }
  members.push({ name: `${prefix}/version`, data: Buffer.from('3\n') });
  members.push({ name: `${prefix}/.data/serialization_id`, data: Buffer.from('0123456789') });
  writeZip(file, members, { zip64: opts.zip64 });
}
