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
// Batches are capped (by item count and bytes, with the backend's hints) so memory stays bounded; cancellation is
// checked between batches.
import type { LayerContextBatch, MethodContext, ModelBackend } from '../types';
import { fullMasks } from '../interventions/spec';
import { familyOf } from '../arch/index';
import { emptyContext, storeContext } from './context';
import { probAndArgmax, resultFromLogits, type VariantResult } from './numerics';
import { planVariants, type Variant } from './plan';
import { batchCap, checkCancel, chooseSweep, since } from './sweeps';

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
  n: number;
  prompts: number;
  /** residual stream at each layer boundary: hiddens[j] = input of layer j, [prompts, n, d]; hiddens[L] = output */
  hiddens: Float32Array[];
  /** clean logits at the last position per prompt [prompts, paddedVocab] */
  logits: Float32Array;
  targets: number[];
  baseProbs: number[];
  /** clean argmax per prompt (over the real vocabulary) */
  top1: number[];
  /**
   * per layer, the clean context of the positions before the last for every prompt, when the backend has the
   * last-row fast path (layerLastRow) and prompts have at least 2 tokens
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
  return backend.sweepLastRows ? 'fused' : 'layers';
}

function concatIds(prompts: readonly CleanPrompt[], n: number): Int32Array {
  const ids = new Int32Array(prompts.length * n);
  prompts.forEach((p, i) => ids.set(p.ids, i * n));
  return ids;
}

/**
 * Clean forward of prompts of equal length, keeping the residual at every layer boundary.
 * Prompts are batched (capped like the variants).
 */
export async function cleanForward(backend: ModelBackend, prompts: readonly CleanPrompt[], opts: RunnerOptions = {}): Promise<CleanRun> {
  if (prompts.length === 0) throw new Error('cleanForward: no prompts');
  const n = prompts[0].ids.length;
  for (const p of prompts) if (p.ids.length !== n) throw new Error('cleanForward: prompts must have equal token length');
  const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize } = backend.config;
  const P = prompts.length;
  const tClean = performance.now();
  const hiddens: Float32Array[] = [];
  for (let j = 0; j <= L; j++) hiddens.push(new Float32Array(P * n * d));
  const logits = new Float32Array(P * V);
  const cap = batchCap(backend, n, opts);
  const withContext = (backend.layerLastRow !== undefined || backend.sweepLastRows !== undefined) && n >= 2;
  const contexts = withContext ? Array.from({ length: L }, () => emptyContext(backend.config, P, n)) : undefined;
  for (let b0 = 0; b0 < P; b0 += cap) {
    checkCancel(opts.ctx);
    const part = prompts.slice(b0, b0 + cap);
    const B = part.length;
    let h = await backend.embed(concatIds(part, n), B, n);
    hiddens[0].set(h, b0 * n * d);
    for (let j = 0; j < L; j++) {
      const out = await backend.layer(j, h, B, n, undefined, false, withContext);
      h = out.hidden;
      hiddens[j + 1].set(h, b0 * n * d);
      if (contexts) storeContext(backend.config, contexts[j], out.context!, b0, B, n);
    }
    logits.set(await backend.headLast(h, B, n), b0 * V);
  }
  since(tClean, opts, 'clean forward');
  const targets: number[] = [];
  const baseProbs: number[] = [];
  const top1: number[] = [];
  for (let p = 0; p < P; p++) {
    const first = probAndArgmax(logits, p * V, vocabSize, 0);
    const target = prompts[p].target ?? first.argmax;
    const r = probAndArgmax(logits, p * V, vocabSize, target);
    targets.push(target);
    baseProbs.push(r.prob);
    top1.push(r.argmax);
  }
  return { n, prompts: P, hiddens, logits, targets, baseProbs, top1, contexts };
}

/** Runs the variants on top of a clean run with prefix reuse and batching. Results are in the order of `variants`. */
export async function runVariants(backend: ModelBackend, clean: CleanRun, variants: readonly Variant[], opts: RunnerOptions = {}): Promise<VariantResult[]> {
  const { uniq, slotOf } = planVariants(backend.config, clean.prompts, clean.n, variants);
  const perUniq = uniq.length > 0 ? await chooseSweep(backend, clean, uniq).run(backend, clean, uniq, opts) : [];
  return variants.map((v, i) =>
    slotOf[i] < 0 ? { prob: clean.baseProbs[v.prompt], top1: clean.top1[v.prompt] === clean.targets[v.prompt] } : perUniq[slotOf[i]],
  );
}

/** Clean forward + variants in one call. */
export async function runKnockouts(
  backend: ModelBackend,
  prompts: readonly CleanPrompt[],
  variants: readonly Variant[],
  opts: RunnerOptions = {},
): Promise<{ clean: CleanRun; results: VariantResult[] }> {
  const clean = await cleanForward(backend, prompts, opts);
  const results = await runVariants(backend, clean, variants, opts);
  return { clean, results };
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
