// The chunk graph: a chunk of prompts' clean forward AND its knockout rows in one ONNX graph, so that one call per
// chunk (or per group of its prompts) does what used to be one call per layer for the clean forward plus one for the
// rows, and the clean residuals and contexts never leave the device (the GPU issue's "fewer, larger calls").
//
// Clean part   the P prompts, right-padded to the call's width W (docs/method.md §3: a padded position is a later one
//              for every real position of its prompt, so it changes nothing there), layer by layer through the family's
//              general layer on the empty / all-zero context of a whole prompt: exactly the layer graphs' calls of
//              cleanForward. The head reads each prompt's own last position (`last`).
// Contexts     what the knockout rows read of the earlier positions (family contextSpec), taken per layer from the
//              clean layer's own context outputs and laid out as the fast path's store (experiments/context.ts): a
//              prompt of n tokens has its n − 1 prefix rows in the LAST n − 1 of W − 1 rows, all-zero rows before them;
//              conv rows are its positions n − K … n − 2 (zero before 0). Gathers and zeros: the same numbers as the copies.
// Filter       a prompt with only_if_top1 = 1 keeps its rows only when its clean top-1 (ArgMax over the real
//              vocabulary, the first largest: numerics.ts probAndArgmax) is its target; the others' rows are dropped
//              (NonZero) before the first layer, so a filtered prompt costs its clean forward only.
// Rows         the knockout rows of the last-position fast path (experiments/sweeps.ts): rows in order of their window's start; layer j computes the first a_j kept rows (a_j = those started by j,
//              at least 1). A row takes the clean residual of its prompt's last position at its start (a Gather from the
//              clean part's layer input) and its own output after that; a row computed before it starts (the one-row
//              minimum) is recomputed from the clean residual at its start, so its early values never matter.
//
// Inputs   hidden [P, W, d] (embedded prompts), last int64 [P] (n − 1), clean_target int64 [P] (−1: the clean top-1),
//          only_if_top1 int64 [P]; starts int64 [R] (non-decreasing), ends int64 [R] (the layer after the row's
//          window), ctx_index int64 [R] (the row's prompt), mask [R, W] (the last row's keep mask in the layers of its
//          window, columns = the W − 1 context rows ++ itself), after_mask [R, W] (the same after its window: the
//          padding columns 0), conv_mask [R, K] (in its window; every tap kept after it), unit_groups [L, G, units],
//          row_group int64 [R], out_scale [L, d] (steering). A row's cut is the same in every layer of its window, so the
//          per-layer masks are built on the device: the host sends R rows of masks, not L · R.
//          The LAST row is always kept (the caller appends a padding row there, so no call is empty).
// Outputs  clean_logits [P, paddedVocab] (and clean_max_logit, clean_sum_exp, clean_target_logit [P]); kept float [P]
//          (1: the prompt's rows ran); max_logit, sum_exp, target_logit [R'] for the kept rows in input order;
//          hidden_1 … hidden_L [P, W, d] (the clean residual after each layer, as the layers leave it: no copy, and
//          none computed for the outputs a call does not fetch; hidden_0 is the input).
import type { Checkpoint } from '../types';
import { familyOf } from '../arch/index';
import type { LayerIo } from '../arch/types';
import { lazyGrouping, once, rowGrouping, type ShapeMemo } from '../arch/layerIo';
import { DataType, GraphBuilder } from './graph';
import type { ComputeDType, WeightStore } from './ops';
import { BUILDER_VERSION, emitHead } from './builder';

export function buildChunkGraph(ckpt: Checkpoint, store: WeightStore, dtype: ComputeDType = 'float32'): Uint8Array {
  const c = ckpt.config;
  const family = familyOf(c);
  const d = c.dModel, K = c.dConv, L = c.nLayer;
  const U = family.attentionUnits(c).count;
  const spec = family.contextSpec(c);
  const emitRow = family.graphs.emitRow ?? family.graphs.emitLayer;
  const g = new GraphBuilder(`${c.arch}_chunk`);
  const i64 = (v: number[]) => g.constI64(v);
  const scalar = (v: number) => g.constI64([v], []);
  const zero = i64([0]);
  const one = i64([1]);

  const hidden0 = g.input('hidden', DataType.FLOAT, ['prompts', 'width', d]);
  const last = g.input('last', DataType.INT64, ['prompts']);
  const cleanTarget = g.input('clean_target', DataType.INT64, ['prompts']);
  const onlyIfTop1 = g.input('only_if_top1', DataType.INT64, ['prompts']);
  const starts = g.input('starts', DataType.INT64, ['rows']);
  const ends = g.input('ends', DataType.INT64, ['rows']);
  const ctxIndex = g.input('ctx_index', DataType.INT64, ['rows']);
  const mask = g.input('mask', DataType.FLOAT, ['rows', 'width']);
  const afterMask = g.input('after_mask', DataType.FLOAT, ['rows', 'width']);
  const convMask = g.input('conv_mask', DataType.FLOAT, ['rows', K]);
  const unitGroups = g.input('unit_groups', DataType.FLOAT, [L, 'groups', U]);
  const rowGroup = g.input('row_group', DataType.INT64, ['rows']);
  const outScale = g.input('out_scale', DataType.FLOAT, [L, d]);

  // shapes of the call
  const shape = g.n('Shape', [hidden0]);
  const P = g.n('Slice', [shape, zero, one]); // [1]
  const W = g.n('Slice', [shape, one, i64([2])]); // [1]
  const Wscalar = g.n('Squeeze', [W, zero]);
  // the whole-prompt inputs of a clean layer call (ortBackend.layer's feeds) without the feeds that change nothing: no
  // masks (every edge, tap and unit kept) and no context (the all-zero rows of a prompt start, LayerIo.ctx): the same
  // numbers as masks of ones and gathered zero rows, without the nodes
  const rangeW = g.n('Range', [scalar(0), Wscalar, scalar(1)]); // [W]
  const cleanPos = family.usesPositions ? g.n('Expand', [g.n('Unsqueeze', [rangeW, zero]), g.n('Concat', [P, W], { axis: 0 })]) : undefined;

  // where each prompt's context rows come from in its flattened clean rows [P·W, width], and which rows are real
  const base = g.n('Unsqueeze', [g.n('Mul', [g.n('Range', [scalar(0), g.n('Squeeze', [P, zero]), scalar(1)]), Wscalar]), one]); // [P,1] p·W
  const lastCol = g.n('Unsqueeze', [last, one]); // [P,1]
  const gatherOf = (rowOffsets: string) => {
    const pos = g.n('Add', [lastCol, g.n('Unsqueeze', [rowOffsets, zero])]); // [P, rows] absolute position of each row
    const valid = g.n('Unsqueeze', [g.n('Greater', [pos, scalar(-1)]), i64([2])]); // [P, rows, 1]
    return { index: g.n('Add', [base, g.n('Max', [pos, scalar(0)])]), valid };
  };
  // prefix row r ∈ [0, W−2] holds position r − (W − 1) + last; conv row r ∈ [0, K−2] position last + 1 − K + r
  const prefixRows = gatherOf(g.n('Sub', [g.n('Range', [scalar(0), g.n('Sub', [Wscalar, scalar(1)]), scalar(1)]), g.n('Sub', [Wscalar, scalar(1)])]));
  const convRows = spec.some((s) => s.rows === 'conv') ? gatherOf(i64(Array.from({ length: K - 1 }, (_, r) => 1 - K + r))) : prefixRows;
  const zeroF = g.constF32([0], []);
  const prefixCount = g.n('Sub', [W, one]); // [1] W − 1: the rows of every prefix context tensor

  const steering = Array.from({ length: L }, (_, j) => g.n('Gather', [outScale, scalar(j)], { axis: 0 })); // [d] per layer

  // clean forward, keeping every layer's residual and the rows' contexts; every clean layer has the same [P, W, d]
  // shapes, so what a layer computes from them alone is computed once (LayerIo.shapes)
  const cleanShapes: ShapeMemo = new Map();
  const hs: string[] = [hidden0];
  const ctxs: Record<string, string>[] = [];
  for (let j = 0; j < L; j++) {
    const names: Record<string, string> = {};
    for (const s of spec) names[s.name] = `clean_${j}_${s.name}`;
    const io: LayerIo = { hidden: hs[j], outScale: steering[j], positions: cleanPos, manyRows: true, shapes: cleanShapes }; // prompts of ≥ 2 tokens (ortBackend.runChunk checks)
    hs.push(family.graphs.emitLayer(g, ckpt, j, store, dtype, io, { context: names, hiddenOut: `hidden_${j + 1}` }));
    g.output(`hidden_${j + 1}`, DataType.FLOAT, ['prompts', 'width', d]);
    const ctx: Record<string, string> = {};
    for (const s of spec) {
      const flat = g.n('Reshape', [names[s.name], i64([-1, s.width])]);
      const at = s.rows === 'conv' ? convRows : prefixRows;
      ctx[s.name] = g.n('Where', [at.valid, g.n('Gather', [flat, at.index], { axis: 0 }), zeroF]);
    }
    ctxs.push(ctx);
  }

  // the clean head at each prompt's last position
  const flatAt = (h: string) => g.n('Reshape', [h, i64([-1, d])]); // [P·W, d]
  const lastFlat = g.n('Add', [g.n('Squeeze', [base, one]), last]); // [P]
  const argTarget = g.n('Max', [cleanTarget, scalar(0)]); // any valid id for the clean stats; the real target is below
  const { real } = emitHead(g, ckpt, store, dtype, g.n('Unsqueeze', [g.n('Gather', [flatAt(hs[L]), lastFlat], { axis: 0 }), one]), argTarget, true, 'clean_');
  const top1 = g.n('ArgMax', [real], { axis: 1, keepdims: 0, select_last_index: 0 }); // [P]
  const target = g.n('Where', [g.n('Less', [cleanTarget, scalar(0)]), top1, cleanTarget]);
  const keptP = g.n('Or', [g.n('Equal', [onlyIfTop1, scalar(0)]), g.n('Equal', [top1, target])]);
  g.n('Cast', [keptP], { to: DataType.FLOAT }, 'kept');
  g.output('kept', DataType.FLOAT, ['prompts']);

  // the kept rows (the last row always), in input order
  const R = g.n('Shape', [starts]);
  const isLast = g.n('Equal', [g.n('Range', [scalar(0), g.n('Squeeze', [R, zero]), scalar(1)]), g.n('Sub', [g.n('Squeeze', [R, zero]), scalar(1)])]);
  const sel = g.n('Squeeze', [g.n('NonZero', [g.n('Or', [g.n('Gather', [keptP, ctxIndex], { axis: 0 }), isLast])]), zero]); // [R']
  const pick = (x: string, axis = 0) => g.n('Gather', [x, sel], { axis });
  const startsK = pick(starts);
  const promptK = pick(ctxIndex);
  const groupK = pick(rowGroup);
  const posK = g.n('Gather', [last, promptK], { axis: 0 }); // each row's absolute position, its prompt's n − 1
  const enterK = g.n('Unsqueeze', [g.n('Add', [g.n('Mul', [promptK, Wscalar]), posK]), one]); // [R', 1] its row in the flattened clean residual
  const targetK = g.n('Gather', [target, promptK], { axis: 0 });
  const posCol = family.usesPositions ? g.n('Unsqueeze', [posK, one]) : undefined; // [R', 1]

  // per layer j: a_j = the rows started by j (at least 1; all of them at the last layer), once for every layer: [L]
  const layerIds = g.constI64(Array.from({ length: L }, (_, j) => j), [L, 1]);
  const layerEnds = g.constI64(Array.from({ length: L }, (_, j) => (j === L - 1 ? L : j + 1)), [L, 1]); // start < this
  const startsRow = g.n('Unsqueeze', [startsK, zero]); // [1, R']
  const active = g.n('Max', [g.n('ReduceSum', [g.n('Cast', [g.n('Less', [startsRow, layerEnds])], { to: DataType.INT64 }), one], { keepdims: 0 }), one]); // [L]
  // start ≥ j: the row (re)enters at layer j; compared per layer on the first a_j starts [a_j, 1, 1] (int64 → bool: no
  // bool tensor is sliced, which WebGPU would do on the host after waiting for the GPU)
  const startsCol = g.n('Unsqueeze', [startsK, i64([1, 2])]); // [R', 1, 1]
  // the rows' grouping by prompt (arch/layerIo.ts), of all kept rows: the first a_j rows' is its first a_j entries
  const grouping = family.graphs.emitRow ? rowGrouping(g, promptK, P) : undefined;
  // masks [L, R', 1, ·]: in the layers of a row's window its window mask, after them its after-window mask (no row runs
  // a layer before its window); a layer's rows are one Gather and one Slice away
  const inWindow = g.n('Unsqueeze', [g.n('Less', [layerIds, g.n('Unsqueeze', [pick(ends), zero])]), i64([2, 3])]); // [L, R', 1, 1]
  const rowsOf = (x: string) => g.n('Unsqueeze', [pick(x), one]); // [R', 1, ·]
  const maskL = g.n('Where', [inWindow, rowsOf(mask), rowsOf(afterMask)]);
  const convL = g.n('Where', [inWindow, rowsOf(convMask), g.constF32([1], [])]);
  // the same in the attention's axes, for the families that read them so (LayerIo.cut / unitCol, edgeCut): 1 − mask
  // [L, R', 1, 1, W] and the unit groups [L, G, U, 1, 1], once for every layer (emitted when a layer reads them)
  const cutL = once(() => g.n('Unsqueeze', [g.n('Sub', [g.constF32([1], []), maskL]), i64([2])]));
  const unitColsL = once(() => g.n('Unsqueeze', [unitGroups, i64([3, 4])]));

  // every kept row's residual [R', 1, d]: layer j replaces the first a_j rows, the later ones keep older values, which
  // no layer reads (a row entering at j takes its clean residual); kept at R' rows, the state needs no per-layer shape
  let state = g.n('Gather', [flatAt(hs[0]), enterK], { axis: 0 });
  let out = state;
  for (let j = 0; j < L; j++) {
    const layerJ = scalar(j);
    // a_j [1] (a Slice per layer: one Split of all L is a WebGPU shader with L + 1 storage buffers, and 16 is the most)
    const a = g.n('Slice', [active, i64([j]), i64([j + 1])]);
    const first = (x: string, axis = 0) => g.n('Slice', [x, zero, a, i64([axis])]);
    const groupJ = once(() => first(groupK));
    const mask_ = once(() => first(g.n('Gather', [maskL, layerJ], { axis: 0 })));
    const cut_ = once(() => first(g.n('Gather', [cutL(), layerJ], { axis: 0 })));
    const unit_ = once(() => g.n('Gather', [g.n('Gather', [unitGroups, layerJ], { axis: 0 }), groupJ()], { axis: 0 }));
    const unitCol_ = once(() => g.n('Gather', [g.n('Gather', [unitColsL(), layerJ], { axis: 0 }), groupJ()], { axis: 0 }));
    const fresh = g.n('Gather', [flatAt(hs[j]), first(enterK)], { axis: 0 }); // [a_j, 1, d] the clean residual at the row's last position
    const io: LayerIo = {
      hidden: g.n('Where', [g.n('GreaterOrEqual', [first(startsCol), layerJ]), fresh, first(state)]), // [a_j, 1, d]
      // each mask in the form the family reads (the others are not emitted)
      get mask() {
        return mask_(); // [a_j, 1, W]
      },
      get cut() {
        return cut_(); // [a_j, 1, 1, W]
      },
      convMask: first(g.n('Gather', [convL, layerJ], { axis: 0 })), // [a_j, 1, K]
      get unitMask() {
        return unit_(); // [a_j, U]
      },
      get unitCol() {
        return unitCol_(); // [a_j, U, 1, 1]
      },
      outScale: steering[j],
      ctx: ctxs[j],
      prefixRows: prefixCount,
      ctxIndex: first(promptK),
      positions: posCol && first(posCol), // [a_j, 1]
      grouping: grouping && lazyGrouping(() => first(grouping.onehot), () => first(grouping.slot), grouping.perPrompt, () => grouping.rowOfSlot, a),
    };
    out = emitRow(g, ckpt, j, store, dtype, io); // [a_j, 1, d]
    if (j < L - 1) state = g.n('Concat', [out, g.n('Slice', [state, a, i64([Number.MAX_SAFE_INTEGER])])], { axis: 0 });
  }
  emitHead(g, ckpt, store, dtype, out, targetK, false); // the last layer runs every kept row
  return g.encode(`${family.label(c)} knockout chunk (clean forward of ${L} layers + knockout rows + heads), builder v${BUILDER_VERSION}, compute ${dtype}`);
}
