// THE FAST KNOCKOUT RUNNER (SPEC §3).
//
// A variant = one prompt + a window (start ℓ, size k) + blocked source positions: the edges (last ← c) are cut for every
// head in layers ℓ … ℓ+k−1. Below its start a variant is identical to the clean run, so:
//   1. the clean forward runs once per prompt, keeping the residual stream at every layer boundary;
//   2. layers j = 0 … L−1 are swept; a variant joins the batch at j = start (its state initialised from the clean
//      residual of layer j) and stays until the end; its mask row is set only inside its window;
//   3. the vocab projection runs at the last position only.
// With the last-position fast path a variant carries only its last row (sweepLastRow); where the backend can run all
// layers and the head in one call (sweepLastRows: the sweep graph on a GPU), the rows never leave the device (sweepFused).
// Batches are capped (by item count and bytes) so memory stays bounded; cancellation is checked between batches.
// Identical variants are computed once; a variant that blocks nothing equals the clean run and costs nothing.
import { CancelledError, type HeadTargetStats, type LastRowSweep, type LayerContextBatch, type LayerContextRows, type MethodContext, type ModelBackend } from '../types';

export interface Variant {
  /** index into the prompts of the CleanRun */
  prompt: number;
  start: number;
  size: number;
  /** blocked source positions c of the edges (last ← c) */
  blocked: readonly number[];
}

export interface VariantResult {
  /** softmax probability of the target over the real vocabulary (float64, or float64 from the device's float32 reductions: headLastTarget) */
  prob: number;
  /** whether the target is still the argmax over the real vocabulary */
  top1: boolean;
}

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
  /** most variants per backend call (default 64) */
  maxBatch?: number;
  /** rough byte budget per backend call (default 512 MiB) */
  maxBatchBytes?: number;
  ctx?: MethodContext;
  /** called after each batch with (layer-steps done, layer-steps total) */
  onStep?: (done: number, total: number) => void;
  /** when given, milliseconds spent per phase are added to it (for the benchmark) */
  profile?: Record<string, number>;
}

function since(t0: number, opts: RunnerOptions, phase: string): void {
  if (opts.profile) opts.profile[phase] = (opts.profile[phase] ?? 0) + (performance.now() - t0);
}

const DEFAULT_MAX_BATCH = 64;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

function checkCancel(ctx?: MethodContext): void {
  if (ctx && ctx.cancelled()) throw new CancelledError();
}

/** Rough per-item working memory of one layer call (hidden in/out, in_proj output, attention, mask), bytes. */
export function bytesPerItem(backend: ModelBackend, n: number): number {
  const c = backend.config;
  const zx = 2 * c.dInner + 2 * c.nGroups * c.dState + c.nHeads;
  return 4 * n * (4 * c.dModel + 3 * zx + 2 * c.nHeads * n + n + 2 * c.dInner);
}

export function batchCap(backend: ModelBackend, n: number, opts: RunnerOptions): number {
  const byBytes = Math.floor((opts.maxBatchBytes ?? DEFAULT_MAX_BYTES) / Math.max(1, bytesPerItem(backend, n)));
  return Math.max(1, Math.min(opts.maxBatch ?? DEFAULT_MAX_BATCH, byBytes));
}

/** How a backend sends knockout rows through the layers (Provenance.sweep, SessionInfo.sweep); see runVariants. */
export function sweepInUse(backend: ModelBackend): 'fused' | 'layers' {
  return backend.sweepLastRows ? 'fused' : 'layers';
}

/** Row i of the device-reduced head (HeadTargetStats): p = exp(target − max) / Σ exp(logit − max) in float64, top-1 ⇔ target = max. */
function resultFromStats(st: HeadTargetStats, i: number): VariantResult {
  return { prob: Math.exp(st.targetLogit[i] - st.maxLogit[i]) / st.sumExp[i], top1: st.targetLogit[i] >= st.maxLogit[i] };
}

/** Softmax probability of `target` over the real vocabulary [0, vocab) in float64, and the argmax. */
export function probAndArgmax(logits: Float32Array, offset: number, vocab: number, target: number): { prob: number; argmax: number } {
  let max = -Infinity;
  let arg = 0;
  for (let v = 0; v < vocab; v++) {
    const x = logits[offset + v];
    if (x > max) {
      max = x;
      arg = v;
    }
  }
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  const prob = target >= 0 && target < vocab ? Math.exp(logits[offset + target] - max) / sum : 0;
  return { prob, argmax: arg };
}

/** Top-k (id, prob) of one logits row over the real vocabulary. */
export function topK(logits: Float32Array, offset: number, vocab: number, k: number): { id: number; prob: number }[] {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (logits[offset + v] > max) max = logits[offset + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
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
  const withContext = backend.layerLastRow !== undefined && n >= 2;
  const contexts = withContext ? Array.from({ length: L }, () => emptyContext(backend, P, n)) : undefined;
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
      if (contexts) storeContext(backend, contexts[j], out.context!, b0, B, n);
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

function convDimOf(backend: ModelBackend): number {
  const c = backend.config;
  return c.dInner + 2 * c.nGroups * c.dState;
}

function emptyContext(backend: ModelBackend, count: number, n: number): LayerContextBatch {
  const { nHeads: H, dConv: K } = backend.config;
  const cd = convDimOf(backend);
  return { count, raw: new Float32Array(count * (K - 1) * cd), xbc: new Float32Array(count * (n - 1) * cd), delta: new Float32Array(count * (n - 1) * H) };
}

/** Keeps, for prompts b0 … b0+B−1, what the last position reads of the earlier ones: conv inputs of the K−1 positions
 *  before it (zeros before position 0), conv outputs and Δ of positions 0 … n−2. */
function storeContext(backend: ModelBackend, dst: LayerContextBatch, rows: LayerContextRows, b0: number, B: number, n: number): void {
  const { nHeads: H, dConv: K } = backend.config;
  const cd = convDimOf(backend);
  for (let b = 0; b < B; b++) {
    const p = b0 + b;
    for (let r = 0; r < K - 1; r++) {
      const pos = n - K + r;
      if (pos >= 0) dst.raw.set(rows.raw.subarray((b * n + pos) * cd, (b * n + pos + 1) * cd), (p * (K - 1) + r) * cd);
    }
    dst.xbc.set(rows.xbc.subarray(b * n * cd, (b * n + n - 1) * cd), p * (n - 1) * cd);
    dst.delta.set(rows.delta.subarray(b * n * H, (b * n + n - 1) * H), p * (n - 1) * H);
  }
}

function variantKey(v: Variant): string {
  return `${v.prompt}|${v.start}|${v.size}|${Array.from(new Set(v.blocked)).sort((a, b) => a - b).join(',')}`;
}

function validate(backend: ModelBackend, clean: CleanRun, v: Variant): void {
  const L = backend.config.nLayer;
  if (!(v.prompt >= 0 && v.prompt < clean.prompts)) throw new Error(`variant prompt ${v.prompt} out of range`);
  if (!(v.size >= 1 && v.start >= 0 && v.start + v.size <= L)) throw new Error(`variant window [${v.start}, ${v.start + v.size}) outside 0…${L}`);
  for (const c of v.blocked) if (!(c >= 0 && c < clean.n)) throw new Error(`variant blocked position ${c} out of range`);
}

/** Runs the variants on top of a clean run with prefix reuse and batching. Results are in the order of `variants`. */
export async function runVariants(backend: ModelBackend, clean: CleanRun, variants: readonly Variant[], opts: RunnerOptions = {}): Promise<VariantResult[]> {
  const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize } = backend.config;
  const n = clean.n;
  const rowLen = n * d;
  const last = n - 1;
  // dedupe; variants blocking nothing equal the clean run
  const uniq: Variant[] = [];
  const slotOf: number[] = new Array(variants.length).fill(-1);
  const byKey = new Map<string, number>();
  variants.forEach((v, i) => {
    validate(backend, clean, v);
    if (v.blocked.length === 0) return;
    const k = variantKey(v);
    let s = byKey.get(k);
    if (s === undefined) {
      s = uniq.length;
      byKey.set(k, s);
      uniq.push(v);
    }
    slotOf[i] = s;
  });
  const U = uniq.length;
  // sweep order: by start so that active variants form a prefix of this order at every layer
  const order = Array.from({ length: U }, (_, i) => i).sort((a, b) => uniq[a].start - uniq[b].start || a - b);
  const finish = (finalLogits: Float32Array): VariantResult[] => {
    const t0 = performance.now();
    const res = variants.map((v, i) => {
      const target = clean.targets[v.prompt];
      const s = slotOf[i];
      if (s < 0) return { prob: clean.baseProbs[v.prompt], top1: clean.top1[v.prompt] === target };
      const r = probAndArgmax(finalLogits, s * V, vocabSize, target);
      return { prob: r.prob, top1: r.argmax === target };
    });
    since(t0, opts, 'softmax (JS, float64)');
    return res;
  };
  if (clean.contexts && (backend.sweepLastRows || backend.layerLastRow)) {
    const perUniq = backend.sweepLastRows ? await sweepFused(backend, clean, uniq, opts) : await sweepLastRow(backend, clean, uniq, order, opts);
    if (perUniq instanceof Float32Array) return finish(perUniq);
    return variants.map((v, i) => (slotOf[i] < 0 ? { prob: clean.baseProbs[v.prompt], top1: clean.top1[v.prompt] === clean.targets[v.prompt] } : perUniq[slotOf[i]]));
  }
  const state: (Float32Array | undefined)[] = new Array(U);
  const cap = batchCap(backend, n, opts);
  let total = 0;
  for (const v of uniq) total += L - v.start;
  let done = 0;
  const finalLogits = new Float32Array(U * V);
  let active = 0;
  for (let j = 0; j < L; j++) {
    while (active < U && uniq[order[active]].start <= j) active++;
    for (let a0 = 0; a0 < active; a0 += cap) {
      checkCancel(opts.ctx);
      const idx = order.slice(a0, Math.min(active, a0 + cap));
      const B = idx.length;
      const h = new Float32Array(B * rowLen);
      const mask = new Float32Array(B * n * n).fill(1);
      let anyMask = false;
      idx.forEach((u, b) => {
        const v = uniq[u];
        const s = state[u];
        if (s) h.set(s, b * rowLen);
        else h.set(clean.hiddens[j].subarray(v.prompt * rowLen, (v.prompt + 1) * rowLen), b * rowLen);
        if (j >= v.start && j < v.start + v.size) {
          anyMask = true;
          for (const c of v.blocked) mask[b * n * n + last * n + c] = 0;
        }
      });
      const out = (await backend.layer(j, h, B, n, anyMask ? mask : undefined)).hidden;
      idx.forEach((u, b) => {
        state[u] = out.slice(b * rowLen, (b + 1) * rowLen);
      });
      done += B;
      opts.onStep?.(done, total);
    }
  }
  // head at the last position only
  await headLogitsOf(backend, state, order, n, cap, finalLogits, opts);
  return finish(finalLogits);
}

const DEFAULT_MAX_BATCH_ROWS = 512;
/** on a GPU, larger last-row batches mean fewer calls, and fewer uploads of the prompts' contexts */
const DEFAULT_MAX_BATCH_ROWS_GPU = 2048;
const DEFAULT_MAX_BYTES_GPU = 4 * 1024 * 1024 * 1024;
/**
 * rows per sweepLastRows call: on the H200 through WebGPU (1.3b shape, 64 prompts; docs/benchmarks.md) 512 rows gave
 * 8.6 prompts/s, 256 → 7.3, 1024 → 8.0, 2048 → 4.9, 4096 → 4.9
 */
const DEFAULT_MAX_FUSED_ROWS = 512;

/**
 * The sweep on the last position alone (backend.layerLastRow): a knockout of (last ← c) edges leaves every earlier
 * position clean in every layer, so each variant carries only its last-position residual [d] and reads its prompt's
 * clean context. Same results as the full sweep, about N× less work. Returns the final logits per unique variant.
 */
async function sweepLastRow(
  backend: ModelBackend,
  clean: CleanRun,
  uniq: readonly Variant[],
  order: readonly number[],
  opts: RunnerOptions,
): Promise<Float32Array | VariantResult[]> {
  const { dModel: d, nLayer: L, paddedVocabSize: V, nHeads: H } = backend.config;
  const n = clean.n;
  const last = n - 1;
  const cd = convDimOf(backend);
  const U = uniq.length;
  // per item: residual rows, in_proj output, the gathered context (x, B, Δ over n positions, a few copies), M's row
  const perItem = 4 * (6 * d + 3 * (2 * backend.config.dInner + cd + H) + 4 * n * (cd + H) + 3 * H * n);
  const gpu = backend.ep === 'webgpu' || backend.ep === 'cuda';
  const maxItems = opts.maxBatch ?? (gpu ? DEFAULT_MAX_BATCH_ROWS_GPU : DEFAULT_MAX_BATCH_ROWS);
  // an explicit maxBatch is the user's call on memory (e.g. --max-batch 8192 on a large GPU); otherwise bytes cap it too
  const maxBytes = opts.maxBatchBytes ?? (opts.maxBatch !== undefined ? Infinity : gpu ? DEFAULT_MAX_BYTES_GPU : DEFAULT_MAX_BYTES);
  const cap = Math.max(1, Math.min(maxItems, Math.floor(maxBytes / perItem)));
  const state: (Float32Array | undefined)[] = new Array(U);
  let total = 0;
  for (const v of uniq) total += L - v.start;
  let done = 0;
  let active = 0;
  for (let j = 0; j < L; j++) {
    while (active < U && uniq[order[active]].start <= j) active++;
    const all = clean.contexts![j];
    for (let a0 = 0; a0 < active; a0 += cap) {
      checkCancel(opts.ctx);
      const tPrep = performance.now();
      const idx = order.slice(a0, Math.min(active, a0 + cap));
      const B = idx.length;
      // the prompts of this batch, each context once
      const slotOfPrompt = new Map<number, number>();
      const ctxIndex = new Int32Array(B);
      idx.forEach((u, b) => {
        const p = uniq[u].prompt;
        let s = slotOfPrompt.get(p);
        if (s === undefined) slotOfPrompt.set(p, (s = slotOfPrompt.size));
        ctxIndex[b] = s;
      });
      // most prompts present: send all contexts (indexed by prompt) rather than copy a subset
      const useAll = 2 * slotOfPrompt.size > all.count;
      if (useAll) idx.forEach((u, b) => (ctxIndex[b] = uniq[u].prompt));
      const ctx = useAll ? all : contextSubset(backend, all, slotOfPrompt, n);
      const h = new Float32Array(B * d);
      const mask = new Float32Array(B * n).fill(1);
      let anyMask = false;
      idx.forEach((u, b) => {
        const v = uniq[u];
        const s = state[u];
        if (s) h.set(s, b * d);
        else h.set(clean.hiddens[j].subarray((v.prompt * n + last) * d, (v.prompt * n + last + 1) * d), b * d);
        if (j >= v.start && j < v.start + v.size) {
          anyMask = true;
          for (const c of v.blocked) mask[b * n + c] = 0;
        }
      });
      since(tPrep, opts, 'sweep: batch preparation (JS)');
      const tRun = performance.now();
      const out = await backend.layerLastRow!(j, h, B, n, ctx, ctxIndex, anyMask ? mask : undefined);
      since(tRun, opts, 'sweep: layer calls');
      idx.forEach((u, b) => {
        state[u] = out.slice(b * d, (b + 1) * d);
      });
      done += B;
      opts.onStep?.(done, total);
    }
  }
  // head at the last position (the only one carried)
  if (backend.headLastTarget) {
    // reduced on the device: p = exp(target − max) / Σ exp(logit − max), in float64 from the float32 reductions
    const results: VariantResult[] = new Array(U);
    for (let a0 = 0; a0 < U; a0 += cap) {
      checkCancel(opts.ctx);
      const idx = order.slice(a0, a0 + cap);
      const B = idx.length;
      const h = new Float32Array(B * d);
      const targets = new Int32Array(B);
      idx.forEach((u, b) => {
        h.set(state[u]!, b * d);
        targets[b] = clean.targets[uniq[u].prompt];
      });
      const tHead = performance.now();
      const st = await backend.headLastTarget(h, B, 1, targets);
      since(tHead, opts, 'head calls');
      idx.forEach((u, b) => {
        results[u] = resultFromStats(st, b);
      });
    }
    return results;
  }
  const finalLogits = new Float32Array(U * V);
  await headLogitsOf(backend, state, order, 1, cap, finalLogits, opts);
  return finalLogits;
}

/**
 * Final logits of each unique variant from its state (`seqLen` positions of residual, only the last one is projected),
 * `cap` variants per head call, into `out` [U, paddedVocab].
 */
async function headLogitsOf(
  backend: ModelBackend,
  state: readonly (Float32Array | undefined)[],
  order: readonly number[],
  seqLen: number,
  cap: number,
  out: Float32Array,
  opts: RunnerOptions,
): Promise<void> {
  const V = backend.config.paddedVocabSize;
  const rowLen = seqLen * backend.config.dModel;
  for (let a0 = 0; a0 < order.length; a0 += cap) {
    checkCancel(opts.ctx);
    const idx = order.slice(a0, a0 + cap);
    const B = idx.length;
    const h = new Float32Array(B * rowLen);
    idx.forEach((u, b) => h.set(state[u]!, b * rowLen));
    const tHead = performance.now();
    const lg = await backend.headLast(h, B, seqLen);
    idx.forEach((u, b) => out.set(lg.subarray(b * V, (b + 1) * V), u * V));
    since(tHead, opts, 'head calls');
  }
}

/** The contexts of some prompts (`slotOfPrompt`: prompt → its index in the result), copied out of all prompts' contexts. */
function contextSubset(backend: ModelBackend, all: LayerContextBatch, slotOfPrompt: ReadonlyMap<number, number>, n: number): LayerContextBatch {
  const { nHeads: H, dConv: K } = backend.config;
  const cd = convDimOf(backend);
  const ctx = emptyContext(backend, slotOfPrompt.size, n);
  for (const [p, s] of slotOfPrompt) {
    ctx.raw.set(all.raw.subarray(p * (K - 1) * cd, (p + 1) * (K - 1) * cd), s * (K - 1) * cd);
    ctx.xbc.set(all.xbc.subarray(p * (n - 1) * cd, (p + 1) * (n - 1) * cd), s * (n - 1) * cd);
    ctx.delta.set(all.delta.subarray(p * (n - 1) * H, (p + 1) * (n - 1) * H), s * (n - 1) * H);
  }
  return ctx;
}

/**
 * The last-row sweep through backend.sweepLastRows: whole layer stacks per call, so the residual rows stay on the
 * device. The variants are grouped by prompt into calls of at most maxBatch rows (default 512), so that each call
 * uploads the contexts of few prompts; cancellation is checked between calls.
 */
async function sweepFused(backend: ModelBackend, clean: CleanRun, uniq: readonly Variant[], opts: RunnerOptions): Promise<VariantResult[]> {
  const { dModel: d, nLayer: L } = backend.config;
  const n = clean.n;
  const last = n - 1;
  const maxRows = Math.max(1, opts.maxBatch ?? DEFAULT_MAX_FUSED_ROWS);
  // calls: the variants of consecutive prompts, never more than maxRows (a prompt with more rows is split)
  const byPrompt = new Map<number, number[]>();
  uniq.forEach((v, u) => {
    const list = byPrompt.get(v.prompt);
    if (list) list.push(u);
    else byPrompt.set(v.prompt, [u]);
  });
  const calls: number[][] = [];
  let cur: number[] = [];
  for (const list of byPrompt.values()) {
    // a prompt that does not fit in the current call starts a new one
    if (cur.length > 0 && cur.length + list.length > maxRows) {
      calls.push(cur);
      cur = [];
    }
    for (const u of list) {
      if (cur.length === maxRows) {
        calls.push(cur);
        cur = [];
      }
      cur.push(u);
    }
  }
  if (cur.length > 0) calls.push(cur);
  let total = 0;
  for (const v of uniq) total += L - v.start;
  let done = 0;
  const results: VariantResult[] = new Array(uniq.length);
  for (const call of calls) {
    checkCancel(opts.ctx);
    const tPrep = performance.now();
    const rows = call.slice().sort((a, b) => uniq[a].start - uniq[b].start || a - b);
    const R = rows.length;
    const slotOfPrompt = new Map<number, number>();
    for (const u of rows) if (!slotOfPrompt.has(uniq[u].prompt)) slotOfPrompt.set(uniq[u].prompt, slotOfPrompt.size);
    const req: LastRowSweep = {
      seqLen: n,
      starts: new Int32Array(R),
      enter: new Float32Array(R * d),
      mask: new Float32Array(L * R * n).fill(1),
      contexts: clean.contexts!.map((all) => contextSubset(backend, all, slotOfPrompt, n)),
      ctxIndex: new Int32Array(R),
      targets: new Int32Array(R),
    };
    rows.forEach((u, r) => {
      const v = uniq[u];
      req.starts[r] = v.start;
      req.enter.set(clean.hiddens[v.start].subarray((v.prompt * n + last) * d, (v.prompt * n + last + 1) * d), r * d);
      for (let j = v.start; j < v.start + v.size; j++) for (const c of v.blocked) req.mask[(j * R + r) * n + c] = 0;
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
 * The naive way (for tests and the benchmark ratio): one full forward per variant, batch 1, mask inside the window.
 * Targets come from `targets` (per prompt).
 */
export async function runVariantsNaive(
  backend: ModelBackend,
  prompts: readonly CleanPrompt[],
  targets: readonly number[],
  variants: readonly Variant[],
  ctx?: MethodContext,
): Promise<VariantResult[]> {
  const { nLayer: L, vocabSize } = backend.config;
  const out: VariantResult[] = [];
  for (const v of variants) {
    checkCancel(ctx);
    const ids = prompts[v.prompt].ids;
    const n = ids.length;
    const mask = new Float32Array(n * n).fill(1);
    for (const c of v.blocked) mask[(n - 1) * n + c] = 0;
    let h = await backend.embed(ids, 1, n);
    for (let j = 0; j < L; j++) {
      const inWin = j >= v.start && j < v.start + v.size && v.blocked.length > 0;
      h = (await backend.layer(j, h, 1, n, inWin ? mask : undefined)).hidden;
    }
    const lg = await backend.headLast(h, 1, n);
    const r = probAndArgmax(lg, 0, vocabSize, targets[v.prompt]);
    out.push({ prob: r.prob, top1: r.argmax === targets[v.prompt] });
  }
  return out;
}

export function diffPct(p: number, pPrime: number): number {
  return p > 0 ? ((pPrime - p) / p) * 100 : 0;
}
