// Float64 Mamba-1 / Falcon-Mamba block (SPEC §2) in attention form, in plain loops: the oracle every other
// Mamba-1 path is tested against. α_c[i,j] = Δ_j[c] · Σ_n C_i[n] B_j[n] exp(A[c,n] · Σ_{k=j+1..i} Δ_k[c]).
import type { Checkpoint, Mamba1Config } from '../../types';
import type { FamilyReference } from '../types';
import { softplus } from '../mamba2/reference';

export interface Mamba1LayerWeights {
  norm: Float64Array; // [d]
  inProj: Float64Array; // [2·dInner, d]
  convW: Float64Array; // [dInner, K]
  convB: Float64Array; // [dInner]
  xProj: Float64Array; // [R + 2S, dInner]
  dtProj: Float64Array; // [dInner, R]
  dtBias: Float64Array; // [dInner]
  A: Float64Array; // [dInner, S], A = −exp(A_log)
  D: Float64Array; // [dInner]
  outProj: Float64Array; // [d, dInner]
}

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
const silu = (x: number): number => x / (1 + Math.exp(-x));

export class Mamba1Reference implements FamilyReference {
  private readonly layers = new Map<number, Mamba1LayerWeights>();
  readonly config: Mamba1Config;

  constructor(private readonly ckpt: Checkpoint) {
    this.config = ckpt.config as Mamba1Config;
  }

  weights(i: number): Mamba1LayerWeights {
    let w = this.layers.get(i);
    if (!w) {
      const r = (n: string) => f64(this.ckpt.readF32(`layers.${i}.${n}`));
      w = {
        norm: r('norm.weight'),
        inProj: r('mixer.in_proj.weight'),
        convW: r('mixer.conv1d.weight'),
        convB: r('mixer.conv1d.bias'),
        xProj: r('mixer.x_proj.weight'),
        dtProj: r('mixer.dt_proj.weight'),
        dtBias: r('mixer.dt_proj.bias'),
        A: r('mixer.A_log').map((v) => -Math.exp(v)),
        D: r('mixer.D'),
        outProj: r('mixer.out_proj.weight'),
      };
      this.layers.set(i, w);
    }
    return w;
  }

  layer64(index: number, hidden: Float64Array, batch: number, N: number, mask?: ArrayLike<number>, wantAttention = false, convMask?: ArrayLike<number>, unitMask?: ArrayLike<number>, outScale?: ArrayLike<number>) {
    const c = this.config;
    const w = this.weights(index);
    const d = c.dModel, dI = c.dInner, S = c.dState, R = c.dtRank, K = c.dConv;
    const xpW = R + 2 * S;
    const out = new Float64Array(hidden.length);
    const att = wantAttention ? new Float64Array(batch * dI * N * N) : undefined;
    const rmsInPlace = (v: Float64Array, off: number, len: number, eps: number) => {
      let ss = 0;
      for (let k = 0; k < len; k++) ss += v[off + k] ** 2;
      const r = 1 / Math.sqrt(ss / len + eps);
      for (let k = 0; k < len; k++) v[off + k] *= r;
    };
    for (let b = 0; b < batch; b++) {
      const xb = hidden.subarray(b * N * d, (b + 1) * N * d);
      // 1-2. u = RMSNorm(x)·w ; xz = u · in_projᵀ → x | z
      const xz = new Float64Array(N * 2 * dI);
      const u = new Float64Array(d);
      for (let t = 0; t < N; t++) {
        let ss = 0;
        for (let k = 0; k < d; k++) ss += xb[t * d + k] ** 2;
        const r = 1 / Math.sqrt(ss / d + c.eps);
        for (let k = 0; k < d; k++) u[k] = xb[t * d + k] * r * w.norm[k];
        for (let o = 0; o < 2 * dI; o++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += u[k] * w.inProj[o * d + k];
          xz[t * 2 * dI + o] = s;
        }
      }
      // 3. causal depthwise conv1d + bias (tap k reads position t − (K−1) + k; convMask cuts taps), SiLU
      const xc = new Float64Array(N * dI);
      for (let t = 0; t < N; t++) {
        for (let ch = 0; ch < dI; ch++) {
          let s = w.convB[ch];
          for (let k = 0; k < K; k++) {
            const src = t - (K - 1) + k;
            const keep = convMask ? convMask[(b * N + t) * K + k] : 1;
            if (src >= 0) s += keep * w.convW[ch * K + k] * xz[src * 2 * dI + ch];
          }
          xc[t * dI + ch] = silu(s);
        }
      }
      // 4. x_proj → dt | B | C (Falcon-Mamba: each RMS-normalised without a weight)
      const xp = new Float64Array(N * xpW);
      for (let t = 0; t < N; t++) {
        for (let o = 0; o < xpW; o++) {
          let s = 0;
          for (let k = 0; k < dI; k++) s += xc[t * dI + k] * w.xProj[o * dI + k];
          xp[t * xpW + o] = s;
        }
        if (c.mixerRmsEps !== null) {
          rmsInPlace(xp, t * xpW, R, c.mixerRmsEps);
          rmsInPlace(xp, t * xpW + R, S, c.mixerRmsEps);
          rmsInPlace(xp, t * xpW + R + S, S, c.mixerRmsEps);
        }
      }
      const Bv = (t: number, n: number) => xp[t * xpW + R + n];
      const Cv = (t: number, n: number) => xp[t * xpW + R + S + n];
      // 5. Δ = softplus(dt · dt_projᵀ + bias) [N, dInner]
      const delta = new Float64Array(N * dI);
      for (let t = 0; t < N; t++) {
        for (let ch = 0; ch < dI; ch++) {
          let s = w.dtBias[ch];
          for (let r = 0; r < R; r++) s += xp[t * xpW + r] * w.dtProj[ch * R + r];
          delta[t * dI + ch] = softplus(s);
        }
      }
      // 6-7. per channel: α_c = mask ∘ (hidden attention), y = α x + D x
      const y = new Float64Array(N * dI);
      const a = new Float64Array(N * N);
      for (let ch = 0; ch < dI; ch++) {
        a.fill(0);
        for (let i = 0; i < N; i++) {
          // stable segment sum Σ_{k=j+1..i} Δ_k, accumulated from j = i downwards
          let seg = 0;
          for (let j = i; j >= 0; j--) {
            if (j < i) seg += delta[(j + 1) * dI + ch];
            let s = 0;
            for (let n = 0; n < S; n++) s += Cv(i, n) * Bv(j, n) * Math.exp(w.A[ch * S + n] * seg);
            // the edge mask applies in the channels of unitMask (every channel by default)
            const m = mask ? 1 - (unitMask ? unitMask[b * dI + ch] : 1) * (1 - mask[b * N * N + i * N + j]) : 1;
            a[i * N + j] = s * delta[j * dI + ch] * m;
          }
        }
        if (att) att.set(a, (b * dI + ch) * N * N);
        for (let i = 0; i < N; i++) {
          let s = w.D[ch] * xc[i * dI + ch];
          for (let j = 0; j <= i; j++) s += a[i * N + j] * xc[j * dI + ch];
          y[i * dI + ch] = s;
        }
      }
      // 7. out = (y · SiLU(z)) · out_projᵀ ; residual
      const ob = out.subarray(b * N * d, (b + 1) * N * d);
      for (let t = 0; t < N; t++) {
        for (let ch = 0; ch < dI; ch++) y[t * dI + ch] *= silu(xz[t * 2 * dI + dI + ch]);
        for (let o = 0; o < d; o++) {
          let s = 0;
          for (let k = 0; k < dI; k++) s += y[t * dI + k] * w.outProj[o * dI + k];
          ob[t * d + o] = xb[t * d + o] + (outScale ? outScale[o] : 1) * s;
        }
      }
    }
    return { hidden: out, attention: att };
  }

  dispose(): void {
    this.layers.clear();
  }
}
