// The architecture seam: what a model family (one folder under src/engine/arch/) provides to the rest of the engine.
// Nothing outside a family folder names a family's tensors or config fields; it goes through this interface.
import type { Checkpoint, CheckpointFormat, ContextTensorSpec, ModelConfig } from '../types';
import type { GraphBuilder } from '../onnx/graph';
import type { ComputeDType, WeightStore } from '../onnx/ops';
import type { Json } from './configReader';
import type { RowGrouping, ShapeMemo } from './layerIo';

/**
 * The graph inputs of one layer, as tensor names inside a GraphBuilder. A layer computes a SUFFIX of m positions on
 * the clean CONTEXT of the p positions before it (T = p + m): a whole prompt is m = N positions on p = 1 all-zero context position (families
 * with zeroContextRow) or on none; a knockout row is m = 1 on its prompt's clean context, p = N − 1 (or more: the rows of
 * prompts of different lengths share a call, the shorter ones' contexts left-padded with all-zero rows, mask 0 there).
 */
export interface LayerIo {
  /** [b, m, d] residual at the suffix */
  hidden: string;
  /**
   * [b, m, T] keep mask of the attention edges (row ← column), columns = context ++ suffix. Absent: every edge kept
   * (a clean layer: the same numbers as a mask of ones, without the nodes that apply it).
   */
  mask?: string;
  /** [b, m, dConv] keep mask of the conv taps of each suffix row (SPEC §8); absent: every tap kept */
  convMask?: string;
  /** [b, units] 1 where the edge mask applies, 0 where the unit keeps every edge (feature knockout, SPEC §4); absent: all 1 */
  unitMask?: string;
  /**
   * [b, 1, m, T] 1 − mask, and [b, units, 1, 1] the unit mask, in the axes of the attention: given by a caller that
   * computes them for many layers at once (the chunk graph); read through arch/layerIo.ts edgeCut, which falls back on
   * mask and unitMask.
   */
  cut?: string;
  unitCol?: string;
  /** [d] scale of each channel of the layer's mixer output, before the residual add (steering, SPEC §5; ones = none) */
  outScale: string;
  /**
   * by ContextTensorSpec name: [contexts, K−1 | p, width]. Absent: whole prompts from their start, on the all-zero
   * context of a prompt start (K−1 zero conv rows; the zeroContextRow position), without the gathers.
   */
  ctx?: Record<string, string>;
  /** int64 [b] which context each batch item reads (with ctx) */
  ctxIndex?: string;
  /**
   * int64 [b, m] absolute position of each suffix row (families with usesPositions). The p context columns of item b
   * hold the positions positions[b, 0] − p … positions[b, 0] − 1; those below 0 are LEFT PADDING (a knockout row of a
   * prompt shorter than the call's longest: all-zero context rows, not positions of the item).
   */
  positions?: string;
  /**
   * Every call has m ≥ 2 suffix rows (the chunk graph's whole prompts, of at least 2 tokens). A product over the
   * sources then takes ORT's matrix path as it is, without the padding row of matMulOrdered (which only keeps a
   * single row off the CPU's vector path, whose summation order differs): the same numbers, fewer nodes.
   */
  manyRows?: boolean;
  /**
   * The rows' grouping by prompt (arch/layerIo.ts rowGrouping of ctxIndex), when the caller has it already (the chunk
   * graph computes it once for all its layers); row emitters compute it themselves without it.
   */
  grouping?: RowGrouping;
  /**
   * Shared by layers whose LayerIo tensors have the same shapes (the chunk graph's clean layers: every one on the same
   * [P, W, d] prompts): what a layer computes from those shapes alone (the [b, m] of its products, causal masks) is
   * emitted once for all of them (arch/layerIo.ts sameShape). Absent: each layer computes its own.
   */
  shapes?: ShapeMemo;
  /**
   * int64 [1]: p, the rows of every 'prefix' context tensor in ctx, when the caller knows it (the chunk graph: W − 1
   * in every row layer); otherwise each layer reads it from a context tensor's shape (arch/layerIo.ts contextLength).
   */
  prefixRows?: string;
}

/** Names to give the tensors a layer produces (graph outputs); fresh names where not given. */
export interface LayerOutputNames {
  hiddenOut?: string;
  /** [b, units, m, T] the attention matrices after the mask */
  attention?: string;
  /** by ContextTensorSpec name: this call's own context rows [b, m, width] */
  context?: Record<string, string>;
}

/** The inputs of one layer's recurrent step (generation): one position per call, the states in and out. */
export interface StepIo {
  /** [b, d] */
  hidden: string;
  /** [b, K−1, convWidth] the conv inputs of the K−1 previous positions */
  convState: string;
  /** the SSM state (family stateShape) */
  ssmState: string;
  /** [d] steering scales of the mixer output */
  outScale: string;
}

export interface StepOut {
  hidden: string;
  convState: string;
  ssmState: string;
}

/** A family's graph emitters (SPEC maths as ONNX nodes). Each returns the residual after the layer. */
export interface FamilyGraphs {
  /** the general suffix-on-context layer (whole prompts, attention view, context outputs) */
  emitLayer(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo, names?: LayerOutputNames): string;
  /**
   * Optional: a layer specialised to m = 1 (the knockout rows of the last-position fast path), for families whose
   * general layer is much dearer there. Without it, emitLayer serves the rows (one graph file per layer).
   */
  emitRow?(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: LayerIo): string;
  /** one position in recurrent form (generation), with its conv and SSM states; absent: generation by full forwards */
  emitStep?(g: GraphBuilder, ckpt: Checkpoint, i: number, store: WeightStore, dtype: ComputeDType, io: StepIo): StepOut;
}

/** The float64 oracle of one layer (SPEC maths in plain loops). */
export interface FamilyReference {
  /**
   * One block on float64 hidden [batch, N, d]; mask [batch, N, N] (1 keep, 0 block), convMask [batch, N, dConv].
   * Returns the new hidden and, when asked, the attention [batch, units, N, N] after the mask. Positions start at 0.
   */
  layer64(
    index: number,
    hidden: Float64Array,
    batch: number,
    N: number,
    mask?: ArrayLike<number>,
    wantAttention?: boolean,
    convMask?: ArrayLike<number>,
    unitMask?: ArrayLike<number>,
    outScale?: ArrayLike<number>,
  ): { hidden: Float64Array; attention?: Float64Array };
  dispose(): void;
}

export interface ModelFamily<C extends ModelConfig = ModelConfig> {
  arch: C['arch'];
  /** for messages: 'Mamba-2', 'Mamba-1' (Falcon-Mamba is a Mamba-1 variant) */
  label(c: C): string;
  /** one line for `info`-style output */
  describe(c: C): string;
  /** Normalises config.json (`kind` as the registry detected it); throws UserError naming the file and field. */
  parseConfig(json: Json, file: string, kind: ConfigKind): C;
  /** canonical tensor name → expected shape (lm_head.weight included; the checkpoint drops it when tied) */
  expectedShapes(c: C): Map<string, number[]>;
  /** the key a checkpoint of `format` stores for a canonical name (for "tensor … is missing" errors) */
  storedName(canonical: string, format: CheckpointFormat): string;
  /**
   * The canonical name of a stored tensor key, or null for a stored buffer the family ignores (GPT-2's attn.bias,
   * GPT-NeoX's rotary inv_freq). Absent: the Mamba mapping ("backbone." dropped, embeddings → embedding).
   */
  canonicalName?(key: string): string | null;
  /** the norm before the head: 'rms' (norm_f.weight) or 'layer' (LayerNorm: norm_f.weight and norm_f.bias) */
  finalNorm: 'rms' | 'layer';
  /** canonical name of a learned position table [positions, d] added to the token embedding (GPT-2), if any */
  positionTable?(c: C): string;
  /**
   * whether layer graphs read the absolute positions of their suffix rows (LayerIo.positions): rotary embeddings, and
   * attention, where a left-padded context column must leave the softmax whatever the unit mask says. Families without
   * them (Mamba) need none: a zero context row adds exactly nothing there.
   */
  usesPositions: boolean;
  /**
   * Whole prompts run on one all-zero context position (true: Mamba, whose zero position adds exactly nothing and keeps
   * every context tensor non-empty) or on an empty context (false: attention, where a zero key would take softmax
   * weight).
   */
  zeroContextRow: boolean;
  /** whether the family has the conv token path of SPEC §8 (what `--conv block` removes) */
  convPath: boolean;
  /** what one attention matrix belongs to, and how many there are per layer */
  attentionUnits(c: C): { unit: 'head' | 'channel'; count: number };
  /**
   * Static decay score of every feature of layer `layer` (SPEC §4, input-independent: exp(A) at Δ = 1): Mamba-2 heads
   * exp(−exp(A_log[h])), Mamba-1 channels Σ_n exp(−exp(A_log[c, n])). One per attention unit. Absent for families
   * without a decay (transformers: only explicit head lists are feature groups).
   */
  decayScores?(ckpt: Checkpoint, layer: number): Float64Array;
  /** the per-position values the last position reads of earlier ones (the clean context of the fast path) */
  contextSpec(c: C): ContextTensorSpec[];
  /** the recurrent state of one layer per sequence: conv [K−1, width] and SSM dims (Mamba-2 [H, P, S], Mamba-1 [dInner, S]) */
  stateShape?(c: C): { conv: [number, number]; ssm: number[] };
  /** rough working memory of a whole-prompt layer call per prompt of n tokens, bytes (batch caps) */
  bytesPerItem(c: C, n: number): number;
  /** rough working memory of a last-row call per row for prompts of n tokens, bytes (batch caps) */
  rowBytes(c: C, n: number): number;
  graphs: FamilyGraphs;
  reference(ckpt: Checkpoint): FamilyReference;
}

/** What the registry recognised in a config.json. */
export type ConfigKind = 'state-spaces' | 'hf' | 'hf-falcon';

