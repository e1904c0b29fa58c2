// Mamba-1 / Falcon-Mamba layer as ONNX nodes (SPEC §2), in attention form:
//   α_c[i,j] = Δ_j[c] · Σ_n C_i[n] B_j[n] · exp(A[c,n] · Σ_{k=j+1..i} Δ_k[c]),   y_i[c] = Σ_j α_c[i,j] x_j[c] + D[c] x_i[c].
// Two emitters:
//   emitMamba1Layer  the general suffix of m positions on p context positions (whole prompts with p = 1 zero position,
//                    the attention view, the context outputs). α is [b, dInner, m, T]; the sum over the d_state entries
//                    n is unrolled (S is 16 in the published models) so no [·, dInner, m, T, S] tensor is formed.
//   emitMamba1Row    m = 1, the knockout rows of the last-position fast path. For j < last,
//                    exp(A·Σ_{k=j+1..last} Δ_k) = exp(A·Δ_last) · exp(A·Σ_{k=j+1..last−1} Δ_k), and the second factor,
//                    with Δ_j B_j x_j, depends only on the prompt's clean context: P[j, c, n] is computed once per prompt
//                    of the call, and a row's state is Σ_j mask_j P[j] — one MatMul per prompt of its rows' masks (in a
//                    grid of slots, as emitMamba2Row) with P — in the channels where the knockout applies (unit_c = 1), the prompt's
//                    total Σ_j P[j] in the others. Per row that is dInner·S multiply-adds per source, not dInner·S exps.
// Context tensors (contextSpec): raw [c, K−1, dInner] conv input, x [c, p, dInner] conv output after SiLU,
// delta [c, p, dInner] Δ, B [c, p, S].
import type { Checkpoint, Mamba1Config } from '../../types';
import { DataType, type GraphBuilder } from '../../onnx/graph';
import { causalConv, ComputeDType, convOneRow, convTapStack, linear, linearWeight, matMulOrdered, rmsNorm, WeightStore } from '../../onnx/ops';
import { contextLength, edgeCut, rowGrouping, rowInputs, sameShape, toSlots, withContext } from '../layerIo';
import type { LayerIo, LayerOutputNames, StepIo, StepOut } from '../types';

const END = Number.MAX_SAFE_INTEGER;

/** Layer i's weights as graph initializers, streamed into weights.bin on first use (shared by every graph). */
function mamba1Weights(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType) {
  const c = ckpt.config as Mamba1Config;
  const d = c.dModel, dI = c.dInner, S = c.dState, R = c.dtRank, K = c.dConv;
  const p = `layers.${i}.`;
  const rd = (n: string) => () => ckpt.readF32(p + n);
  const wNorm = store.use(g, `${p}norm.weight`, [d], rd('norm.weight'));
  const wIn = linearWeight(g, store, `${p}in_proj.weight`, d, 2 * dI, rd('mixer.in_proj.weight'), dtype);
  const taps = convTapStack(g, store, (n) => ckpt.readF32(n), p, dI, K); // [K, dI]
  const bConv = store.use(g, `${p}conv1d.bias`, [dI], rd('mixer.conv1d.bias'));
  const wX = linearWeight(g, store, `${p}x_proj.weight`, dI, R + 2 * S, rd('mixer.x_proj.weight'), dtype);
  const wDt = linearWeight(g, store, `${p}dt_proj.weight`, R, dI, rd('mixer.dt_proj.weight'), 'float32');
  const bDt = store.use(g, `${p}dt_proj.bias`, [dI], rd('mixer.dt_proj.bias'));
  const A = store.use(g, `${p}A`, [dI, S], () => ckpt.readF32(p + 'mixer.A_log').map((v) => -Math.exp(v)));
  const Dc = store.use(g, `${p}D`, [dI], rd('mixer.D'));
  const wOut = linearWeight(g, store, `${p}out_proj.weight`, dI, d, rd('mixer.out_proj.weight'), dtype);

  return { wNorm, wIn, taps, bConv, wX, wDt, bDt, A, Dc, wOut };
}

/**
 * The projections and the conv of the suffix rows: what both emitters share (SPEC §2 steps 1-5). `oneRow`: the conv
 * of a single suffix row as one product with the stacked taps (convOneRow; the knockout rows).
 */
function emitInputSide(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo, names: LayerOutputNames, oneRow?: { convMask: string }) {
  const c = ckpt.config as Mamba1Config;
  const dI = c.dInner, S = c.dState, R = c.dtRank, K = c.dConv;
  const out = names.context ?? {};
  const { wNorm, wIn, taps, bConv, wX, wDt, bDt, A, Dc, wOut } = mamba1Weights(g, ckpt, i, store, dtype);

  // 1-2. u = RMSNorm(x)·w ; xz = u · in_projᵀ → x | z
  const u = rmsNorm(g, io.hidden, c.eps, wNorm);
  const [xr, z] = g.op('Split', [linear(g, u, wIn, dtype), g.constI64([dI, dI])], { axis: -1 }, 2);
  if (out.raw) g.n('Identity', [xr], {}, out.raw);
  // 3. causal depthwise conv1d as K shifted multiply-adds, each tap cut where conv_mask is 0 (SPEC §8) ; SiLU
  const xpad = withContext(g, io, 'raw', xr, K - 1);
  const conv = oneRow ? convOneRow(g, xpad, taps, bConv, oneRow.convMask) : causalConv(g, xpad, taps, K, bConv, io.convMask);
  const xc = g.n('Mul', [conv, g.n('Sigmoid', [conv])], {}, out.x); // [b,m,dI]
  // 4. x_proj → dt | B | C ; Falcon-Mamba: each RMS-normalised without a weight
  let [dtr, Bm, Cm] = g.op('Split', [linear(g, xc, wX, dtype), g.constI64([R, S, S])], { axis: -1 }, 3);
  if (c.mixerRmsEps !== null) {
    dtr = rmsNorm(g, dtr, c.mixerRmsEps);
    Bm = rmsNorm(g, Bm, c.mixerRmsEps);
    Cm = rmsNorm(g, Cm, c.mixerRmsEps);
  }
  if (out.B) g.n('Identity', [Bm], {}, out.B);
  // 5. Δ = softplus(dt · dt_projᵀ + bias)
  const delta = g.n('Softplus', [g.n('Add', [linear(g, dtr, wDt, 'float32'), bDt])], {}, out.delta); // [b,m,dI]

  /** 7. out = (y · SiLU(z)) · out_projᵀ, then the residual; y [b, m, dI] without the D skip */
  const finish = (y: string): string => {
    const yD = g.n('Add', [y, g.n('Mul', [xc, Dc])]);
    const gated = g.n('Mul', [yD, g.n('Mul', [z, g.n('Sigmoid', [z])])]);
    // the mixer output's channels scaled by out_scale (steering, SPEC §5; ones = none), then the residual
    return g.n('Add', [io.hidden, g.n('Mul', [linear(g, gated, wOut, dtype), io.outScale])], {}, names.hiddenOut);
  };
  return { xc, Bm, Cm, delta, A, finish };
}

/** The general layer (suffix on context); see the file comment. */
export function emitMamba1Layer(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo, names: LayerOutputNames = {}): string {
  const c = ckpt.config as Mamba1Config;
  const dI = c.dInner, S = c.dState;
  const { xc, Bm, Cm, delta, A, finish } = emitInputSide(g, ckpt, i, store, dtype, io, names);
  // [b,T,·]: context rows ++ suffix rows (a whole prompt: one all-zero position first)
  const xAll = withContext(g, io, 'x', xc, 1);
  const deltaAll = withContext(g, io, 'delta', delta, 1);
  const BAll = withContext(g, io, 'B', Bm, 1);
  const pre = contextLength(g, io, 'x', 1); // [p]
  const suffixRows = (x: string, axis: number) => g.n('Slice', [x, pre, g.constI64([END]), g.constI64([axis])]);

  // stable segment sums seg[i,j] = Σ_{k=j+1..i} Δ_k (0 for j ≥ i) as a CumSum over rows of the strictly-lower
  // expansion Δ_i·[i > j] (no cs_i − cs_j subtraction), suffix rows kept: [b, dI, m, T]
  const deltaT = g.n('Transpose', [deltaAll], { perm: [0, 2, 1] }); // [b,dI,T]
  // [T,T] j < i and [m,T] j ≤ i of the suffix rows: shapes only (once for the layers of one shape)
  const [strict, causal] = sameShape(io, 'mamba1.causal', () => {
    const T = g.n('Gather', [g.n('Shape', [xAll]), g.constI64([1], [])], { axis: 0 });
    const idx = g.n('Range', [g.constI64([0], []), T, g.constI64([1], [])]);
    const rows = g.n('Unsqueeze', [idx, g.constI64([1])]);
    const cols = g.n('Unsqueeze', [idx, g.constI64([0])]);
    return [g.n('Greater', [rows, cols]), g.n('Cast', [suffixRows(g.n('GreaterOrEqual', [rows, cols]), 0)], { to: DataType.FLOAT })];
  });
  const expand = g.n('Where', [strict, g.n('Unsqueeze', [deltaT, g.constI64([3])]), g.constF32([0], [])]); // [b,dI,T,T]
  const seg = suffixRows(g.n('CumSum', [expand, g.constI64([2], [])]), 2); // [b,dI,m,T]

  // Σ_n C_i[n] B_j[n] exp(A[c,n] seg[i,j]), unrolled over n
  const Bt = g.n('Transpose', [BAll], { perm: [0, 2, 1] }); // [b,S,T]
  let acc: string | undefined;
  for (let n = 0; n < S; n++) {
    const An = g.n('Unsqueeze', [g.n('Slice', [A, g.constI64([n]), g.constI64([n + 1]), g.constI64([1])]), g.constI64([2])]); // [dI,1,1]
    const Cn = g.n('Slice', [Cm, g.constI64([n]), g.constI64([n + 1]), g.constI64([2])]); // [b,m,1]
    const Bn = g.n('Slice', [Bt, g.constI64([n]), g.constI64([n + 1]), g.constI64([1])]); // [b,1,T]
    const CB = g.n('Unsqueeze', [g.n('Mul', [Cn, Bn]), g.constI64([1])]); // [b,1,m,T]
    const term = g.n('Mul', [g.n('Exp', [g.n('Mul', [seg, An])]), CB]);
    acc = acc === undefined ? term : g.n('Add', [acc, term]);
  }
  // α = (Σ_n …) · Δ_j, causal, after the knockout mask, which applies in the channels of unit_mask (all by default):
  // keep_c = 1 − unit_c · (1 − mask)
  // (no mask: every edge kept, keep = causal)
  let keep = causal;
  const cut = edgeCut(g, io); // [b,dI|1,m,T]
  if (cut) keep = g.n('Mul', [g.n('Sub', [g.constF32([1], []), cut]), causal]); // [b,dI,m,T]
  const alpha = g.n('Mul', [g.n('Mul', [acc!, g.n('Unsqueeze', [deltaT, g.constI64([2])])]), keep], {}, names.attention);
  // y_i[c] = Σ_j α_c[i,j] x_j[c], summed over j in order (CumSum, last entry): the zero terms of padded positions
  // then leave it bit for bit (a [T] × [T, 1] MatMul's order depends on T)
  const xT = g.n('Unsqueeze', [g.n('Transpose', [xAll], { perm: [0, 2, 1] }), g.constI64([2])]); // [b,dI,1,T]
  const terms = g.n('CumSum', [g.n('Mul', [alpha, xT]), g.constI64([3], [])]); // [b,dI,m,T]
  const y = g.n('Transpose', [g.n('Squeeze', [g.n('Slice', [terms, g.constI64([-1]), g.constI64([END]), g.constI64([3])]), g.constI64([3])])], { perm: [0, 2, 1] }); // [b,m,dI]
  void dI;
  return finish(y);
}

/** The knockout row (m = 1) on its prompt's clean context; see the file comment. */
export function emitMamba1Row(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo): string {
  const c = ckpt.config as Mamba1Config;
  const dI = c.dInner, S = c.dState;
  const { convMask, ctx, ctxIndex } = rowInputs(io, 'the Mamba-1 row graph', 'mask');
  const mask = io.mask!, unitMask = io.unitMask!; // (rowInputs checked that the row has them)
  const { xc, Bm, Cm, delta, A, finish } = emitInputSide(g, ckpt, i, store, dtype, io, {}, { convMask });
  // per prompt of the call: P[j,c,n] = exp(A[c,n] · Σ_{k=j+1..p−1} Δ_k[c]) · Δ_j[c] x_j[c] · B_j[n], j < p
  const ctxDelta = ctx.delta, ctxX = ctx.x, ctxB = ctx.B; // [C,p,dI], [C,p,dI], [C,p,S]
  const after = g.n('CumSum', [ctxDelta, g.constI64([1], [])], { exclusive: 1, reverse: 1 }); // Σ_{k>j} Δ_k [C,p,dI]
  const decay = g.n('Exp', [g.n('Mul', [g.n('Unsqueeze', [after, g.constI64([3])]), A])]); // [C,p,dI,S]
  const dx = g.n('Unsqueeze', [g.n('Mul', [ctxDelta, ctxX]), g.constI64([3])]); // [C,p,dI,1]
  const P = g.n('Mul', [g.n('Mul', [decay, dx]), g.n('Unsqueeze', [ctxB, g.constI64([2])])]); // [C,p,dI,S]
  const P3 = g.n('Reshape', [P, g.constI64([0, 0, dI * S])]); // [C,p,dI·S]
  // each row's mask over the prefix, in its prompt's grid of R slots (row r: slot prompt(r)·R + its rank among its
  // prompt's rows; empty slots stay 0 and their products are dropped), so that a row's sum over the sources is one
  // product of its prompt's p sources (K = p, whatever the other prompts of the call: the same order alone or batched)
  const pre = contextLength(g, io, 'x', 1); // [p]
  const grouping = io.grouping ?? rowGrouping(g, ctxIndex, g.n('Gather', [g.n('Shape', [ctxX]), g.constI64([0])], { axis: 0 })); // of the C prompts
  const maskPre = g.n('Slice', [mask, g.constI64([0]), pre, g.constI64([2])]); // [b,1,p]
  const maskLast = g.n('Slice', [mask, pre, g.constI64([END]), g.constI64([2])]); // [b,1,1]
  const one = g.constF32([1], []);
  const byPrompt = toSlots(g, grouping, g.n('Squeeze', [maskPre, g.constI64([1])]), 2); // [C,R,p]
  const hGrid = g.n('Reshape', [matMulOrdered(g, byPrompt, P3, 3), g.constI64([-1, dI * S])]); // [C·R, dI·S]
  const unit = g.n('Unsqueeze', [unitMask, g.constI64([2])]); // [b,dI,1]
  const hKept = g.n('Reshape', [g.n('Gather', [hGrid, grouping.slot], { axis: 0 }), g.constI64([-1, dI, S])]); // [b,dI,S]
  // the prompt's total Σ_j P[j] (every source kept: the units outside the feature group), summed over j in order
  // (CumSum, last entry: a left-padded zero row of P leaves it bit for bit; ReduceSum's order depends on p)
  const Ptot = g.n('Squeeze', [g.n('Slice', [g.n('CumSum', [P, g.constI64([1], [])]), g.constI64([-1]), g.constI64([END]), g.constI64([1])]), g.constI64([1])]); // [C,dI,S]
  const hAll = g.n('Gather', [Ptot, ctxIndex], { axis: 0 }); // [b,dI,S]
  const hPre = g.n('Add', [g.n('Mul', [unit, hKept]), g.n('Mul', [g.n('Sub', [one, unit]), hAll])]); // [b,dI,S]
  const keepLast = g.n('Sub', [one, g.n('Mul', [unit, g.n('Sub', [one, maskLast])])]); // [b,dI,1]
  // the state the last position reads: exp(A Δ_last) · Σ_{j<last} keep_j P_j + keep_last · Δ_last x_last B_last
  const dl = g.n('Reshape', [delta, g.constI64([-1, dI, 1])]); // [b,dI,1]
  const xl = g.n('Reshape', [xc, g.constI64([-1, dI, 1])]);
  const Bl = g.n('Reshape', [Bm, g.constI64([-1, 1, S])]);
  const own = g.n('Mul', [g.n('Mul', [g.n('Mul', [dl, xl]), Bl]), keepLast]); // [b,dI,S]
  const state = g.n('Add', [g.n('Mul', [g.n('Exp', [g.n('Mul', [dl, A])]), hPre]), own]);
  const y = g.n('Reshape', [g.n('MatMul', [state, g.n('Reshape', [Cm, g.constI64([-1, S, 1])])]), g.constI64([-1, 1, dI])]); // [b,1,dI]
  return finish(y);
}

/**
 * One position of layer i in RECURRENT form, for generation (SPEC §2 as the selective scan): the conv state holds the
 * conv inputs of the K−1 previous positions, the SSM state h [dInner, S]; h ← exp(Δ·A)·h + Δ·x·B, y = h·C + D·x.
 * Inputs hidden [b, d], conv_state [b, K−1, dInner], ssm_state [b, dInner, S], out_scale [d].
 */
export function emitMamba1Step(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: StepIo): StepOut {
  const c = ckpt.config as Mamba1Config;
  const dI = c.dInner, S = c.dState, R = c.dtRank, K = c.dConv;
  const { wNorm, wIn, taps, bConv, wX, wDt, bDt, A, Dc, wOut } = mamba1Weights(g, ckpt, i, store, dtype);
  const u = rmsNorm(g, io.hidden, c.eps, wNorm);
  const [xr, z] = g.op('Split', [linear(g, u, wIn, dtype), g.constI64([dI, dI])], { axis: -1 }, 2); // [b,dI]
  const xpad = g.n('Concat', [io.convState, g.n('Unsqueeze', [xr, g.constI64([1])])], { axis: 1 }); // [b,K,dI]
  const convState = g.n('Slice', [xpad, g.constI64([1]), g.constI64([K]), g.constI64([1])]);
  const conv = g.n('Squeeze', [causalConv(g, xpad, taps, K, bConv), g.constI64([1])]); // [b,dI]
  const xc = g.n('Mul', [conv, g.n('Sigmoid', [conv])]); // [b,dI]
  let [dtr, Bm, Cm] = g.op('Split', [linear(g, xc, wX, dtype), g.constI64([R, S, S])], { axis: -1 }, 3);
  if (c.mixerRmsEps !== null) {
    dtr = rmsNorm(g, dtr, c.mixerRmsEps);
    Bm = rmsNorm(g, Bm, c.mixerRmsEps);
    Cm = rmsNorm(g, Cm, c.mixerRmsEps);
  }
  const delta = g.n('Softplus', [g.n('Add', [linear(g, dtr, wDt, 'float32'), bDt])]); // [b,dI]
  const d3 = g.n('Unsqueeze', [delta, g.constI64([2])]); // [b,dI,1]
  const x3 = g.n('Unsqueeze', [xc, g.constI64([2])]);
  const ssmState = g.n('Add', [g.n('Mul', [g.n('Exp', [g.n('Mul', [d3, A])]), io.ssmState]), g.n('Mul', [g.n('Mul', [d3, x3]), g.n('Unsqueeze', [Bm, g.constI64([1])])])]); // [b,dI,S]
  const y = g.n('Add', [g.n('Squeeze', [g.n('MatMul', [ssmState, g.n('Unsqueeze', [Cm, g.constI64([2])])]), g.constI64([2])]), g.n('Mul', [xc, Dc])]); // [b,dI]
  const gated = g.n('Mul', [y, g.n('Mul', [z, g.n('Sigmoid', [z])])]);
  const hidden = g.n('Add', [io.hidden, g.n('Mul', [linear(g, gated, wOut, dtype), io.outScale])]);
  return { hidden, convState, ssmState };
}
