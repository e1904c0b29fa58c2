// Helpers on LayerIo shared by the family emitters.
import type { LayerIo } from './types';
import { DataType, type GraphBuilder } from '../onnx/graph';

/**
 * The knockout inputs of a row emitter (m = 1, the last-position fast path): rows always carry their masks and their
 * prompts' contexts; only clean layers (the chunk graph's clean forward) leave them out. Throws, naming the emitter,
 * when one is missing. `masks`: the form in which the emitter reads the edge and unit masks — 'cut' (io.cut / unitCol,
 * falling back on mask / unitMask: edgeCut) or 'mask' (io.mask / unitMask); only that form is read here, since the
 * chunk graph emits each form when it is first read.
 */
export function rowInputs(io: LayerIo, emitter: string, masks: 'cut' | 'mask'): { convMask: string; ctx: Record<string, string>; ctxIndex: string } {
  const { convMask, ctx, ctxIndex } = io;
  const edges = masks === 'cut' ? (io.cut ?? io.mask) && (io.unitCol ?? io.unitMask) : io.mask && io.unitMask;
  if (!edges || !convMask || !ctx || !ctxIndex) throw new Error(`${emitter}: a knockout row needs its masks and its prompt's context`);
  return { convMask, ctx, ctxIndex };
}

/**
 * The cut edges of io's mask in the units of its unit mask, [b, U|1, m, T]: unit · (1 − mask), 1 where an edge is cut
 * (the keep mask of every family is 1 − this, SPEC §4). From io.cut and io.unitCol when the caller has them (the chunk
 * graph computes 1 − mask once for all its layers), else from io.mask and io.unitMask. Undefined without a mask: every
 * edge kept.
 */
export function edgeCut(g: GraphBuilder, io: LayerIo): string | undefined {
  const cut = io.cut ?? (io.mask && g.n('Sub', [g.constF32([1], []), g.n('Unsqueeze', [io.mask, g.constI64([1])])])); // [b,1,m,T]
  if (!cut) return undefined;
  const unit = io.unitCol ?? (io.unitMask && g.n('Unsqueeze', [io.unitMask, g.constI64([2, 3])])); // [b,U,1,1]
  return unit ? g.n('Mul', [cut, unit]) : cut;
}

/**
 * How the knockout rows of a call group by prompt, for row emitters that do a prompt's context work once for all its
 * rows (a row-by-prompt block matrix, or a grid of R slots per prompt).
 */
export interface RowGrouping {
  /** float [b, C]: 1 where row b belongs to prompt c (C: the call's prompts) */
  onehot: string;
  /** int64 [b]: prompt(b)·R + the rank of b among its prompt's rows (rows counted in order) */
  slot: string;
  /** int64 [1]: R, at least the most rows any prompt has */
  perPrompt: string;
  /** int64 [C, R]: the row in each slot of each prompt's grid; empty slots hold at least every layer's row count */
  rowOfSlot: string;
  /** int64 [1]: the rows of this layer (the first ones): a slot of a later row is empty here */
  rows: string;
}

/**
 * The grouping of the rows `ctxIndex` (int64 [b], each row's prompt) among `prompts` (int64 [1], C). A row's rank counts
 * the rows of its prompt before it, so the grouping of the first a rows is the first a entries of the grouping of all
 * rows (with R of all rows): the chunk graph computes it once and slices it per layer (LayerIo.grouping).
 */
export function rowGrouping(g: GraphBuilder, ctxIndex: string, prompts: string): RowGrouping {
  const zero = g.constI64([0]);
  const one = g.constI64([1]);
  const idxCol = g.n('Unsqueeze', [ctxIndex, one]); // [b,1]
  const onehotI = g.n('Cast', [g.n('Equal', [idxCol, g.n('Unsqueeze', [g.n('Range', [g.constI64([0], []), g.n('Squeeze', [prompts, zero]), g.constI64([1], [])]), zero])])], { to: DataType.INT64 }); // [b,C]
  const perPrompt = g.n('ReduceMax', [g.n('ReduceSum', [onehotI, zero], { keepdims: 0 })], { keepdims: 1 }); // [1]
  const rows = g.n('Shape', [ctxIndex]); // [1] b
  const grouping: RowGrouping = lazyGrouping(
    () => g.n('Cast', [onehotI], { to: DataType.FLOAT }),
    () => {
      const rank = g.n('Sub', [g.n('Squeeze', [g.n('GatherElements', [g.n('CumSum', [onehotI, g.constI64([0], [])]), idxCol], { axis: 1 }), one]), g.constI64([1], [])]); // [b]
      return g.n('Add', [g.n('Mul', [ctxIndex, perPrompt]), rank]); // [b]
    },
    perPrompt,
    () => {
      // once per grouping: slot → row, b (no row) where the slot is empty
      const empty = g.n('Expand', [rows, g.n('Mul', [prompts, perPrompt])]); // [C·R]
      const filled = g.n('ScatterND', [empty, g.n('Unsqueeze', [grouping.slot, one]), g.n('Range', [g.constI64([0], []), g.n('Squeeze', [rows, zero]), g.constI64([1], [])])]);
      return g.n('Reshape', [filled, g.n('Concat', [prompts, perPrompt], { axis: 0 })]); // [C,R]
    },
    rows,
  );
  return grouping;
}

/**
 * The rows' values [b, …rest] in their prompts' grids of R slots: [C, R, …rest] (row b at slot prompt(b)·R + its rank;
 * empty slots 0, so their products are dropped when the rows are gathered back by slot). A prompt's rows then share one
 * product with its own context. One Gather from the values with a zero row appended: no shape is computed per layer
 * (on a GPU, a shape computed there is a round trip to the host).
 */
export function toSlots(g: GraphBuilder, grouping: RowGrouping, values: string, rank: number): string {
  const index = g.n('Where', [g.n('Less', [grouping.rowOfSlot, grouping.rows]), grouping.rowOfSlot, grouping.rows]); // [C,R], b = the zero row
  const pads = Array.from({ length: 2 * rank }, (_, i) => (i === rank ? 1 : 0)); // one row after the last, on axis 0
  return g.n('Gather', [g.n('Pad', [values, g.constI64(pads)]), index], { axis: 0 });
}

/**
 * A RowGrouping whose onehot, slot and rowOfSlot are emitted on first use only (a family's row emitter reads one of them, and a
 * node nobody reads would still run).
 */
export function lazyGrouping(onehot: () => string, slot: () => string, perPrompt: string, rowOfSlot: () => string, rows: string): RowGrouping {
  const [o, sl, r] = [once(onehot), once(slot), once(rowOfSlot)];
  return {
    get onehot() {
      return o();
    },
    get slot() {
      return sl();
    },
    perPrompt,
    get rowOfSlot() {
      return r();
    },
    rows,
  };
}

/** `make()` on the first call only, its value after: a tensor emitted when a layer first reads it (a node nobody reads would still run). */
export function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

/** LayerIo.shapes: the values layers of the same shapes share, by key. */
export type ShapeMemo = Map<string, string | string[]>;

/** `make()` once per graph for the layers that share io.shapes (under `key`); without it, `make()` for this layer. */
export function sameShape<T extends string | string[]>(io: LayerIo, key: string, make: () => T): T {
  if (!io.shapes) return make();
  if (!io.shapes.has(key)) io.shapes.set(key, make());
  return io.shapes.get(key) as T;
}

/** int64 [2]: [b, m] of io.hidden, for the products' reshapes (shared by layers of the same shapes). */
export function leadOf(g: GraphBuilder, io: LayerIo): string {
  return sameShape(io, 'lead', () => g.n('Slice', [g.n('Shape', [io.hidden]), g.constI64([0]), g.constI64([2])]));
}

/**
 * The T = p + m rows of context tensor `name` for each item: its context rows (Gather by ctxIndex) ++ the suffix rows
 * [b, m, width]. Without io.ctx (whole prompts from their start): `zeroRows` all-zero rows ++ the suffix, as one Pad
 * (the same tensor as gathering all-zero context rows).
 */
export function withContext(g: GraphBuilder, io: LayerIo, name: string, suffix: string, zeroRows: number): string {
  if (!io.ctx) return zeroRows === 0 ? suffix : g.n('Pad', [suffix, g.constI64([0, zeroRows, 0, 0, 0, 0])]);
  const ctx = io.ctx[name];
  if (!ctx || !io.ctxIndex) throw new Error(`layer graph: no context tensor ${name} or no ctx_index`);
  return g.n('Concat', [g.n('Gather', [ctx, io.ctxIndex], { axis: 0 }), suffix], { axis: 1 });
}

/**
 * p, the context rows of each item (int64 [1]) of 'prefix' context tensor `name`: io.prefixRows, or its axis 1; `zeroRows`
 * without io.ctx.
 */
export function contextLength(g: GraphBuilder, io: LayerIo, name: string, zeroRows: number): string {
  if (!io.ctx) return g.constI64([zeroRows]);
  return io.prefixRows ?? g.n('Gather', [g.n('Shape', [io.ctx[name]]), g.constI64([1])], { axis: 0 });
}
