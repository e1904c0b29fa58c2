// ONNX building blocks shared by every family's graph emitters: the weight store (each tensor written once to
// weights.bin, declared by every graph that uses it), RMSNorm, LayerNorm, Linear (MatMul on [in, out] weights, optional bias, optionally float16), f16 conversion.
import { DataType, GraphBuilder, WeightsFile } from './graph';

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

export function bytesOf(a: Float32Array | Uint16Array): Uint8Array {
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

/**
 * RMSNorm over the last axis: x / sqrt(mean(x²) + eps) (times the weight, when given). The square is Pow(x, 2) so
 * that ONNX Runtime recognises the pattern and runs it as one SimplifiedLayerNormalization kernel (CPU, CUDA; with the
 * residual add before it, SkipSimplifiedLayerNormalization on CUDA): the same formula, one kernel instead of six.
 */
export function rmsNorm(g: GraphBuilder, x: string, eps: number, weight?: string): string {
  const sq = g.n('Pow', [x, g.constF32([2], [])]);
  const ms = g.n('ReduceMean', [sq], { axes: [-1], keepdims: 1 });
  const den = g.n('Sqrt', [g.n('Add', [ms, g.constF32([eps], [])])]);
  const y = g.n('Div', [x, den]);
  return weight ? g.n('Mul', [y, weight]) : y;
}

/** LayerNorm over the last axis (biased variance, as torch): (x − mean) / sqrt(var + eps) · w + b. */
export function layerNorm(g: GraphBuilder, x: string, eps: number, w: string, b: string): string {
  const mu = g.n('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const xc = g.n('Sub', [x, mu]);
  const v = g.n('ReduceMean', [g.n('Mul', [xc, xc])], { axes: [-1], keepdims: 1 });
  return g.n('Add', [g.n('Mul', [g.n('Div', [xc, g.n('Sqrt', [g.n('Add', [v, g.constF32([eps], [])])])]), w]), b]);
}

/**
 * A layer's Linear weight for `linear`, declared [in, out]: the checkpoint's [out, in] (PyTorch Linear layout)
 * transposed once when it is first written (`inOut`: already stored [in, out], GPT-2's Conv1D). Stored so, the product
 * is one MatMul on x of any rank: no Reshape to 2-D and back around it (builder v23; before, Gemm with transB = 1 on
 * [b·m, in] between two Reshapes — on a GPU every node of a layer is a kernel launch or more).
 */
export function linearWeight(g: GraphBuilder, store: WeightStore, name: string, inDim: number, outDim: number, make: () => Float32Array, dtype: ComputeDType, inOut = false): string {
  return store.use(g, name, [inDim, outDim], () => (inOut ? make() : transpose2d(make(), outDim, inDim)), dtype);
}

/**
 * x · W (+ b) for x [..., in] and a weight from `linearWeight` ([in, out]): one MatMul whatever the rank of x, the bias
 * added after the product (in float32). In float16 when asked (inputs, outputs and the bias stay float32).
 */
export function linear(g: GraphBuilder, x: string, w: string, dtype: ComputeDType, bias?: string): string {
  let y = dtype === 'float32' ? g.n('MatMul', [x, w]) : g.n('Cast', [g.n('MatMul', [g.n('Cast', [x], { to: DataType.FLOAT16 }), w])], { to: DataType.FLOAT });
  if (bias) y = g.n('Add', [y, bias]);
  return y;
}

/**
 * x · Wᵀ for x [rows, in] and a weight stored [out, in] (the head's [vocab, d], streamed from the checkpoint in row
 * blocks, never transposed in memory): Gemm with transB = 1. In float16 when asked.
 */
export function linearRows(g: GraphBuilder, x: string, w: string, dtype: ComputeDType): string {
  if (dtype === 'float32') return g.n('Gemm', [x, w], { transB: 1 });
  return g.n('Cast', [g.n('Gemm', [g.n('Cast', [x], { to: DataType.FLOAT16 }), w], { transB: 1 })], { to: DataType.FLOAT });
}


/**
 * Causal depthwise conv1d as K shifted multiply-adds (ORT's CPU grouped Conv with group = C is slow):
 * conv[t] = bias + Σ_k keep[t,k] · tap_k · xpad[t + k] over xpad [b, K−1+m, C] (the K−1 rows before ++ the m rows), giving
 * [b, m, C]. `tapStack` [K, C] (convTapStack; tap k is one Gather of it, which ORT folds into a constant). `convMask`
 * [b, m, K] is keep (0 cuts the tap: the complete knockout of SPEC §8); without it every tap is kept.
 */
export function causalConv(g: GraphBuilder, xpad: string, tapStack: string, K: number, bias: string, convMask?: string): string {
  let conv = bias;
  for (let k = 0; k < K; k++) {
    const shifted = g.n('Slice', [xpad, g.constI64([k]), g.constI64([k === K - 1 ? Number.MAX_SAFE_INTEGER : k - (K - 1)]), g.constI64([1])]);
    let term = g.n('Mul', [shifted, g.n('Gather', [tapStack, g.constI64([k], [])], { axis: 0 })]);
    if (convMask) term = g.n('Mul', [term, g.n('Slice', [convMask, g.constI64([k]), g.constI64([k + 1]), g.constI64([2])])]); // [b,m,1]
    conv = g.n('Add', [conv, term]);
  }
  return conv;
}

/**
 * A depthwise conv1d weight `${prefix}mixer.conv1d.weight` [width, 1, K] as one [K, width] tensor (row k = tap k, which
 * multiplies input t − (K−1) + k), streamed into weights.bin once and declared by every graph that uses it.
 */
export function convTapStack(g: GraphBuilder, store: WeightStore, read: (name: string) => Float32Array, prefix: string, width: number, K: number): string {
  return store.use(g, `${prefix}conv1d.taps`, [K, width], () => {
    const convW = read(`${prefix}mixer.conv1d.weight`);
    const v = new Float32Array(K * width);
    for (let k = 0; k < K; k++) for (let ch = 0; ch < width; ch++) v[k * width + ch] = convW[ch * K + k];
    return v;
  });
}

/**
 * causalConv for ONE row per item (the knockout rows, m = 1): xpad [b, K, C] (the K−1 rows before ++ the row),
 * conv = bias + Σ_k keep[k] · tap_k · xpad[k] as one product with the [K, C] taps, the keep mask [b, 1, K] as a
 * column, and a sum over the K taps: 5 nodes instead of causalConv's 5·K. Returns [b, 1, C]. (The sum runs over the K
 * taps in one reduction, then the bias: the same terms as causalConv in another order, so equal to float32 rounding.)
 */
export function convOneRow(g: GraphBuilder, xpad: string, tapStack: string, bias: string, convMask: string): string {
  const keep = g.n('Transpose', [convMask], { perm: [0, 2, 1] }); // [b,K,1]
  const terms = g.n('Mul', [g.n('Mul', [xpad, tapStack]), keep]); // [b,K,C]
  return g.n('Add', [g.n('ReduceSum', [terms, g.constI64([1])], { keepdims: 1 }), bias]);
}

/**
 * MatMul a · b over the last two axes ([…, m, K] × […, K, N], `rank` the rank of `a`) whose sum over K runs in the
 * same order however many zero terms K holds. ORT's CPU MatMul takes a vector path when `a` has a single row (m = 1),
 * and that path sums in an order that depends on K; so `a` gets one zero row appended for the product, dropped after.
 * Then the zero terms of padded positions (prompts of different lengths in one call, before or after a prompt's own)
 * leave the product bit for bit. The same maths either way; the extra row costs one row of products. `manyRows`: `a`
 * has at least 2 rows in every call (LayerIo.manyRows), so the product takes the matrix path as it is.
 */
export function matMulOrdered(g: GraphBuilder, a: string, b: string, rank: number, manyRows = false): string {
  if (manyRows) return g.n('MatMul', [a, b]);
  const pads = new Array(2 * rank).fill(0);
  pads[rank + rank - 2] = 1; // one row after the last, on axis rank − 2
  const padded = g.n('MatMul', [g.n('Pad', [a, g.constI64(pads)]), b]);
  return g.n('Slice', [padded, g.constI64([0]), g.constI64([-1]), g.constI64([rank - 2])]);
}

