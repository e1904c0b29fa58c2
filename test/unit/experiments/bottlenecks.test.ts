// Finding and measuring steering (SPEC §5): the effective rank and the variance ranking equal a direct float64
// computation from the reference's mixer outputs; the eigenvalue routine on known matrices; corpus formats and bad
// corpora; steer-sweep: scale 1 = unsteered, every scale and leave-one-out set equal direct steered forwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { effectiveRankFromGram, readCorpus, runBottlenecks, symmetricEigenvalues } from '../../../src/engine/experiments/bottlenecks';
import { runSteerSweep } from '../../../src/engine/experiments/steerSweep';
import { compileSteering } from '../../../src/engine/interventions/steering';
import { UserError } from '../../../src/engine/types';
import { makeFixture, makeSession, ortBackendFor, tmpDir, WordTokenizer } from './fixtures';

const dir = tmpDir('steer');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('symmetric eigenvalues and the effective rank on known matrices', () => {
  // diag(4, 1, 0) rotated: eigenvalues 4, 1, 0; singular values of M with MᵀM = that are 2, 1, 0 → p = (2/3, 1/3)
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const R = [c, -s, 0, s, c, 0, 0, 0, 1];
  const D = [4, 1, 0];
  const A = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) A[i * 3 + j] += R[i * 3 + k] * D[k] * R[j * 3 + k];
  const ev = Array.from(symmetricEigenvalues(Float64Array.from(A), 3)).sort((a, b) => b - a);
  ev.forEach((v, i) => assert.ok(Math.abs(v - D[i]) < 1e-12, `${v} vs ${D[i]}`));
  const p = [2 / 3, 1 / 3];
  assert.ok(Math.abs(effectiveRankFromGram(A, 3) - Math.exp(-p.reduce((h, x) => h + x * Math.log(x), 0))) < 1e-12);
  // a random 12×12 Gram: Σλ = trace, Σλ² = ‖A‖²
  const n = 12;
  const M = Array.from({ length: 30 * n }, (_, i) => Math.sin(i * 1.7) + Math.cos(i * 0.3));
  const G = new Float64Array(n * n);
  for (let t = 0; t < 30; t++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] += M[t * n + i] * M[t * n + j];
  const lam = symmetricEigenvalues(Float64Array.from(G), n);
  let tr = 0, fro = 0;
  for (let i = 0; i < n; i++) tr += G[i * n + i];
  for (const v of G) fro += v * v;
  assert.ok(Math.abs(lam.reduce((a, b) => a + b, 0) - tr) < 1e-9 * tr);
  assert.ok(Math.abs(lam.reduce((a, b) => a + b * b, 0) - fro) < 1e-9 * fro);
});

test('corpus formats: paragraphs, JSON Lines, COUNTERFACT; bad corpora are one clear line', () => {
  const w = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  assert.deepEqual(readCorpus(w('a.txt', 'one two\nthree\n\n\nfour five\n')), ['one two\nthree', 'four five']);
  assert.deepEqual(readCorpus(w('b.jsonl', '{"text": "x y"}\n\n{"text": "z"}\n')), ['x y', 'z']);
  assert.deepEqual(readCorpus(w('c.json', JSON.stringify([{ prompt: 'The cat is', subject: 'cat', target_true: ' big' }]))), ['The cat is']);
  for (const [name, text, re] of [
    ['e.txt', '\n\n  \n', /holds no text/],
    ['f.jsonl', '{"text": "x"}\n{"nope": 1}\n', /line 2 has no string "text"/],
    ['g.jsonl', '{"text": "x"}\n{oops\n', /line 2 is not JSON/],
    ['h.bin', 'ab\u0000cd', /not a text file/],
  ] as [string, string, RegExp][]) {
    assert.throws(() => readCorpus(w(name, text)), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), name);
  }
  assert.throws(() => readCorpus(path.join(dir, 'missing.txt')), /cannot be read/);
});

for (const family of [{}, { arch: 'mamba1' as const }]) {
  const label = family.arch === 'mamba1' ? 'Mamba-1' : 'Mamba-2';
  test(`bottlenecks: effective rank and variance ranking equal a direct float64 computation (${label})`, async () => {
    const fx = await makeFixture({ ...family, dModel: 16, nLayer: 3, headdim: 8, dState: 4, nGroups: 1, seed: 71 });
    const ort = await ortBackendFor(fx);
    try {
      const tok = new WordTokenizer(fx.ckpt.config.vocabSize);
      const session = makeSession(ort, fx.ckpt, tok);
      const texts = ['the cat sat on the mat', 'a dog ran far away today', 'birds sing in the early morning light', 'one two three'];
      const corpus = path.join(dir, `corpus-${label}.txt`);
      fs.writeFileSync(corpus, texts.join('\n\n'));
      const r = await runBottlenecks(session, { corpus, top: 16 });
      const d = fx.ckpt.config.dModel, L = fx.ckpt.config.nLayer;
      // direct: float64 reference mixer outputs o = h_{l+1} − h_l, Gram, eigenvalues; per-text means, variance
      const all: number[][][] = Array.from({ length: L }, () => []);
      const means: number[][][] = Array.from({ length: L }, () => []);
      for (const t of texts) {
        const ids = Int32Array.from(tok.encode(t).ids);
        let h = fx.ref.embed64(ids, 1, ids.length);
        for (let l = 0; l < L; l++) {
          const next = fx.ref.layer64(l, h, 1, ids.length).hidden;
          const rows = Array.from({ length: ids.length }, (_, i) => Array.from({ length: d }, (_, k) => next[i * d + k] - h[i * d + k]));
          all[l].push(...rows);
          means[l].push(Array.from({ length: d }, (_, k) => rows.reduce((a, row) => a + row[k], 0) / rows.length));
          h = next;
        }
      }
      for (let l = 0; l < L; l++) {
        const G = new Float64Array(d * d);
        for (const row of all[l]) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) G[i * d + j] += row[i] * row[j];
        const want = effectiveRankFromGram(G, d);
        assert.ok(Math.abs(r.layers[l].effectiveRank - want) < 1e-4 * want, `layer ${l}: ${r.layers[l].effectiveRank} vs ${want}`);
      }
      assert.equal(r.bottleneck, r.layers.reduce((a, x) => (x.effectiveRank < a.effectiveRank ? x : a)).layer);
      const ms = means[r.layer];
      const variance = (k: number) => {
        const mu = ms.reduce((a, m) => a + m[k], 0) / ms.length;
        return ms.reduce((a, m) => a + (m[k] - mu) ** 2, 0) / (ms.length - 1);
      };
      const order = Array.from({ length: d }, (_, k) => k).sort((a, b) => variance(b) - variance(a) || a - b);
      assert.deepEqual(r.channels.slice(0, 5).map((c) => c.channel), order.slice(0, 5));
      r.channels.forEach((c) => assert.ok(Math.abs(c.variance - variance(c.channel)) <= 1e-4 * Math.max(variance(c.channel), 1e-12)));
      assert.equal(r.corpus.texts, 4);
    } finally {
      await ort.dispose();
    }
  });

  test(`steer-sweep: scale 1 = unsteered; scales and leave-one-out equal direct steered forwards (${label})`, async () => {
    const fx = await makeFixture({ ...family, dModel: 16, nLayer: 3, headdim: 8, dState: 4, nGroups: 1, seed: 72 });
    const ort = await ortBackendFor(fx);
    try {
      const tok = new WordTokenizer(fx.ckpt.config.vocabSize);
      const session = makeSession(ort, fx.ckpt, tok);
      const rows = ['The cat sat on', 'A dog ran to', 'Birds sing in', 'The sun is', 'My car has four'].map((p, i) => ({ prompt: p, subject: p.split(' ')[1], target_true: [' mat', ' park', ' trees', ' hot', ' wheels'][i], target_false: ' x' }));
      const dataset = path.join(dir, `ds-${label}.json`);
      fs.writeFileSync(dataset, JSON.stringify(rows));
      const channels = [1, 4, 9];
      const r = await runSteerSweep(session, { dataset, layer: 1, channels, scales: [0, 1, 4], leaveOneOut: true, metric: 'logprob' });
      assert.equal(r.prompts, 5);
      assert.equal(r.passes, 3 + 2 * 3);
      const direct = async (steer: { layer: number; channels: number[]; scale: number }[]) => {
        ort.setSteering!(steer.length ? compileSteering(fx.ckpt.config, steer) : undefined);
        const out: number[] = [];
        for (const row of rows) {
          const ids = tok.encode(row.prompt).ids;
          const target = tok.encode(row.prompt + row.target_true).ids[ids.length];
          let h = await ort.embed(Int32Array.from(ids), 1, ids.length);
          for (let l = 0; l < 3; l++) h = (await ort.layer(l, h, 1, ids.length)).hidden;
          const lg = await ort.headLast(h, 1, ids.length);
          let m = -Infinity;
          for (let v = 0; v < fx.ckpt.config.vocabSize; v++) m = Math.max(m, lg[v]);
          let z = 0;
          for (let v = 0; v < fx.ckpt.config.vocabSize; v++) z += Math.exp(lg[v] - m);
          out.push(lg[target] - m - Math.log(z));
        }
        ort.setSteering!(undefined);
        return out;
      };
      const none = await direct([]);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(Math.abs(r.scales[1].logprob.mean - mean(none)) < 1e-5, 'scale 1 = unsteered');
      for (const [k, s] of [0, 1, 4].entries()) {
        const want = mean(await direct([{ layer: 1, channels, scale: s }]));
        assert.ok(Math.abs(r.scales[k].logprob.mean - want) < 1e-5, `scale ${s}: ${r.scales[k].logprob.mean} vs ${want}`);
      }
      const all4 = await direct([{ layer: 1, channels, scale: 4 }]);
      const without4 = await direct([{ layer: 1, channels: [1, 9], scale: 4 }]);
      const impact = r.leaveOneOut!.find((x) => x.scale === 4)!.channels.find((x) => x.channel === 4)!.impact;
      assert.ok(Math.abs(impact.mean - mean(all4.map((v, i) => v - without4[i]))) < 1e-5);
      assert.ok(impact.low <= impact.mean && impact.mean <= impact.high);
      await assert.rejects(runSteerSweep(session, { dataset, layer: 3, channels }), /layer 3 is out of range/);
      await assert.rejects(runSteerSweep(session, { dataset, layer: 1, channels: [16] }), /channel 16 is out of range/);
    } finally {
      await ort.dispose();
    }
  });
}
