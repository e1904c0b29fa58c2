// Float64 Mamba-2 block (SPEC §1) in plain loops: the oracle every other Mamba-2 path is tested against.
import type { Checkpoint, Mamba2Config } from '../../types';
import type { FamilyReference } from '../types';

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

export class Mamba2Reference implements FamilyReference {
  private readonly layers = new Map<number, ReferenceLayerWeights>();
  readonly config: Mamba2Config;

  constructor(private readonly ckpt: Checkpoint) {
    this.config = ckpt.config as Mamba2Config;
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

  /**
   * One Mamba-2 block on float64 hidden [batch, N, d]. mask: [batch, N, N] (1 keep, 0 block) or undefined; convMask [batch, N, K]
   * (1 keep, 0 cuts conv tap k of row t, SPEC §8) or undefined.
   * Returns the new hidden and, when asked, M [batch, H, N, N] after the mask.
   */
  layer64(
    index: number,
    hidden: Float64Array,
    batch: number,
    N: number,
    mask?: ArrayLike<number>,
    wantAttention = false,
    convMask?: ArrayLike<number>,
    unitMask?: ArrayLike<number>,
    outScale?: ArrayLike<number>,
  ): { hidden: Float64Array; attention?: Float64Array } {
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
            const keep = convMask ? convMask[(b * N + t) * K + k] : 1;
            if (src >= 0) s += keep * w.convW[ch * K + k] * xbcRaw(src, ch);
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
            // the edge mask applies in the heads of unitMask (every head by default)
            const m = mask ? 1 - (unitMask ? unitMask[b * H + h] : 1) * (1 - mask[b * N * N + i * N + j]) : 1;
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
