// The clean context of the last-position fast path: per layer, the per-position values the last position reads of
// the earlier ones (the family's contextSpec: `conv` tensors keep the K−1 positions before the last, `prefix` tensors
// positions 0 … n−2), stored for every prompt of a clean run and cut into the subsets a call needs.
//
// Prompts of different lengths: a store (and a call's subset) is `width` positions wide, the longest prompt's length.
// A prompt of n ≤ width tokens holds its n − 1 prefix rows in the LAST n − 1 rows of its slot, after width − n all-zero
// rows (left padding); the subset of a narrower call keeps the last m − 1 rows of each slot. A zero row adds exactly
// nothing in the Mamba families (x = B = 0 and Δ = 0) and is removed from the softmax in attention (by its position,
// LayerIo.positions); the knockout rows also mask it (interventions/spec.ts writePaddedLastRowMasks).
import { familyOf } from '../arch/index';
import type { ContextTensorSpec, LayerContextBatch, LayerContextRows, ModelConfig } from '../types';

function rowsOf(c: ModelConfig, s: ContextTensorSpec, width: number): number {
  return s.rows === 'conv' ? c.dConv - 1 : width - 1;
}

export function emptyContext(c: ModelConfig, count: number, width: number): LayerContextBatch {
  const tensors: Record<string, Float32Array> = {};
  for (const s of familyOf(c).contextSpec(c)) tensors[s.name] = new Float32Array(count * rowsOf(c, s, width) * s.width);
  return { count, tensors };
}

/**
 * Keeps what the last position reads of the earlier ones (zeros before position 0) for the B = slots.length prompts of
 * a layer call, out of its rows [B, callWidth, ·] (item b: a prompt of lengths[b] tokens, right-padded to callWidth),
 * into slot slots[b] of `dst`, a store `width` positions wide (left-padded, see the file comment).
 */
export function storeContext(c: ModelConfig, dst: LayerContextBatch, width: number, rows: LayerContextRows, slots: readonly number[], callWidth: number, lengths: readonly number[]): void {
  const K = c.dConv;
  const B = slots.length;
  for (const s of familyOf(c).contextSpec(c)) {
    const src = rows[s.name];
    const out = dst.tensors[s.name];
    const w = s.width;
    for (let b = 0; b < B; b++) {
      const p = slots[b];
      const n = lengths[b];
      if (!(n >= 1 && n <= callWidth && callWidth <= width)) throw new RangeError(`storeContext: a prompt of ${n} tokens in a call ${callWidth} wide, store ${width} wide`);
      if (s.rows === 'conv') {
        for (let r = 0; r < K - 1; r++) {
          const pos = n - K + r;
          if (pos >= 0) out.set(src.subarray((b * callWidth + pos) * w, (b * callWidth + pos + 1) * w), (p * (K - 1) + r) * w);
        }
      } else {
        out.set(src.subarray(b * callWidth * w, (b * callWidth + n - 1) * w), (p * (width - 1) + width - n) * w);
      }
    }
  }
}

/**
 * The contexts of some prompts (`slotOfPrompt`: prompt → its index in the result), copied out of all prompts' contexts
 * (a store `width` positions wide) into a subset `callWidth` ≤ width positions wide (every prompt of the subset has at
 * most callWidth tokens).
 */
export function contextSubset(c: ModelConfig, all: LayerContextBatch, width: number, slotOfPrompt: ReadonlyMap<number, number>, callWidth: number = width): LayerContextBatch {
  if (callWidth > width) throw new RangeError(`contextSubset: call width ${callWidth} > store width ${width}`);
  const ctx = emptyContext(c, slotOfPrompt.size, callWidth);
  for (const s of familyOf(c).contextSpec(c)) {
    const per = rowsOf(c, s, width) * s.width;
    const keep = rowsOf(c, s, callWidth) * s.width;
    const src = all.tensors[s.name];
    const dst = ctx.tensors[s.name];
    for (const [p, slot] of slotOfPrompt) dst.set(src.subarray((p + 1) * per - keep, (p + 1) * per), slot * keep);
  }
  return ctx;
}
