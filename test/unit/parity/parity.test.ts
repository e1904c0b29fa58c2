// Engine parity against the fixtures of test/fixtures/parity/ (tools/make_parity_fixtures.py): tiny random
// Mamba-2 checkpoints in both formats (HF safetensors incl. sharded, state-spaces pytorch_model.bin),
// float32/float16/bfloat16 weights, ngroups 1 and 2. Expected values: float64 SPEC §1 (mamba_ssm semantics),
// cross-checked with transformers' Mamba2ForCausalLM where it follows the same maths (see expected.json 'hf').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { closeEngineSession } from '../../../src/engine/engine';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import type { ModelBackend } from '../../../src/engine/types';
import { loadParityFixtures, maxAbsDiff, openParitySession, parityTmp, type ParityExpected } from '../../helpers/parity';

const ROOT = resolve('test', 'fixtures', 'parity');

interface Expected extends ParityExpected {
  format: 'hf' | 'state-spaces';
  config: Record<string, number | boolean>;
  hf: { used: boolean; maxAbsDiffVsReference?: number; hfGatedNorm?: string };
  tolerance: { logitsAbs: number; attentionRelToMaxAbs: number };
  attention: { prompt: number; layer: number; shape: [number, number, number]; M: number[][][] }[];
  knockout: { prompt: number; layers: number[]; edges: [number, number][]; lastLogits: number[] }[];
  tokenizerSample?: { text: string; ids: number[]; offsets: [number, number][] };
}

const fixtures = loadParityFixtures<Expected>(ROOT);

const tmp = parityTmp('parity');

/** Runs the whole model on one prompt; masks per layer ([1, n, n], 1 keep / 0 block); attention of `att` layers. */
async function run(b: ModelBackend, ids: number[], masks?: Map<number, Float32Array>, att: Set<number> = new Set()) {
  const n = ids.length;
  let h = await b.embed(Int32Array.from(ids), 1, n);
  const attention = new Map<number, Float32Array>();
  for (let l = 0; l < b.config.nLayer; l++) {
    const o = await b.layer(l, h, 1, n, masks?.get(l), att.has(l));
    h = o.hidden;
    if (o.attention) attention.set(l, o.attention);
  }
  const logits = await b.headLast(h, 1, n);
  return { logits, attention };
}

test('parity fixtures are present (6 checkpoints, both formats, all dtypes, ngroups 1 and 2)', () => {
  assert.ok(fixtures.length >= 6, `expected ≥ 6 fixtures under ${ROOT}, found ${fixtures.length}`);
  const kinds = new Set(fixtures.map((f) => `${f.exp.format}/${f.exp.storedDType}/g${f.exp.config.nGroups}`));
  for (const k of ['hf/float32/g1', 'hf/float16/g2', 'hf/bfloat16/g1', 'state-spaces/float32/g1', 'state-spaces/float16/g2', 'state-spaces/bfloat16/g1']) {
    assert.ok(kinds.has(k), `missing fixture kind ${k}`);
  }
  // transformers agreed with the float64 reference where its semantics match (ngroups 1)
  for (const f of fixtures) {
    if (f.exp.hf.used && f.exp.config.nGroups === 1) assert.ok(f.exp.hf.maxAbsDiffVsReference! < 1e-4, `${f.exp.name}: transformers vs reference ${f.exp.hf.maxAbsDiffVsReference}`);
  }
});

for (const { dir, exp } of fixtures) {
  test(`${exp.name}: checkpoint config, dtype and tokenizer`, async () => {
    const ck = await openCheckpoint(dir);
    try {
      const c = ck.config as unknown as Record<string, unknown>;
      assert.equal(ck.config.format, exp.format);
      for (const [k, v] of Object.entries(exp.config)) assert.equal(c[k], v, `config.${k}`);
      assert.equal(ck.storedDType, exp.storedDType);
    } finally {
      ck.close();
    }
    if (exp.tokenizerSample) {
      const tok = loadTokenizer(join(dir, 'tokenizer.json'));
      const e = tok.encode(exp.tokenizerSample.text);
      assert.deepEqual(e.ids, exp.tokenizerSample.ids);
      assert.deepEqual(e.offsets, exp.tokenizerSample.offsets);
    }
  });

  for (const backend of ['reference', 'ort'] as const) {
    test(`${exp.name}: ${backend} backend reproduces logits, attention and knockouts`, async (t) => {
      const s = await openParitySession(dir, backend, tmp);
      try {
        const b = s.backend;
        // reference (float64) must sit at the 9-digit rounding of the fixture; ORT (float32) within the fixture's tolerance
        const tolL = backend === 'reference' ? 1e-5 : exp.tolerance.logitsAbs; // hidden states cross layers as float32 (ModelBackend)
        let worst = 0;
        let worstA = 0;
        let worstK = 0;
        for (const [pi, p] of exp.prompts.entries()) {
          const { logits } = await run(b, p.ids);
          const d = maxAbsDiff(logits, p.lastLogits);
          worst = Math.max(worst, d);
          assert.ok(d <= tolL, `${exp.name} prompt ${pi} (n=${p.ids.length}): max |Δlogit| ${d} > ${tolL}`);
        }
        for (const a of exp.attention) {
          const ids = exp.prompts[a.prompt].ids;
          const n = ids.length;
          const { attention } = await run(b, ids, undefined, new Set([a.layer]));
          const got = attention.get(a.layer);
          assert.ok(got, `no attention returned for layer ${a.layer}`);
          const [H] = a.shape;
          assert.equal(got.length, H * n * n);
          const want = a.M.flat(2);
          let maxM = 0;
          for (const v of want) maxM = Math.max(maxM, Math.abs(v));
          const d = maxAbsDiff(got, want);
          const tolA = backend === 'reference' ? 1e-6 : exp.tolerance.attentionRelToMaxAbs;
          worstA = Math.max(worstA, d / maxM);
          assert.ok(d <= tolA * maxM, `${exp.name} attention layer ${a.layer}: max |ΔM| ${d} > ${tolA} × ${maxM}`);
        }
        for (const k of exp.knockout) {
          const ids = exp.prompts[k.prompt].ids;
          const n = ids.length;
          const mask = new Float32Array(n * n).fill(1);
          for (const [r, c] of k.edges) mask[r * n + c] = 0;
          const masks = new Map(k.layers.map((l) => [l, mask] as [number, Float32Array]));
          const { logits } = await run(b, ids, masks);
          const d = maxAbsDiff(logits, k.lastLogits);
          worstK = Math.max(worstK, d);
          assert.ok(d <= tolL, `${exp.name} knockout layers ${k.layers}: max |Δlogit| ${d} > ${tolL}`);
          // the knockout must change something (guards against a mask that is ignored)
          assert.ok(maxAbsDiff(k.lastLogits, exp.prompts[k.prompt].lastLogits) > 1e-3);
        }
        t.diagnostic(`max |Δlogit| ${worst.toExponential(2)}, max |ΔM|/max|M| ${worstA.toExponential(2)}, knockout max |Δlogit| ${worstK.toExponential(2)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }
}
