// The clean context of the last-position fast path: per layer, the per-position values the last position reads of
// the earlier ones (the family's contextSpec: `conv` tensors keep the K−1 positions before the last, `prefix` tensors
// positions 0 … n−2), stored for every prompt of a clean run and cut into the subsets a call needs.
import { familyOf } from '../arch/index';
import type { ContextTensorSpec, LayerContextBatch, LayerContextRows, ModelConfig } from '../types';

function rowsOf(c: ModelConfig, s: ContextTensorSpec, n: number): number {
  return s.rows === 'conv' ? c.dConv - 1 : n - 1;
}

export function emptyContext(c: ModelConfig, count: number, n: number): LayerContextBatch {
  const tensors: Record<string, Float32Array> = {};
  for (const s of familyOf(c).contextSpec(c)) tensors[s.name] = new Float32Array(count * rowsOf(c, s, n) * s.width);
  return { count, tensors };
}

/** Keeps, for prompts b0 … b0+B−1, what the last position reads of the earlier ones (zeros before position 0). */
export function storeContext(c: ModelConfig, dst: LayerContextBatch, rows: LayerContextRows, b0: number, B: number, n: number): void {
  const K = c.dConv;
  for (const s of familyOf(c).contextSpec(c)) {
    const src = rows[s.name];
    const out = dst.tensors[s.name];
    const w = s.width;
    for (let b = 0; b < B; b++) {
      const p = b0 + b;
      if (s.rows === 'conv') {
        for (let r = 0; r < K - 1; r++) {
          const pos = n - K + r;
          if (pos >= 0) out.set(src.subarray((b * n + pos) * w, (b * n + pos + 1) * w), (p * (K - 1) + r) * w);
        }
      } else {
        out.set(src.subarray(b * n * w, (b * n + n - 1) * w), p * (n - 1) * w);
      }
    }
  }
}

/** The contexts of some prompts (`slotOfPrompt`: prompt → its index in the result), copied out of all prompts' contexts. */
export function contextSubset(c: ModelConfig, all: LayerContextBatch, slotOfPrompt: ReadonlyMap<number, number>, n: number): LayerContextBatch {
  const ctx = emptyContext(c, slotOfPrompt.size, n);
  for (const s of familyOf(c).contextSpec(c)) {
    const per = rowsOf(c, s, n) * s.width;
    const src = all.tensors[s.name];
    const dst = ctx.tensors[s.name];
    for (const [p, slot] of slotOfPrompt) dst.set(src.subarray(p * per, (p + 1) * per), slot * per);
  }
  return ctx;
}
