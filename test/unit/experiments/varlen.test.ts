// Prompts of different token lengths in one batch (issue 14 item 2): the clean forward right-pads every prompt to the
// batch's longest, the knockout rows left-pad the shorter prompts' contexts (zero rows, mask 0, each row's own absolute
// position). The padding must change no number: for every family (the three demo models, every parity fixture — the
// GPT-NeoX ones check the rotary positions — and random checkpoints with GPU-style padded batches, complete knockouts
// and feature groups), a mixed-length batch gives each prompt's probabilities as running the prompt alone (≤ 1e-6
// relative; most are bit-identical) and as one full forward per variant, fused and layer by layer. A dataset run of
// chunks of mixed lengths writes the results file of one length per chunk.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEngineSession, closeEngineSession } from '../../../src/engine/engine';
import { cleanForward, runKnockouts, runVariants, runVariantsNaive, type CleanPrompt, type Variant, type VariantResult } from '../../../src/engine/experiments/runner';
import { familyOf } from '../../../src/engine/arch/index';
import { contextSubset, emptyContext, storeContext } from '../../../src/engine/experiments/context';
import { writePaddedLastRowMasks } from '../../../src/engine/interventions/spec';
import { CancelledError, UserError, type ModelBackend } from '../../../src/engine/types';
import { formChunks, partialPath, runDataset } from '../../../src/engine/experiments/dataset';
import type { DatasetRunResult } from '../../../src/engine/experiments/resultTypes';
import { makeCtx, makeFixture, makeSession, ortBackendFor } from './fixtures';

const tmp = mkdtempSync(join(tmpdir(), 'me-varlen-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** lengths of the batch: a one-token prompt (whole-sequence sweep), a repeated length, short and long ones */
const LENGTHS = [5, 1, 12, 3, 8, 2, 12, 7];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
}

function promptsFor(vocab: number, seed: number, lengths = LENGTHS): CleanPrompt[] {
  const r = lcg(seed);
  return lengths.map((n) => ({ ids: Int32Array.from({ length: n }, () => Math.floor(r() * vocab)) }));
}

/**
 * Per prompt a few knockouts: random windows and sources (its own positions only), the last position itself, every
 * source; complete knockouts (conv taps) where the family has a conv path, head / channel groups where asked.
 */
function variantsFor(b: ModelBackend, prompts: readonly CleanPrompt[], seed: number, perPrompt = 5, features = true): Variant[] {
  const c = b.config;
  const L = c.nLayer;
  const fam = familyOf(c);
  const U = fam.attentionUnits(c).count;
  const r = lcg(seed);
  const out: Variant[] = [];
  prompts.forEach((p, pi) => {
    const n = p.ids.length;
    for (let i = 0; i < perPrompt; i++) {
      const size = 1 + Math.floor(r() * L);
      const start = Math.floor(r() * (L - size + 1));
      let blocked = Array.from({ length: n }, (_, c) => c).filter(() => r() < 0.4);
      if (i === 0) blocked = [n - 1];
      if (i === 1) blocked = Array.from({ length: n }, (_, c) => c);
      if (blocked.length === 0) blocked = [Math.floor(r() * n)];
      const v: Variant = { prompt: pi, start, size, blocked };
      if (fam.convPath && i % 3 === 2) v.conv = 'block';
      if (features && i === 3) {
        const units = Array.from({ length: L }, (_, l) => Array.from({ length: U }, (_, u) => u).filter((u) => (u * 5 + l + pi) % 3 === 0));
        v.features = { name: `g${pi}`, mode: pi % 2 ? 'only' : 'except', units };
      }
      out.push(v);
    }
  });
  return out;
}

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-30));

interface Outcome {
  worstAlone: number;
  worstNaive: number;
  identical: number;
  total: number;
}

/**
 * The mixed-length batch against each prompt alone and against one full forward per variant (targets: each prompt's
 * clean top-1 alone).
 */
async function mixedVsAlone(b: ModelBackend, prompts: readonly CleanPrompt[], variants: readonly Variant[], maxBatch?: number): Promise<Outcome> {
  const opts = maxBatch ? { maxBatch } : {};
  const targets: number[] = [];
  const baseAlone: number[] = [];
  const alone: VariantResult[] = new Array(variants.length);
  for (const [p, pr] of prompts.entries()) {
    const cl = await cleanForward(b, [pr]);
    targets.push(cl.targets[0]);
    baseAlone.push(cl.baseProbs[0]);
    const idx = variants.map((v, i) => (v.prompt === p ? i : -1)).filter((i) => i >= 0);
    const rs = await runVariants(b, cl, idx.map((i) => ({ ...variants[i], prompt: 0 })), opts);
    idx.forEach((i, k) => (alone[i] = rs[k]));
  }
  const clean = await cleanForward(b, prompts.map((p, i) => ({ ids: p.ids, target: targets[i] })), opts);
  assert.deepEqual(clean.lengths, prompts.map((p) => p.ids.length));
  assert.equal(clean.n, Math.max(...clean.lengths));
  let worstAlone = 0, worstNaive = 0, identical = 0;
  for (let p = 0; p < prompts.length; p++) {
    const d = rel(clean.baseProbs[p], baseAlone[p]);
    worstAlone = Math.max(worstAlone, d);
    assert.ok(d <= 1e-6, `clean p of prompt ${p} (${prompts[p].ids.length} tokens): ${clean.baseProbs[p]} in the batch vs ${baseAlone[p]} alone`);
    assert.equal(clean.top1[p], targets[p], `clean top-1 of prompt ${p}`);
  }
  const mixed = await runVariants(b, clean, variants, opts);
  if (b.chunkKnockouts) {
    // the chunk graph (clean forward + rows in one call, several widths with a small cap) gives the same numbers
    const ch = await runKnockouts(b, prompts.map((p, i) => ({ ids: p.ids, target: targets[i] })), variants, opts);
    prompts.forEach((_, p) => assert.ok(rel(ch.clean.baseProbs[p], clean.baseProbs[p]) <= 1e-6, `chunk graph: clean p of prompt ${p}`));
    variants.forEach((_, i) => {
      assert.ok(rel(ch.results[i].prob, mixed[i].prob) <= 1e-6, `chunk graph: variant ${i}: ${ch.results[i].prob} vs ${mixed[i].prob}`);
      assert.equal(ch.results[i].top1, mixed[i].top1, `chunk graph: variant ${i} still-top-1`);
    });
  }
  const naive = await runVariantsNaive(b, prompts, targets, variants);
  variants.forEach((v, i) => {
    const what = `variant ${i} (prompt ${v.prompt}, ${prompts[v.prompt].ids.length} tokens, window ${v.start}+${v.size}, blocked ${v.blocked.join(',')}${v.conv ? ', conv ' + v.conv : ''}${v.features ? ', ' + v.features.mode + ' ' + v.features.name : ''})`;
    const d = rel(mixed[i].prob, alone[i].prob);
    worstAlone = Math.max(worstAlone, d);
    if (mixed[i].prob === alone[i].prob) identical++;
    assert.ok(d <= 1e-6, `${what}: ${mixed[i].prob} in the batch vs ${alone[i].prob} alone`);
    assert.equal(mixed[i].top1, alone[i].top1, `${what}: still-top-1`);
    const dn = Math.abs(mixed[i].prob - naive[i].prob) / Math.max(naive[i].prob, 1e-3);
    worstNaive = Math.max(worstNaive, rel(mixed[i].prob, naive[i].prob));
    assert.ok(dn <= 2e-5, `${what}: ${mixed[i].prob} in the batch vs ${naive[i].prob} by a full forward`);
    assert.equal(mixed[i].top1, naive[i].top1, `${what}: still-top-1 vs the full forward`);
  });
  return { worstAlone, worstNaive, identical, total: variants.length };
}

const say = (o: Outcome) => `mixed vs alone max rel |Δp| ${o.worstAlone.toExponential(2)} (${o.identical}/${o.total} bit-identical), vs full forwards ${o.worstNaive.toExponential(2)}`;

// every model folder: the demo models and the parity fixtures of the three families
const MODELS: string[] = [resolve('models', 'demo'), resolve('models', 'demo-mamba1'), resolve('models', 'demo-transformer')];
for (const root of ['parity', 'parity-mamba1', 'parity-transformer']) {
  const dir = resolve('test', 'fixtures', root);
  if (!existsSync(dir)) continue;
  for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory() && existsSync(join(dir, d.name, 'config.json'))) MODELS.push(join(dir, d.name));
}

test('the mixed-length tests see every family: the demo models and the parity fixtures (GPT-NeoX with rotary among them)', () => {
  const names = MODELS.map((m) => m.split(/[\\/]/).pop()!);
  for (const want of ['demo', 'demo-mamba1', 'demo-transformer', 'ss-g2-f16', 'hf-falcon-f16', 'gpt2-f32', 'neox-f32-parallel', 'neox-bf16-sharded-sequential']) assert.ok(names.includes(want), `missing model ${want}`);
});

for (const dir of MODELS) {
  for (const sweep of ['fused', 'layers'] as const) {
    test(`${dir.split(/[\\/]/).slice(-1)[0]}: a batch of prompts of ${Math.min(...LENGTHS)}–${Math.max(...LENGTHS)} tokens gives each prompt's numbers alone and by full forwards (${sweep})`, async (t) => {
      const s = await openEngineSession(dir, { ep: 'cpu', cacheRoot: tmp, threads: 2, sweep });
      try {
        const b = s.backend;
        assert.equal(b.chunkKnockouts !== undefined, sweep === 'fused');
        const V = Math.min(b.config.vocabSize, 4000);
        // seeds from the model's folder name, not its path: the same prompts wherever the repository is cloned
        const name = dir.split(/[\\/]/).pop()!;
        const prompts = promptsFor(V, 7 + name.length);
        const variants = variantsFor(b, prompts, 11 + name.length);
        // one call for everything, then calls of a few rows (several widths, prompts split across calls)
        const a = await mixedVsAlone(b, prompts, variants);
        const c = await mixedVsAlone(b, prompts, variants, 7);
        t.diagnostic(`${say(a)}; calls of 7 rows: ${say(c)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }
}

type Shape = { arch?: 'mamba2' | 'mamba1'; variant?: 'mamba' | 'falcon_mamba'; dModel: number; nLayer: number; headdim?: number; dState: number; nGroups?: number; seed: number };
for (const shape of [
  { dModel: 24, nLayer: 5, headdim: 12, dState: 4, nGroups: 2, seed: 41 },
  { arch: 'mamba1', dModel: 16, nLayer: 5, dState: 4, seed: 42 },
  { arch: 'mamba1', variant: 'falcon_mamba', dModel: 16, nLayer: 4, dState: 8, seed: 43 },
] as Shape[]) {
  for (const { padBatches, fusedSweep } of [
    { padBatches: true, fusedSweep: true },
    { padBatches: true, fusedSweep: false },
  ]) {
    test(`random ${shape.variant ?? shape.arch ?? 'mamba2'} checkpoint, GPU-style padded batches, ${fusedSweep ? 'fused' : 'layer by layer'}: mixed lengths change no number`, async (t) => {
      const fx = await makeFixture(shape);
      const b = await ortBackendFor(fx, { padBatches, fusedSweep });
      try {
        const prompts = promptsFor(fx.ckpt.config.vocabSize, shape.seed, [6, 2, 9, 1, 4, 9, 3]);
        const variants = variantsFor(b, prompts, shape.seed, 6);
        const a = await mixedVsAlone(b, prompts, variants, 5);
        t.diagnostic(say(a));
      } finally {
        await b.dispose();
      }
    });
  }
}

test('a mixed-length batch on the float64 reference backend (whole sequences) equals each prompt alone', async () => {
  const fx = await makeFixture({ nLayer: 3, seed: 44 });
  const prompts = promptsFor(fx.ckpt.config.vocabSize, 44, [4, 1, 6, 2]);
  const variants = variantsFor(fx.ref, prompts, 44, 4);
  const o = await mixedVsAlone(fx.ref, prompts, variants, 3);
  assert.equal(o.identical, o.total, 'the reference reads no padded position at all: bit-identical');
});

test('context store: a shorter prompt sits left-padded (zero rows first) and a narrower call keeps the last rows; masks shift by the padding', async () => {
  const fx = await makeFixture({ nLayer: 2, seed: 45 });
  const c = fx.ckpt.config;
  const spec = familyOf(c).contextSpec(c);
  const width = 6;
  const store = emptyContext(c, 2, width);
  // a layer call of 2 prompts of 3 and 5 tokens, right-padded to 5: row values = 100·item + position + 1
  const rows: Record<string, Float32Array> = {};
  for (const s of spec) rows[s.name] = Float32Array.from({ length: 2 * 5 * s.width }, (_, i) => 100 * Math.floor(i / (5 * s.width)) + (Math.floor(i / s.width) % 5) + 1);
  storeContext(c, store, width, rows, [1, 0], 5, [3, 5]);
  const prefix = spec.find((s) => s.rows === 'prefix')!;
  const conv = spec.find((s) => s.rows === 'conv')!;
  const at = (t: Float32Array, w: number, slot: number, rowsPer: number) => Array.from({ length: rowsPer }, (_, r) => t[(slot * rowsPer + r) * w]);
  // slot 1 = the 3-token prompt (item 0): positions 0, 1 after 3 zero rows; slot 0 = the 5-token one (item 1)
  assert.deepEqual(at(store.tensors[prefix.name], prefix.width, 1, width - 1), [0, 0, 0, 1, 2]);
  assert.deepEqual(at(store.tensors[prefix.name], prefix.width, 0, width - 1), [0, 101, 102, 103, 104]);
  // conv rows: the K−1 = 3 positions before the last (zeros before position 0)
  assert.deepEqual(at(store.tensors[conv.name], conv.width, 1, 3), [0, 1, 2]);
  assert.deepEqual(at(store.tensors[conv.name], conv.width, 0, 3), [102, 103, 104]);
  const sub = contextSubset(c, store, width, new Map([[1, 0]]), 4);
  assert.deepEqual(at(sub.tensors[prefix.name], prefix.width, 0, 3), [0, 1, 2]);
  assert.throws(() => contextSubset(c, store, width, new Map([[1, 0]]), 7), /call width 7 > store width 6/);
  // the mask of a 3-token prompt's row in a call 6 wide: padding 0 … 2 cut in every layer, source 1 at column 4
  const mask = new Float32Array(6).fill(1);
  const convMask = new Float32Array(4).fill(1);
  assert.equal(writePaddedLastRowMasks({ start: 0, size: 1, blocked: [1], conv: 'block' }, 0, 3, 6, 4, mask, 0, convMask, 0), true);
  assert.deepEqual(Array.from(mask), [0, 0, 0, 1, 0, 1]);
  assert.deepEqual(Array.from(convMask), [1, 1, 0, 1], 'the conv tap of source 1 for the last position 2 (own coordinates)');
  const outside = new Float32Array(6).fill(1);
  assert.equal(writePaddedLastRowMasks({ start: 1, size: 1, blocked: [1] }, 0, 3, 6, 4, outside, 0), false, 'outside the window only the padding');
  assert.deepEqual(Array.from(outside), [0, 0, 0, 1, 1, 1]);
});

// ---- dataset runs: chunks of mixed lengths give the numbers of one length per chunk ----

const stripRun = (r: DatasetRunResult) => ({ ...r, timing: undefined, configHash: undefined, provenance: { ...r.provenance, createdAt: '' } });

/**
 * Two results files alike but for float32 rounding: the same structure, strings, flags and counts; probabilities
 * (`baseProb`) within 1e-6 relative, diff% and its statistics within 1e-4 percentage points (what 1e-6 on p gives).
 * Returns how many numbers differed at all. (ORT's CPU Softplus and Log round an element a little differently at the
 * edges of their vectorised blocks, and those depend on how many rows a call has: a batch of another composition can
 * move Δ by an ulp, padded or not. The padding itself moves no bit: the mixed-vs-alone tests above.)
 */
function assertAlike(a: unknown, b: unknown, where = ''): number {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return 0;
    const tol = where.endsWith('.baseProb') ? 1e-6 * Math.max(Math.abs(a), Math.abs(b)) : 1e-4 + 1e-6 * Math.abs(b);
    assert.ok(Math.abs(a - b) <= tol, `${where}: ${a} vs ${b}`);
    return 1;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    assert.deepEqual(a, b, where);
    return 0;
  }
  assert.equal(Array.isArray(a), Array.isArray(b), where);
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  assert.deepEqual(ka.sort(), kb.sort(), `${where}: keys`);
  let n = 0;
  for (const k of ka) n += assertAlike((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
  return n;
}

function writeVariedDataset(dir: string, rows: number): string {
  const subjects = ['Danielle Darrieux', 'Paris', 'Apple', 'Big Ben', 'Toyota Corolla', 'Mount Fuji', 'Edwin Hubble', 'Nile', 'the Republic of the Congo'];
  const relations = ['{} is in', 'The mother tongue of {} is', '{}, that is located in the middle of', 'The capital city of {} is', 'In the old books it is written that {} works in the field of'];
  const data = [];
  for (let i = 0; i < rows; i++) {
    const s = subjects[(i * 7) % subjects.length];
    data.push({ prompt: relations[i % relations.length].replace('{}', s), subject: s, target_true: i % 2 ? ' English' : ' French' });
  }
  const f = join(dir, 'varied.json');
  writeFileSync(f, JSON.stringify(data));
  return f;
}

for (const family of [{ arch: 'mamba2' as const }, { arch: 'mamba1' as const }]) {
  for (const fusedSweep of [true, false]) {
    test(`dataset run (${family.arch}, ORT, ${fusedSweep ? 'fused' : 'layer by layer'}): chunks of mixed lengths give the results file of one length per chunk, macro and micro`, async (t) => {
      const fx = await makeFixture({ ...family, dModel: 24, nLayer: 4, headdim: 12, dState: 4, nGroups: 2, seed: 51 });
      const b = await ortBackendFor(fx, { fusedSweep });
      try {
        const session = makeSession(b, fx.ckpt);
        const dir = mkdtempSync(join(tmp, 'ds-'));
        const ds = writeVariedDataset(dir, 23);
        for (const experiment of ['macro', 'micro'] as const) {
          const base = { dataset: ds, experiment, windows: [2], filter: false, chunkSize: 4, conv: experiment === 'macro' ? ('block' as const) : undefined };
          const byLength = await runDataset(session, { ...base, chunking: 'length', out: join(dir, `${experiment}-length.json`) });
          const mixed = await runDataset(session, { ...base, out: join(dir, `${experiment}-mixed.json`) });
          assert.ok(new Set(byLength.prompts.map((p) => p.tokenCount)).size >= 5, 'the prompts have several lengths');
          const moved = assertAlike(stripRun(mixed), stripRun(byLength), experiment);
          t.diagnostic(`${experiment}: ${moved} numbers not bit-identical`);
          assert.deepEqual(JSON.parse(readFileSync(join(dir, `${experiment}-mixed.json`), 'utf8')), JSON.parse(JSON.stringify(mixed)));
          assert.notEqual(mixed.configHash, byLength.configHash, 'the chunking is part of the config hash (checkpoints of one do not resume as the other)');
        }
      } finally {
        await b.dispose();
      }
    });
  }
}

test('dataset run on the float64 reference backend: chunks of mixed lengths give exactly the results file of one length per chunk', async () => {
  const fx = await makeFixture({ nLayer: 3, seed: 53 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = mkdtempSync(join(tmp, 'ref-ds-'));
  const ds = writeVariedDataset(dir, 11);
  const base = { dataset: ds, experiment: 'macro' as const, windows: [2], filter: false, chunkSize: 3 };
  const byLength = await runDataset(session, { ...base, chunking: 'length', out: join(dir, 'length.json') });
  const mixed = await runDataset(session, { ...base, out: join(dir, 'mixed.json') });
  assert.deepEqual(stripRun(mixed), stripRun(byLength));
});

test('dataset run on the demo models (Mamba-2, Mamba-1, GPT-NeoX; real tokenizer): mixed chunks give the numbers of one length per chunk', async (t) => {
  for (const model of ['demo', 'demo-mamba1', 'demo-transformer']) {
    const s = await openEngineSession(resolve('models', model), { ep: 'cpu', cacheRoot: tmp, threads: 2 });
    try {
      const dir = mkdtempSync(join(tmp, 'demo-ds-'));
      const base = { dataset: resolve('examples', 'demo-facts.json'), experiment: 'macro' as const, limit: 24, seed: 5, chunkSize: 8 };
      const byLength = await runDataset(s, { ...base, chunking: 'length', out: join(dir, 'length.json') });
      const mixed = await runDataset(s, { ...base, out: join(dir, 'mixed.json') });
      assert.ok(new Set(byLength.prompts.map((p) => p.tokenCount)).size >= 3, `${model}: several lengths`);
      assert.ok(byLength.prompts.length >= 12, `${model}: the model knows most demo facts`);
      t.diagnostic(`${model}: ${assertAlike(stripRun(mixed), stripRun(byLength), model)} numbers not bit-identical`);
    } finally {
      await closeEngineSession(s);
    }
  }
});

test('dataset chunks: deterministic, sorted by length for mixed chunks, first appearance for one length per chunk', () => {
  const lengths = [7, 3, 7, 9, 3, 3, 12, 7, 9];
  assert.deepEqual(formChunks(lengths, 4, 'mixed'), [[1, 4, 5, 0], [2, 7, 3, 8], [6]]);
  assert.deepEqual(formChunks(lengths, 2, 'length'), [[0, 2], [7], [1, 4], [5], [3, 8], [6]]);
  assert.deepEqual(formChunks(lengths, 4, 'mixed'), formChunks(lengths.slice(), 4, 'mixed'));
});

test('resume: a checkpoint keeps its chunking (one written before mixed chunks resumes with one length per chunk); asking for another one is refused', async () => {
  const fx = await makeFixture({ nLayer: 3, seed: 52 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = mkdtempSync(join(tmp, 'resume-'));
  const ds = writeVariedDataset(dir, 14);
  const params = { dataset: ds, experiment: 'macro' as const, windows: [2], filter: false, chunkSize: 2, checkpointSeconds: 0 };
  const cutAfter = (n: number) => {
    const c = makeCtx();
    c.cancelled = () => c.events.length > 0 && c.events[c.events.length - 1].done >= n;
    return c;
  };
  for (const chunking of ['length', 'mixed'] as const) {
    const full = await runDataset(session, { ...params, chunking, out: join(dir, `full-${chunking}.json`) });
    const out = join(dir, `cut-${chunking}.json`);
    await assert.rejects(runDataset(session, { ...params, chunking, out }, cutAfter(5)), CancelledError);
    const partial = JSON.parse(readFileSync(partialPath(out), 'utf8')) as DatasetRunResult;
    assert.equal(partial.resume!.chunking, chunking);
    if (chunking === 'length') {
      // as an earlier version wrote it: no chunking field; resuming without asking keeps one length per chunk
      delete partial.resume!.chunking;
      writeFileSync(partialPath(out), JSON.stringify(partial));
      await assert.rejects(runDataset(session, { ...params, chunking: 'mixed', out, resume: true }), (e: unknown) => e instanceof UserError && /its chunks hold one token length each, not prompts of mixed lengths as asked/.test(e.message));
    }
    const resumed = await runDataset(session, { ...params, out, resume: true });
    assert.deepEqual({ ...resumed, timing: undefined, provenance: { ...resumed.provenance, createdAt: '' } }, { ...full, timing: undefined, provenance: { ...full.provenance, createdAt: '' } });
  }
  await assert.rejects(runDataset(session, { ...params, chunking: 'sorted' as never, out: join(dir, 'x.json') }), /chunking must be mixed or length/);
});
