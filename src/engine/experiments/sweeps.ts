// The sweep strategies: how the knockout rows of a plan go through the layers. All three take the same inputs and
// return the same thing (one VariantResult per unique variant); chooseSweep picks one.
//   fused   every layer and the head in one backend call per group of rows (backend.sweepLastRows: the rows stay on
//           the device); last-position fast path
//   rows    the last-position fast path layer by layer (backend.layerLastRow), a group of rows per call
//   full    whole sequences layer by layer (any backend; prompts of one token, or backends without the fast path)
// The fast path is exact because a (last ← c) knockout, with or without its conv taps, keeps every earlier position
// clean (interventions/spec.ts: keepsEarlierPositionsClean); a variant joins at its window's start from the clean
// residual there and carries its last row only.
import { CancelledError, DEFAULT_HINTS, type BackendHints, type LastRowSweep, type MethodContext, type ModelBackend } from '../types';
import { familyOf } from '../arch/index';
import { featureKey, keepsEarlierPositionsClean, writeLastRowMasks, writeUnitMask } from '../interventions/spec';
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
  name: 'fused' | 'rows' | 'full';
  run(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[], opts: RunnerOptions): Promise<VariantResult[]>;
}

export function chooseSweep(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[]): SweepStrategy {
  const fast = clean.contexts !== undefined && uniq.every(keepsEarlierPositionsClean);
  if (fast && backend.sweepLastRows) return fusedSweep;
  if (fast && backend.layerLastRow) return rowSweep;
  return fullSweep;
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

/** The clean residual of a prompt's last position at the input of layer j. */
function lastRowOf(clean: CleanRun, d: number, j: number, prompt: number): Float32Array {
  const n = clean.n;
  return clean.hiddens[j].subarray((prompt * n + n - 1) * d, (prompt * n + n) * d);
}

const fusedSweep: SweepStrategy = {
  name: 'fused',
  async run(backend, clean, uniq, opts) {
    const { dModel: d, nLayer: L, dConv: K } = backend.config;
    const n = clean.n;
    const calls = groupByPrompt(uniq, Math.max(1, opts.maxBatch ?? hintsOf(backend).sweepRows));
    const anyConv = uniq.some((v) => v.conv === 'block');
    const total = totalSteps(uniq, L);
    let done = 0;
    const results: VariantResult[] = new Array(uniq.length);
    for (const rows of calls) {
      checkCancel(opts.ctx);
      const tPrep = performance.now();
      const R = rows.length;
      const slotOfPrompt = new Map<number, number>();
      for (const u of rows) if (!slotOfPrompt.has(uniq[u].prompt)) slotOfPrompt.set(uniq[u].prompt, slotOfPrompt.size);
      const req: LastRowSweep = {
        seqLen: n,
        starts: new Int32Array(R),
        enter: new Float32Array(R * d),
        mask: new Float32Array(L * R * n).fill(1),
        convMask: anyConv ? new Float32Array(L * R * K).fill(1) : undefined,
        contexts: clean.contexts!.map((all) => contextSubset(backend.config, all, slotOfPrompt, n)),
        ctxIndex: new Int32Array(R),
        targets: new Int32Array(R),
      };
      // feature groups of this call: group 0 = every unit, then one per distinct restriction
      if (rows.some((u) => uniq[u].features)) {
        const U = unitsOf(backend);
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
        req.unitGroups = new Float32Array(L * G * U).fill(1);
        for (let j = 0; j < L; j++) firsts.forEach((v, g) => writeUnitMask(v, j, U, req.unitGroups!, (j * G + g + 1) * U));
        req.rowGroup = Int32Array.from(rows, (u) => groupOf.get(featureKey(uniq[u]))!);
      }
      rows.forEach((u, r) => {
        const v = uniq[u];
        req.starts[r] = v.start;
        req.enter.set(lastRowOf(clean, d, v.start, v.prompt), r * d);
        for (let j = v.start; j < v.start + v.size; j++) writeLastRowMasks(v, j, n, K, req.mask, (j * R + r) * n, req.convMask, (j * R + r) * K);
        req.ctxIndex[r] = slotOfPrompt.get(v.prompt)!;
        req.targets[r] = clean.targets[v.prompt];
      });
      since(tPrep, opts, 'sweep: batch preparation (JS)');
      const tRun = performance.now();
      const st = await backend.sweepLastRows!(req);
      since(tRun, opts, 'sweep: fused calls (layers + head)');
      rows.forEach((u, r) => {
        results[u] = resultFromStats(st, r);
        done += L - uniq[u].start;
      });
      opts.onStep?.(done, total);
    }
    return results;
  },
};

const rowSweep: SweepStrategy = {
  name: 'rows',
  async run(backend, clean, uniq, opts) {
    const c = backend.config;
    const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize, dConv: K } = c;
    const n = clean.n;
    // an explicit maxBatch is the user's call on memory (e.g. --max-batch 8192 on a large GPU); otherwise bytes cap it too
    const maxItems = opts.maxBatch ?? hintsOf(backend).lastRowBatch;
    const maxBytes = opts.maxBatchBytes ?? (opts.maxBatch !== undefined ? Infinity : hintsOf(backend).callBytes);
    const cap = Math.max(1, Math.min(maxItems, Math.floor(maxBytes / Math.max(1, familyOf(c).rowBytes(c, n)))));
    const anyConv = uniq.some((v) => v.conv === 'block');
    const total = totalSteps(uniq, L);
    let done = 0;
    const results: VariantResult[] = new Array(uniq.length);
    for (const rows of groupByPrompt(uniq, cap)) {
      const slotOfPrompt = new Map<number, number>();
      for (const u of rows) if (!slotOfPrompt.has(uniq[u].prompt)) slotOfPrompt.set(uniq[u].prompt, slotOfPrompt.size);
      const ctxIndex = Int32Array.from(rows, (u) => slotOfPrompt.get(uniq[u].prompt)!);
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
        let anyMask = false;
        for (let r = 0; r < active; r++) anyMask = writeLastRowMasks(uniq[rows[r]], j, n, K, mask, r * n, conv, r * K) || anyMask;
        const ctx = contextSubset(c, clean.contexts![j], slotOfPrompt, n);
        const units = anyMask ? unitMasks(uniq, rows, active, j, unitsOf(backend)) : undefined;
        since(tPrep, opts, 'sweep: batch preparation (JS)');
        const tRun = performance.now();
        const out = await backend.layerLastRow!(j, state.subarray(0, active * d), active, n, ctx, ctxIndex.subarray(0, active), anyMask ? mask : undefined, anyMask ? conv : undefined, units);
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
    const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize, dConv: K } = backend.config;
    const n = clean.n;
    const rowLen = n * d;
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
          else h.set(clean.hiddens[j].subarray(v.prompt * rowLen, (v.prompt + 1) * rowLen), b * rowLen);
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
  },
};
