import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanForward, runKnockouts, runKnockoutsIfTop1, runVariants, runVariantsNaive, type Variant } from '../../../src/engine/experiments/runner';
import { CancelledError } from '../../../src/engine/types';
import { CountingBackend, makeCtx, makeFixture, ortBackendFor } from './fixtures';

/**
 * Random variants; with `conv`, every third one is a complete knockout (conv taps cut too, SPEC §8); with `units` (the
 * model's heads or channels), every fourth one is restricted to a random feature group per layer, 'only' or 'except'.
 */
function randomVariants(P: number, n: number, L: number, count: number, seed: number, conv = false, units = 0): Variant[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const out: Variant[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1 + Math.floor(rnd() * L);
    const start = Math.floor(rnd() * (L - size + 1));
    const blocked = Array.from({ length: n }, (_, c) => c).filter(() => rnd() < 0.4);
    const v: Variant = { prompt: Math.floor(rnd() * P), start, size, blocked, ...(conv && i % 3 === 0 ? { conv: 'block' as const } : {}) };
    if (units > 0 && i % 4 === 1) {
      const groups = Array.from({ length: L }, (_, l) => Array.from({ length: units }, (_, u) => u).filter((u) => (u * 7 + l * 3 + i) % 3 === 0));
      v.features = { name: `random-${i}`, mode: i % 8 === 1 ? 'only' : 'except', units: groups };
    }
    out.push(v);
  }
  return out;
}

type Family = { arch?: 'mamba2' | 'mamba1'; variant?: 'mamba' | 'falcon_mamba' };
const label = (f: Family) => (f.arch === 'mamba1' ? (f.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1') : 'Mamba-2');

for (const shape of [
  { dModel: 16, nLayer: 5, headdim: 8, dState: 8, nGroups: 1, seed: 3 },
  { dModel: 24, nLayer: 7, headdim: 12, dState: 4, nGroups: 2, seed: 7 },
  { dModel: 24, nLayer: 7, headdim: 12, dState: 4, nGroups: 2, seed: 8, conv: true },
  { arch: 'mamba1' as const, dModel: 16, nLayer: 5, dState: 4, seed: 3 },
  { arch: 'mamba1' as const, dModel: 16, nLayer: 5, dState: 4, seed: 4, conv: true },
  { arch: 'mamba1' as const, variant: 'falcon_mamba' as const, dModel: 16, nLayer: 4, dState: 8, seed: 5, conv: true },
  { dModel: 24, nLayer: 5, headdim: 12, dState: 4, nGroups: 2, seed: 9, features: true },
  { arch: 'mamba1' as const, dModel: 16, nLayer: 5, dState: 4, seed: 6, features: true },
]) {
  test(`fast runner equals the naive runner on a random model (${JSON.stringify(shape)})`, async () => {
    const fx = await makeFixture(shape);
    const L = fx.ckpt.config.nLayer;
    const n = 6;
    const prompts = [0, 1, 2].map((p) => ({ ids: Int32Array.from({ length: n }, (_, i) => (7 * i + 13 * p + 5) % 90) }));
    const units = 'features' in shape ? (shape.arch === 'mamba1' ? 2 * shape.dModel : (2 * shape.dModel) / shape.headdim!) : 0;
    const variants = randomVariants(prompts.length, n, L, 40, shape.seed, 'conv' in shape, units);
    variants.push({ prompt: 0, start: 0, size: L, blocked: [] }, { ...variants[0] });
    const counting = new CountingBackend(fx.ref);
    const { clean, results } = await runKnockouts(counting, prompts, variants, { maxBatch: 7 });
    assert.ok(counting.maxBatchSeen <= 7, 'batch cap respected');
    const naive = await runVariantsNaive(fx.ref, prompts, clean.targets, variants);
    for (let i = 0; i < variants.length; i++) {
      assert.ok(Math.abs(results[i].prob - naive[i].prob) <= 1e-6 * Math.max(1, naive[i].prob), `variant ${i}: ${results[i].prob} vs ${naive[i].prob}`);
      assert.equal(results[i].top1, naive[i].top1);
    }
    // the empty variant equals the clean run
    assert.equal(results[variants.length - 2].prob, clean.baseProbs[0]);
    // prefix reuse: fewer layer evaluations than the naive L per variant
    const uniqueWork = variants.reduce((a, v) => a + (v.blocked.length ? L - v.start : 0), 0);
    assert.ok(counting.layerItems <= uniqueWork + prompts.length * L);
  });
}

test('runner checks cancellation between batches and throws CancelledError', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 11 });
  const prompts = [{ ids: Int32Array.from([1, 2, 3, 4, 5]) }];
  const clean = await cleanForward(fx.ref, prompts);
  const variants = randomVariants(1, 5, 4, 20, 5);
  const ctx = makeCtx(3);
  await assert.rejects(runVariants(fx.ref, clean, variants, { maxBatch: 2, ctx }), CancelledError);
});

test('runner reports progress in layer steps', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 12 });
  const prompts = [{ ids: Int32Array.from([1, 2, 3]) }];
  const clean = await cleanForward(fx.ref, prompts);
  const steps: [number, number][] = [];
  await runVariants(fx.ref, clean, [{ prompt: 0, start: 1, size: 2, blocked: [0] }, { prompt: 0, start: 0, size: 1, blocked: [1, 2] }], {
    onStep: (d, t) => steps.push([d, t]),
  });
  assert.deepEqual(steps[steps.length - 1], [7, 7]);
});

for (const { padBatches, fusedSweep, family, conv, features } of [
  { padBatches: false, fusedSweep: false, family: {}, conv: false },
  { padBatches: true, fusedSweep: false, family: {}, conv: false },
  { padBatches: false, fusedSweep: true, family: {}, conv: false },
  { padBatches: true, fusedSweep: true, family: {}, conv: false },
  { padBatches: false, fusedSweep: false, family: {}, conv: true },
  { padBatches: true, fusedSweep: true, family: {}, conv: true },
  { padBatches: false, fusedSweep: false, family: { arch: 'mamba1' }, conv: true },
  { padBatches: true, fusedSweep: false, family: { arch: 'mamba1' }, conv: true },
  { padBatches: false, fusedSweep: true, family: { arch: 'mamba1' }, conv: true },
  { padBatches: true, fusedSweep: true, family: { arch: 'mamba1', variant: 'falcon_mamba' }, conv: true },
  { padBatches: false, fusedSweep: false, family: {}, conv: false, features: true },
  { padBatches: true, fusedSweep: true, family: {}, conv: false, features: true },
  { padBatches: false, fusedSweep: false, family: { arch: 'mamba1' }, conv: false, features: true },
  { padBatches: true, fusedSweep: true, family: { arch: 'mamba1' }, conv: false, features: true },
] as { padBatches: boolean; fusedSweep: boolean; family: Family; conv: boolean; features?: boolean }[]) {
  const how = [label(family), padBatches ? 'GPU-style padded batches' : '', fusedSweep ? 'clean forward and rows in one chunk graph' : '', conv ? 'complete knockouts too' : '', features ? 'feature knockouts' : ''].filter(Boolean).join(', ');
  test(`ORT last-row fast path equals full forwards per variant, prompts of 1 to 7 tokens (${how})`, async () => {
    const fx = await makeFixture({ ...family, dModel: 24, nLayer: 6, headdim: 12, dState: 4, nGroups: 2, seed: 17 });
    const L = fx.ckpt.config.nLayer;
    const ort = await ortBackendFor(fx, { padBatches, fusedSweep });
    try {
      assert.ok(ort.layerLastRow, 'the ORT backend has the last-row path');
      assert.equal(ort.chunkKnockouts !== undefined, fusedSweep, 'the chunk graph is loaded exactly when asked for');
      for (const n of [1, 2, 3, 7]) {
        const prompts = [0, 1, 2, 3].map((p) => ({ ids: Int32Array.from({ length: n }, (_, i) => (11 * i + 17 * p + 3) % 90) }));
        const units = features ? (family.arch === 'mamba1' ? 48 : 4) : 0; // dModel 24: 48 channels, or 4 heads of 12
        const variants = randomVariants(prompts.length, n, L, 30, 100 + n, conv, units);
        const clean = await cleanForward(ort, prompts, { maxBatch: 3 });
        assert.equal(clean.contexts !== undefined, n >= 2, 'contexts kept exactly when there is an earlier position');
        // small batches: each batch carries a subset of the prompts' contexts; with the chunk graph, the clean forward
        // and the rows of a few prompts in each call
        const fast = fusedSweep ? (await runKnockouts(ort, prompts, variants, { maxBatch: 5 })).results : await runVariants(ort, clean, variants, { maxBatch: 5 });
        const naive = await runVariantsNaive(ort, prompts, clean.targets, variants);
        for (let i = 0; i < variants.length; i++) {
          assert.ok(Math.abs(fast[i].prob - naive[i].prob) <= 2e-5 * Math.max(naive[i].prob, 1e-3), `n=${n} variant ${i}: ${fast[i].prob} vs ${naive[i].prob}`);
          assert.equal(fast[i].top1, naive[i].top1);
        }
        // and the clean probabilities equal the float64 reference backend's
        const ref = await cleanForward(fx.ref, prompts);
        for (let p = 0; p < prompts.length; p++) assert.ok(Math.abs(ref.baseProbs[p] - clean.baseProbs[p]) <= 1e-5, `clean p, prompt ${p}`);
      }
    } finally {
      await ort.dispose();
    }
  });
}

for (const family of [{}, { arch: 'mamba1' }] as Family[])
test(`chunk graph: rows that all join late or all at layer 0, single rows and calls split inside a prompt give the layer-by-layer results, filter included (${label(family)})`, async () => {
  const fx = await makeFixture({ ...family, dModel: 16, nLayer: 5, headdim: 8, dState: 8, nGroups: 1, seed: 23 });
  const L = fx.ckpt.config.nLayer;
  const fused = await ortBackendFor(fx, { fusedSweep: true, padBatches: true });
  const plain = await ortBackendFor(fx, { fusedSweep: false });
  try {
    const n = 5;
    const prompts = [0, 1].map((p) => ({ ids: Int32Array.from({ length: n }, (_, i) => (13 * i + 29 * p + 1) % 90) }));
    const sets: Variant[][] = [
      [{ prompt: 1, start: L - 1, size: 1, blocked: [0, 2] }],
      [2, 3, 4].map((start) => ({ prompt: 0, start, size: L - start, blocked: [start % n] })),
      // every row from layer 0 (windows of every size): every layer runs all rows, the state keeps no later ones
      [1, 2, L].flatMap((size) => [0, 1].map((prompt) => ({ prompt, start: 0, size, blocked: [size % n, (size + 2) % n] }))),
      randomVariants(2, n, L, 25, 77),
      randomVariants(2, n, L, 25, 78, true),
    ];
    const cleanP = await cleanForward(plain, prompts);
    for (const variants of sets) {
      for (const maxBatch of [3, 64]) {
        const a = (await runKnockouts(fused, prompts, variants, { maxBatch })).results;
        const b = await runVariants(plain, cleanP, variants, { maxBatch });
        for (let i = 0; i < variants.length; i++) {
          assert.ok(Math.abs(a[i].prob - b[i].prob) <= 1e-5 * Math.max(b[i].prob, 1e-3), `variant ${i} (cap ${maxBatch}): ${a[i].prob} vs ${b[i].prob}`);
          assert.equal(a[i].top1, b[i].top1);
        }
      }
    }
    // the dataset filter in the graph: prompt 0's target is its clean top-1, prompt 1's is not; split calls too
    const targeted = prompts.map((p, i) => ({ ids: p.ids, target: i === 0 ? cleanP.top1[0] : (cleanP.top1[1] + 1) % 90 }));
    const variants = randomVariants(2, n, L, 25, 79);
    const b = await runVariants(plain, cleanP, variants, { maxBatch: 64 });
    for (const maxBatch of [3, 64]) {
      const f = await runKnockoutsIfTop1(fused, targeted, variants, { maxBatch });
      assert.deepEqual(f.kept, [true, false]);
      assert.equal(f.clean.top1[1], cleanP.top1[1], 'a filtered prompt still has its clean numbers');
      variants.forEach((v, i) => {
        if (v.prompt === 1) return assert.equal(f.results[i], undefined, `variant ${i} of the filtered prompt is not run`);
        assert.ok(Math.abs(f.results[i]!.prob - b[i].prob) <= 1e-5 * Math.max(b[i].prob, 1e-3), `kept variant ${i} (cap ${maxBatch})`);
      });
    }
  } finally {
    await fused.dispose();
    await plain.dispose();
  }
});

test('chunk graph: progress in layer steps per call, cancellation between calls', async () => {
  const fx = await makeFixture({ dModel: 16, nLayer: 4, headdim: 8, dState: 8, nGroups: 1, seed: 31 });
  const fused = await ortBackendFor(fx, { fusedSweep: true });
  try {
    const prompts = [{ ids: Int32Array.from([1, 2, 3, 4]) }, { ids: Int32Array.from([5, 6, 7, 8]) }];
    const variants = randomVariants(2, 4, 4, 12, 9).filter((v) => v.blocked.length > 0);
    const steps: [number, number][] = [];
    await runKnockouts(fused, prompts, variants, { maxBatch: 4, onStep: (d, t) => steps.push([d, t]) });
    const total = new Set(variants.map((v) => `${v.prompt}|${v.start}|${v.size}|${[...new Set(v.blocked)].sort().join(',')}`)).size;
    assert.ok(steps.length >= Math.ceil(total / 4), `one step per call of at most 4 rows (${steps.length} steps, ${total} rows)`);
    assert.equal(steps[steps.length - 1][0], steps[steps.length - 1][1]);
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i][0] > steps[i - 1][0]);
    await assert.rejects(runKnockouts(fused, prompts, variants, { maxBatch: 4, ctx: makeCtx(1) }), CancelledError);
  } finally {
    await fused.dispose();
  }
});

test('chunk graph: a call whose rows do not match their windows or masks is refused before it runs', async () => {
  const fx = await makeFixture({ dModel: 16, nLayer: 4, headdim: 8, dState: 8, nGroups: 1, seed: 31 });
  const fused = await ortBackendFor(fx, { fusedSweep: true });
  try {
    const W = 4, R = 2;
    const call = (over: Record<string, unknown>) =>
      fused.chunkKnockouts!({
        ids: Int32Array.from([1, 2, 3, 4]),
        width: W,
        lengths: Int32Array.from([4]),
        targets: Int32Array.from([-1]),
        onlyIfTop1: Uint8Array.from([0]),
        starts: Int32Array.from([0, 2]),
        ends: Int32Array.from([2, 4]),
        prompt: Int32Array.from([0, 0]),
        mask: new Float32Array(R * W).fill(1),
        afterMask: new Float32Array(R * W).fill(1),
        ...over,
      });
    const ok = await call({});
    assert.equal(ok.stats.maxLogit.length, R);
    await assert.rejects(call({ ends: Int32Array.from([2, 2]) }), /row 1's window \[2, 2\) is not within 0…4/);
    await assert.rejects(call({ ends: Int32Array.from([2, 5]) }), /window \[2, 5\)/);
    await assert.rejects(call({ mask: new Float32Array(4 * R * W).fill(1) }), /do not match the rows/);
    await assert.rejects(call({ afterMask: new Float32Array(W) }), /do not match the rows/);
  } finally {
    await fused.dispose();
  }
});
