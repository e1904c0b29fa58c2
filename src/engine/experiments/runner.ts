// THE FAST KNOCKOUT RUNNER (SPEC §3).
//
// A variant = one prompt + a window (start ℓ, size k) + blocked source positions (+ the conv path): the edges
// (last ← c) are cut in every attention unit of layers ℓ … ℓ+k−1 (interventions/spec.ts). Below its start a variant
// is identical to the clean run, so:
//   1. the clean forward runs once per prompt, keeping the residual stream at every layer boundary (and, for the
//      fast path, the family's clean context of every layer);
//   2. the variants are planned (validated, de-duplicated, grouped by prompt: plan.ts) and swept through the layers
//      by one of the strategies of sweeps.ts (fused / rows / full), which all return one result per variant;
//   3. the vocab projection runs at the last position only; softmax numerics are in numerics.ts.
// Prompts of different token lengths share a run (and its batches): the clean forward pads them on the right, the
// knockout rows pad their contexts on the left; each prompt is read at its own positions, and the padding changes no
// number (cleanForward, sweeps.ts, docs/method.md §3 "Prompts of different lengths in one batch").
// Batches are capped (by item count and bytes, with the backend's hints) so memory stays bounded; cancellation is
// checked between batches.
import type { LayerContextBatch, MethodContext, ModelBackend } from '../types';
import { fullMasks } from '../interventions/spec';
import { familyOf } from '../arch/index';
import { emptyContext, storeContext } from './context';
import { allFinite, resultFromLogits, type VariantResult } from './numerics';
import { cleanNumbersParallel } from './softmaxPool';
import { planVariants, type Variant } from './plan';
import { batchCap, checkCancel, runSweeps, since } from './sweeps';
import { chunkEligible, chunkSweep } from './chunkSweep';

export type { Variant } from './plan';
export type { VariantResult } from './numerics';
export { diffPct, probAndArgmax, topK } from './numerics';
export { batchCap } from './sweeps';

export interface CleanPrompt {
  ids: Int32Array;
  /** target token id; undefined → the clean top-1 */
  target?: number;
}

export interface CleanRun {
  /** the longest prompt's token count: the width of `hiddens` and of the contexts */
  n: number;
  /** the token count of every prompt (prompts of different lengths share a run: see cleanForward) */
  lengths: number[];
  prompts: number;
  /**
   * residual stream at each layer boundary: hiddens[j] = input of layer j, [prompts, n, d]; hiddens[L] = output.
   * Prompt p occupies positions 0 … lengths[p]−1 of its slot; the rest of a shorter prompt's slot is 0 and unused.
   */
  hiddens: Float32Array[];
  /** clean logits at the last position per prompt [prompts, paddedVocab] */
  logits: Float32Array;
  targets: number[];
  baseProbs: number[];
  /** clean argmax per prompt (over the real vocabulary) */
  top1: number[];
  /**
   * per layer, the clean context of the positions before the last for every prompt (n wide, shorter prompts
   * left-padded with zero rows: context.ts), when the backend has the last-row fast path (layerLastRow) and some
   * prompt has at least 2 tokens
   */
  contexts?: LayerContextBatch[];
}

export interface RunnerOptions {
  /** most variants per backend call (default: the backend's hints) */
  maxBatch?: number;
  /** rough byte budget per backend call (default: the backend's hints) */
  maxBatchBytes?: number;
  ctx?: MethodContext;
  /** called after each batch with (layer-steps done, layer-steps total) */
  onStep?: (done: number, total: number) => void;
  /** when given, milliseconds spent per phase are added to it (for the benchmark) */
  profile?: Record<string, number>;
}

/** How a backend sends knockout rows through the layers (Provenance.sweep, SessionInfo.sweep); see sweeps.ts. */
export function sweepInUse(backend: ModelBackend): 'fused' | 'layers' {
  return backend.chunkKnockouts ? 'fused' : 'layers';
}

/**
 * Clean forward of prompts of any token lengths, keeping the residual at every layer boundary (and, for the fast
 * path, every layer's context). Prompts are batched in the given order (capped like the variants); a batch of several
 * lengths is RIGHT-padded to its longest prompt (pad token 0) and each prompt's numbers are read at its own positions:
 * its head and its knockout rows at its own last position n − 1, its context from its positions 0 … n − 2. This is exact
 * in every family, because no position reads a later one (the causal mask of M / α / the softmax, the causal conv, the
 * causal segment sums; docs/method.md §3): a padded position is a later one for every real position of its prompt, so
 * it contributes exactly 0 (0 × a finite value). Should a padded position ever be non-finite (0 × ∞ is not 0), the
 * prompt's logits show it, and that batch is recomputed one length at a time.
 */
export async function cleanForward(backend: ModelBackend, prompts: readonly CleanPrompt[], opts: RunnerOptions = {}): Promise<CleanRun> {
  if (prompts.length === 0) throw new Error('cleanForward: no prompts');
  const lengths = prompts.map((p) => p.ids.length);
  for (const n of lengths) if (!(n >= 1)) throw new Error('cleanForward: a prompt has no token');
  const n = Math.max(...lengths);
  const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize } = backend.config;
  const P = prompts.length;
  const tClean = performance.now();
  const hiddens: Float32Array[] = [];
  for (let j = 0; j <= L; j++) hiddens.push(new Float32Array(P * n * d));
  const logits = new Float32Array(P * V);
  const cap = batchCap(backend, n, opts);
  const withContext = backend.layerLastRow !== undefined && n >= 2;
  const contexts = withContext ? Array.from({ length: L }, () => emptyContext(backend.config, P, n)) : undefined;
  /** one batch (prompt indices); false when a padded batch gave a non-finite logit (see above), nothing kept then */
  const runBatch = async (idx: readonly number[]): Promise<boolean> => {
    const B = idx.length;
    const lens = idx.map((p) => lengths[p]);
    const W = Math.max(...lens);
    const padded = lens.some((x) => x !== W);
    const ids = new Int32Array(B * W); // right padding: token 0
    idx.forEach((p, b) => ids.set(prompts[p].ids, b * W));
    const keep = (j: number, h: Float32Array) => idx.forEach((p, b) => hiddens[j].set(h.subarray(b * W * d, (b * W + lens[b]) * d), p * n * d));
    let h = await backend.embed(ids, B, W);
    keep(0, h);
    for (let j = 0; j < L; j++) {
      const out = await backend.layer(j, h, B, W, undefined, false, withContext);
      h = out.hidden;
      keep(j + 1, h);
      if (contexts) storeContext(backend.config, contexts[j], n, out.context!, idx, W, lens);
    }
    // the head at each prompt's own last position
    const last = new Float32Array(B * d);
    idx.forEach((_, b) => last.set(h.subarray((b * W + lens[b] - 1) * d, (b * W + lens[b]) * d), b * d));
    const lg = await backend.headLast(last, B, 1);
    if (padded && !allFinite(lg.subarray(0, B * V))) return false;
    idx.forEach((p, b) => logits.set(lg.subarray(b * V, (b + 1) * V), p * V));
    return true;
  };
  for (let b0 = 0; b0 < P; b0 += cap) {
    checkCancel(opts.ctx);
    const idx = Array.from({ length: Math.min(cap, P - b0) }, (_, i) => b0 + i);
    if (await runBatch(idx)) continue;
    const byLength = new Map<number, number[]>();
    for (const p of idx) byLength.set(lengths[p], [...(byLength.get(lengths[p]) ?? []), p]);
    for (const group of byLength.values()) await runBatch(group);
  }
  since(tClean, opts, 'clean forward');
  const { targets, baseProbs, top1 } = await cleanNumbersParallel(logits, V, vocabSize, prompts.map((p) => p.target));
  return { n, lengths, prompts: P, hiddens, logits, targets, baseProbs, top1, contexts };
}

/** Runs the variants on top of a clean run with prefix reuse and batching. Results are in the order of `variants`. */
export async function runVariants(backend: ModelBackend, clean: CleanRun, variants: readonly Variant[], opts: RunnerOptions = {}): Promise<VariantResult[]> {
  const { uniq, slotOf } = planVariants(backend.config, clean.lengths, variants);
  const perUniq = uniq.length > 0 ? await runSweeps(backend, clean, uniq, opts) : [];
  return variants.map((v, i) =>
    slotOf[i] < 0 ? { prob: clean.baseProbs[v.prompt], top1: clean.top1[v.prompt] === clean.targets[v.prompt] } : perUniq[slotOf[i]],
  );
}

export interface KnockoutOptions extends RunnerOptions {
  /** keep the clean residual at every layer boundary (CleanRun.hiddens; the chunk path returns none otherwise) */
  keepHiddens?: boolean;
}

/**
 * Clean forward + variants: through chunk calls (chunkSweep.ts: one backend call per group of prompts, the clean
 * contexts staying on the device) where the backend has them and every prompt has an earlier position, else
 * cleanForward + runVariants. Same numbers either way.
 */
export async function runKnockouts(backend: ModelBackend, prompts: readonly CleanPrompt[], variants: readonly Variant[], opts: KnockoutOptions = {}): Promise<{ clean: CleanRun; results: VariantResult[] }> {
  const { clean, results } = await knockouts(backend, prompts, variants, opts, false);
  return { clean, results: results as VariantResult[] };
}

/**
 * As runKnockouts, with the dataset filter: a prompt's variants run only if its clean top-1 is its target (kept[p]);
 * the results of the others' variants are undefined.
 */
export async function runKnockoutsIfTop1(
  backend: ModelBackend,
  prompts: readonly CleanPrompt[],
  variants: readonly Variant[],
  opts: KnockoutOptions = {},
): Promise<{ clean: CleanRun; results: (VariantResult | undefined)[]; kept: boolean[] }> {
  return knockouts(backend, prompts, variants, opts, true);
}

async function knockouts(backend: ModelBackend, prompts: readonly CleanPrompt[], variants: readonly Variant[], opts: KnockoutOptions, onlyIfTop1: boolean) {
  const tPlan = performance.now();
  const { uniq, slotOf } = planVariants(backend.config, prompts.map((p) => p.ids.length), variants);
  since(tPlan, opts, 'plan (JS)');
  const fromClean = (clean: CleanRun, kept: readonly boolean[], perUniq: readonly (VariantResult | undefined)[]) =>
    variants.map((v, i): VariantResult | undefined =>
      !kept[v.prompt] ? undefined : slotOf[i] < 0 ? { prob: clean.baseProbs[v.prompt], top1: clean.top1[v.prompt] === clean.targets[v.prompt] } : perUniq[slotOf[i]],
    );
  if (chunkEligible(backend, prompts, uniq)) {
    const run = await chunkSweep(backend, prompts, uniq, { ...opts, onlyIfTop1 });
    if (run) return { clean: run.clean, results: fromClean(run.clean, run.kept, run.perUniq), kept: run.kept };
  }
  const clean = await cleanForward(backend, prompts, opts);
  const kept = clean.targets.map((t, p) => !onlyIfTop1 || clean.top1[p] === t);
  const mine = uniq.filter((v) => kept[v.prompt]);
  const perMine = mine.length > 0 ? await runSweeps(backend, clean, mine, opts) : [];
  const perUniq: (VariantResult | undefined)[] = [];
  let i = 0;
  for (const v of uniq) perUniq.push(kept[v.prompt] ? perMine[i++] : undefined);
  return { clean, results: fromClean(clean, kept, perUniq), kept };
}

/**
 * The naive way (for tests and the benchmark ratio): one full forward per variant, batch 1, masks inside the window.
 * Targets come from `targets` (per prompt).
 */
export async function runVariantsNaive(
  backend: ModelBackend,
  prompts: readonly CleanPrompt[],
  targets: readonly number[],
  variants: readonly Variant[],
  ctx?: MethodContext,
): Promise<VariantResult[]> {
  const { nLayer: L, vocabSize, dConv: K } = backend.config;
  const U = familyOf(backend.config).attentionUnits(backend.config).count;
  const out: VariantResult[] = [];
  for (const v of variants) {
    checkCancel(ctx);
    const ids = prompts[v.prompt].ids;
    const n = ids.length;
    let h = await backend.embed(ids, 1, n);
    for (let j = 0; j < L; j++) {
      const m = fullMasks(v, j, n, K, U);
      h = (await backend.layer(j, h, 1, n, m?.mask, false, false, m?.conv, m?.units)).hidden;
    }
    const lg = await backend.headLast(h, 1, n);
    out.push(resultFromLogits(lg, 0, vocabSize, targets[v.prompt]));
  }
  return out;
}
