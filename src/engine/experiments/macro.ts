// Macro experiment (trace): for each window size k, start ℓ = 0 … L−k and source set X, block (last ← c) for c ∈ X.
import { UserError, type EngineSession, type MethodContext } from '../types';
import type { Curve, MacroWindow, SourceSetName, TraceResult } from './resultTypes';
import { DEFAULT_SETS, resolveSet, type PromptPositions } from './positions';
import { diffPct, runKnockouts, type CleanRun, type RunnerOptions, type Variant, type VariantResult } from './runner';
import { parseConvPath, type ConvPath } from '../interventions/spec';
import { resolveFeatureParams, variantsPerGroup } from './features';
import { checkWindows, defaultMacroWindows, preparePrompt, startsFor } from './common';
import { promptResultHead, promptResultTail } from './promptResult';

export interface TraceParams {
  prompt: string;
  subject: string;
  target?: string;
  /** window sizes; default defaultMacroWindows(L): 9 on models of 24+ layers, else a quarter and a half of the depth */
  windows?: number[];
  sets?: SourceSetName[];
  /** custom sets by name: sets 'custom:<name>' */
  customSets?: Record<string, number[]>;
  maxBatch?: number;
  /** the conv path of the knocked-out layers (SPEC §8): 'keep' (default, the papers') or 'block' (complete knockout) */
  conv?: ConvPath;
  /** feature knockout (SPEC §4): groups all, fast, middle, slow, heads:LIST, channels:LIST (several: each computed in the same call) */
  features?: string | string[];
  /** 'only' (default): cut the edges in the group's features; 'except': in every feature but the group's */
  featureMode?: 'only' | 'except';
}

export interface MacroPlanItem {
  window: number;
  set: SourceSetName;
  start: number;
}

/** Variants of the macro experiment for one prompt (prompt index `p` in the clean run). */
export function macroVariants(
  p: number,
  pos: PromptPositions,
  windows: readonly number[],
  sets: readonly SourceSetName[],
  nLayer: number,
  custom?: Record<string, number[]>,
  conv: ConvPath = 'keep',
): { variants: Variant[]; plan: MacroPlanItem[] } {
  const variants: Variant[] = [];
  const plan: MacroPlanItem[] = [];
  const resolved = sets.map((s) => resolveSet(s, pos, custom));
  for (const k of windows) {
    for (let si = 0; si < sets.length; si++) {
      for (const start of startsFor(k, nLayer)) {
        variants.push({ prompt: p, start, size: k, blocked: resolved[si], conv });
        plan.push({ window: k, set: sets[si], start });
      }
    }
  }
  return { variants, plan };
}

/** Assembles MacroWindow curves from results in the order of macroVariants(). */
export function macroWindows(
  windows: readonly number[],
  sets: readonly SourceSetName[],
  nLayer: number,
  baseProb: number,
  results: readonly VariantResult[],
  offset = 0,
): MacroWindow[] {
  let i = offset;
  return windows.map((k) => {
    const starts = startsFor(k, nLayer);
    const curves: Record<SourceSetName, Curve> = {};
    for (const s of sets) {
      const c: Curve = { probs: [], diffPct: [], top1: [] };
      for (let t = 0; t < starts.length; t++) {
        const r = results[i++];
        c.probs.push(r.prob);
        c.diffPct.push(diffPct(baseProb, r.prob));
        c.top1.push(r.top1);
      }
      curves[s] = c;
    }
    return { window: k, starts, curves };
  });
}

export function progressFromSteps(ctx: MethodContext | undefined): RunnerOptions['onStep'] {
  if (!ctx) return undefined;
  const t0 = Date.now();
  return (done, total) => {
    const el = (Date.now() - t0) / 1000;
    const rate = el > 0 ? done / el : undefined;
    ctx.progress({ done, total, rate, etaSeconds: rate ? (total - done) / rate : undefined, message: 'layer steps' });
  };
}

/** `keep`: given the clean forward (and the prompt's ids), e.g. to keep it for later attention requests (runtime/keptTraces.ts). */
export async function runTrace(session: EngineSession, params: TraceParams, ctx?: MethodContext, keep?: (clean: CleanRun, ids: Int32Array) => void): Promise<TraceResult> {
  const L = session.backend.config.nLayer;
  if (typeof params.subject !== 'string' || params.subject.trim() === '') throw new UserError('trace needs a subject (--subject)');
  const windows = checkWindows(params.windows && params.windows.length ? params.windows : defaultMacroWindows(L), L);
  const sets = params.sets && params.sets.length ? Array.from(new Set(params.sets)) : DEFAULT_SETS.slice();
  const prep = preparePrompt(session, params.prompt, params.subject, params.target);
  const pos = prep.pos!;
  const conv = parseConvPath(params.conv, '--conv', session.backend.config);
  const groups = resolveFeatureParams(session.checkpoint, params.features, params.featureMode, conv);
  const { variants: plain } = macroVariants(0, pos, windows, sets, L, params.customSets, conv);
  const variants = variantsPerGroup(groups, plain);
  const opts: RunnerOptions = { ctx, maxBatch: params.maxBatch, onStep: progressFromSteps(ctx) };
  const ids = Int32Array.from(prep.enc.ids);
  const { clean, results } = await runKnockouts(session.backend, [{ ids, target: prep.targetId }], variants, { ...opts, keepHiddens: keep !== undefined });
  keep?.(clean, ids);
  const baseProb = clean.baseProbs[0];
  const perGroup = (groups ?? [undefined]).map((_, g) => macroWindows(windows, sets, L, baseProb, results, g * plain.length));
  return {
    kind: 'trace',
    ...promptResultHead(session, prep, params.subject, clean, conv, pos),
    subjectPositions: pos.subject,
    relationPositions: pos.relation,
    lastPosition: pos.last,
    windows: perGroup[0],
    ...promptResultTail(groups, (i) => ({ windows: perGroup[i] }), prep),
  };
}
