// Micro experiment: for each single position c and window start ℓ, block (last ← c); position × start heatmap.
import { type EngineSession, type MethodContext } from '../types';
import type { MicroResult } from './resultTypes';
import type { PromptPositions } from './positions';
import { diffPct, runKnockouts, type RunnerOptions, type Variant, type VariantResult } from './runner';
import { checkWindows, defaultWindow, DEFAULT_MICRO_WINDOW, positionsWithoutSubject, preparePrompt, startsFor } from './common';
import { promptResultHead, promptResultTail } from './promptResult';
import { progressFromSteps } from './macro';
import { parseConvPath, type ConvPath } from '../interventions/spec';
import { resolveFeatureParams, variantsPerGroup } from './features';

export interface MicroParams {
  prompt: string;
  subject?: string;
  target?: string;
  window?: number;
  maxBatch?: number;
  /** the conv path of the knocked-out layers (SPEC §8), default 'keep' */
  conv?: ConvPath;
  /** feature knockout (SPEC §4), as TraceParams.features */
  features?: string | string[];
  featureMode?: 'only' | 'except';
}

export function microVariants(p: number, n: number, k: number, nLayer: number, conv: ConvPath = 'keep'): Variant[] {
  const out: Variant[] = [];
  for (let c = 0; c < n; c++) for (const start of startsFor(k, nLayer)) out.push({ prompt: p, start, size: k, blocked: [c], conv });
  return out;
}

export function microGrid(n: number, k: number, nLayer: number, baseProb: number, results: readonly VariantResult[], offset = 0) {
  const starts = startsFor(k, nLayer);
  const probs: number[][] = [];
  const diff: number[][] = [];
  const top1: boolean[][] = [];
  let i = offset;
  for (let c = 0; c < n; c++) {
    const pr: number[] = [];
    const df: number[] = [];
    const tp: boolean[] = [];
    for (let s = 0; s < starts.length; s++) {
      const r = results[i++];
      pr.push(r.prob);
      df.push(diffPct(baseProb, r.prob));
      tp.push(r.top1);
    }
    probs.push(pr);
    diff.push(df);
    top1.push(tp);
  }
  return { starts, probs, diffPct: diff, top1 };
}

export async function runMicro(session: EngineSession, params: MicroParams, ctx?: MethodContext): Promise<MicroResult> {
  const L = session.backend.config.nLayer;
  const [k] = checkWindows([params.window ?? defaultWindow(DEFAULT_MICRO_WINDOW, L)], L);
  const prep = preparePrompt(session, params.prompt, params.subject, params.target);
  const n = prep.enc.ids.length;
  const pos: PromptPositions = prep.pos ?? positionsWithoutSubject(n);
  const opts: RunnerOptions = { ctx, maxBatch: params.maxBatch, onStep: progressFromSteps(ctx) };
  const conv = parseConvPath(params.conv, '--conv', session.backend.config);
  const groups = resolveFeatureParams(session.checkpoint, params.features, params.featureMode, conv);
  const plain = microVariants(0, n, k, L, conv);
  const { clean, results } = await runKnockouts(session.backend, [{ ids: Int32Array.from(prep.enc.ids), target: prep.targetId }], variantsPerGroup(groups, plain), opts);
  const baseProb = clean.baseProbs[0];
  const grids = (groups ?? [undefined]).map((_, g) => microGrid(n, k, L, baseProb, results, g * plain.length));
  const grid = grids[0];
  return {
    kind: 'micro',
    ...promptResultHead(session, prep, params.subject, clean, conv, pos),
    window: k,
    starts: grid.starts,
    probs: grid.probs,
    diffPct: grid.diffPct,
    top1: grid.top1,
    ...promptResultTail(groups, (i) => ({ probs: grids[i].probs, diffPct: grids[i].diffPct, top1: grids[i].top1 }), prep),
  };
}
