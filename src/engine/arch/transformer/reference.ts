// Float64 GPT-2 / GPT-NeoX block (SPEC §7) in plain loops: the oracle of the ONNX graphs. Positions start at 0.
// Attention knockout: a blocked (row ← column) edge in the heads of the unit mask loses its pre-softmax score; the row
// is renormalised over the rest, and a row with no source left attends to nothing (output 0).
import type { Checkpoint, TransformerConfig } from '../../types';
import type { FamilyReference } from '../types';
import { rotaryTables } from './rotary';

interface BlockWeights {
  ln1w: Float64Array; ln1b: Float64Array; ln2w: Float64Array; ln2b: Float64Array;
  /** [in, out] row-major for every matrix (GPT-NeoX's [out, in] transposed on load) */
  qkvW: Float64Array; qkvB: Float64Array; oW: Float64Array; oB: Float64Array;
  upW: Float64Array; upB: Float64Array; downW: Float64Array; downB: Float64Array;
}

function transposeF64(a: Float32Array, rows: number, cols: number): Float64Array {
  const o = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = a[r * cols + c];
  return o;
}

function layerNorm64(x: Float64Array, o: number, d: number, w: Float64Array, b: Float64Array, eps: number, out: Float64Array): void {
  let mu = 0;
  for (let k = 0; k < d; k++) mu += x[o + k];
  mu /= d;
  let v = 0;
  for (let k = 0; k < d; k++) v += (x[o + k] - mu) ** 2;
  const r = 1 / Math.sqrt(v / d + eps);
  for (let k = 0; k < d; k++) out[k] = (x[o + k] - mu) * r * w[k] + b[k];
}

/** y[outD] = x[inD]·W[in,out] + b */
function affine64(x: Float64Array, W: Float64Array, b: Float64Array, inD: number, outD: number, y: Float64Array): void {
  y.set(b);
  for (let i = 0; i < inD; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * outD;
    for (let j = 0; j < outD; j++) y[j] += xi * W[row + j];
  }
}

function gelu64(x: number, kind: TransformerConfig['activation']): number {
  if (kind === 'gelu') return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/**
 * erf to about 1e-13: the Maclaurin series below |x| = 2.5, above it 1 − erfc(x) with erfc's continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax;
  for (let n = 120; n >= 1; n--) f = ax + n / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f));
}

export class TransformerReference implements FamilyReference {
  private readonly c: TransformerConfig;
  private readonly cache = new Map<number, BlockWeights>();
  private rot?: { cos: Float32Array; sin: Float32Array; rd: number; n: number };

  constructor(private readonly ckpt: Checkpoint) {
    this.c = ckpt.config as TransformerConfig;
  }

  private weights(i: number): BlockWeights {
    let w = this.cache.get(i);
    if (w) return w;
    const c = this.c, d = c.dModel, F = c.dFf;
    const p = `layers.${i}.`;
    const v = (n: string) => Float64Array.from(this.ckpt.readF32(p + n));
    const m = (n: string, inD: number, outD: number) => (c.arch === 'gpt2' ? v(n) : transposeF64(this.ckpt.readF32(p + n), outD, inD));
    w = c.arch === 'gpt2'
      ? { ln1w: v('ln_1.weight'), ln1b: v('ln_1.bias'), ln2w: v('ln_2.weight'), ln2b: v('ln_2.bias'),
          qkvW: m('attn.c_attn.weight', d, 3 * d), qkvB: v('attn.c_attn.bias'), oW: m('attn.c_proj.weight', d, d), oB: v('attn.c_proj.bias'),
          upW: m('mlp.c_fc.weight', d, F), upB: v('mlp.c_fc.bias'), downW: m('mlp.c_proj.weight', F, d), downB: v('mlp.c_proj.bias') }
      : { ln1w: v('input_layernorm.weight'), ln1b: v('input_layernorm.bias'), ln2w: v('post_attention_layernorm.weight'), ln2b: v('post_attention_layernorm.bias'),
          qkvW: m('attention.query_key_value.weight', d, 3 * d), qkvB: v('attention.query_key_value.bias'), oW: m('attention.dense.weight', d, d), oB: v('attention.dense.bias'),
          upW: m('mlp.dense_h_to_4h.weight', d, F), upB: v('mlp.dense_h_to_4h.bias'), downW: m('mlp.dense_4h_to_h.weight', F, d), downB: v('mlp.dense_4h_to_h.bias') };
    this.cache.set(i, w);
    return w;
  }

  private rotary(n: number) {
    if (!this.rot || this.rot.n < n) this.rot = { ...rotaryTables(this.c, n), n };
    return this.rot;
  }

  layer64(index: number, hidden: Float64Array, batch: number, N: number, mask?: ArrayLike<number>, wantAttention = false, _convMask?: ArrayLike<number>, unitMask?: ArrayLike<number>, outScale?: ArrayLike<number>) {
    const c = this.c, d = c.dModel, H = c.nHead, hd = d / H, F = c.dFf;
    const W = this.weights(index);
    const gpt2 = c.arch === 'gpt2';
    const out = new Float64Array(hidden);
    const attention = wantAttention ? new Float64Array(batch * H * N * N) : undefined;
    const q = new Float64Array(N * d), k = new Float64Array(N * d), v = new Float64Array(N * d);
    const u = new Float64Array(d), qkv = new Float64Array(3 * d), o = new Float64Array(N * d), a = new Float64Array(d);
    const up = new Float64Array(F), dn = new Float64Array(d);
    const rot = gpt2 ? undefined : this.rotary(N);
    const rd = rot?.rd ?? 0;
    const s = new Float64Array(N), e = new Float64Array(N);
    const mlpInto = (x: Float64Array, xo: number, y: Float64Array) => {
      layerNorm64(x, xo, d, W.ln2w, W.ln2b, c.eps, u);
      affine64(u, W.upW, W.upB, d, F, up);
      for (let j = 0; j < F; j++) up[j] = gelu64(up[j], c.activation);
      affine64(up, W.downW, W.downB, F, d, y);
    };
    for (let b = 0; b < batch; b++) {
      const base = b * N * d;
      // q, k, v per position (NeoX: per head [q | k | v], rotary on the first rd dims)
      for (let t = 0; t < N; t++) {
        layerNorm64(hidden, base + t * d, d, W.ln1w, W.ln1b, c.eps, u);
        affine64(u, W.qkvW, W.qkvB, d, 3 * d, qkv);
        for (let h = 0; h < H; h++) {
          for (let j = 0; j < hd; j++) {
            const dst = t * d + h * hd + j;
            if (gpt2) {
              q[dst] = qkv[h * hd + j];
              k[dst] = qkv[d + h * hd + j];
              v[dst] = qkv[2 * d + h * hd + j];
            } else {
              q[dst] = qkv[h * 3 * hd + j];
              k[dst] = qkv[h * 3 * hd + hd + j];
              v[dst] = qkv[h * 3 * hd + 2 * hd + j];
            }
          }
          if (rd > 0) {
            const off = t * d + h * hd;
            const qr = q.slice(off, off + rd), kr = k.slice(off, off + rd);
            for (let j = 0; j < rd; j++) {
              const cs = rot!.cos[t * rd + j], sn = rot!.sin[t * rd + j];
              const qh = j < rd / 2 ? -qr[j + rd / 2] : qr[j - rd / 2];
              const kh = j < rd / 2 ? -kr[j + rd / 2] : kr[j - rd / 2];
              q[off + j] = qr[j] * cs + qh * sn;
              k[off + j] = kr[j] * cs + kh * sn;
            }
          }
        }
      }
      // attention per head and row
      o.fill(0);
      for (let h = 0; h < H; h++) {
        const applies = unitMask ? unitMask[b * H + h] !== 0 : true;
        for (let r = 0; r < N; r++) {
          let mx = -Infinity;
          for (let col = 0; col <= r; col++) {
            const blocked = applies && mask !== undefined && mask[(b * N + r) * N + col] === 0;
            if (blocked) {
              s[col] = NaN;
              continue;
            }
            let dot = 0;
            for (let j = 0; j < hd; j++) dot += q[r * d + h * hd + j] * k[col * d + h * hd + j];
            s[col] = dot / Math.sqrt(hd);
            if (s[col] > mx) mx = s[col];
          }
          let z = 0;
          for (let col = 0; col <= r; col++) {
            e[col] = Number.isNaN(s[col]) ? 0 : Math.exp(s[col] - mx);
            z += e[col];
          }
          for (let col = 0; col <= r; col++) {
            const pr = z > 0 ? e[col] / z : 0;
            if (attention) attention[((b * H + h) * N + r) * N + col] = pr;
            if (pr === 0) continue;
            for (let j = 0; j < hd; j++) o[r * d + h * hd + j] += pr * v[col * d + h * hd + j];
          }
        }
      }
      // projection, steering scale, residual and MLP
      for (let t = 0; t < N; t++) {
        affine64(o.subarray(t * d, (t + 1) * d), W.oW, W.oB, d, d, a);
        if (outScale) for (let j = 0; j < d; j++) a[j] *= outScale[j];
        const xo = base + t * d;
        if (!gpt2 && c.parallelResidual) {
          mlpInto(hidden, xo, dn);
          for (let j = 0; j < d; j++) out[xo + j] = hidden[xo + j] + a[j] + dn[j];
        } else {
          for (let j = 0; j < d; j++) out[xo + j] = hidden[xo + j] + a[j];
          mlpInto(out, xo, dn);
          for (let j = 0; j < d; j++) out[xo + j] += dn[j];
        }
      }
    }
    return { hidden: out, attention };
  }

  dispose(): void {
    this.cache.clear();
  }
}
