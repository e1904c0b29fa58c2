// Engine parity for Mamba-1 and Falcon-Mamba against test/fixtures/parity-mamba1/ (tools/make_mamba1_fixtures.py):
// tiny random checkpoints in both formats (HF safetensors incl. sharded + untied, state-spaces pytorch_model.bin with
// a padded vocabulary), float32/float16/bfloat16 weights, dt_rank explicit and "auto". Expected values: float64
// SPEC §2 (tools/mamba1_spec.py), which agrees with transformers' MambaForCausalLM / FalconMambaForCausalLM (hf block).
// Checked here, on the float64 reference and on ONNX Runtime (CPU): last-position logits, α of every channel, edge
// and complete (conv block) knockouts by full forwards, and the knockout diff% of the fast path (fused sweep graph
// and layer by layer), which must also equal one full forward per variant.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { openEngineSession, closeEngineSession } from '../../../src/engine/engine';
import { cleanForward, diffPct, runKnockouts, runVariants, runVariantsNaive, type Variant } from '../../../src/engine/experiments/runner';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import { convTapOf, type ConvPath } from '../../../src/engine/interventions/spec';
import type { EngineSession, ModelBackend } from '../../../src/engine/types';

const ROOT = resolve('test', 'fixtures', 'parity-mamba1');

interface Knock {
  prompt: number;
  layers: number[];
  edges: [number, number][];
  conv: ConvPath;
  kind: string;
  lastLogits: number[];
  target: number;
  prob: number;
  cleanProb: number;
  diffPct: number;
}
interface Expected {
  name: string;
  format: 'hf' | 'state-spaces';
  storedDType: string;
  config: Record<string, unknown>;
  hf: { used: boolean; maxAbsDiffVsReference: number };
  tolerance: { logitsAbs: number; alphaRelToMaxAbs: number; diffPctAbs: number };
  prompts: { ids: number[]; lastLogits: number[] }[];
  attention: { prompt: number; layer: number; shape: [number, number, number]; alpha: number[][][] }[];
  knockout: Knock[];
  tokenizerSample?: { text: string; ids: number[]; offsets: [number, number][] };
}

const fixtures: { dir: string; exp: Expected }[] = existsSync(ROOT)
  ? readdirSync(ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(ROOT, d.name, 'expected.json')))
      .map((d) => ({ dir: join(ROOT, d.name), exp: JSON.parse(readFileSync(join(ROOT, d.name, 'expected.json'), 'utf8')) as Expected }))
  : [];

const tmp = mkdtempSync(join(tmpdir(), 'me-parity-m1-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The whole model on one prompt; per-layer edge masks [n, n] and conv masks [n, K]; attention of `att` layers. */
async function run(b: ModelBackend, ids: number[], masks?: Map<number, { mask: Float32Array; conv?: Float32Array }>, att: Set<number> = new Set()) {
  const n = ids.length;
  let h = await b.embed(Int32Array.from(ids), 1, n);
  const attention = new Map<number, Float32Array>();
  for (let l = 0; l < b.config.nLayer; l++) {
    const m = masks?.get(l);
    const o = await b.layer(l, h, 1, n, m?.mask, att.has(l), false, m?.conv);
    h = o.hidden;
    if (o.attention) attention.set(l, o.attention);
  }
  return { logits: await b.headLast(h, 1, n), attention };
}

/** The fixture's knockout as masks: edges (row ← col) cut, and for conv 'block' the taps carrying col into row. */
function masksOf(k: Knock, n: number, K: number) {
  const mask = new Float32Array(n * n).fill(1);
  const conv = k.conv === 'block' ? new Float32Array(n * K).fill(1) : undefined;
  for (const [r, c] of k.edges) {
    mask[r * n + c] = 0;
    const tap = convTapOf(r, c, K);
    if (conv && tap >= 0) conv[r * K + tap] = 0;
  }
  return new Map(k.layers.map((l) => [l, { mask, conv }] as const));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** A fixture knockout as a runner variant (contiguous layers, every edge into the last position). */
function variantOf(k: Knock, n: number): Variant {
  const start = Math.min(...k.layers);
  assert.deepEqual(k.layers, k.layers.map((_, i) => start + i), 'contiguous window');
  for (const [r] of k.edges) assert.equal(r, n - 1, 'edges into the last position');
  return { prompt: 0, start, size: k.layers.length, blocked: k.edges.map(([, c]) => c), conv: k.conv };
}

test('Mamba-1 parity fixtures are present (both formats, all dtypes, Falcon-Mamba, sharded untied, auto dt_rank)', () => {
  const kinds = new Set(fixtures.map((f) => `${f.exp.format}/${f.exp.storedDType}/${f.exp.config.variant}`));
  for (const k of ['hf/float32/mamba', 'hf/bfloat16/mamba', 'hf/float16/falcon_mamba', 'state-spaces/float32/mamba', 'state-spaces/float16/mamba']) assert.ok(kinds.has(k), `missing fixture kind ${k}`);
  for (const f of fixtures) assert.ok(f.exp.hf.used && f.exp.hf.maxAbsDiffVsReference < 1e-4, `${f.exp.name}: transformers vs reference ${f.exp.hf.maxAbsDiffVsReference}`);
  assert.ok(fixtures.some((f) => f.exp.knockout.some((k) => k.conv === 'block')));
});

const CONFIG_KEYS = ['dModel', 'nLayer', 'vocabSize', 'paddedVocabSize', 'dState', 'dInner', 'expand', 'dConv', 'dtRank', 'eps', 'mixerRmsEps', 'tieEmbeddings', 'variant'];

for (const { dir, exp } of fixtures) {
  test(`${exp.name}: Mamba-1 checkpoint config, dtype and tokenizer`, async () => {
    const ck = await openCheckpoint(dir);
    try {
      const c = ck.config as unknown as Record<string, unknown>;
      assert.equal(c.arch, 'mamba1');
      assert.equal(ck.config.format, exp.format);
      for (const k of CONFIG_KEYS) assert.equal(c[k], exp.config[k], `config.${k}`);
      assert.equal(ck.storedDType, exp.storedDType);
    } finally {
      ck.close();
    }
    if (exp.tokenizerSample) {
      const e = loadTokenizer(join(dir, 'tokenizer.json')).encode(exp.tokenizerSample.text);
      assert.deepEqual(e.ids, exp.tokenizerSample.ids);
    }
  });

  for (const backend of ['reference', 'ort'] as const) {
    test(`${exp.name}: ${backend} backend reproduces logits, α and edge / complete knockouts`, async (t) => {
      const s: EngineSession = await openEngineSession(dir, backend === 'ort' ? { ep: 'cpu', cacheRoot: tmp, threads: 2 } : { backend: 'reference' });
      try {
        const b = s.backend;
        const K = b.config.dConv;
        // the fixture is rounded to 7 significant digits: the float64 reference sits within that, ORT within the tolerance
        const tolL = backend === 'reference' ? 2e-5 : exp.tolerance.logitsAbs;
        let worst = 0, worstA = 0, worstK = 0;
        for (const [pi, p] of exp.prompts.entries()) {
          const d = maxAbsDiff((await run(b, p.ids)).logits, p.lastLogits);
          worst = Math.max(worst, d);
          assert.ok(d <= tolL, `${exp.name} prompt ${pi} (n=${p.ids.length}): max |Δlogit| ${d} > ${tolL}`);
        }
        for (const a of exp.attention) {
          const ids = exp.prompts[a.prompt].ids;
          const got = (await run(b, ids, undefined, new Set([a.layer]))).attention.get(a.layer);
          assert.ok(got, `no attention returned for layer ${a.layer}`);
          const want = a.alpha.flat(2);
          assert.equal(got.length, want.length, 'α is [dInner, n, n]');
          let maxA = 0;
          for (const v of want) maxA = Math.max(maxA, Math.abs(v));
          const d = maxAbsDiff(got, want);
          const tolA = backend === 'reference' ? 1e-6 : exp.tolerance.alphaRelToMaxAbs;
          worstA = Math.max(worstA, d / maxA);
          assert.ok(d <= tolA * maxA, `${exp.name} α layer ${a.layer}: max |Δα| ${d} > ${tolA} × ${maxA}`);
        }
        for (const k of exp.knockout) {
          const ids = exp.prompts[k.prompt].ids;
          const d = maxAbsDiff((await run(b, ids, masksOf(k, ids.length, K))).logits, k.lastLogits);
          worstK = Math.max(worstK, d);
          assert.ok(d <= tolL, `${exp.name} knockout ${k.kind} layers ${k.layers} conv ${k.conv}: max |Δlogit| ${d} > ${tolL}`);
        }
        t.diagnostic(`max |Δlogit| ${worst.toExponential(2)}, max |Δα|/max|α| ${worstA.toExponential(2)}, knockout max |Δlogit| ${worstK.toExponential(2)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }

  for (const sweep of ['fused', 'layers'] as const) {
    test(`${exp.name}: fast path (${sweep}) diff% within ${exp.tolerance.diffPctAbs} pp of float64 and equal to one full forward per variant`, async (t) => {
      const s = await openEngineSession(dir, { ep: 'cpu', cacheRoot: tmp, threads: 2, sweep });
      try {
        const b = s.backend;
        assert.equal(b.chunkKnockouts !== undefined, sweep === 'fused');
        let worstPct = 0, worstNaive = 0;
        const byPrompt = new Map<number, Knock[]>();
        for (const k of exp.knockout) byPrompt.set(k.prompt, [...(byPrompt.get(k.prompt) ?? []), k]);
        for (const [pi, ks] of byPrompt) {
          const ids = Int32Array.from(exp.prompts[pi].ids);
          const target = ks[0].target;
          const variants = ks.map((k) => variantOf(k, ids.length));
          const { clean, results: fast } = await runKnockouts(b, [{ ids, target }], variants);
          const naive = await runVariantsNaive(b, [{ ids, target }], [target], variants);
          ks.forEach((k, i) => {
            const got = diffPct(clean.baseProbs[0], fast[i].prob);
            worstPct = Math.max(worstPct, Math.abs(got - k.diffPct));
            assert.ok(Math.abs(got - k.diffPct) <= exp.tolerance.diffPctAbs, `${k.kind} layers ${k.layers} conv ${k.conv}: diff% ${got} vs ${k.diffPct}`);
            const rel = Math.abs(fast[i].prob - naive[i].prob) / Math.max(naive[i].prob, 1e-12);
            worstNaive = Math.max(worstNaive, rel);
            assert.ok(rel < 1e-4, `fast path ${fast[i].prob} vs full forward ${naive[i].prob}`);
            assert.equal(fast[i].top1, naive[i].top1);
          });
        }
        t.diagnostic(`max |Δdiff%| ${worstPct.toExponential(2)} pp, fast vs full forward max rel |Δp| ${worstNaive.toExponential(2)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }
}
