// GPT-2 / GPT-NeoX block as ONNX nodes (SPEC §7): a suffix of m positions on the clean context of the p positions
// before it. The context is each earlier position's key and value (keys after the rotary embedding), so a knockout
// row (last ← c) needs only the last position's query on its prompt's clean keys and values: every earlier position
// is untouched by a (last ← c) knockout. A whole prompt is p = 0 context positions (zeroContextRow false).
//
// Attention knockout: a blocked (row ← column) edge, in the heads of unit_mask, has its pre-softmax score removed;
// the row is renormalised over the remaining sources, and a row with every source blocked attends to nothing:
//   keep = causal · (1 − unit·(1 − mask)),  e = exp(s − max_kept s) · keep,  p = e / max(Σ e, tiny).
// p is the attention output (the softmax probabilities of every head).
// `causal` is taken on ABSOLUTE positions (LayerIo.positions [b, m]): column c of item b is position
// c − p + positions[b, 0], kept when 0 ≤ it ≤ the row's position. For a whole prompt (p = 0, positions 0 … m−1) that is
// the usual lower triangle; a knockout row of a prompt shorter than its call's longest has left-padded (all-zero) key
// and value columns at positions below 0, and they leave the softmax exactly (e = 0), whatever the mask or unit mask.
import type { Checkpoint, TransformerConfig } from '../../types';
import { DataType, type GraphBuilder } from '../../onnx/graph';
import { layerNorm, linear, linearWeight, matMulOrdered, type ComputeDType, type WeightStore } from '../../onnx/ops';
import type { LayerIo, LayerOutputNames } from '../types';
import { rotaryTables } from './rotary';
import { edgeCut, leadOf, sameShape, withContext } from '../layerIo';

function gelu(g: GraphBuilder, x: string, kind: TransformerConfig['activation']): string {
  const half = g.n('Mul', [x, g.constF32([0.5], [])]);
  if (kind === 'gelu') return g.n('Mul', [half, g.n('Add', [g.n('Erf', [g.n('Mul', [x, g.constF32([Math.SQRT1_2], [])])]), g.constF32([1], [])])]);
  const x3 = g.n('Mul', [g.n('Mul', [x, x]), x]);
  const inner = g.n('Mul', [g.n('Add', [x, g.n('Mul', [x3, g.constF32([0.044715], [])])]), g.constF32([Math.sqrt(2 / Math.PI)], [])]);
  return g.n('Mul', [half, g.n('Add', [g.n('Tanh', [inner]), g.constF32([1], [])])]);
}

/** Appends block `i` to `g`; returns the residual after it. */
export function emitTransformerLayer(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo, names: LayerOutputNames = {}): string {
  const c = ckpt.config as TransformerConfig;
  const d = c.dModel, H = c.nHead, hd = d / H, F = c.dFf;
  const gpt2 = c.arch === 'gpt2';
  const p = `layers.${i}.`;
  const w = (n: string, dims: number[]) => store.use(g, p + n, dims, () => ckpt.readF32(p + n)); // norms and biases (float32)
  const [ln1, ln2, qkvW, qkvB, oW, oB, upW, upB, downW, downB] = gpt2
    ? ['ln_1', 'ln_2', 'attn.c_attn.weight', 'attn.c_attn.bias', 'attn.c_proj.weight', 'attn.c_proj.bias', 'mlp.c_fc.weight', 'mlp.c_fc.bias', 'mlp.c_proj.weight', 'mlp.c_proj.bias']
    : ['input_layernorm', 'post_attention_layernorm', 'attention.query_key_value.weight', 'attention.query_key_value.bias', 'attention.dense.weight', 'attention.dense.bias', 'mlp.dense_h_to_4h.weight', 'mlp.dense_h_to_4h.bias', 'mlp.dense_4h_to_h.weight', 'mlp.dense_4h_to_h.bias'];
  // x · W + b, W stored [in, out] (GPT-2's Conv1D already is; GPT-NeoX's Linear is transposed once when written)
  const proj = (x: string, weight: string, bias: string, inD: number, outD: number) =>
    linear(g, x, linearWeight(g, store, p + weight, inD, outD, () => ckpt.readF32(p + weight), dtype, gpt2), dtype, w(bias, [outD]));
  const { hidden } = io;
  const out = names.context ?? {};

  // 1. q, k, v of the suffix rows
  const h1 = layerNorm(g, hidden, c.eps, w(`${ln1}.weight`, [d]), w(`${ln1}.bias`, [d]));
  const qkv = proj(h1, qkvW, qkvB, d, 3 * d); // [b,m,3d]
  let q: string, k: string, v: string; // [b,m,H,hd]
  if (gpt2) {
    [q, k, v] = g.op('Split', [qkv, g.constI64([d, d, d])], { axis: -1 }, 3).map((t) => g.n('Reshape', [t, g.constI64([0, 0, H, hd])]));
  } else {
    // GPT-NeoX lays the fused projection out per head as [q | k | v]
    [q, k, v] = g.op('Split', [g.n('Reshape', [qkv, g.constI64([0, 0, H, 3 * hd])]), g.constI64([hd, hd, hd])], { axis: -1 }, 3);
    const { cos, sin, rd } = rotaryTables(c, c.maxPositions);
    if (rd > 0) {
      if (!io.positions) throw new Error('GPT-NeoX layer graphs need the positions input');
      const cosT = store.use(g, 'rotary.cos', [c.maxPositions, rd], () => cos);
      const sinT = store.use(g, 'rotary.sin', [c.maxPositions, rd], () => sin);
      const at = (t: string) => g.n('Unsqueeze', [g.n('Gather', [t, io.positions!], { axis: 0 }), g.constI64([2])]); // [b,m,1,rd]
      const cs = at(cosT), sn = at(sinT);
      const rot = (x: string) => {
        const [r, rest] = rd < hd ? g.op('Split', [x, g.constI64([rd, hd - rd])], { axis: -1 }, 2) : [x, ''];
        const [x1, x2] = g.op('Split', [r, g.constI64([rd / 2, rd / 2])], { axis: -1 }, 2);
        const half = g.n('Concat', [g.n('Neg', [x2]), x1], { axis: -1 });
        const y = g.n('Add', [g.n('Mul', [r, cs]), g.n('Mul', [half, sn])]);
        return rest ? g.n('Concat', [y, rest], { axis: -1 }) : y;
      };
      q = rot(q);
      k = rot(k);
    }
  }
  const kFlat = g.n('Reshape', [k, g.constI64([0, 0, d])], {}, out.k);
  const vFlat = g.n('Reshape', [v, g.constI64([0, 0, d])], {}, out.v);

  // 2. the T = p + m keys and values: context rows ++ suffix rows
  const kAll = withContext(g, io, 'k', kFlat, 0); // [b,T,d] (a whole prompt: no context rows)
  const vAll = withContext(g, io, 'v', vFlat, 0);
  const heads = (t: string, perm: number[]) => g.n('Transpose', [g.n('Reshape', [t, g.constI64([0, 0, H, hd])])], { perm });
  const Q = g.n('Transpose', [q], { perm: [0, 2, 1, 3] }); // [b,H,m,hd]
  const KT = heads(kAll, [0, 2, 3, 1]); // [b,H,hd,T]
  const V = heads(vAll, [0, 2, 1, 3]); // [b,H,T,hd]
  const s = g.n('Mul', [g.n('MatMul', [Q, KT]), g.constF32([1 / Math.sqrt(hd)], [])]); // [b,H,m,T]

  // 3. keep = causal · (1 − unit·(1 − mask)); softmax over the kept sources, 0 for a row with none. causal on absolute
  //    positions (see the file comment): column c of item b is position c − p + positions[b, 0]
  if (!io.positions) throw new Error('transformer layer graphs need the positions input');
  const positions = io.positions;
  // from the shapes and positions only (once for the layers that share them: the same positions, the same shapes)
  const causal = sameShape(io, 'transformer.causal', () => {
    const T = g.n('Gather', [g.n('Shape', [kAll]), g.constI64([1], [])], { axis: 0 });
    const m = g.n('Gather', [leadOf(g, io), g.constI64([1], [])], { axis: 0 });
    const pre = g.n('Sub', [T, m]);
    const first = g.n('Sub', [g.n('Slice', [positions, g.constI64([0]), g.constI64([1]), g.constI64([1])]), pre]); // [b,1] position of column 0
    const colPos = g.n('Unsqueeze', [g.n('Add', [g.n('Unsqueeze', [g.n('Range', [g.constI64([0], []), T, g.constI64([1], [])]), g.constI64([0])]), first]), g.constI64([1])]); // [b,1,T]
    const rowPos = g.n('Unsqueeze', [positions, g.constI64([2])]); // [b,m,1]
    const inPrompt = g.n('GreaterOrEqual', [colPos, g.constI64([0], [])]);
    return g.n('Unsqueeze', [g.n('Cast', [g.n('And', [inPrompt, g.n('LessOrEqual', [colPos, rowPos])])], { to: DataType.FLOAT }), g.constI64([1])]); // [b,1,m,T]
  });
  // (no mask: every edge kept, keep = causal)
  let keep = causal;
  const cut = edgeCut(g, io); // [b,H|1,m,T]
  if (cut) keep = g.n('Mul', [g.n('Sub', [g.constF32([1], []), cut]), causal]); // [b,H,m,T]
  const kept = g.n('Greater', [keep, g.constF32([0.5], [])]);
  const sKept = g.n('Where', [kept, s, g.constF32([-3.0e38], [])]);
  const mx = g.n('ReduceMax', [sKept], { axes: [-1], keepdims: 1 });
  const e = g.n('Mul', [g.n('Exp', [g.n('Sub', [sKept, mx])]), keep]);
  // Σ e as the last entry of a running sum over the sources (ORT's CumSum adds them in order, so the zero terms of
  // padded columns, before or after a prompt's own, leave it bit for bit; ReduceSum's vectorised order depends on T)
  const z = g.n('Max', [g.n('Slice', [g.n('CumSum', [e, g.constI64([3], [])]), g.constI64([-1]), g.constI64([Number.MAX_SAFE_INTEGER]), g.constI64([3])]), g.constF32([1e-30], [])]);
  const P = g.n('Div', [e, z], {}, names.attention); // [b,H,m,T]

  // 4. attention output, projected, scaled by out_scale (steering, SPEC §5; ones = none)
  // (the sum over the T sources in their order: padded zero columns leave it bit for bit)
  const o = g.n('Reshape', [g.n('Transpose', [matMulOrdered(g, P, V, 4, io.manyRows)], { perm: [0, 2, 1, 3] }), g.constI64([0, 0, d])]); // [b,m,d]
  const a = g.n('Mul', [proj(o, oW, oB, d, d), io.outScale]);

  // 5. MLP and the residual: GPT-2 and sequential GPT-NeoX x' = x + a, x' + mlp(ln2(x')); parallel x + a + mlp(ln2(x))
  const mlp = (x: string) => {
    const u = layerNorm(g, x, c.eps, w(`${ln2}.weight`, [d]), w(`${ln2}.bias`, [d]));
    const up = gelu(g, proj(u, upW, upB, d, F), c.activation);
    return proj(up, downW, downB, F, d);
  };
  if (!gpt2 && c.parallelResidual) return g.n('Add', [g.n('Add', [hidden, a]), mlp(hidden)], {}, names.hiddenOut);
  const x1 = g.n('Add', [hidden, a]);
  return g.n('Add', [x1, mlp(x1)], {}, names.hiddenOut);
}
