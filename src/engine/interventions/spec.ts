// THE INTERVENTION SPEC: what a knockout variant changes in the model, compiled in one place into the graph inputs
// (edge keep masks, conv-tap keep masks), with the check of which interventions keep earlier positions clean (the
// condition of the last-position fast path).
//
// - Edge knockout (SPEC §3): the edges (last ← c), c in `blocked`, are cut in every attention unit (Mamba-2 heads,
//   Mamba-1 channels and state entries) of the window's layers start … start+size−1.
// - Conv path (SPEC §8): 'keep' (the papers' semantics) leaves the depthwise conv1d open; 'block' (complete knockout)
//   also zeroes, in the same layers, the conv taps that carry a blocked source c into the last position: tap k of
//   row r reads position r − (K−1) + k, so the source c is cut by tap k = c − r + K − 1 when 0 ≤ r − c ≤ K − 1.
// Both change the last position's row only, so every earlier position stays clean and the fast path holds.

import { UserError } from '../types';

export type ConvPath = 'keep' | 'block';
export const CONV_PATHS: readonly ConvPath[] = ['keep', 'block'];

export interface EdgeKnockout {
  start: number;
  size: number;
  /** blocked source positions c of the edges (last ← c) */
  blocked: readonly number[];
  /** the conv path of the window's layers (default 'keep') */
  conv?: ConvPath;
}

/**
 * Whether an intervention leaves every position before the last exactly as in the clean run (then a variant can
 * carry its last row only, on its prompt's clean context). Edge knockouts of the last row do; an intervention that
 * changes earlier positions (an edge into an earlier row, or a scale applied at every position) would not.
 */
export function keepsEarlierPositionsClean(k: EdgeKnockout): boolean {
  // an EdgeKnockout cuts (last ← c) edges and the last row's conv taps only: true for every value of the type;
  // interventions that reach earlier rows must answer false here and run as full forwards
  void k;
  return true;
}

export function inWindow(k: EdgeKnockout, layer: number): boolean {
  return layer >= k.start && layer < k.start + k.size && k.blocked.length > 0;
}

/** Tap k of row `row` that reads `source`, or −1 when the source is outside the row's conv window. */
export function convTapOf(row: number, source: number, K: number): number {
  const k = source - row + K - 1;
  return k >= 0 && k < K ? k : -1;
}

/**
 * Writes the last row's keep masks of layer `layer` into `mask` (n values at `maskOff`) and, for conv 'block',
 * `conv` (K values at `convOff`); both must be pre-filled with 1. Returns whether anything was cut.
 */
export function writeLastRowMasks(k: EdgeKnockout, layer: number, n: number, K: number, mask: Float32Array, maskOff: number, conv?: Float32Array, convOff = 0): boolean {
  if (!inWindow(k, layer)) return false;
  for (const c of k.blocked) mask[maskOff + c] = 0;
  if (k.conv === 'block' && conv) {
    for (const c of k.blocked) {
      const tap = convTapOf(n - 1, c, K);
      if (tap >= 0) conv[convOff + tap] = 0;
    }
  }
  return true;
}

/** Full [n, n] edge mask and [n, K] conv mask of layer `layer` for one prompt (the naive full forward), or undefined. */
export function fullMasks(k: EdgeKnockout, layer: number, n: number, K: number): { mask: Float32Array; conv?: Float32Array } | undefined {
  const mask = new Float32Array(n * n).fill(1);
  const conv = k.conv === 'block' ? new Float32Array(n * K).fill(1) : undefined;
  if (!writeLastRowMasks(k, layer, n, K, mask, (n - 1) * n, conv, (n - 1) * K)) return undefined;
  return { mask, conv };
}

export function parseConvPath(v: unknown, what = '--conv'): ConvPath {
  if (v === undefined || v === null) return 'keep';
  if (v === 'keep' || v === 'block') return v;
  throw new UserError(`${what} must be keep or block, got ${JSON.stringify(v)}`);
}
