// Benchmark of the ONNX conversion on a mamba2-1.3b-shaped random checkpoint.
//   npx tsx tools/bench-convert.ts [--dtype float16|float32] [--keep] [--layers N]
// Writes config.json + model.safetensors (state-spaces layout, tensor by tensor, so the generator stays small)
// into a temp folder, converts it with ensureOnnxCache, prints conversion time and peak RSS vs the weights' size.
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openCheckpoint } from '../src/engine/checkpoint/index';
import { ensureOnnxCache } from '../src/engine/onnx/cache';
import { f32ToF16Bits } from '../src/engine/onnx/builder';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const dtype = (arg('dtype') ?? 'float16') as 'float16' | 'float32';
const keep = args.includes('--keep');

// mamba2-1.3b
const d = 2048, nLayer = Number(arg('layers') ?? 48), vocab = 50280, pad = 16, S = 128, P = 64, G = 1, expand = 2;
const V = Math.ceil(vocab / pad) * pad;
const dInner = expand * d, H = dInner / P, convDim = dInner + 2 * G * S, proj = 2 * dInner + 2 * G * S + H;

type Gen = 'weight' | 'one' | 'A_log' | 'dt_bias' | 'D' | 'conv';
const tensors: { key: string; shape: number[]; gen: Gen; scale: number }[] = [];
tensors.push({ key: 'backbone.embedding.weight', shape: [V, d], gen: 'weight', scale: 0.02 });
for (let i = 0; i < nLayer; i++) {
  const p = `backbone.layers.${i}.`;
  tensors.push(
    { key: p + 'norm.weight', shape: [d], gen: 'one', scale: 0 },
    { key: p + 'mixer.in_proj.weight', shape: [proj, d], gen: 'weight', scale: 1 / Math.sqrt(d) },
    { key: p + 'mixer.conv1d.weight', shape: [convDim, 1, 4], gen: 'conv', scale: 0.3 },
    { key: p + 'mixer.conv1d.bias', shape: [convDim], gen: 'conv', scale: 0.1 },
    { key: p + 'mixer.dt_bias', shape: [H], gen: 'dt_bias', scale: 0 },
    { key: p + 'mixer.A_log', shape: [H], gen: 'A_log', scale: 0 },
    { key: p + 'mixer.D', shape: [H], gen: 'D', scale: 0 },
    { key: p + 'mixer.norm.weight', shape: [dInner], gen: 'one', scale: 0 },
    { key: p + 'mixer.out_proj.weight', shape: [d, dInner], gen: 'weight', scale: 1 / Math.sqrt(dInner) },
  );
}
tensors.push({ key: 'backbone.norm_f.weight', shape: [d], gen: 'one', scale: 0 });

let seed = 12345;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());

// A pool of unit normals, reused at shifting offsets for the big matrices (values don't matter for timing).
const POOL = 1 << 22;
const pool = Float32Array.from({ length: POOL }, normal);
const pools16 = new Map<number, Uint16Array>();
/** the big matrices in float16: copied from a pre-rounded pool (fast) */
function generateF16(t: (typeof tensors)[number]): Uint16Array {
  let p = pools16.get(t.scale);
  if (!p) {
    p = new Uint16Array(POOL);
    for (let i = 0; i < POOL; i++) p[i] = f32ToF16Bits(pool[i] * t.scale);
    pools16.set(t.scale, p);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Uint16Array(n);
  const shift = Math.floor(rand() * POOL);
  for (let o = 0; o < n; ) {
    const start = (o + shift) % POOL;
    const len = Math.min(n - o, POOL - start);
    out.set(p.subarray(start, start + len), o);
    o += len;
  }
  return out;
}

function generate(t: (typeof tensors)[number]): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.gen) {
      case 'one': out[i] = 1; break;
      case 'A_log': out[i] = Math.log(1 + 15 * rand()); break;
      case 'D': out[i] = 1; break;
      case 'dt_bias': { const dt = Math.exp(Math.log(0.001) + rand() * Math.log(100)); out[i] = dt + Math.log(-Math.expm1(-dt)); break; }
      default: out[i] = pool[(i * 7919 + (n & 0xffff)) % POOL] * t.scale;
    }
  }
  return out;
}

function writeCheckpoint(dir: string): number {
  const bpe = dtype === 'float16' ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * bpe;
    header[t.key] = { dtype: dtype === 'float16' ? 'F16' : 'F32', shape: t.shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let hjson = JSON.stringify(header);
  hjson += ' '.repeat((8 - (hjson.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hjson.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(hjson));
  for (const t of tensors) {
    let buf: Buffer;
    if (dtype === 'float16' && t.gen === 'weight') buf = Buffer.from(generateF16(t).buffer);
    else if (dtype === 'float16') {
      const f = generate(t);
      const h = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) h[i] = f32ToF16Bits(f[i]);
      buf = Buffer.from(h.buffer);
    } else buf = Buffer.from(generate(t).buffer);
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  }
  closeSync(fd);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ d_model: d, n_layer: nLayer, vocab_size: vocab, ssm_cfg: { layer: 'Mamba2', d_state: S, headdim: P, ngroups: G, expand }, rms_norm: true, residual_in_fp32: true, fused_add_norm: true, pad_vocab_size_multiple: pad, tie_embeddings: true }),
  );
  return off;
}

/** Converts in a fresh process so that its peak RSS is the conversion's alone. */
async function convertOnly(ckDir: string, cacheRoot: string) {
  const t0 = process.hrtime.bigint();
  const ck = await openCheckpoint(ckDir);
  const { dir, manifest } = ensureOnnxCache(ck, { root: cacheRoot });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  ck.close();
  process.stdout.write(JSON.stringify({ secs, maxRSS: process.resourceUsage().maxRSS * 1024, dir, layers: manifest.layers.length }) + '\n');
}

async function main() {
  const ci = args.indexOf('--convert-only');
  if (ci >= 0) return convertOnly(args[ci + 1], args[ci + 2]);
  const root = mkdtempSync(join(tmpdir(), 'me-bench-'));
  const ckDir = join(root, 'model');
  const cacheRoot = join(root, 'cache');
  require('node:fs').mkdirSync(ckDir);
  try {
    const tg = Date.now();
    const weightBytes = writeCheckpoint(ckDir);
    console.log(`generated ${dtype} checkpoint: d_model ${d}, n_layer ${nLayer}, vocab ${vocab} (padded ${V}), d_state ${S}, headdim ${P}, ngroups ${G}; weights ${(weightBytes / 2 ** 30).toFixed(2)} GiB in ${((Date.now() - tg) / 1000).toFixed(1)} s`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--convert-only', ckDir, cacheRoot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`conversion process failed (${r.status})`);
    const { secs, maxRSS: peak, dir, layers } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { secs: number; maxRSS: number; dir: string; layers: number };
    const onnxBytes = statSync(join(dir, 'weights.bin')).size;
    console.log(`conversion: ${secs.toFixed(1)} s (${layers} layer graphs + head, weights.bin ${(onnxBytes / 2 ** 30).toFixed(2)} GiB float32)`);
    console.log(`peak RSS of the converting process: ${(peak / 2 ** 30).toFixed(2)} GiB = ${(peak / weightBytes).toFixed(2)}× the checkpoint weights (${(weightBytes / 2 ** 30).toFixed(2)} GiB ${dtype})`);
    console.log(`targets: < 60 s ${secs < 60 ? 'OK' : 'MISSED'}, < 1.5× weights ${peak < 1.5 * weightBytes ? 'OK' : 'MISSED'}`);
  } finally {
    if (keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

void main();
