// Softmax numerics of the experiments, in one place: probabilities over the REAL vocabulary (vocab_size, not the
// padded embedding rows: SPEC §8), in float64.
import type { HeadTargetStats } from '../types';

export interface VariantResult {
  /** softmax probability of the target over the real vocabulary (float64, or float64 from the device's float32 reductions: headLastTarget) */
  prob: number;
  /** whether the target is still the argmax over the real vocabulary */
  top1: boolean;
}

/** Row i of the device-reduced head (HeadTargetStats): p = exp(target − max) / Σ exp(logit − max) in float64, top-1 ⇔ target = max. */
export function resultFromStats(st: HeadTargetStats, i: number): VariantResult {
  return { prob: Math.exp(st.targetLogit[i] - st.maxLogit[i]) / st.sumExp[i], top1: st.targetLogit[i] >= st.maxLogit[i] };
}

/** One logits row's softmax over the real vocabulary [0, vocab): its largest logit, the first index of it, Σ exp(logit − max) in float64. */
export function softmaxStats(logits: ArrayLike<number>, offset: number, vocab: number): { max: number; argmax: number; sum: number } {
  let max = -Infinity;
  let argmax = 0;
  for (let v = 0; v < vocab; v++) {
    const x = logits[offset + v];
    if (x > max) {
      max = x;
      argmax = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  return { max, argmax, sum };
}

/** The probability of `target` from its row's softmaxStats (0 outside the real vocabulary). */
const probOf = (logits: ArrayLike<number>, offset: number, vocab: number, st: { max: number; sum: number }, target: number): number =>
  target >= 0 && target < vocab ? Math.exp(logits[offset + target] - st.max) / st.sum : 0;

/** Softmax probability of `target` over the real vocabulary [0, vocab) in float64, and the argmax. */
export function probAndArgmax(logits: ArrayLike<number>, offset: number, vocab: number, target: number): { prob: number; argmax: number } {
  const st = softmaxStats(logits, offset, vocab);
  return { prob: probOf(logits, offset, vocab, st, target), argmax: st.argmax };
}

/** Result of one logits row for a target. */
export function resultFromLogits(logits: ArrayLike<number>, offset: number, vocab: number, target: number): VariantResult {
  const r = probAndArgmax(logits, offset, vocab, target);
  return { prob: r.prob, top1: r.argmax === target };
}

/** Top-k (id, prob) of one logits row over the real vocabulary. */
export function topK(logits: ArrayLike<number>, offset: number, vocab: number, k: number): { id: number; prob: number }[] {
  const { max, sum } = softmaxStats(logits, offset, vocab);
  const best: { id: number; x: number }[] = [];
  for (let v = 0; v < vocab; v++) {
    const x = logits[offset + v];
    if (best.length < k || x > best[best.length - 1].x) {
      best.push({ id: v, x });
      best.sort((a, b) => b.x - a.x || a.id - b.id);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => ({ id: b.id, prob: Math.exp(b.x - max) / sum }));
}

/** diff% = (p′ − p)/p · 100 (SPEC §3); 0 when p = 0. */
export function diffPct(p: number, pPrime: number): number {
  return p > 0 ? ((pPrime - p) / p) * 100 : 0;
}

/** softmaxStats of a block of rows. */
export interface RowStats {
  max: Float64Array;
  argmax: Int32Array;
  sum: Float64Array;
}

export interface CleanNumbers {
  targets: number[];
  baseProbs: number[];
  top1: number[];
}

/**
 * The clean numbers of P prompts from their last-position logits [P, V]: each prompt's target (its own, or the clean
 * top-1 when it has none), the target's probability and the clean top-1, over the real vocabulary.
 * (softmaxPool.ts: the same on several threads.)
 */
export function cleanNumbers(logits: Float32Array, V: number, vocab: number, wanted: readonly (number | undefined)[]): CleanNumbers {
  return cleanNumbersFromStats(logits, V, vocab, wanted, rowStats(logits, V, vocab, 0, wanted.length));
}

/** softmaxStats of rows [from, to) of logits [·, V] (one pass per row: the sum does not depend on a target). */
export function rowStats(logits: ArrayLike<number>, V: number, vocab: number, from: number, to: number): RowStats {
  const n = to - from;
  const out = { max: new Float64Array(n), argmax: new Int32Array(n), sum: new Float64Array(n) };
  for (let r = 0; r < n; r++) {
    const st = softmaxStats(logits, (from + r) * V, vocab);
    out.max[r] = st.max;
    out.argmax[r] = st.argmax;
    out.sum[r] = st.sum;
  }
  return out;
}

/** cleanNumbers from the rows' softmaxStats. */
export function cleanNumbersFromStats(logits: Float32Array, V: number, vocab: number, wanted: readonly (number | undefined)[], stats: RowStats): CleanNumbers {
  const targets: number[] = [];
  const baseProbs: number[] = [];
  const top1: number[] = [];
  wanted.forEach((want, p) => {
    const st = { max: stats.max[p], sum: stats.sum[p] };
    const target = want ?? stats.argmax[p];
    targets.push(target);
    baseProbs.push(probOf(logits, p * V, vocab, st, target));
    top1.push(stats.argmax[p]);
  });
  return { targets, baseProbs, top1 };
}

/** Whether every value is finite (a padded batch's clean logits: 0 × ∞ is not 0, see cleanForward). */
export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
