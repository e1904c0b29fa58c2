// Mamba-2 layer as ONNX nodes (SPEC §1): a suffix of m positions on the clean context of the p positions before it.
// Knocking out edges (last ← c) changes row `last` of M only, and positions only see earlier ones, so in a knockout
// every position before the last stays clean in every layer: a variant needs only its last row (m = 1) on top of its
// prompt's clean context (p = N − 1). A whole clean forward is p = 1 all-zero context position (Δ = 0, x = B = 0: it
// adds exactly nothing), m = N. The knockout rows have their own emitter (emitMamba2Row: the same maths, the context
// part of y as one product per prompt).
//
// Context tensors (contextSpec): raw [c, K−1, convDim] conv input of the K−1 positions before the suffix (zeros before
// position 0), xbc [c, p, convDim] conv output after SiLU, delta [c, p, H] Δ.
import type { Checkpoint, Mamba2Config } from '../../types';
import type { GraphBuilder } from '../../onnx/graph';
import { causalConv, ComputeDType, convOneRow, convTapStack, linear, linearWeight, matMulOrdered, rmsNorm, WeightStore } from '../../onnx/ops';
import type { LayerIo, LayerOutputNames, StepIo, StepOut } from '../types';
import { contextLength, edgeCut, rowGrouping, rowInputs, sameShape, toSlots, withContext } from '../layerIo';

/** Layer i's weights as graph initializers, streamed into weights.bin on first use (shared by every graph). */
function mamba2Weights(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType) {
  const c = ckpt.config as Mamba2Config;
  const d = c.dModel, dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, K = c.dConv;
  const convDim = dInner + 2 * G * S;
  const projDim = 2 * dInner + 2 * G * S + H;
  const p = `layers.${i}.`;
  const rd = (n: string) => () => ckpt.readF32(p + n);
  const wNorm = store.use(g, `${p}norm.weight`, [d], rd('norm.weight'));
  const wIn = linearWeight(g, store, `${p}in_proj.weight`, d, projDim, rd('mixer.in_proj.weight'), dtype);
  const taps = convTapStack(g, store, (n) => ckpt.readF32(n), p, convDim, K); // [K, convDim]
  const bConv = store.use(g, `${p}conv1d.bias`, [convDim], rd('mixer.conv1d.bias'));
  const dtBias = store.use(g, `${p}dt_bias`, [H], rd('mixer.dt_bias'));
  const A = store.use(g, `${p}A`, [H], () => ckpt.readF32(p + 'mixer.A_log').map((v) => -Math.exp(v)));
  const Dh = store.use(g, `${p}D`, [H, 1, 1], rd('mixer.D'));
  const wGn = store.use(g, `${p}gated_norm.weight`, [dInner], rd('mixer.norm.weight'));
  const wOut = linearWeight(g, store, `${p}out_proj.weight`, dInner, d, rd('mixer.out_proj.weight'), dtype);

  return { wNorm, wIn, taps, bConv, dtBias, A, Dh, wGn, wOut };
}

type Mamba2Weights = ReturnType<typeof mamba2Weights>;

/**
 * Steps 1–5 of a layer on the suffix rows: u = RMSNorm(x)·w, zxbcdt = u · in_projᵀ split z | xBC | dt, the causal
 * conv on the K−1 context rows ++ the suffix (conv_mask cuts taps), SiLU, Δ = softplus(dt + dt_bias). `oneRow`: the
 * conv of a single suffix row as one product with the stacked taps (convOneRow; the knockout rows).
 */
function mamba2Front(g: GraphBuilder, c: Mamba2Config, w: Mamba2Weights, dtype: ComputeDType, io: LayerIo, out: Record<string, string>, oneRow?: { convMask: string }) {
  const dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState;
  const convDim = dInner + 2 * G * S;
  const u = rmsNorm(g, io.hidden, c.eps, w.wNorm);
  const zxbcdt = linear(g, u, w.wIn, dtype);
  const [z, xBCraw, dt] = g.op('Split', [zxbcdt, g.constI64([dInner, convDim, H])], { axis: -1 }, 3);
  if (out.raw) g.n('Identity', [xBCraw], {}, out.raw);
  // 3. causal depthwise conv1d + bias ; SiLU, as K shifted multiply-adds on [b, m, C] (ORT's CPU grouped Conv with
  //    group = C is slow): conv[t] = bias + Σ_k keep[t,k] · tap_k · xpad[t + k], xpad = (K−1 context rows) ++ suffix rows;
  //    keep = conv_mask (0 cuts the tap: the complete knockout of SPEC §8).
  const xpad = withContext(g, io, 'raw', xBCraw, c.dConv - 1);
  const conv = oneRow ? convOneRow(g, xpad, w.taps, w.bConv, oneRow.convMask) : causalConv(g, xpad, w.taps, c.dConv, w.bConv, io.convMask);
  const xBC = g.n('Mul', [conv, g.n('Sigmoid', [conv])], {}, out.xbc);
  // 5. Δ = softplus(dt + dt_bias)
  const delta = g.n('Softplus', [g.n('Add', [dt, w.dtBias])], {}, out.delta); // [b,m,H]
  return { z, xBC, delta };
}

/** a = Δ·A as [b,H,T], deltaAll [b,T,H]. */
function decayRates(g: GraphBuilder, w: Mamba2Weights, deltaAll: string): string {
  return g.n('Transpose', [g.n('Mul', [deltaAll, w.A])], { perm: [0, 2, 1] });
}

/**
 * Step 6 for the m suffix rows of T positions (the last p + 1 … T): L = exp(segsum) [b,H,m,T] with a STABLE segment sum:
 * seg[i,j] = Σ_{k=j+1..i} a_k computed as a CumSum over rows of the strictly-lower-triangular expansion a[i]·[i>j] (no
 * cs_i − cs_j subtraction), then the suffix rows are kept. Causal masking happens BEFORE Exp (Where(causal, seg, −inf))
 * so no inf·0 NaN can appear.
 */
function segsumDecay(g: GraphBuilder, io: LayerIo, aT: string, pre: string): string {
  const suffixRows = (x: string, axis: number) => g.n('Slice', [x, pre, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([axis])]);
  // [T,T] j < i and [m,T] j ≤ i of the suffix rows: shapes only (once for the layers of one shape)
  const [strict, causal] = sameShape(io, 'mamba2.causal', () => {
    const T = g.n('Gather', [g.n('Shape', [aT]), g.constI64([2], [])], { axis: 0 }); // scalar T
    const idx = g.n('Range', [g.constI64([0], []), T, g.constI64([1], [])]);
    const rows = g.n('Unsqueeze', [idx, g.constI64([1])]);
    const cols = g.n('Unsqueeze', [idx, g.constI64([0])]);
    return [g.n('Greater', [rows, cols]), suffixRows(g.n('GreaterOrEqual', [rows, cols]), 0)];
  });
  const aExp = g.n('Where', [strict, g.n('Unsqueeze', [aT, g.constI64([3])]), g.constF32([0], [])]); // [b,H,T,T]
  const seg = suffixRows(g.n('CumSum', [aExp, g.constI64([2], [])]), 2); // [b,H,m,T]
  return g.n('Exp', [g.n('Where', [causal, seg, g.constF32([-Infinity], [])])]);
}

/**
 * Step 6 for the last position alone (the knockout rows): L[last, j] = exp(Σ_{k=j+1..last} a_k), the sums as one
 * reverse exclusive CumSum over the T positions (no subtraction; every j ≤ last is causal). [b,H,1,T]. Left-padded
 * zero positions come first, so they enter no real position's sum.
 */
function lastRowDecay(g: GraphBuilder, aT: string): string {
  return g.n('Unsqueeze', [g.n('Exp', [g.n('CumSum', [aT, g.constI64([2], [])], { exclusive: 1, reverse: 1 })]), g.constI64([2])]);
}

/**
 * Step 7: M = L ∘ (C·B) ∘ keep per head, for the suffix rows (m of them) on all T positions. L [b,H,m,T]; Bg [b,G,S,T];
 * Cg [b,G,m,S]; returns M [b,H,m,T] (named `name` when given).
 */
function mamba2M(g: GraphBuilder, c: Mamba2Config, io: LayerIo, L: string, Bg: string, Cg: string, name?: string): string {
  const H = c.nHeads, G = c.nGroups;
  // M_h = L_h ∘ (C·B) ∘ keep_h, head h uses group h // (H/G)
  let CB = matMulOrdered(g, Cg, Bg, 4, io.manyRows); // [b,G,m,T] (as a product of ≥ 2 rows also for one row: the same rounding either way)
  if (G > 1) {
    const hpg = H / G;
    CB = g.n('Gather', [CB, g.constI64(Array.from({ length: H }, (_, h) => Math.floor(h / hpg)))], { axis: 1 }); // [b,H,m,T]
  }
  // the edge mask applies in the heads of unit_mask (all by default): keep = 1 − unit·(1 − mask); no mask: all kept
  const cut = edgeCut(g, io); // [b,H|1,m,T]
  if (!cut) return g.n('Mul', [L, CB], {}, name);
  return g.n('Mul', [g.n('Mul', [L, CB]), g.n('Sub', [g.constF32([1], []), cut])], {}, name);
}

/** Steps 9–10: gated RMSNorm of y [b,m,dInner] with z, out_proj, the steering scales, the residual. */
function mamba2Tail(g: GraphBuilder, c: Mamba2Config, w: Mamba2Weights, dtype: ComputeDType, io: LayerIo, y: string, z: string, name?: string): string {
  const dInner = c.dInner, G = c.nGroups;
  // 9. gated RMSNorm (norm_before_gate = False), per group of dInner/G channels
  const gz = g.n('Mul', [y, g.n('Mul', [z, g.n('Sigmoid', [z])])]);
  const gzg = G > 1 ? g.n('Reshape', [gz, g.constI64([0, 0, G, dInner / G])]) : gz;
  let gn = rmsNorm(g, gzg, c.eps);
  if (G > 1) gn = g.n('Reshape', [gn, g.constI64([0, 0, dInner])]);
  gn = g.n('Mul', [gn, w.wGn]);
  // 10. residual, the mixer output's channels scaled by out_scale first (steering, SPEC §5; ones = none)
  return g.n('Add', [io.hidden, g.n('Mul', [linear(g, gn, w.wOut, dtype), io.outScale])], {}, name);
}

/** Appends layer `i` (SPEC §1, a suffix of positions on a clean context) to `g`; returns the residual after it. */
export function emitMamba2Layer(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo, names: LayerOutputNames = {}): string {
  const c = ckpt.config as Mamba2Config;
  const dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim;
  const convDim = dInner + 2 * G * S;
  const w = mamba2Weights(g, ckpt, i, store, dtype);
  const { z, xBC, delta } = mamba2Front(g, c, w, dtype, io, names.context ?? {});

  // the T = p + m positions: context rows ++ suffix rows (a whole prompt: one all-zero position first)
  const xbcAll = withContext(g, io, 'xbc', xBC, 1); // [b,T,convDim]
  const deltaAll = withContext(g, io, 'delta', delta, 1); // [b,T,H]
  const pre = contextLength(g, io, 'xbc', 1); // [p]
  const suffixRows = (x: string, axis: number) => g.n('Slice', [x, pre, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([axis])]);

  // 4. split x | B | C ; C is needed at the suffix rows only
  const [xs, Bs] = g.op('Split', [xbcAll, g.constI64([dInner, G * S, G * S])], { axis: -1 }, 3);
  const Cs = g.n('Slice', [xBC, g.constI64([dInner + G * S]), g.constI64([convDim]), g.constI64([2])]);
  const xh = g.n('Transpose', [g.n('Reshape', [xs, g.constI64([0, 0, H, P])])], { perm: [0, 2, 1, 3] }); // [b,H,T,P]
  const Bg = g.n('Transpose', [g.n('Reshape', [Bs, g.constI64([0, 0, G, S])])], { perm: [0, 2, 3, 1] }); // [b,G,S,T]
  const Cg = g.n('Transpose', [g.n('Reshape', [Cs, g.constI64([0, 0, G, S])])], { perm: [0, 2, 1, 3] }); // [b,G,m,S]
  const M = mamba2M(g, c, io, segsumDecay(g, io, decayRates(g, w, deltaAll), pre), Bg, Cg, names.attention);

  // 8. y = M (Δ·x) + D·x (the sum over the T sources in their order: padded zero positions leave it bit for bit)
  const deltaT = g.n('Transpose', [deltaAll], { perm: [0, 2, 1] }); // [b,H,T]
  const dx = g.n('Mul', [xh, g.n('Unsqueeze', [deltaT, g.constI64([3])])]); // [b,H,T,P]
  const yh = g.n('Add', [matMulOrdered(g, M, dx, 4, io.manyRows), g.n('Mul', [suffixRows(xh, 2), w.Dh])]); // [b,H,m,P]
  const y = g.n('Reshape', [g.n('Transpose', [yh], { perm: [0, 2, 1, 3] }), g.constI64([0, 0, dInner])]);
  return mamba2Tail(g, c, w, dtype, io, y, z, names.hiddenOut);
}

/**
 * Layer `i` for the knockout rows of the fast path (m = 1 on their prompts' clean contexts). The same maths as
 * emitMamba2Layer, but the context's share of y, Σ_{t < last} M[last, t]·Δ_t·x_t, is one matrix product PER PROMPT
 * (the rows of a prompt grouped: [rows of the prompt, T−1] × [T−1, P] per head) instead of a copy of the prompt's
 * context x for every row: the context's x is read once per prompt, not once per row. The rows' own position is
 * added after it; the sum over the context runs over the positions in their order, so left-padded zero rows still
 * add exactly nothing.
 */
export function emitMamba2Row(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo): string {
  const c = ckpt.config as Mamba2Config;
  const dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim;
  const { convMask, ctx, ctxIndex } = rowInputs(io, 'the Mamba-2 row graph', 'cut');
  const { xbc: ctxXbc, delta: ctxDelta } = ctx;
  const w = mamba2Weights(g, ckpt, i, store, dtype);
  const { z, xBC, delta } = mamba2Front(g, c, w, dtype, io, {}, { convMask });
  const i64 = (v: number[]) => g.constI64(v);
  const zero = i64([0]);

  // the own row: x, B, C [b,1,·]
  const [xo, Bo, Co] = g.op('Split', [xBC, i64([dInner, G * S, G * S])], { axis: -1 }, 3);
  // B and Δ on all T positions, per row (small: G·S and H wide)
  const [, Bc] = g.op('Split', [ctxXbc, i64([dInner, G * S, G * S])], { axis: -1 }, 3); // [C,T−1,GS]
  const Bs = g.n('Concat', [g.n('Gather', [Bc, ctxIndex], { axis: 0 }), Bo], { axis: 1 }); // [b,T,GS]
  const deltaAll = g.n('Concat', [g.n('Gather', [ctxDelta, ctxIndex], { axis: 0 }), delta], { axis: 1 }); // [b,T,H]
  const pre = contextLength(g, io, 'xbc', 1); // [T−1]
  const Bg = g.n('Transpose', [g.n('Reshape', [Bs, i64([0, 0, G, S])])], { perm: [0, 2, 3, 1] }); // [b,G,S,T]
  const Cg = g.n('Transpose', [g.n('Reshape', [Co, i64([0, 0, G, S])])], { perm: [0, 2, 1, 3] }); // [b,G,1,S]
  const M = mamba2M(g, c, io, lastRowDecay(g, decayRates(g, w, deltaAll)), Bg, Cg); // [b,H,1,T]
  const Mc = g.n('Squeeze', [g.n('Slice', [M, zero, pre, i64([3])]), i64([2])]); // [b,H,T−1] the context columns
  const Mo = g.n('Slice', [M, pre, i64([Number.MAX_SAFE_INTEGER]), i64([3])]); // [b,H,1,1] the own column

  // Δ·x of each prompt's context, once per prompt: [C,H,T−1,P]
  const xc = g.n('Slice', [ctxXbc, zero, i64([dInner]), i64([2])]); // [C,T−1,dInner]
  const dxc = g.n('Transpose', [g.n('Mul', [g.n('Reshape', [xc, i64([0, 0, H, P])]), g.n('Unsqueeze', [ctxDelta, i64([3])])])], { perm: [0, 2, 1, 3] });

  // the rows of each prompt grouped: row r goes to slot prompt(r)·R + its rank among its prompt's rows (R: at least
  // the most rows any prompt has here); empty slots stay 0 and their products are dropped
  const grouping = io.grouping ?? rowGrouping(g, ctxIndex, g.n('Gather', [g.n('Shape', [ctxXbc]), zero], { axis: 0 })); // of the C prompts
  const byPrompt = g.n('Transpose', [toSlots(g, grouping, Mc, 3)], { perm: [0, 2, 1, 3] }); // [C,H,R,T−1]
  const yc = matMulOrdered(g, byPrompt, dxc, 4); // [C,H,R,P]
  const ycRows = g.n('Gather', [g.n('Reshape', [g.n('Transpose', [yc], { perm: [0, 2, 1, 3] }), i64([-1, dInner])]), grouping.slot], { axis: 0 }); // [b,dInner]

  // the own position: M[last,last]·Δ·x, then D·x (per head, in the [b,1,H,P] layout of x: no transposes)
  const xo4 = g.n('Reshape', [xo, i64([0, 0, H, P])]); // [b,1,H,P]
  const dxo = g.n('Mul', [xo4, g.n('Unsqueeze', [delta, i64([3])])]); // [b,1,H,P]
  const own = g.n('Mul', [g.n('Reshape', [Mo, i64([-1, 1, H, 1])]), dxo]); // [b,1,H,P]
  const skip = g.n('Mul', [xo4, g.n('Reshape', [w.Dh, i64([H, 1])])]);
  const y4 = g.n('Add', [g.n('Add', [g.n('Reshape', [ycRows, i64([-1, 1, H, P])]), own]), skip]);
  const y = g.n('Reshape', [y4, i64([0, 0, dInner])]); // [b,1,dInner]
  return mamba2Tail(g, c, w, dtype, io, y, z);
}

/**
 * One position of layer i in RECURRENT form, for generation (SPEC §1 as a scan): the conv state holds the conv inputs
 * of the K−1 previous positions, the SSM state h [H, P, S]; h ← exp(Δ·A)·h + Δ·x·Bᵀ, y = h·C + D·x.
 * Inputs hidden [b, d], conv_state [b, K−1, convDim], ssm_state [b, H, P, S], out_scale [d];
 * returns the residual [b, d] and the new states.
 */
export function emitMamba2Step(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: StepIo): StepOut {
  const c = ckpt.config as Mamba2Config;
  const dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim, K = c.dConv;
  const convDim = dInner + 2 * G * S;
  const { wNorm, wIn, taps, bConv, dtBias, A, Dh, wGn, wOut } = mamba2Weights(g, ckpt, i, store, dtype);
  const u = rmsNorm(g, io.hidden, c.eps, wNorm);
  const [z, xBCraw, dt] = g.op('Split', [linear(g, u, wIn, dtype), g.constI64([dInner, convDim, H])], { axis: -1 }, 3); // [b,·]
  const xpad = g.n('Concat', [io.convState, g.n('Unsqueeze', [xBCraw, g.constI64([1])])], { axis: 1 }); // [b,K,convDim]
  const convState = g.n('Slice', [xpad, g.constI64([1]), g.constI64([K]), g.constI64([1])]);
  const conv = g.n('Squeeze', [causalConv(g, xpad, taps, K, bConv), g.constI64([1])]); // [b,convDim]
  const xBC = g.n('Mul', [conv, g.n('Sigmoid', [conv])]); // [b,convDim]
  const [xs, Bs, Cs] = g.op('Split', [xBC, g.constI64([dInner, G * S, G * S])], { axis: -1 }, 3);
  const delta = g.n('Softplus', [g.n('Add', [dt, dtBias])]); // [b,H]
  const x4 = g.n('Reshape', [xs, g.constI64([-1, H, P, 1])]);
  const headsOf = (t: string) => {
    const byGroup = g.n('Reshape', [t, g.constI64([-1, G, 1, S])]); // [b,G,1,S]
    return G === 1 ? byGroup : g.n('Gather', [byGroup, g.constI64(Array.from({ length: H }, (_, h) => Math.floor(h / (H / G))))], { axis: 1 }); // [b,H,1,S]
  };
  const d4 = g.n('Reshape', [delta, g.constI64([-1, H, 1, 1])]);
  const decay = g.n('Exp', [g.n('Mul', [d4, g.n('Reshape', [A, g.constI64([1, H, 1, 1])])])]);
  const ssmState = g.n('Add', [g.n('Mul', [decay, io.ssmState]), g.n('Mul', [g.n('Mul', [d4, x4]), headsOf(Bs)])]); // [b,H,P,S]
  const Ch = g.n('Transpose', [headsOf(Cs)], { perm: [0, 1, 3, 2] }); // [b,H,S,1]
  const yh = g.n('Add', [g.n('MatMul', [ssmState, Ch]), g.n('Mul', [x4, Dh])]); // [b,H,P,1]
  const y = g.n('Reshape', [yh, g.constI64([-1, dInner])]);
  const gz = g.n('Mul', [y, g.n('Mul', [z, g.n('Sigmoid', [z])])]);
  const gzg = G > 1 ? g.n('Reshape', [gz, g.constI64([-1, G, dInner / G])]) : gz;
  let gn = rmsNorm(g, gzg, c.eps);
  if (G > 1) gn = g.n('Reshape', [gn, g.constI64([-1, dInner])]);
  gn = g.n('Mul', [gn, wGn]);
  const hidden = g.n('Add', [io.hidden, g.n('Mul', [linear(g, gn, wOut, dtype), io.outScale])]);
  return { hidden, convState, ssmState };
}
