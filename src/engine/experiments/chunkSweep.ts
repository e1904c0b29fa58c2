// Knockouts of a chunk of prompts in chunk calls (ModelBackend.chunkKnockouts, onnx/chunkGraph.ts): each call runs the
// clean forward of some prompts AND their knockout rows, so the clean residuals and contexts never cross host memory.
// The numbers are those of cleanForward + the fast path of sweeps.ts (the same layer maths, the same padding: the
// clean prompts right-padded to the call's width, the rows' contexts left-padded; docs/method.md §3).
//
// Calls: the prompts in order, with all their rows, as many per call as the row cap allows (rows × rowBytes ≤ the
// call's byte budget, or --max-batch rows); a prompt with more rows than the cap has them split over several calls,
// the first deciding its filter and giving its clean numbers, the later ones (run only if it was kept) recomputing its
// clean forward for their rows.
import type { ChunkCall, ModelBackend } from '../types';
import { DEFAULT_HINTS } from '../types';
import { familyOf } from '../arch/index';
import { featureKey, keepsEarlierPositionsClean, writePaddedLastRowMasks, writeUnitMask } from '../interventions/spec';
import { allFinite, resultFromStats, type VariantResult } from './numerics';
import { cleanNumbersParallel, warmSoftmaxPool } from './softmaxPool';
import type { Variant } from './plan';
import { batchCap, checkCancel, since } from './sweeps';
import type { CleanPrompt, CleanRun, RunnerOptions } from './runner';

/** Whether the chunk path can run these prompts and (unique, cutting) variants: a chunk graph, and every prompt ≥ 2 tokens. */
export function chunkEligible(backend: ModelBackend, prompts: readonly CleanPrompt[], uniq: readonly Variant[]): boolean {
  return backend.chunkKnockouts !== undefined && prompts.every((p) => p.ids.length >= 2) && uniq.every((v) => keepsEarlierPositionsClean(v));
}

/**
 * The feature groups of a call's rows (indices into uniq): unitGroups [L, G, units] (group 0 = every unit, then one per
 * distinct restriction, in order of first appearance) and each row's group; {} when no row is restricted.
 */
function rowFeatureGroups(backend: ModelBackend, uniq: readonly Variant[], rows: readonly number[]): { unitGroups?: Float32Array; rowGroup?: Int32Array } {
  if (!rows.some((u) => uniq[u].features)) return {};
  const c = backend.config;
  const L = c.nLayer;
  const U = familyOf(c).attentionUnits(c).count;
  const groupOf = new Map<string, number>([['', 0]]);
  const firsts: Variant[] = [];
  for (const u of rows) {
    const key = featureKey(uniq[u]);
    if (!groupOf.has(key)) {
      groupOf.set(key, groupOf.size);
      firsts.push(uniq[u]);
    }
  }
  const G = groupOf.size;
  const unitGroups = new Float32Array(L * G * U).fill(1);
  for (let j = 0; j < L; j++) firsts.forEach((v, g) => writeUnitMask(v, j, U, unitGroups, (j * G + g + 1) * U));
  return { unitGroups, rowGroup: Int32Array.from(rows, (u) => groupOf.get(featureKey(uniq[u]))!) };
}

interface CallPlan {
  prompts: number[];
  /** indices into uniq, sorted by window start */
  rows: number[];
  /** the prompts whose filter and clean numbers this call decides (their first call) */
  first: Set<number>;
}

/** The calls of a run (see the file comment). */
function planCalls(prompts: number, uniq: readonly Variant[], maxRows: number, maxPrompts: number): CallPlan[] {
  const rowsOf: number[][] = Array.from({ length: prompts }, () => []);
  uniq.forEach((v, u) => rowsOf[v.prompt].push(u));
  const calls: CallPlan[] = [];
  let cur: CallPlan = { prompts: [], rows: [], first: new Set() };
  const flush = () => {
    if (cur.prompts.length) calls.push(cur);
    cur = { prompts: [], rows: [], first: new Set() };
  };
  for (let p = 0; p < prompts; p++) {
    const rows = rowsOf[p];
    if (cur.prompts.length >= maxPrompts || (cur.prompts.length > 0 && cur.rows.length + rows.length > maxRows)) flush();
    // the first piece of the prompt's rows joins the current call, the rest get calls of their own
    const head = rows.slice(0, maxRows);
    cur.prompts.push(p);
    cur.first.add(p);
    cur.rows.push(...head);
    for (let i = maxRows; i < rows.length; i += maxRows) {
      flush();
      cur.prompts.push(p);
      cur.rows.push(...rows.slice(i, i + maxRows));
    }
  }
  flush();
  for (const c of calls) c.rows.sort((a, b) => uniq[a].start - uniq[b].start || a - b);
  return calls;
}

/**
 * The chunk path of runKnockouts (runner.ts): the clean run (hiddens only with keepHiddens) and one result per unique
 * variant, undefined where its prompt was filtered out. Returns undefined, having computed nothing that counts, when a
 * padded call gave a non-finite clean logit (0 × ∞ is not 0: cleanForward's own fallback then runs one length at a time).
 */
export async function chunkSweep(
  backend: ModelBackend,
  prompts: readonly CleanPrompt[],
  uniq: readonly Variant[],
  opts: RunnerOptions & { onlyIfTop1?: boolean; keepHiddens?: boolean },
): Promise<{ clean: CleanRun; perUniq: (VariantResult | undefined)[]; kept: boolean[] } | undefined> {
  const c = backend.config;
  const { dModel: d, nLayer: L, dConv: K, paddedVocabSize: V, vocabSize } = c;
  const P = prompts.length;
  const lengths = prompts.map((p) => p.ids.length);
  const n = Math.max(...lengths);
  const hints = backend.hints ?? DEFAULT_HINTS;
  // an explicit maxBatch is the user's call on memory; otherwise the byte budget caps the rows too
  const maxRows = Math.max(1, opts.maxBatch ?? Math.min(hints.chunkRows, Math.floor(hints.callBytes / Math.max(1, familyOf(c).rowBytes(c, n)))));
  const calls = planCalls(P, uniq, maxRows, batchCap(backend, n, opts));
  const total = uniq.reduce((a, v) => a + L - v.start, 0);
  let done = 0;
  const logits = new Float32Array(P * V);
  const kept: boolean[] = new Array(P).fill(false);
  const hiddens = opts.keepHiddens ? Array.from({ length: L + 1 }, () => new Float32Array(P * n * d)) : [];
  const perUniq: (VariantResult | undefined)[] = new Array(uniq.length).fill(undefined);
  warmSoftmaxPool(P); // the clean numbers' threads boot during the calls
  for (const call of calls) {
    checkCancel(opts.ctx);
    const tPrep = performance.now();
    // a later piece of a prompt's rows runs only if its first call kept it
    const rows = call.rows.filter((u) => call.first.has(uniq[u].prompt) || kept[uniq[u].prompt]);
    const members = call.prompts.filter((p) => call.first.has(p) || kept[p]);
    if (members.length === 0) continue;
    const slot = new Map(members.map((p, i) => [p, i]));
    const W = Math.max(...members.map((p) => lengths[p]));
    const R = rows.length;
    const req: ChunkCall = {
      ids: new Int32Array(members.length * W),
      width: W,
      lengths: Int32Array.from(members, (p) => lengths[p]),
      targets: Int32Array.from(members, (p) => prompts[p].target ?? -1),
      onlyIfTop1: Uint8Array.from(members, (p) => (opts.onlyIfTop1 && call.first.has(p) ? 1 : 0)),
      starts: Int32Array.from(rows, (u) => uniq[u].start),
      ends: Int32Array.from(rows, (u) => uniq[u].start + uniq[u].size),
      prompt: Int32Array.from(rows, (u) => slot.get(uniq[u].prompt)!),
      mask: new Float32Array(R * W).fill(1),
      afterMask: new Float32Array(R * W).fill(1),
      convMask: rows.some((u) => uniq[u].conv === 'block') ? new Float32Array(R * K).fill(1) : undefined,
      wantHiddens: opts.keepHiddens,
    };
    members.forEach((p, i) => req.ids.set(prompts[p].ids, i * W));
    rows.forEach((u, r) => {
      // a row's masks in the first layer of its window stand for every layer of it (an EdgeKnockout's cut does not
      // change inside its window); after it, only the padding columns are cut
      const v = uniq[u];
      const n = lengths[v.prompt];
      writePaddedLastRowMasks(v, v.start, n, W, K, req.mask, r * W, req.convMask, r * K);
      req.afterMask.fill(0, r * W, r * W + W - n);
    });
    Object.assign(req, rowFeatureGroups(backend, uniq, rows));
    since(tPrep, opts, 'chunk: batch preparation (JS)');
    const tRun = performance.now();
    const out = await backend.chunkKnockouts!(req);
    since(tRun, opts, 'chunk calls (clean forward + rows + heads)');
    const tOut = performance.now();
    const padded = members.some((p) => lengths[p] !== W);
    members.forEach((p, i) => {
      if (!call.first.has(p)) return;
      logits.set(out.logits.subarray(i * V, (i + 1) * V), p * V);
      kept[p] = out.kept[i];
      if (out.hiddens) for (let j = 0; j <= L; j++) hiddens[j].set(out.hiddens[j].subarray(i * W * d, (i * W + lengths[p]) * d), p * n * d);
    });
    if (padded && !members.every((p, i) => !call.first.has(p) || allFinite(out.logits.subarray(i * V, (i + 1) * V)))) return undefined;
    rows.forEach((u, r) => {
      if (kept[uniq[u].prompt]) perUniq[u] = resultFromStats(out.stats, r);
      done += L - uniq[u].start;
    });
    since(tOut, opts, 'chunk: results (JS)');
    opts.onStep?.(done, total);
  }
  const tClean = performance.now();
  const { targets, baseProbs, top1 } = await cleanNumbersParallel(logits, V, vocabSize, prompts.map((p) => p.target));
  // the graph's filter and the host's agree (both take the first largest logit)
  for (let p = 0; p < P; p++) {
    if (opts.onlyIfTop1 && kept[p] !== (top1[p] === targets[p])) throw new Error(`chunkSweep: the chunk graph's clean top-1 of prompt ${p} differs from its logits'`);
  }
  if (!opts.onlyIfTop1) kept.fill(true);
  since(tClean, opts, 'chunk: clean numbers (JS)');
  const clean: CleanRun = { n, lengths, prompts: P, hiddens, logits, targets, baseProbs, top1 };
  return { clean, perUniq, kept };
}
