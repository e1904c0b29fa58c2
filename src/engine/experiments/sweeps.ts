// The sweep strategies on a clean run: how the knockout rows of a plan go through the layers. Both take the same inputs
// and return the same thing (one VariantResult per unique variant); chooseSweep picks one. (Where the backend has chunk
// calls, runKnockouts does the clean forward and the rows in one call instead: chunkSweep.ts, the same numbers.)
//   rows    the last-position fast path layer by layer (backend.layerLastRow), a group of rows per call
//   full    whole sequences layer by layer (any backend; prompts of one token, or backends without the fast path)
// The fast path is exact because a (last ← c) knockout, with or without its conv taps, keeps every earlier position
// clean (interventions/spec.ts: keepsEarlierPositionsClean); a variant joins at its window's start from the clean
// residual there and carries its last row only.
// Prompts of different lengths share a fast-path call: the call is as wide as its longest prompt m, and a row of a
// prompt of n < m tokens reads its context left-padded with m − n all-zero rows, masked (writePaddedLastRowMasks), at
// its own absolute position n − 1 (context.ts; docs/method.md §3). The full strategy runs each length on its own.
import { CancelledError, DEFAULT_HINTS, type BackendHints, type MethodContext, type ModelBackend } from '../types';
import { familyOf } from '../arch/index';
import { keepsEarlierPositionsClean, writeLastRowMasks, writePaddedLastRowMasks, writeUnitMask } from '../interventions/spec';
import { contextSubset } from './context';
import { resultFromLogits, resultFromStats, type VariantResult } from './numerics';
import { groupByPrompt, type Variant } from './plan';
import type { CleanRun, RunnerOptions } from './runner';

export function since(t0: number, opts: RunnerOptions, phase: string): void {
  if (opts.profile) opts.profile[phase] = (opts.profile[phase] ?? 0) + (performance.now() - t0);
}

export function checkCancel(ctx?: MethodContext): void {
  if (ctx && ctx.cancelled()) throw new CancelledError();
}

const DEFAULT_MAX_BATCH = 64;

const hintsOf = (b: ModelBackend): BackendHints => b.hints ?? DEFAULT_HINTS;

/** Prompts (or full-sequence variants) per whole-sequence layer call: the item cap and the byte budget. */
export function batchCap(backend: ModelBackend, n: number, opts: RunnerOptions): number {
  const c = backend.config;
  const per = Math.max(1, familyOf(c).bytesPerItem(c, n));
  const byBytes = Math.floor((opts.maxBatchBytes ?? hintsOf(backend).callBytes) / per);
  return Math.max(1, Math.min(opts.maxBatch ?? DEFAULT_MAX_BATCH, byBytes));
}

export interface SweepStrategy {
  name: 'rows' | 'full';
  run(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[], opts: RunnerOptions): Promise<VariantResult[]>;
}

/** Whether a variant can take the last-position fast path on this clean run: its prompt has an earlier position. */
function fastEligible(clean: CleanRun, v: Variant): boolean {
  return clean.contexts !== undefined && clean.lengths[v.prompt] >= 2 && keepsEarlierPositionsClean(v);
}

export function chooseSweep(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[]): SweepStrategy {
  const fast = uniq.every((v) => fastEligible(clean, v));
  if (fast && backend.layerLastRow) return rowSweep;
  return fullSweep;
}

/**
 * Every unique variant through the sweep that suits it: the fast path for prompts with an earlier position, whole
 * sequences for the others (one-token prompts). Results in the order of `uniq`; progress over both.
 */
export async function runSweeps(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[], opts: RunnerOptions): Promise<VariantResult[]> {
  const fastIdx: number[] = [];
  const restIdx: number[] = [];
  uniq.forEach((v, u) => (fastEligible(clean, v) && backend.layerLastRow ? fastIdx : restIdx).push(u));
  if (restIdx.length === 0 || fastIdx.length === 0) return chooseSweep(backend, clean, uniq).run(backend, clean, uniq, opts);
  const L = backend.config.nLayer;
  const parts = [fastIdx, restIdx].map((idx) => idx.map((u) => uniq[u]));
  const totals = parts.map((p) => totalSteps(p, L));
  const results: VariantResult[] = new Array(uniq.length);
  let before = 0;
  for (const [k, idx] of [fastIdx, restIdx].entries()) {
    const onStep = opts.onStep ? (done: number) => opts.onStep!(before + done, totals[0] + totals[1]) : undefined;
    const out = await chooseSweep(backend, clean, parts[k]).run(backend, clean, parts[k], { ...opts, onStep });
    idx.forEach((u, i) => (results[u] = out[i]));
    before += totals[k];
  }
  return results;
}

/** The prompts of a call (slot of each, in order of first appearance) and its width: its longest prompt. */
function callPrompts(clean: CleanRun, uniq: readonly Variant[], rows: readonly number[]): { slotOfPrompt: Map<number, number>; width: number } {
  const slotOfPrompt = new Map<number, number>();
  let width = 0;
  for (const u of rows) {
    const p = uniq[u].prompt;
    if (!slotOfPrompt.has(p)) slotOfPrompt.set(p, slotOfPrompt.size);
    width = Math.max(width, clean.lengths[p]);
  }
  return { slotOfPrompt, width };
}

function totalSteps(uniq: readonly Variant[], L: number): number {
  let total = 0;
  for (const v of uniq) total += L - v.start;
  return total;
}

const unitsOf = (b: ModelBackend): number => familyOf(b.config).attentionUnits(b.config).count;

/**
 * The unit masks of rows at layer j ([rows, U], 1 where the knockout applies), or undefined when no row is
 * restricted to a feature group.
 */
function unitMasks(uniq: readonly Variant[], rows: readonly number[], count: number, j: number, U: number): Float32Array | undefined {
  if (!rows.slice(0, count).some((u) => uniq[u].features)) return undefined;
  const out = new Float32Array(count * U).fill(1);
  for (let r = 0; r < count; r++) writeUnitMask(uniq[rows[r]], j, U, out, r * U);
  return out;
}

/** The clean residual of a prompt's last position (its own n − 1) at the input of layer j. */
function lastRowOf(clean: CleanRun, d: number, j: number, prompt: number): Float32Array {
  const at = prompt * clean.n + clean.lengths[prompt] - 1;
  return clean.hiddens[j].subarray(at * d, (at + 1) * d);
}

const rowSweep: SweepStrategy = {
  name: 'rows',
  async run(backend, clean, uniq, opts) {
    const c = backend.config;
    const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize, dConv: K } = c;
    // an explicit maxBatch is the user's call on memory (e.g. --max-batch 8192 on a large GPU); otherwise bytes cap it too
    const maxItems = opts.maxBatch ?? hintsOf(backend).lastRowBatch;
    const maxBytes = opts.maxBatchBytes ?? (opts.maxBatch !== undefined ? Infinity : hintsOf(backend).callBytes);
    const cap = Math.max(1, Math.min(maxItems, Math.floor(maxBytes / Math.max(1, familyOf(c).rowBytes(c, clean.n)))));
    const anyConv = uniq.some((v) => v.conv === 'block');
    const total = totalSteps(uniq, L);
    let done = 0;
    const results: VariantResult[] = new Array(uniq.length);
    for (const rows of groupByPrompt(uniq, cap)) {
      // the call is as wide as its longest prompt; shorter prompts' rows are left-padded (see the file comment)
      const { slotOfPrompt, width: n } = callPrompts(clean, uniq, rows);
      const ctxIndex = Int32Array.from(rows, (u) => slotOfPrompt.get(uniq[u].prompt)!);
      const lens = rows.map((u) => clean.lengths[uniq[u].prompt]);
      const positions = Int32Array.from(lens, (np) => np - 1);
      const padded = lens.some((np) => np < n);
      const state = new Float32Array(rows.length * d);
      let active = 0;
      for (let j = 0; j < L; j++) {
        checkCancel(opts.ctx);
        const tPrep = performance.now();
        const joined = active;
        while (active < rows.length && uniq[rows[active]].start <= j) active++;
        if (active === 0) continue;
        for (let r = joined; r < active; r++) state.set(lastRowOf(clean, d, j, uniq[rows[r]].prompt), r * d);
        const mask = new Float32Array(active * n).fill(1);
        const conv = anyConv ? new Float32Array(active * K).fill(1) : undefined;
        let anyCut = false;
        for (let r = 0; r < active; r++) anyCut = writePaddedLastRowMasks(uniq[rows[r]], j, lens[r], n, K, mask, r * n, conv, r * K) || anyCut;
        const ctx = contextSubset(c, clean.contexts![j], clean.n, slotOfPrompt, n);
        const units = anyCut ? unitMasks(uniq, rows, active, j, unitsOf(backend)) : undefined;
        since(tPrep, opts, 'sweep: batch preparation (JS)');
        const tRun = performance.now();
        const out = await backend.layerLastRow!(
          j,
          state.subarray(0, active * d),
          active,
          n,
          ctx,
          ctxIndex.subarray(0, active),
          anyCut || padded ? mask : undefined,
          anyCut ? conv : undefined,
          units,
          padded ? positions.subarray(0, active) : undefined,
        );
        since(tRun, opts, 'sweep: layer calls');
        state.set(out.subarray(0, active * d));
        done += active;
        opts.onStep?.(done, total);
      }
      // head at the last position (the only one carried)
      checkCancel(opts.ctx);
      const tHead = performance.now();
      const targets = Int32Array.from(rows, (u) => clean.targets[uniq[u].prompt]);
      if (backend.headLastTarget) {
        // reduced on the device: p = exp(target − max) / Σ exp(logit − max), in float64 from the float32 reductions
        const st = await backend.headLastTarget(state, rows.length, 1, targets);
        rows.forEach((u, r) => (results[u] = resultFromStats(st, r)));
      } else {
        const lg = await backend.headLast(state, rows.length, 1);
        rows.forEach((u, r) => (results[u] = resultFromLogits(lg, r * V, vocabSize, targets[r])));
      }
      since(tHead, opts, 'head calls');
    }
    return results;
  },
};

const fullSweep: SweepStrategy = {
  name: 'full',
  async run(backend, clean, uniq, opts) {
    // whole sequences: the prompts of each length on their own (no padding here)
    const L = backend.config.nLayer;
    const byLength = new Map<number, number[]>();
    uniq.forEach((v, u) => {
      const n = clean.lengths[v.prompt];
      byLength.set(n, [...(byLength.get(n) ?? []), u]);
    });
    const total = totalSteps(uniq, L);
    const results: VariantResult[] = new Array(uniq.length);
    let before = 0;
    for (const [n, idx] of byLength) {
      const part = idx.map((u) => uniq[u]);
      const onStep = opts.onStep ? (done: number) => opts.onStep!(before + done, total) : undefined;
      const out = await fullSweepOfLength(backend, clean, part, n, { ...opts, onStep });
      idx.forEach((u, i) => (results[u] = out[i]));
      before += totalSteps(part, L);
    }
    return results;
  },
};

/** The full strategy for variants whose prompts all have n tokens. */
async function fullSweepOfLength(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[], n: number, opts: RunnerOptions): Promise<VariantResult[]> {
  const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize, dConv: K } = backend.config;
  const rowLen = n * d;
  const slot = clean.n * d;
  const last = n - 1;
  const U = uniq.length;
  // sweep order: by start so that active variants form a prefix of this order at every layer
  const order = Array.from({ length: U }, (_, i) => i).sort((a, b) => uniq[a].start - uniq[b].start || a - b);
  const state: (Float32Array | undefined)[] = new Array(U);
  const cap = batchCap(backend, n, opts);
  const anyConv = uniq.some((v) => v.conv === 'block');
  const total = totalSteps(uniq, L);
  let done = 0;
  let active = 0;
  for (let j = 0; j < L; j++) {
    while (active < U && uniq[order[active]].start <= j) active++;
    for (let a0 = 0; a0 < active; a0 += cap) {
      checkCancel(opts.ctx);
      const idx = order.slice(a0, Math.min(active, a0 + cap));
      const B = idx.length;
      const h = new Float32Array(B * rowLen);
      const mask = new Float32Array(B * n * n).fill(1);
      const conv = anyConv ? new Float32Array(B * n * K).fill(1) : undefined;
      let anyMask = false;
      idx.forEach((u, b) => {
        const v = uniq[u];
        const s = state[u];
        if (s) h.set(s, b * rowLen);
        else h.set(clean.hiddens[j].subarray(v.prompt * slot, v.prompt * slot + rowLen), b * rowLen);
        anyMask = writeLastRowMasks(v, j, n, K, mask, b * n * n + last * n, conv, (b * n + last) * K) || anyMask;
      });
      const units = anyMask ? unitMasks(uniq, idx, B, j, unitsOf(backend)) : undefined;
      const out = (await backend.layer(j, h, B, n, anyMask ? mask : undefined, false, false, anyMask ? conv : undefined, units)).hidden;
      idx.forEach((u, b) => {
        state[u] = out.slice(b * rowLen, (b + 1) * rowLen);
      });
      done += B;
      opts.onStep?.(done, total);
    }
  }
  // head at the last position only
  const results: VariantResult[] = new Array(U);
  for (let a0 = 0; a0 < U; a0 += cap) {
    checkCancel(opts.ctx);
    const idx = order.slice(a0, a0 + cap);
    const B = idx.length;
    const h = new Float32Array(B * rowLen);
    idx.forEach((u, b) => h.set(state[u]!, b * rowLen));
    const tHead = performance.now();
    const lg = await backend.headLast(h, B, n);
    since(tHead, opts, 'head calls');
    const t0 = performance.now();
    idx.forEach((u, b) => (results[u] = resultFromLogits(lg, b * V, vocabSize, clean.targets[uniq[u].prompt])));
    since(t0, opts, 'softmax (JS, float64)');
  }
  return results;
}
