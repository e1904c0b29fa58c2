// Feature knockout on the engine (SPEC §4): the edge knockout restricted to a subset of the attention units
// (Mamba-2 heads, Mamba-1 channels), 'only' or 'except'. Identities that pin the semantics down, and the ORT fast path
// (fused and layer by layer) against the float64 reference computed with the restriction written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanForward, runKnockouts, runVariants, type Variant } from '../../../src/engine/experiments/runner';
import type { FeatureSelection } from '../../../src/engine/interventions/spec';
import { familyOf } from '../../../src/engine/arch/index';
import { makeFixture, ortBackendFor, type Fixture } from './fixtures';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { ReferenceBackend } from '../../../src/engine/reference/referenceBackend';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';

const group = (L: number, units: number[], mode: 'only' | 'except', name = 'g'): FeatureSelection => ({ name, mode, units: Array.from({ length: L }, () => units) });

/** Mamba-2: a random checkpoint; Mamba-1: the trained demo model (a random Mamba-1 mixes too little to see much). */
const cases: { label: string; load: () => Promise<{ fx: Fixture; ids: Int32Array; base: Variant }> }[] = [
  {
    label: 'Mamba-2 heads, random checkpoint',
    load: async () => {
      const fx = await makeFixture({ dModel: 24, nLayer: 4, headdim: 6, dState: 4, nGroups: 1, seed: 41 });
      return { fx, ids: Int32Array.from({ length: 6 }, (_, i) => (13 * i + 5) % 90), base: { prompt: 0, start: 1, size: 2, blocked: [0, 1, 2, 3, 4, 5] } };
    },
  },
  {
    label: 'Mamba-1 channels, the Mamba-1 demo model',
    load: async () => {
      const ckpt = await openCheckpoint('models/demo-mamba1');
      const ids = Int32Array.from(loadTokenizer('models/demo-mamba1/tokenizer.json').encode('Beats Music is owned by').ids);
      // the demo model reads the subject in its last layers: block last ← subject (positions 0-2) in layers 5-7
      return { fx: { dir: 'models/demo-mamba1', ckpt, ref: new ReferenceBackend(ckpt) }, ids, base: { prompt: 0, start: 5, size: 3, blocked: [0, 1, 2] } };
    },
  },
];

for (const { label, load } of cases) {
  test(`feature knockout identities and ORT = float64 reference (${label})`, async (t) => {
    const { fx, ids, base } = await load();
    const c = fx.ckpt.config;
    const L = c.nLayer;
    const U = familyOf(c).attentionUnits(c).count;
    const n = ids.length;
    const some = Array.from({ length: U }, (_, u) => u).filter((u) => u % 3 !== 1);
    // per-layer groups: a different subset in every layer
    const perLayer: FeatureSelection = { name: 'per-layer', mode: 'only', units: Array.from({ length: L }, (_, l) => Array.from({ length: U }, (_, u) => u).filter((u) => (u + l) % 2 === 0)) };
    const variants: Variant[] = [
      base,
      { ...base, features: group(L, [], 'only', 'none') }, // 0: cuts nothing = clean
      { ...base, features: group(L, [], 'except', 'none') }, // 1: every unit = unrestricted
      { ...base, features: group(L, Array.from({ length: U }, (_, u) => u), 'only', 'all') }, // 2: = unrestricted
      { ...base, features: group(L, some, 'only', 'some') },
      { ...base, features: group(L, some, 'except', 'some') },
      { ...base, features: perLayer },
    ];
    for (const fused of [true, false]) {
      const ort = await ortBackendFor(fx, { fusedSweep: fused });
      try {
        const { clean, results: r } = await runKnockouts(ort, [{ ids }], variants);
        const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-5 * Math.max(b, 1e-3), `${what}: ${a} vs ${b}`);
        close(r[1].prob, clean.baseProbs[0], "'only' an empty group = clean");
        close(r[2].prob, r[0].prob, "'except' an empty group = every unit");
        close(r[3].prob, r[0].prob, "'only' every unit = every unit");
        assert.ok(Math.abs(r[0].prob - clean.baseProbs[0]) > 1e-3 * clean.baseProbs[0], 'the unrestricted knockout changes p');
        assert.ok(Math.abs(r[4].prob - r[0].prob) > 1e-5 && Math.abs(r[4].prob - clean.baseProbs[0]) > 1e-5, 'a strict subset differs from both');
        // float64 reference with the restriction written out: keep = 1 − unit·(1 − mask)
        for (const i of [4, 5, 6]) {
          const v = variants[i];
          const mask = new Float64Array(n * n).fill(1);
          for (const b of v.blocked) mask[(n - 1) * n + b] = 0;
          const unitOf = (l: number) => {
            const sel = new Float64Array(U).fill(v.features!.mode === 'only' ? 0 : 1);
            for (const u of v.features!.units[l]) sel[u] = v.features!.mode === 'only' ? 1 : 0;
            return sel;
          };
          const inWin = (l: number) => l >= v.start && l < v.start + v.size;
          const { logits } = fx.ref.forward64(ids, 1, n, (l) => (inWin(l) ? mask : undefined), [], undefined, (l) => (inWin(l) ? unitOf(l) : undefined));
          const V = c.vocabSize;
          let max = -Infinity;
          for (let k = 0; k < V; k++) max = Math.max(max, logits[k]);
          let z = 0;
          for (let k = 0; k < V; k++) z += Math.exp(logits[k] - max);
          close(r[i].prob, Math.exp(logits[clean.targets[0]] - max) / z, `variant ${i} vs float64 (${fused ? 'fused' : 'layer by layer'})`);
        }
        t.diagnostic(`${fused ? 'fused' : 'layers'}: clean ${clean.baseProbs[0].toFixed(7)}, all ${r[0].prob.toFixed(7)}, only ${r[4].prob.toFixed(7)}, except ${r[5].prob.toFixed(7)}, per-layer ${r[6].prob.toFixed(7)}`);
      } finally {
        await ort.dispose();
      }
    }
    if (fx.dir === 'models/demo-mamba1') fx.ckpt.close();
  });
}

test('dataset run with feature groups: one aggregate per group, "all" equals the unrestricted run, settings record them', async () => {
  const { openEngineSession, closeEngineSession } = await import('../../../src/engine/engine');
  const { runDataset } = await import('../../../src/engine/experiments/dataset');
  const { UserError } = await import('../../../src/engine/types');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join((await import('node:os')).tmpdir(), 'me-fk-ds-'));
  const session = await openEngineSession('models/demo-mamba1', { ep: 'cpu', cacheRoot: path.join(dir, 'cache'), threads: 2 });
  try {
    const base = { dataset: 'examples/demo-facts.json', experiment: 'macro' as const, windows: [3], sets: ['subject', 'last'], limit: 6, seed: 1 };
    const plain = await runDataset(session, { ...base, out: path.join(dir, 'plain.json') });
    const fk = await runDataset(session, { ...base, out: path.join(dir, 'fk.json'), features: 'all,fast,slow', featureMode: 'except' });
    assert.deepEqual(fk.settings.features, ['all', 'fast', 'slow']);
    assert.equal(fk.settings.featureMode, 'except');
    const groups = fk.aggregate.groups!;
    assert.deepEqual(groups.map((g) => g.features), ['all', 'fast', 'slow']);
    const a = groups[0].windows[0].curves.subject.mean;
    const b = plain.aggregate.windows[0].curves.subject.mean;
    // the two runs group their rows into calls differently (three groups' rows against one's), and a call's size moves
    // the edges of ORT's vectorised blocks (docs/method.md §3): 1e-4 pp of diff% is 1e-6 relative in p
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `all group start ${i}: ${v} vs ${b[i]}`));
    // the slow-exempt knockout removes less than the full one at the top window (the demo model reads the subject late)
    const last = a.length - 1;
    assert.ok(groups[2].windows[0].curves.subject.mean[last] > a[last], 'except slow keeps more of p than every feature');
    assert.equal(fk.prompts[0].groups!.length, 3);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'fk.json'), 'utf8'));
    assert.equal(written.aggregate.groups.length, 3);
    await assert.rejects(runDataset(session, { ...base, experiment: 'micro', windows: [3], out: path.join(dir, 'm.json'), features: 'fast,slow' }), (e: unknown) => e instanceof UserError && /need --experiment macro/.test((e as Error).message));
    await assert.rejects(runDataset(session, { ...base, out: path.join(dir, 'x.json'), featureMode: 'only' }), /--feature-mode needs --features/);
    await assert.rejects(runDataset(session, { ...base, out: path.join(dir, 'y.json'), features: 'heads:1' }), /has channels, not heads/);
  } finally {
    await closeEngineSession(session);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decay thirds: sorted by (score, index) — ties broken by index; group parsing and bad input', async () => {
  const { decayThirds, parseFeatureGroups } = await import('../../../src/engine/experiments/features');
  const { UserError } = await import('../../../src/engine/types');
  // scores with ties: the lower index goes to the faster third
  const t = decayThirds([0.5, 0.1, 0.5, 0.1, 0.9, 0.5, 0.3]);
  assert.deepEqual(t, { fast: [1, 3], middle: [0, 2, 6], slow: [4, 5] });
  assert.deepEqual(decayThirds([1, 1, 1, 1, 1, 1]), { fast: [0, 1], middle: [2, 3], slow: [4, 5] });
  assert.deepEqual(parseFeatureGroups('all,heads:3,5,8-10,fast').map((g) => g.name), ['all', 'heads:3,5,8-10', 'fast']);
  assert.deepEqual(parseFeatureGroups('channels:0-2')[0].list, [0, 1, 2]);
  for (const [v, re] of [
    ['fastest', /unknown group 'fastest'/],
    ['heads:', /needs a list of indices/],
    ['heads:5-3', /range 5-3 is empty/],
    ['all,,slow', /empty group/],
  ] as [string, RegExp][]) {
    assert.throws(() => parseFeatureGroups(v), (e: unknown) => e instanceof UserError && re.test((e as Error).message) && !(e as Error).message.includes('\n'), v);
  }
  const fx = await makeFixture({ dModel: 16, nLayer: 2, headdim: 8, dState: 4, nGroups: 1, seed: 5 });
  const { resolveFeatureParams } = await import('../../../src/engine/experiments/features');
  assert.throws(() => resolveFeatureParams(fx.ckpt, 'heads:4', undefined, 'keep'), /head 4 is out of range: the model has heads 0\.\.3/);
  assert.throws(() => resolveFeatureParams(fx.ckpt, 'channels:1', undefined, 'keep'), /has heads, not channels/);
  assert.throws(() => resolveFeatureParams(fx.ckpt, 'fast', 'some', 'keep'), /--feature-mode must be only or except/);
  assert.throws(() => resolveFeatureParams(fx.ckpt, 'fast', undefined, 'block'), /--conv block cuts the conv taps of every channel/);
  assert.equal(resolveFeatureParams(fx.ckpt, 'all', undefined, 'block')![0].selection, undefined);
});
