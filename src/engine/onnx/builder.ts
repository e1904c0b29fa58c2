// Builds the ONNX graphs of a checkpoint of any family: one graph per layer (plus, where the family has one, a row
// graph per layer for the last-position fast path), one head graph and one chunk graph, all sharing one external
// weights file `weights.bin` (64-byte aligned offsets, written tensor by tensor). The maths of a layer is the
// family's (src/engine/arch/<family>/graph.ts); this file wires the same graph inputs and outputs for every family.
//
// Layer graph  a suffix of positions on top of a clean context (see LayerIo): a whole prompt, or the last position of
//              a knockout variant (families without a row graph)
//              inputs:  hidden [b, m, d], mask [b, m, T], conv_mask [b, m, K], unit_mask [b, units],
//                       out_scale [d] (steering: the mixer output's channel scales), ctx_<name> (family contextSpec),
//                       ctx_index int64 [b], positions int64 [b, m] (families with usesPositions: each row's absolute
//                       position; a knockout row of a shorter prompt in a call of several lengths has a left-padded
//                       context, see LayerIo.positions)
//              outputs: hidden_out [b, m, d], attention [b, units, m, T] (after the mask), <name>_out [b, m, width]
// Row graph    (families with emitRow) the same inputs with m = 1; output hidden_out
// Head graph   inputs:  hidden float32 [batch, seq, d], target int64 [batch]
//              outputs: logits float32 [batch, paddedVocab] (last position only); max_logit, sum_exp, target_logit [batch]
// Chunk graph  a chunk's clean forward, its knockout rows at the last position and the heads in one graph
//              (onnx/chunkGraph.ts): the clean residuals and contexts and the rows stay on the device. It declares the
//              same weights (same offsets in weights.bin), so it costs no disk, only a second copy in the memory of the
//              provider that loads it.
import type { Checkpoint, ContextTensorSpec, ModelConfig } from '../types';
import { familyOf } from '../arch/index';
import type { LayerIo } from '../arch/types';
import { DataType, GraphBuilder } from './graph';
import { bytesOf, ComputeDType, layerNorm, linearRows, rmsNorm, toF16, WeightStore } from './ops';

export { transpose2d, f32ToF16Bits, toF16, WeightStore } from './ops';
export type { ComputeDType } from './ops';

/** Bump whenever the graphs change: it is part of the cache key. */
export const BUILDER_VERSION = 23;

/** Dims of a context tensor: [contexts, K−1 | prefix, width]. */
function ctxDims(c: ModelConfig, s: ContextTensorSpec, lead: (string | number)[] = []): (string | number)[] {
  return [...lead, 'contexts', s.rows === 'conv' ? c.dConv - 1 : 'prefix', s.width];
}

/** The inputs of a layer or row graph (see the file comment). */
function layerInputs(g: GraphBuilder, c: ModelConfig): LayerIo {
  const hidden = g.input('hidden', DataType.FLOAT, ['batch', 'seq', c.dModel]);
  const mask = g.input('mask', DataType.FLOAT, ['batch', 'seq', 'total']);
  const convMask = g.input('conv_mask', DataType.FLOAT, ['batch', 'seq', c.dConv]);
  const unitMask = g.input('unit_mask', DataType.FLOAT, ['batch', familyOf(c).attentionUnits(c).count]);
  const outScale = g.input('out_scale', DataType.FLOAT, [c.dModel]);
  const ctx: Record<string, string> = {};
  for (const s of familyOf(c).contextSpec(c)) ctx[s.name] = g.input(`ctx_${s.name}`, DataType.FLOAT, ctxDims(c, s));
  const ctxIndex = g.input('ctx_index', DataType.INT64, ['batch']);
  // absolute positions of the suffix rows, per item, for families that read them (rotary embeddings, attention's causal set)
  const positions = familyOf(c).usesPositions ? g.input('positions', DataType.INT64, ['batch', 'seq']) : undefined;
  return { hidden, mask, convMask, unitMask, outScale, ctx, ctxIndex, positions };
}

/** Builds layer `i`'s graph (the family's general layer), its weights written through `store`. */
export function buildLayerGraph(ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const family = familyOf(c);
  const g = new GraphBuilder(`${c.arch}_layer_${i}`);
  const io = layerInputs(g, c);
  const spec = family.contextSpec(c);
  const context: Record<string, string> = {};
  for (const s of spec) context[s.name] = `${s.name}_out`;
  family.graphs.emitLayer(g, ckpt, i, store, dtype, io, { hiddenOut: 'hidden_out', attention: 'attention', context });
  g.output('hidden_out', DataType.FLOAT, ['batch', 'seq', c.dModel]);
  g.output('attention', DataType.FLOAT, ['batch', family.attentionUnits(c).count, 'seq', 'total']);
  for (const s of spec) g.output(`${s.name}_out`, DataType.FLOAT, ['batch', 'seq', s.width]);
  return g.encode(`${family.label(c)} layer ${i} (suffix on a clean context), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/**
 * Builds layer `i`'s recurrent step graph (generation: one position per call).
 * Inputs hidden [b, d], conv_state [b, K−1, width], ssm_state [b, …] (family stateShape), out_scale [d];
 * outputs hidden_out, conv_state_out, ssm_state_out.
 */
export function buildStepGraph(ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const family = familyOf(c);
  if (!family.graphs.emitStep || !family.stateShape) throw new Error(`${family.label(c)} has no recurrent step graph`);
  const st = family.stateShape(c);
  const g = new GraphBuilder(`${c.arch}_step_${i}`);
  const io = {
    hidden: g.input('hidden', DataType.FLOAT, ['batch', c.dModel]),
    convState: g.input('conv_state', DataType.FLOAT, ['batch', ...st.conv]),
    ssmState: g.input('ssm_state', DataType.FLOAT, ['batch', ...st.ssm]),
    outScale: g.input('out_scale', DataType.FLOAT, [c.dModel]),
  };
  const o = family.graphs.emitStep(g, ckpt, i, store, dtype, io);
  g.n('Identity', [o.hidden], {}, 'hidden_out');
  g.n('Identity', [o.convState], {}, 'conv_state_out');
  g.n('Identity', [o.ssmState], {}, 'ssm_state_out');
  g.output('hidden_out', DataType.FLOAT, ['batch', c.dModel]);
  g.output('conv_state_out', DataType.FLOAT, ['batch', ...st.conv]);
  g.output('ssm_state_out', DataType.FLOAT, ['batch', ...st.ssm]);
  return g.encode(`${family.label(c)} layer ${i}, recurrent step (generation), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/** Whether the family has a recurrent step graph per layer (generation one token at a time). */
export function hasStepGraphs(c: ModelConfig): boolean {
  return familyOf(c).graphs.emitStep !== undefined;
}

/** Whether the family has a separate row graph per layer (otherwise the layer graph serves the knockout rows). */
export function hasRowGraphs(c: ModelConfig): boolean {
  return familyOf(c).graphs.emitRow !== undefined;
}

/** Builds layer `i`'s row graph (m = 1 knockout rows; families with emitRow only). */
export function buildRowGraph(ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const family = familyOf(c);
  if (!family.graphs.emitRow) throw new Error(`${family.label(c)} has no row graph`);
  const g = new GraphBuilder(`${c.arch}_row_${i}`);
  const io = layerInputs(g, c);
  g.n('Identity', [family.graphs.emitRow(g, ckpt, i, store, dtype, io)], {}, 'hidden_out');
  g.output('hidden_out', DataType.FLOAT, ['batch', 'seq', c.dModel]);
  return g.encode(`${family.label(c)} layer ${i}, last-position row, builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/** norm_f + (tied) head on the last position. */
export function buildHeadGraph(ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const g = new GraphBuilder(`${c.arch}_head`);
  const hidden = g.input('hidden', DataType.FLOAT, ['batch', 'seq', c.dModel]);
  const target = g.input('target', DataType.INT64, ['batch']);
  const { untied } = emitHead(g, ckpt, store, dtype, hidden, target, true);
  return g.encode(`${familyOf(c).label(c)} head (norm_f + ${untied ? 'lm_head' : 'tied embedding'}), builder v${BUILDER_VERSION}, compute ${dtype}`);
}

/**
 * Appends norm_f + the vocab projection of the last position of `hidden` [batch, seq, d] and the target's softmax
 * statistics, as graph outputs max_logit, sum_exp, target_logit [batch] (and logits [batch, paddedVocab] when asked),
 * their names after `prefix`. Returns the logits of the real vocabulary too ([batch, vocab]).
 */
export function emitHead(g: GraphBuilder, ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType, hidden: string, target: string, withLogits: boolean, prefix = ''): { untied: boolean; real: string } {
  const c = ckpt.config;
  const d = c.dModel, V = c.paddedVocabSize;
  const family = familyOf(c);
  const wNorm = store.use(g, 'norm_f.weight', [d], () => ckpt.readF32('norm_f.weight'));
  const bNorm = family.finalNorm === 'layer' ? store.use(g, 'norm_f.bias', [d], () => ckpt.readF32('norm_f.bias')) : undefined;
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
  const u = bNorm ? layerNorm(g, last, c.eps, wNorm, bNorm) : rmsNorm(g, last, c.eps, wNorm);
  const logits = linearRows(g, u, wHead, dtype);
  if (withLogits) {
    g.n('Identity', [logits], {}, `${prefix}logits`);
    g.output(`${prefix}logits`, DataType.FLOAT, ['batch', V]);
  }
  // the softmax of the target over the real vocabulary, reduced on the device so a knockout sweep need not download
  // [batch, V] logits: p = exp(target_logit − max_logit) / sum_exp, top-1 ⇔ target_logit = max_logit
  const real = g.n('Slice', [logits, g.constI64([0]), g.constI64([c.vocabSize]), g.constI64([1])]);
  const mx = g.n('ReduceMax', [real], { axes: [1], keepdims: 1 });
  g.n('Squeeze', [mx, g.constI64([1])], {}, `${prefix}max_logit`);
  g.output(`${prefix}max_logit`, DataType.FLOAT, ['batch']);
  // each row's terms padded with zeros to a multiple of 16 first: ORT's vectorised sum of a row then adds in the same
  // order wherever the row sits in the batch (with an odd row length the rows sit at differently aligned offsets)
  const extra = (16 - (c.vocabSize % 16)) % 16;
  const terms = g.n('Exp', [g.n('Sub', [real, mx])]);
  g.n('ReduceSum', [extra ? g.n('Pad', [terms, g.constI64([0, 0, 0, extra])]) : terms, g.constI64([1])], { keepdims: 0 }, `${prefix}sum_exp`);
  g.output(`${prefix}sum_exp`, DataType.FLOAT, ['batch']);
  g.n('Squeeze', [g.n('GatherElements', [real, g.n('Unsqueeze', [target, g.constI64([1])])], { axis: 1 }), g.constI64([1])], {}, `${prefix}target_logit`);
  g.output(`${prefix}target_logit`, DataType.FLOAT, ['batch']);
  return { untied, real };
}

export function describeConfig(c: ModelConfig): string {
  return familyOf(c).describe(c);
}
