// Engine parity for Mamba-1 and Falcon-Mamba against test/fixtures/parity-mamba1/ (tools/make_mamba1_fixtures.py):
// tiny random checkpoints in both formats (HF safetensors incl. sharded + untied, state-spaces pytorch_model.bin with
// a padded vocabulary), float32/float16/bfloat16 weights, dt_rank explicit and "auto". Expected values: float64
// SPEC §2 (tools/mamba1_spec.py), which agrees with transformers' MambaForCausalLM / FalconMambaForCausalLM (hf block).
// Checked here, on the float64 reference and on ONNX Runtime (CPU): last-position logits, α of every channel, edge
// and complete (conv block) knockouts by full forwards, and the knockout diff% of the fast path (fused chunk graph
// and layer by layer), which must also equal one full forward per variant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { closeEngineSession } from '../../../src/engine/engine';
import type { Variant } from '../../../src/engine/experiments/runner';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import { convTapOf, type ConvPath } from '../../../src/engine/interventions/spec';
import type { ModelBackend } from '../../../src/engine/types';
import { fastPathTests, loadParityFixtures, maxAbsDiff, openParitySession, parityTmp, type FastPathKnock, type ParityExpected } from '../../helpers/parity';

const ROOT = resolve('test', 'fixtures', 'parity-mamba1');

interface Knock extends FastPathKnock {
  edges: [number, number][];
  conv: ConvPath;
}
interface Expected extends ParityExpected {
  format: 'hf' | 'state-spaces';
  hf: { used: boolean; maxAbsDiffVsReference: number };
  tolerance: { logitsAbs: number; alphaRelToMaxAbs: number; diffPctAbs: number };
  attention: { prompt: number; layer: number; shape: [number, number, number]; alpha: number[][][] }[];
  knockout: Knock[];
  tokenizerSample?: { text: string; ids: number[]; offsets: [number, number][] };
}

const fixtures = loadParityFixtures<Expected>(ROOT);

const tmp = parityTmp('parity-m1');

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
      const s = await openParitySession(dir, backend, tmp);
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

  fastPathTests(dir, exp, tmp, variantOf);
}
