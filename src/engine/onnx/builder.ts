// Builds the ONNX graphs of a Mamba-2 checkpoint (SPEC §1): one graph per layer plus one head graph,
// all sharing one external weights file `weights.bin` (64-byte aligned offsets, written tensor by tensor).
//
// Layer graph  a suffix of positions on top of a clean context (see buildLayerGraph): a whole prompt, or the last
//              position of a knockout variant
//              inputs:  hidden, mask, ctx_raw, ctx_xbc, ctx_delta, ctx_index
//              outputs: hidden_out, attention [batch, H, seq, total] (M after the mask), raw_out, xbc_out, delta_out
// Head graph   inputs:  hidden float32 [batch, seq, d], target int64 [batch]
//              outputs: logits float32 [batch, paddedVocab] (last position only); max_logit, sum_exp, target_logit [batch]
// Sweep graph  every layer and the head in one graph, for knockout rows at the last position (see buildSweepGraph):
//              the residual rows stay on the device from layer to layer. It declares the same weights (same offsets in
//              weights.bin), so it costs no disk, only a second copy in the memory of the provider that loads it.
import type { Checkpoint, Mamba2Config } from '../types';
import { DataType, GraphBuilder, WeightsFile } from './graph';

/** Bump whenever the graphs change: it is part of the cache key. */
export const BUILDER_VERSION = 6;

export type ComputeDType = 'float32' | 'float16';

/** row-major [rows, cols] -> [cols, rows] */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const ro = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = a[ro + c];
      }
    }
  }
  return out;
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** float32 -> IEEE half bits, round to nearest even. */
export function f32ToF16Bits(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
export function toF16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f32ToF16Bits(a[i]);
  return out;
}

function bytesOf(a: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The weights of a cache folder: each tensor is written to weights.bin once, the first time a graph uses it, and every
 * graph that uses it declares the same bytes (location, offset, length).
 */
export class WeightStore {
  private placed = new Map<string, { dataType: number; dims: number[]; where: { offset: number; length: number } }>();
  constructor(readonly wf: WeightsFile) {}

  /** Declares weight `name` in `g`; on first use, `make()` gives its float32 values (stored in `dtype`). */
  use(g: GraphBuilder, name: string, dims: number[], make: () => Float32Array, dtype: ComputeDType = 'float32'): string {
    return this.useWritten(g, name, dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT, dims, () => {
      const data = make();
      return this.wf.append(bytesOf(dtype === 'float16' ? toF16(data) : data));
    });
  }

  /** As `use`, for a weight written by `write` (e.g. streamed in blocks); `write` returns where its bytes went. */
  useWritten(g: GraphBuilder, name: string, dataType: number, dims: number[], write: () => { offset: number; length: number }): string {
    let w = this.placed.get(name);
    if (!w) {
      w = { dataType, dims, where: write() };
      this.placed.set(name, w);
    }
    return g.external(name, w.dataType, w.dims, { location: this.wf.location, ...w.where });
  }
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) (times the weight, when given). */
function rmsNorm(g: GraphBuilder, x: string, eps: number, weight?: string): string {
  const sq = g.n('Mul', [x, x]);
  const ms = g.n('ReduceMean', [sq], { axes: [-1], keepdims: 1 });
  const den = g.n('Sqrt', [g.n('Add', [ms, g.constF32([eps], [])])]);
  const y = g.n('Div', [x, den]);
  return weight ? g.n('Mul', [y, weight]) : y;
}

/**
 * x · Wᵀ for a weight stored as in the checkpoint ([out, in], PyTorch Linear layout): Gemm with transB = 1, so the
 * converter never transposes (it streams the checkpoint's rows straight into weights.bin). A 3-D x [b, n, in] is
 * flattened to [b·n, in] and reshaped back to [b, n, out] (`lead` = Shape(x)[0:2]). In float16 when asked
 * (inputs and outputs stay float32).
 */
function linear(g: GraphBuilder, x: string, w: string, inDim: number, outDim: number, dtype: ComputeDType, lead?: string): string {
  const x2 = lead ? g.n('Reshape', [x, g.constI64([-1, inDim])]) : x;
  let y: string;
  if (dtype === 'float32') y = g.n('Gemm', [x2, w], { transB: 1 });
  else y = g.n('Cast', [g.n('Gemm', [g.n('Cast', [x2], { to: DataType.FLOAT16 }), w], { transB: 1 })], { to: DataType.FLOAT });
  return lead ? g.n('Reshape', [y, g.n('Concat', [lead, g.constI64([outDim])], { axis: 0 })]) : y;
}

/**
 * Builds layer `i`'s graph, its weights written through `store`. Returns the encoded model.
 *
 * The graph computes a SUFFIX of m positions given the clean CONTEXT of the p positions before it (SPEC §1 over the
 * T = p + m positions). Knocking out edges (last ← c) changes row `last` of M only, and positions only see earlier
 * ones, so in a knockout every position before the last stays clean in every layer: a variant needs only its last
 * row (m = 1) on top of its prompt's clean context (p = N − 1). A whole clean forward is the case p = 1 with an all-zero
 * context position (Δ = 0, x = B = 0: it adds exactly nothing), m = N.
 *
 * Inputs:  hidden [b, m, d] (residual at the suffix), mask [b, m, T] (1 keep, 0 block; columns = context ++ suffix),
 *          ctx_raw [c, K−1, convDim] (conv input of the K−1 positions before the suffix, zeros before position 0),
 *          ctx_xbc [c, p, convDim] (conv output, SiLU applied), ctx_delta [c, p, H] (Δ), ctx_index int64 [b] (row of the
 *          context tensors each batch item uses: prompts share their context).
 * Outputs: hidden_out [b, m, d], attention [b, H, m, T] (M after the mask), and this call's own context rows
 *          raw_out [b, m, convDim], xbc_out [b, m, convDim], delta_out [b, m, H].
 */
export function buildLayerGraph(ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const H = c.nHeads, K = c.dConv, d = c.dModel;
  const convDim = c.dInner + 2 * c.nGroups * c.dState;
  const g = new GraphBuilder(`mamba2_layer_${i}`);
  const io: LayerInputs = {
    hidden: g.input('hidden', DataType.FLOAT, ['batch', 'seq', d]),
    mask: g.input('mask', DataType.FLOAT, ['batch', 'seq', 'total']),
    ctxRaw: g.input('ctx_raw', DataType.FLOAT, ['contexts', K - 1, convDim]),
    ctxXbc: g.input('ctx_xbc', DataType.FLOAT, ['contexts', 'prefix', convDim]),
    ctxDelta: g.input('ctx_delta', DataType.FLOAT, ['contexts', 'prefix', H]),
    ctxIndex: g.input('ctx_index', DataType.INT64, ['batch']),
  };
  emitLayer(g, ckpt, i, store, dtype, io, { hiddenOut: 'hidden_out', attention: 'attention', rawOut: 'raw_out', xbcOut: 'xbc_out', deltaOut: 'delta_out' });
  g.output('hidden_out', DataType.FLOAT, ['batch', 'seq', d]);
  g.output('attention', DataType.FLOAT, ['batch', H, 'seq', 'total']);
  g.output('raw_out', DataType.FLOAT, ['batch', 'seq', convDim]);
  g.output('xbc_out', DataType.FLOAT, ['batch', 'seq', convDim]);
  g.output('delta_out', DataType.FLOAT, ['batch', 'seq', H]);
  return g.encode(`Mamba-2 layer ${i} (SPEC §1, suffix on a clean context), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/** The input tensors of one layer (see buildLayerGraph for their shapes). */
export interface LayerInputs {
  hidden: string;
  mask: string;
  ctxRaw: string;
  ctxXbc: string;
  ctxDelta: string;
  ctxIndex: string;
}

/** Names for the tensors a layer produces; fresh names where not given. */
interface LayerOutputNames {
  hiddenOut?: string;
  attention?: string;
  rawOut?: string;
  xbcOut?: string;
  deltaOut?: string;
}

/** Appends layer `i` (SPEC §1, a suffix of positions on a clean context) to `g`; returns the residual after it. */
function emitLayer(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerInputs, names: LayerOutputNames = {}): string {
  const c = ckpt.config;
  const d = c.dModel, dInner = c.dInner, H = c.nHeads, G = c.nGroups, S = c.dState, P = c.headdim, K = c.dConv;
  const convDim = dInner + 2 * G * S;
  const projDim = 2 * dInner + 2 * G * S + H;
  const p = `layers.${i}.`;
  const rd = (n: string) => () => ckpt.readF32(p + n);
  const { hidden, mask, ctxRaw, ctxXbc, ctxDelta, ctxIndex } = io;

  // weights, streamed one by one into weights.bin (on first use)
  const wNorm = store.use(g, `${p}norm.weight`, [d], rd('norm.weight'));
  const wIn = store.use(g, `${p}in_proj.weight`, [projDim, d], rd('mixer.in_proj.weight'), dtype);
  // conv taps as K vectors [convDim] (tap k multiplies input t − (K−1) + k)
  let convW: Float32Array | undefined;
  const taps = Array.from({ length: K }, (_, k) =>
    store.use(g, `${p}conv1d.tap${k}`, [convDim], () => {
      convW ??= ckpt.readF32(p + 'mixer.conv1d.weight');
      const v = new Float32Array(convDim);
      for (let ch = 0; ch < convDim; ch++) v[ch] = convW[ch * K + k];
      return v;
    }),
  );
  const bConv = store.use(g, `${p}conv1d.bias`, [convDim], rd('mixer.conv1d.bias'));
  const dtBias = store.use(g, `${p}dt_bias`, [H], rd('mixer.dt_bias'));
  const A = store.use(g, `${p}A`, [H], () => ckpt.readF32(p + 'mixer.A_log').map((v) => -Math.exp(v)));
  const Dh = store.use(g, `${p}D`, [H, 1, 1], rd('mixer.D'));
  const wGn = store.use(g, `${p}gated_norm.weight`, [dInner], rd('mixer.norm.weight'));
  const wOut = store.use(g, `${p}out_proj.weight`, [d, dInner], rd('mixer.out_proj.weight'), dtype);

  // 1-2. u = RMSNorm(x)·w ; zxbcdt = u · in_projᵀ ; split z | xBC | dt
  const lead = g.n('Slice', [g.n('Shape', [hidden]), g.constI64([0]), g.constI64([2])]); // [batch, seq]
  const u = rmsNorm(g, hidden, c.eps, wNorm);
  const zxbcdt = linear(g, u, wIn, d, projDim, dtype, lead);
  const [z, xBCraw, dt] = g.op('Split', [zxbcdt, g.constI64([dInner, convDim, H])], { axis: -1 }, 3);
  if (names.rawOut) g.n('Identity', [xBCraw], {}, names.rawOut);

  // 3. causal depthwise conv1d + bias ; SiLU, as K shifted multiply-adds on [b, m, C] (ORT's CPU grouped Conv with
  //    group = C is slow): conv[t] = bias + Σ_k tap_k · xpad[t + k], xpad = (K−1 context rows) ++ suffix rows.
  const xpad = g.n('Concat', [g.n('Gather', [ctxRaw, ctxIndex], { axis: 0 }), xBCraw], { axis: 1 });
  let conv = bConv;
  for (let k = 0; k < K; k++) {
    const end = k === K - 1 ? Number.MAX_SAFE_INTEGER : k - (K - 1);
    const shifted = g.n('Slice', [xpad, g.constI64([k]), g.constI64([end]), g.constI64([1])]);
    conv = g.n('Add', [conv, g.n('Mul', [shifted, taps[k]])]);
  }
  const xBC = g.n('Mul', [conv, g.n('Sigmoid', [conv])], {}, names.xbcOut);

  // 5. Δ = softplus(dt + dt_bias)
  const delta = g.n('Softplus', [g.n('Add', [dt, dtBias])], {}, names.deltaOut); // [b,m,H]

  // the T = p + m positions: context rows ++ suffix rows
  const xbcAll = g.n('Concat', [g.n('Gather', [ctxXbc, ctxIndex], { axis: 0 }), xBC], { axis: 1 }); // [b,T,convDim]
  const deltaAll = g.n('Concat', [g.n('Gather', [ctxDelta, ctxIndex], { axis: 0 }), delta], { axis: 1 }); // [b,T,H]
  const pre = g.n('Gather', [g.n('Shape', [ctxXbc]), g.constI64([1])], { axis: 0 }); // [p]
  const suffixRows = (x: string, axis: number) => g.n('Slice', [x, pre, g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([axis])]);

  // 4. split x | B | C ; C is needed at the suffix rows only
  const [xs, Bs] = g.op('Split', [xbcAll, g.constI64([dInner, G * S, G * S])], { axis: -1 }, 3);
  const Cs = g.n('Slice', [xBC, g.constI64([dInner + G * S]), g.constI64([convDim]), g.constI64([2])]);
  const xh = g.n('Transpose', [g.n('Reshape', [xs, g.constI64([0, 0, H, P])])], { perm: [0, 2, 1, 3] }); // [b,H,T,P]
  const Bg = g.n('Transpose', [g.n('Reshape', [Bs, g.constI64([0, 0, G, S])])], { perm: [0, 2, 3, 1] }); // [b,G,S,T]
  const Cg = g.n('Transpose', [g.n('Reshape', [Cs, g.constI64([0, 0, G, S])])], { perm: [0, 2, 1, 3] }); // [b,G,m,S]

  // a = Δ·A as [b,H,T]
  const deltaT = g.n('Transpose', [deltaAll], { perm: [0, 2, 1] }); // [b,H,T]
  const aT = g.n('Transpose', [g.n('Mul', [deltaAll, A])], { perm: [0, 2, 1] }); // [b,H,T]

  // 6. L = exp(segsum) with a STABLE segment sum: seg[i,j] = Σ_{k=j+1..i} a_k computed as a CumSum over rows of the
  //    strictly-lower-triangular expansion a[i]·[i>j] (no cs_i − cs_j subtraction), then the suffix rows are kept.
  //    Causal masking happens BEFORE Exp (Where(causal, seg, −inf)) so no inf·0 NaN can appear.
  const T = g.n('Gather', [g.n('Shape', [xbcAll]), g.constI64([1], [])], { axis: 0 }); // scalar T
  const idx = g.n('Range', [g.constI64([0], []), T, g.constI64([1], [])]);
  const rows = g.n('Unsqueeze', [idx, g.constI64([1])]);
  const cols = g.n('Unsqueeze', [idx, g.constI64([0])]);
  const strict = g.n('Greater', [rows, cols]);
  const causal = suffixRows(g.n('GreaterOrEqual', [rows, cols]), 0); // [m,T]
  const aExp = g.n('Where', [strict, g.n('Unsqueeze', [aT, g.constI64([3])]), g.constF32([0], [])]); // [b,H,T,T]
  const seg = suffixRows(g.n('CumSum', [aExp, g.constI64([2], [])]), 2); // [b,H,m,T]
  const L = g.n('Exp', [g.n('Where', [causal, seg, g.constF32([-Infinity], [])])]);

  // 7. M_h = L_h ∘ (C·B) ∘ mask, head h uses group h // (H/G)
  let CB = g.n('MatMul', [Cg, Bg]); // [b,G,m,T]
  if (G > 1) {
    const hpg = H / G;
    CB = g.n('Gather', [CB, g.constI64(Array.from({ length: H }, (_, h) => Math.floor(h / hpg)))], { axis: 1 }); // [b,H,m,T]
  }
  const maskU = g.n('Unsqueeze', [mask, g.constI64([1])]); // [b,1,m,T]
  const M = g.n('Mul', [g.n('Mul', [L, CB]), maskU], {}, names.attention);

  // 8. y = M (Δ·x) + D·x
  const dx = g.n('Mul', [xh, g.n('Unsqueeze', [deltaT, g.constI64([3])])]); // [b,H,T,P]
  const yh = g.n('Add', [g.n('MatMul', [M, dx]), g.n('Mul', [suffixRows(xh, 2), Dh])]); // [b,H,m,P]
  const y = g.n('Reshape', [g.n('Transpose', [yh], { perm: [0, 2, 1, 3] }), g.constI64([0, 0, dInner])]);

  // 9. gated RMSNorm (norm_before_gate = False), per group of dInner/G channels
  const gz = g.n('Mul', [y, g.n('Mul', [z, g.n('Sigmoid', [z])])]);
  const gzg = G > 1 ? g.n('Reshape', [gz, g.constI64([0, 0, G, dInner / G])]) : gz;
  let gn = rmsNorm(g, gzg, c.eps);
  if (G > 1) gn = g.n('Reshape', [gn, g.constI64([0, 0, dInner])]);
  gn = g.n('Mul', [gn, wGn]);

  // 10. residual
  return g.n('Add', [hidden, linear(g, gn, wOut, dInner, d, dtype, lead)], {}, names.hiddenOut);
}

/** norm_f + (tied) head on the last position. */
export function buildHeadGraph(ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const g = new GraphBuilder('mamba2_head');
  const hidden = g.input('hidden', DataType.FLOAT, ['batch', 'seq', c.dModel]);
  const target = g.input('target', DataType.INT64, ['batch']);
  const { untied } = emitHead(g, ckpt, store, dtype, hidden, target, true);
  return g.encode(`Mamba-2 head (norm_f + ${untied ? 'lm_head' : 'tied embedding'}), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/**
 * Appends norm_f + the vocab projection of the last position of `hidden` [batch, seq, d] and the target's softmax
 * statistics, as graph outputs max_logit, sum_exp, target_logit [batch] (and logits [batch, paddedVocab] when asked).
 */
function emitHead(g: GraphBuilder, ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType, hidden: string, target: string, withLogits: boolean): { untied: boolean } {
  const c = ckpt.config;
  const d = c.dModel, V = c.paddedVocabSize;
  const wNorm = store.use(g, 'norm_f.weight', [d], () => ckpt.readF32('norm_f.weight'));
  const untied = !c.tieEmbeddings && ckpt.tensorNames().includes('lm_head.weight');
  const headName = untied ? 'lm_head.weight' : 'embedding.weight';
  // streamed in row blocks: never the whole [V, d] matrix in memory
  const wHead = store.useWritten(g, 'head.weight', dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT, [V, d], () => {
    const rowsPerBlock = Math.max(1, Math.floor((16 << 20) / d));
    let where: { offset: number; length: number } | undefined;
    for (let r = 0; r < V; r += rowsPerBlock) {
      const block = ckpt.readRowsF32(headName, r, Math.min(rowsPerBlock, V - r));
      const w = store.wf.append(bytesOf(dtype === 'float16' ? toF16(block) : block), r === 0 ? 64 : 1);
      if (!where) where = w;
      else where.length += w.length;
    }
    return where!;
  });
  const last = g.n('Squeeze', [g.n('Slice', [hidden, g.constI64([-1]), g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([1])]), g.constI64([1])]);
  const u = rmsNorm(g, last, c.eps, wNorm);
  const logits = linear(g, u, wHead, d, V, dtype);
  if (withLogits) {
    g.n('Identity', [logits], {}, 'logits');
    g.output('logits', DataType.FLOAT, ['batch', V]);
  }
  // the softmax of the target over the real vocabulary, reduced on the device so a knockout sweep need not download
  // [batch, V] logits: p = exp(target_logit − max_logit) / sum_exp, top-1 ⇔ target_logit = max_logit
  const real = g.n('Slice', [logits, g.constI64([0]), g.constI64([c.vocabSize]), g.constI64([1])]);
  const mx = g.n('ReduceMax', [real], { axes: [1], keepdims: 1 });
  g.n('Squeeze', [mx, g.constI64([1])], {}, 'max_logit');
  g.output('max_logit', DataType.FLOAT, ['batch']);
  g.n('ReduceSum', [g.n('Exp', [g.n('Sub', [real, mx])]), g.constI64([1])], { keepdims: 0 }, 'sum_exp');
  g.output('sum_exp', DataType.FLOAT, ['batch']);
  g.n('Squeeze', [g.n('GatherElements', [real, g.n('Unsqueeze', [target, g.constI64([1])])], { axis: 1 }), g.constI64([1])], {}, 'target_logit');
  g.output('target_logit', DataType.FLOAT, ['batch']);
  return { untied };
}

/**
 * Every layer and the head in one graph, for knockout rows at the last position of prompts of `total` tokens (the
 * rows of ModelBackend.layerLastRow, all layers in one call, so the residual rows never leave the device).
 *
 * Rows are numbered 0 … R−1 in order of the layer where they join (their window's start). Layer j computes the first
 * r_j rows; its input row r is either row r of layer j−1's output (a row that joined before j) or `enter[r]` (a row that
 * joins at j: the clean residual there). `sel_j` [r_j] picks them from Concat(output of layer j−1, enter): index r for
 * the former, r_{j−1} + r for the latter (layer 0 picks from `enter` alone). A row taken before it joins (padding, so
 * that shapes stay few) is recomputed from `enter` when it joins, so its early values never matter.
 *
 * Inputs:  enter [rows, d]; sel_0 … sel_{L−1} int64 [r_j]; mask [L, rows, total] (1 keep, 0 block: the last row of M's
 *          keep mask per layer); ctx_raw [L, contexts, K−1, convDim], ctx_xbc [L, contexts, total−1, convDim],
 *          ctx_delta [L, contexts, total−1, H] (per layer, as in the layer graph); ctx_index int64 [rows]; target
 *          int64 [rows].
 * Outputs: max_logit, sum_exp, target_logit [rows] (as the head graph's).
 */
export function buildSweepGraph(ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const d = c.dModel, H = c.nHeads, K = c.dConv, L = c.nLayer;
  const convDim = c.dInner + 2 * c.nGroups * c.dState;
  const g = new GraphBuilder('mamba2_sweep');
  const enter = g.input('enter', DataType.FLOAT, ['rows', d]);
  const sels = Array.from({ length: L }, (_, j) => g.input(`sel_${j}`, DataType.INT64, [`r_${j}`]));
  const mask = g.input('mask', DataType.FLOAT, [L, 'rows', 'total']);
  const ctxRaw = g.input('ctx_raw', DataType.FLOAT, [L, 'contexts', K - 1, convDim]);
  const ctxXbc = g.input('ctx_xbc', DataType.FLOAT, [L, 'contexts', 'prefix', convDim]);
  const ctxDelta = g.input('ctx_delta', DataType.FLOAT, [L, 'contexts', 'prefix', H]);
  const ctxIndex = g.input('ctx_index', DataType.INT64, ['rows']);
  const target = g.input('target', DataType.INT64, ['rows']);
  const zero = g.constI64([0]);
  const one = g.constI64([1]);
  let prev: string | undefined; // [r_{j−1}, d]
  for (let j = 0; j < L; j++) {
    const rj = g.n('Shape', [sels[j]]); // [r_j]
    const layerJ = g.constI64([j], []);
    const firstRows = (x: string) => g.n('Slice', [x, zero, rj, zero]);
    const pool = prev === undefined ? enter : g.n('Concat', [prev, enter], { axis: 0 });
    const io: LayerInputs = {
      hidden: g.n('Unsqueeze', [g.n('Gather', [pool, sels[j]], { axis: 0 }), one]), // [r_j, 1, d]
      mask: g.n('Unsqueeze', [firstRows(g.n('Gather', [mask, layerJ], { axis: 0 })), one]), // [r_j, 1, total]
      ctxRaw: g.n('Gather', [ctxRaw, layerJ], { axis: 0 }),
      ctxXbc: g.n('Gather', [ctxXbc, layerJ], { axis: 0 }),
      ctxDelta: g.n('Gather', [ctxDelta, layerJ], { axis: 0 }),
      ctxIndex: firstRows(ctxIndex),
    };
    prev = g.n('Squeeze', [emitLayer(g, ckpt, j, store, dtype, io), one]);
  }
  emitHead(g, ckpt, store, dtype, g.n('Unsqueeze', [prev!, one]), target, false);
  return g.encode(`Mamba-2 knockout sweep (all ${L} layers + head at the last position), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

export function describeConfig(c: Mamba2Config): string {
  return `d_model ${c.dModel}, n_layer ${c.nLayer}, vocab ${c.vocabSize} (padded ${c.paddedVocabSize}), d_state ${c.dState}, headdim ${c.headdim}, ngroups ${c.nGroups}`;
}
