// Float64 pure-TypeScript Mamba-2 (SPEC §1), the test oracle of every other backend.
// Small and clear over fast: plain loops, no tricks. Hidden states cross the ModelBackend interface as float32,
// but `forward64` keeps the whole residual stream in float64 for tighter parity checks.
import type { Checkpoint, Mamba2Config, ModelBackend } from '../types';

export interface ReferenceLayerWeights {
  norm: Float64Array; // [d]
  inProj: Float64Array; // [P, d], P = 2*dInner + 2*G*S + H
  convW: Float64Array; // [convDim, dConv]
  convB: Float64Array; // [convDim]
  dtBias: Float64Array; // [H]
  A: Float64Array; // [H], A = -exp(A_log)
  D: Float64Array; // [H]
  gnorm: Float64Array; // [dInner]
  outProj: Float64Array; // [d, dInner]
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

/** softplus as torch.nn.functional.softplus (threshold 20: identity above). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}
const silu = (x: number): number => x / (1 + Math.exp(-x));

export class ReferenceBackend implements ModelBackend {
  readonly ep = 'reference';
  readonly config: Mamba2Config;
  private readonly layers = new Map<number, ReferenceLayerWeights>();
  private normF?: Float64Array;
  private head?: Float64Array;
  private readonly embRows = new Map<number, Float64Array>();

  constructor(private readonly ckpt: Checkpoint) {
    this.config = ckpt.config;
  }

  weights(i: number): ReferenceLayerWeights {
    let w = this.layers.get(i);
    if (!w) {
      const p = `layers.${i}.`;
      const r = (n: string) => f64(this.ckpt.readF32(p + n));
      const A = r('mixer.A_log').map((v) => -Math.exp(v));
      w = {
        norm: r('norm.weight'),
        inProj: r('mixer.in_proj.weight'),
        convW: r('mixer.conv1d.weight'),
        convB: r('mixer.conv1d.bias'),
        dtBias: r('mixer.dt_bias'),
        A,
        D: r('mixer.D'),
        gnorm: r('mixer.norm.weight'),
        outProj: r('mixer.out_proj.weight'),
      };
      this.layers.set(i, w);
    }
    return w;
  }

  private embRow(id: number): Float64Array {
    let row = this.embRows.get(id);
    if (!row) {
      const c = this.config;
      if (!Number.isInteger(id) || id < 0 || id >= c.paddedVocabSize) throw new RangeError(`token id ${id} out of range [0, ${c.paddedVocabSize})`);
      row = f64(this.ckpt.readRowsF32('embedding.weight', id, 1));
      this.embRows.set(id, row);
    }
    return row;
  }

  embed64(ids: Int32Array, batch: number, seqLen: number): Float64Array {
    const d = this.config.dModel;
    const out = new Float64Array(batch * seqLen * d);
    for (let t = 0; t < batch * seqLen; t++) out.set(this.embRow(ids[t]), t * d);
    return out;
  }

  async embed(ids: Int32Array, batch: number, seqLen: number): Promise<Float32Array> {
    return Float32Array.from(this.embed64(ids, batch, seqLen));
  }

  /**
   * One Mamba-2 block on float64 hidden [batch, N, d]. mask: [batch, N, N] (1 keep, 0 block) or undefined.
   * Returns the new hidden and, when asked, M [batch, H, N, N] after the mask.
   */
  layer64(index: number, hidden: Float64Array, batch: number, N: number, mask?: ArrayLike<number>, wantAttention = false): { hidden: Float64Array; attention?: Float64Array } {
    const c = this.config;
    const w = this.weights(index);
    const d = c.dModel, dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim, K = c.dConv;
    const convDim = dInner + 2 * G * S;
    const projDim = 2 * dInner + 2 * G * S + H;
    const headsPerGroup = H / G;
    const groupWidth = dInner / G;
    const out = new Float64Array(hidden.length);
    const att = wantAttention ? new Float64Array(batch * H * N * N) : undefined;

    for (let b = 0; b < batch; b++) {
      const xb = hidden.subarray(b * N * d, (b + 1) * N * d);
      // 1. u = RMSNorm(x) * norm.weight
      const u = new Float64Array(N * d);
      for (let t = 0; t < N; t++) {
        let ss = 0;
        for (let k = 0; k < d; k++) ss += xb[t * d + k] ** 2;
        const r = 1 / Math.sqrt(ss / d + c.eps);
        for (let k = 0; k < d; k++) u[t * d + k] = xb[t * d + k] * r * w.norm[k];
      }
      // 2. zxbcdt = u · in_projᵀ, split z | xBC | dt
      const zx = new Float64Array(N * projDim);
      for (let t = 0; t < N; t++) {
        for (let o = 0; o < projDim; o++) {
          let s = 0;
          const wo = o * d;
          for (let k = 0; k < d; k++) s += u[t * d + k] * w.inProj[wo + k];
          zx[t * projDim + o] = s;
        }
      }
      const z = (t: number, ch: number) => zx[t * projDim + ch];
      const xbcRaw = (t: number, ch: number) => zx[t * projDim + dInner + ch];
      const dtRaw = (t: number, h: number) => zx[t * projDim + dInner + convDim + h];
      // 3. causal depthwise conv1d (left pad K-1) + bias, then SiLU
      const xbc = new Float64Array(N * convDim);
      for (let t = 0; t < N; t++) {
        for (let ch = 0; ch < convDim; ch++) {
          let s = w.convB[ch];
          for (let k = 0; k < K; k++) {
            const src = t - (K - 1) + k;
            if (src >= 0) s += w.convW[ch * K + k] * xbcRaw(src, ch);
          }
          xbc[t * convDim + ch] = silu(s);
        }
      }
      // 4. x [H, P], B [G, S], C [G, S]
      const xv = (t: number, h: number, p: number) => xbc[t * convDim + h * P + p];
      const Bv = (t: number, g: number, s: number) => xbc[t * convDim + dInner + g * S + s];
      const Cv = (t: number, g: number, s: number) => xbc[t * convDim + dInner + G * S + g * S + s];
      // 5. Δ = softplus(dt + dt_bias)
      const delta = new Float64Array(N * H);
      for (let t = 0; t < N; t++) for (let h = 0; h < H; h++) delta[t * H + h] = softplus(dtRaw(t, h) + w.dtBias[h]);
      // 6-8. per head: M_h = L_h ∘ (C·B) ∘ mask, y = M(Δ·x) + D·x
      const y = new Float64Array(N * dInner);
      const M = new Float64Array(N * N);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / headsPerGroup);
        M.fill(0);
        for (let i = 0; i < N; i++) {
          // Stable segment sum: seg = Σ_{k=j+1..i} a_k accumulated directly from j = i downwards,
          // NOT cs_i − cs_j (that subtraction of two large cumulative sums loses precision).
          let seg = 0;
          for (let j = i; j >= 0; j--) {
            if (j < i) seg += delta[(j + 1) * H + h] * w.A[h];
            let cb = 0;
            for (let s = 0; s < S; s++) cb += Cv(i, g, s) * Bv(j, g, s);
            const m = mask ? mask[b * N * N + i * N + j] : 1;
            M[i * N + j] = Math.exp(seg) * cb * m;
          }
        }
        if (att) att.set(M, (b * H + h) * N * N);
        for (let i = 0; i < N; i++) {
          for (let p = 0; p < P; p++) {
            let s = w.D[h] * xv(i, h, p);
            for (let j = 0; j <= i; j++) s += M[i * N + j] * delta[j * H + h] * xv(j, h, p);
            y[i * dInner + h * P + p] = s;
          }
        }
      }
      // 9. gated RMSNorm, norm_before_gate = False, per group of dInner/G channels (mamba_ssm)
      const gated = new Float64Array(N * dInner);
      for (let t = 0; t < N; t++) {
        for (let ch = 0; ch < dInner; ch++) gated[t * dInner + ch] = y[t * dInner + ch] * silu(z(t, ch));
        for (let g = 0; g < G; g++) {
          const o = t * dInner + g * groupWidth;
          let ss = 0;
          for (let k = 0; k < groupWidth; k++) ss += gated[o + k] ** 2;
          const r = 1 / Math.sqrt(ss / groupWidth + c.eps);
          for (let k = 0; k < groupWidth; k++) gated[o + k] *= r * w.gnorm[g * groupWidth + k];
        }
      }
      // 10. x + g · out_projᵀ
      const ob = out.subarray(b * N * d, (b + 1) * N * d);
      for (let t = 0; t < N; t++) {
        for (let o = 0; o < d; o++) {
          let s = 0;
          for (let k = 0; k < dInner; k++) s += gated[t * dInner + k] * w.outProj[o * dInner + k];
          ob[t * d + o] = xb[t * d + o] + s;
        }
      }
    }
    return { hidden: out, attention: att };
  }

  async layer(index: number, hidden: Float32Array, batch: number, seqLen: number, mask?: Float32Array, wantAttention?: boolean) {
    const r = this.layer64(index, Float64Array.from(hidden), batch, seqLen, mask, wantAttention);
    return { hidden: Float32Array.from(r.hidden), attention: r.attention ? Float32Array.from(r.attention) : undefined };
  }

  /** norm_f + head on the last position: float64 logits [batch, paddedVocab]. */
  headLast64(hidden: Float64Array, batch: number, N: number): Float64Array {
    const c = this.config;
    const d = c.dModel, V = c.paddedVocabSize;
    if (!this.normF) this.normF = f64(this.ckpt.readF32('norm_f.weight'));
    if (!this.head) {
      const untied = !c.tieEmbeddings && this.ckpt.tensorNames().includes('lm_head.weight');
      this.head = f64(this.ckpt.readF32(untied ? 'lm_head.weight' : 'embedding.weight'));
    }
    const logits = new Float64Array(batch * V);
    const u = new Float64Array(d);
    for (let b = 0; b < batch; b++) {
      const o = (b * N + N - 1) * d;
      let ss = 0;
      for (let k = 0; k < d; k++) ss += hidden[o + k] ** 2;
      const r = 1 / Math.sqrt(ss / d + c.eps);
      for (let k = 0; k < d; k++) u[k] = hidden[o + k] * r * this.normF[k];
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += u[k] * this.head[v * d + k];
        logits[b * V + v] = s;
      }
    }
    return logits;
  }

  async headLast(hidden: Float32Array, batch: number, seqLen: number): Promise<Float32Array> {
    return Float32Array.from(this.headLast64(Float64Array.from(hidden), batch, seqLen));
  }

  /**
   * Whole model in float64. masks(layer) gives the knockout mask of a layer (or undefined);
   * attentionLayers lists the layers whose M is returned.
   */
  forward64(ids: Int32Array, batch: number, N: number, masks?: (layer: number) => ArrayLike<number> | undefined, attentionLayers: number[] = []): { logits: Float64Array; attention: Map<number, Float64Array> } {
    let h = this.embed64(ids, batch, N);
    const attention = new Map<number, Float64Array>();
    for (let l = 0; l < this.config.nLayer; l++) {
      const r = this.layer64(l, h, batch, N, masks?.(l), attentionLayers.includes(l));
      h = r.hidden;
      if (r.attention) attention.set(l, r.attention);
    }
    return { logits: this.headLast64(h, batch, N), attention };
  }

  async dispose(): Promise<void> {
    this.layers.clear();
    this.embRows.clear();
    this.head = undefined;
  }
}
