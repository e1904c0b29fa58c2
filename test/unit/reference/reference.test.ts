import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReferenceBackend, softplus } from '../../../src/engine/reference/referenceBackend';
import { memCheckpoint } from './memCheckpoint';

/**
 * Independent oracle: the same block computed in RECURRENT form (the SSM scan
 * h_t = exp(Δ_t A) h_{t−1} + Δ_t B_t x_tᵀ, y_t = C_t h_t + D x_t), which must equal the attention form of SPEC §1.
 */
function scanLayer(ref: ReferenceBackend, index: number, x: Float64Array, N: number): Float64Array {
  const c = ref.config;
  const w = ref.weights(index);
  const d = c.dModel, dI = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim, K = c.dConv;
  const convDim = dI + 2 * G * S, proj = 2 * dI + 2 * G * S + H;
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const rms = (v: number[], wt: ArrayLike<number>, off = 0) => {
    const r = 1 / Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length + c.eps);
    return v.map((e, k) => e * r * wt[off + k]);
  };
  const zx: number[][] = [];
  for (let t = 0; t < N; t++) {
    const u = rms(Array.from(x.subarray(t * d, (t + 1) * d)), w.norm);
    zx.push(Array.from({ length: proj }, (_, o) => u.reduce((s, v, k) => s + v * w.inProj[o * d + k], 0)));
  }
  const state = Array.from({ length: H }, () => Array.from({ length: P }, () => new Float64Array(S)));
  const out = new Float64Array(N * d);
  for (let t = 0; t < N; t++) {
    const xbc = Array.from({ length: convDim }, (_, ch) => {
      let s = w.convB[ch];
      for (let k = 0; k < K; k++) if (t - K + 1 + k >= 0) s += w.convW[ch * K + k] * zx[t - K + 1 + k][dI + ch];
      return silu(s);
    });
    const y = new Array<number>(dI).fill(0);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const dt = softplus(zx[t][dI + convDim + h] + w.dtBias[h]);
      const decay = Math.exp(dt * w.A[h]);
      for (let p = 0; p < P; p++) {
        const xv = xbc[h * P + p];
        let acc = 0;
        for (let s = 0; s < S; s++) {
          state[h][p][s] = decay * state[h][p][s] + dt * xbc[dI + g * S + s] * xv;
          acc += xbc[dI + G * S + g * S + s] * state[h][p][s];
        }
        y[h * P + p] = acc + w.D[h] * xv;
      }
    }
    const gz = y.map((v, ch) => v * silu(zx[t][ch]));
    const gw = dI / G;
    const gn: number[] = [];
    for (let g = 0; g < G; g++) gn.push(...rms(gz.slice(g * gw, (g + 1) * gw), w.gnorm, g * gw));
    for (let o = 0; o < d; o++) out[t * d + o] = x[t * d + o] + gn.reduce((s, v, k) => s + v * w.outProj[o * dI + k], 0);
  }
  return out;
}

for (const nGroups of [1, 2]) {
  test(`attention form equals the recurrent scan (ngroups ${nGroups})`, () => {
    const ref = new ReferenceBackend(memCheckpoint({ nGroups, seed: 7 }));
    const N = 9;
    const h = ref.embed64(Int32Array.from({ length: N }, (_, i) => (i * 5 + 1) % 50), 1, N);
    const a = ref.layer64(0, h, 1, N).hidden;
    const b = scanLayer(ref, 0, h, N);
    let md = 0;
    for (let i = 0; i < a.length; i++) md = Math.max(md, Math.abs(a[i] - b[i]));
    assert.ok(md < 1e-10, `max diff ${md}`);
  });
}

test('knockout mask: ones = clean; a blocked edge is exactly zero and only that entry of M changes', () => {
  const ref = new ReferenceBackend(memCheckpoint({ nGroups: 2 }));
  const N = 6, H = ref.config.nHeads;
  const h = ref.embed64(Int32Array.from([1, 2, 3, 4, 5, 6]), 1, N);
  const clean = ref.layer64(1, h, 1, N, undefined, true);
  const ones = ref.layer64(1, h, 1, N, new Float64Array(N * N).fill(1), true);
  assert.deepEqual(ones.hidden, clean.hidden);
  const mask = new Float64Array(N * N).fill(1);
  mask[(N - 1) * N + 2] = 0;
  const ko = ref.layer64(1, h, 1, N, mask, true);
  for (let hh = 0; hh < H; hh++)
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        const k = (hh * N + i) * N + j;
        if (i === N - 1 && j === 2) assert.ok(ko.attention![k] === 0);
        else assert.equal(ko.attention![k], clean.attention![k]);
        if (j > i) assert.ok(clean.attention![k] === 0);
      }
  // only the last row of the output can change
  const d = ref.config.dModel;
  for (let k = 0; k < (N - 1) * d; k++) assert.equal(ko.hidden[k], clean.hidden[k]);
  assert.notDeepEqual(ko.hidden.subarray((N - 1) * d), clean.hidden.subarray((N - 1) * d));
});
