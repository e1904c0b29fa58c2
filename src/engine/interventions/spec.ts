// THE INTERVENTION SPEC: what a knockout variant changes in the model, compiled in one place into the graph inputs
// (edge keep masks, conv-tap keep masks), with the check of which interventions keep earlier positions clean (the
// condition of the last-position fast path).
//
// - Edge knockout (SPEC §3): the edges (last ← c), c in `blocked`, are cut in every attention unit (Mamba-2 heads,
//   Mamba-1 channels and state entries) of the window's layers start … start+size−1.
// - Conv path (SPEC §8): 'keep' (the papers' semantics) leaves the depthwise conv1d open; 'block' (complete knockout)
//   also zeroes, in the same layers, the conv taps that carry a blocked source c into the last position: tap k of
//   row r reads position r − (K−1) + k, so the source c is cut by tap k = c − r + K − 1 when 0 ≤ r − c ≤ K − 1.
// - Feature knockout (SPEC §4): the edge knockout restricted to a subset of the attention units (Mamba-2 heads,
//   Mamba-1 channels): 'only' cuts the edges in the group's units, 'except' in every unit but the group's.
// All of them change the last position's row only, so every earlier position stays clean and the fast path holds.

import { UserError, type ModelConfig } from '../types';
import { familyOf } from '../arch/index';

export type ConvPath = 'keep' | 'block';
export const CONV_PATHS: readonly ConvPath[] = ['keep', 'block'];

export type FeatureMode = 'only' | 'except';
export const FEATURE_MODES: readonly FeatureMode[] = ['only', 'except'];

/** A feature group the edge knockout is restricted to (SPEC §4). */
export interface FeatureSelection {
  /** the group as the user named it (fast, slow, heads:3,5, …); with `mode`, part of the variant's identity */
  name: string;
  mode: FeatureMode;
  /** per layer of the model, the group's units (head or channel indices) */
  units: readonly (readonly number[])[];
}

export interface EdgeKnockout {
  start: number;
  size: number;
  /** blocked source positions c of the edges (last ← c) */
  blocked: readonly number[];
  /** the conv path of the window's layers (default 'keep') */
  conv?: ConvPath;
  /** restrict the edge knockout to a feature group (default: every unit) */
  features?: FeatureSelection;
}

/** Identity of a variant's feature restriction ('' when unrestricted). */
export function featureKey(k: EdgeKnockout): string {
  return k.features ? `${k.features.mode}:${k.features.name}` : '';
}

/**
 * Writes the unit mask of layer `layer` (U values at `off`: 1 where the edge knockout applies, 0 where the unit keeps
 * its edges). Returns false, writing nothing, when the knockout is not restricted (every unit: the graphs' default).
 */
export function writeUnitMask(k: EdgeKnockout, layer: number, U: number, out: Float32Array, off = 0): boolean {
  const f = k.features;
  if (!f) return false;
  const only = f.mode === 'only';
  out.fill(only ? 0 : 1, off, off + U);
  for (const u of f.units[layer] ?? []) out[off + u] = only ? 1 : 0;
  return true;
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
 * `conv` (K values at `convOff`); both must be pre-filled with 1. Returns whether anything was cut. The masks are the
 * same in every layer of the window (the chunk graph sends one window mask per row and relies on it: chunkSweep.ts).
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

/**
 * The last row's keep masks of layer `layer` for a call `width` ≥ n columns wide in which the row's prompt (n tokens)
 * is LEFT-padded (prompts of different lengths in one call): columns 0 … width−n−1 are padding and are written 0 in
 * every layer, the prompt's position c is column width − n + c (its blocked sources shift by the padding), and the conv
 * taps are the prompt's own (they read the K−1 positions before its last, which padding does not move). `mask` holds
 * `width` values at `maskOff`; both masks must be pre-filled with 1. Returns whether the knockout cut anything (the
 * padding alone is not a cut).
 */
export function writePaddedLastRowMasks(k: EdgeKnockout, layer: number, n: number, width: number, K: number, mask: Float32Array, maskOff: number, conv?: Float32Array, convOff = 0): boolean {
  if (!(n >= 1 && n <= width)) throw new RangeError(`writePaddedLastRowMasks: a prompt of ${n} tokens in a call ${width} wide`);
  mask.fill(0, maskOff, maskOff + width - n);
  return writeLastRowMasks(k, layer, n, K, mask, maskOff + width - n, conv, convOff);
}

/**
 * Full [n, n] edge mask, [n, K] conv mask and [U] unit mask of layer `layer` for one prompt (the naive full forward),
 * or undefined outside the window.
 */
export function fullMasks(k: EdgeKnockout, layer: number, n: number, K: number, U: number): { mask: Float32Array; conv?: Float32Array; units?: Float32Array } | undefined {
  const mask = new Float32Array(n * n).fill(1);
  const conv = k.conv === 'block' ? new Float32Array(n * K).fill(1) : undefined;
  if (!writeLastRowMasks(k, layer, n, K, mask, (n - 1) * n, conv, (n - 1) * K)) return undefined;
  const units = new Float32Array(U);
  return { mask, conv, units: writeUnitMask(k, layer, U, units) ? units : undefined };
}

/** --conv as given (default keep); with the model's config, 'block' is refused for a family without a conv path. */
export function parseConvPath(v: unknown, what = '--conv', config?: ModelConfig): ConvPath {
  if (v === undefined || v === null) return 'keep';
  if (v === 'keep' || v === 'block') {
    if (v === 'block' && config && !familyOf(config).convPath) {
      throw new UserError(`${what} block: ${familyOf(config).label(config)} has no conv token path (SPEC §8); attention knockout is already complete there`);
    }
    return v;
  }
  throw new UserError(`${what} must be keep or block, got ${JSON.stringify(v)}`);
}
