// Engine parity for the transformer baselines (GPT-2, GPT-NeoX / Pythia) against test/fixtures/parity-transformer/
// (tools/make_transformer_fixtures.py): tiny random checkpoints in the layouts the Hub has (safetensors with and
// without the "transformer." prefix, 2 shards + index, torch.save pytorch_model.bin with the old attn.bias / inv_freq
// buffers), float32 / float16 / bfloat16, tied and untied heads, parallel and sequential residual, rotary on a
// quarter, half and all of each head. Expected values: float64 SPEC §7 (tools/transformer_spec.py), which agrees with
// transformers' GPT2LMHeadModel / GPTNeoXForCausalLM in eager attention (the hf block).
// Checked on the float64 reference and on ONNX Runtime (CPU): last-position logits (prompts of 1 to 64 tokens), the
// softmax probabilities of every head, attention knockouts (windows, position 0, the last position itself, a row with
// every source blocked, head subsets) by full forwards, and the fast path's diff% (fused chunk graph and layer by
// layer), which must also equal one full forward per variant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { closeEngineSession } from '../../../src/engine/engine';
import type { Variant } from '../../../src/engine/experiments/runner';
import type { ModelBackend } from '../../../src/engine/types';
import { fastPathTests, loadParityFixtures, maxAbsDiff, openParitySession, parityTmp, type FastPathKnock, type ParityExpected } from '../../helpers/parity';

const ROOT = resolve('test', 'fixtures', 'parity-transformer');

interface Knock extends FastPathKnock {
  cols: number[];
  heads: number[] | null;
  targetStillTop1: boolean;
}
interface Expected extends ParityExpected {
  arch: 'gpt2' | 'gptneox';
  layout: string;
  hf: { maxAbsLogitDiff: number; maxAbsAttentionDiff: number };
  tolerance: { logitsAbs: number; attentionAbs: number; diffPctAbs: number };
  attention: { prompt: number; layer: number; shape: [number, number, number]; heads: number[][][] }[];
  knockout: Knock[];
}

const fixtures = loadParityFixtures<Expected>(ROOT);

const tmp = parityTmp('parity-tf');

/** Keep mask [n, n] of the knockout (last ← c for c in cols) and its unit mask [H] (1 where it applies). */
function masksOf(k: Knock, n: number, H: number): { mask: Float32Array; units?: Float32Array } {
  const mask = new Float32Array(n * n).fill(1);
  for (const c of k.cols) mask[(n - 1) * n + c] = 0;
  if (!k.heads) return { mask };
  const units = new Float32Array(H);
  for (const h of k.heads) units[h] = 1;
  return { mask, units };
}

async function run(b: ModelBackend, ids: number[], k?: Knock, attLayer?: number) {
  const n = ids.length;
  const H = b.config.arch === 'gpt2' || b.config.arch === 'gptneox' ? b.config.nHead : 0;
  const m = k ? masksOf(k, n, H) : undefined;
  let h = await b.embed(Int32Array.from(ids), 1, n);
  let attention: Float32Array | undefined;
  for (let l = 0; l < b.config.nLayer; l++) {
    const on = k?.layers.includes(l);
    const o = await b.layer(l, h, 1, n, on ? m!.mask : undefined, l === attLayer, false, undefined, on ? m!.units : undefined);
    h = o.hidden;
    if (l === attLayer) attention = o.attention;
  }
  return { logits: await b.headLast(h, 1, n), attention };
}

function variantOf(k: Knock, H: number, L: number): Variant {
  const start = Math.min(...k.layers);
  assert.deepEqual(k.layers, k.layers.map((_, i) => start + i), 'contiguous window');
  const features = k.heads ? { name: `heads:${k.heads.join(',')}`, mode: 'only' as const, units: Array.from({ length: L }, () => k.heads!) } : undefined;
  assert.ok(H > 0);
  return { prompt: 0, start, size: k.layers.length, blocked: k.cols, ...(features ? { features } : {}) };
}

test('transformer parity fixtures are present (GPT-2 and GPT-NeoX, every layout and dtype) and agree with transformers', () => {
  const kinds = new Set(fixtures.map((f) => `${f.exp.arch}/${f.exp.layout}/${f.exp.storedDType}`));
  for (const k of ['gpt2/safetensors/float32', 'gpt2/bin/float16', 'gptneox/safetensors/float32', 'gptneox/sharded/bfloat16', 'gptneox/bin/float16']) assert.ok(kinds.has(k), `missing fixture kind ${k}`);
  for (const f of fixtures) {
    assert.ok(f.exp.hf.maxAbsLogitDiff < 1e-5 && f.exp.hf.maxAbsAttentionDiff < 1e-6, `${f.exp.name}: transformers vs reference ${JSON.stringify(f.exp.hf)}`);
    assert.deepEqual(new Set(f.exp.prompts.map((p) => p.ids.length)), new Set([1, 2, 5, 17, 64]));
    assert.ok(f.exp.knockout.some((k) => k.kind === 'every-source'));
  }
});

const CONFIG_KEYS = ['dModel', 'nLayer', 'nHead', 'dFf', 'vocabSize', 'paddedVocabSize', 'eps', 'tieEmbeddings', 'activation', 'rotaryPct', 'rotaryBase', 'parallelResidual'];

for (const { dir, exp } of fixtures) {
  test(`${exp.name}: ${exp.arch} checkpoint config and stored dtype`, async () => {
    const ck = await openCheckpoint(dir);
    try {
      const c = ck.config as unknown as Record<string, unknown>;
      assert.equal(c.arch, exp.arch);
      for (const k of CONFIG_KEYS) {
        if (k === 'rotaryPct' && exp.arch === 'gpt2') continue;
        if (k === 'parallelResidual' && exp.arch === 'gpt2') continue;
        if (k === 'rotaryBase' && exp.arch === 'gpt2') continue;
        assert.equal(c[k], exp.config[k], `config.${k}`);
      }
      assert.equal(ck.storedDType, exp.storedDType);
    } finally {
      ck.close();
    }
  });

  for (const backend of ['reference', 'ort'] as const) {
    test(`${exp.name}: ${backend} backend reproduces logits, attention probabilities and knockouts`, async (t) => {
      const s = await openParitySession(dir, backend, tmp);
      try {
        const b = s.backend;
        // the fixture is rounded to 7 significant digits: the float64 reference sits within that, ORT within the tolerance
        const tolL = backend === 'reference' ? 2e-5 : exp.tolerance.logitsAbs;
        let worst = 0, worstA = 0, worstK = 0;
        for (const [pi, p] of exp.prompts.entries()) {
          const d = maxAbsDiff((await run(b, p.ids)).logits, p.lastLogits);
          worst = Math.max(worst, d);
          assert.ok(d <= tolL, `prompt ${pi} (n=${p.ids.length}): max |Δlogit| ${d} > ${tolL}`);
        }
        for (const a of exp.attention) {
          const got = (await run(b, exp.prompts[a.prompt].ids, undefined, a.layer)).attention;
          assert.ok(got, `no attention for layer ${a.layer}`);
          const d = maxAbsDiff(got, a.heads.flat(2));
          worstA = Math.max(worstA, d);
          assert.ok(d <= exp.tolerance.attentionAbs, `attention layer ${a.layer}: max |Δp| ${d}`);
        }
        for (const k of exp.knockout) {
          const d = maxAbsDiff((await run(b, exp.prompts[k.prompt].ids, k)).logits, k.lastLogits);
          worstK = Math.max(worstK, d);
          assert.ok(d <= tolL, `knockout ${k.kind} prompt ${k.prompt} layers ${k.layers}: max |Δlogit| ${d} > ${tolL}`);
        }
        t.diagnostic(`max |Δlogit| ${worst.toExponential(2)}, attention ${worstA.toExponential(2)}, knockouts ${worstK.toExponential(2)}`);
      } finally {
        await closeEngineSession(s);
      }
    });
  }

  fastPathTests(dir, exp, tmp, (k, _n, b) => variantOf(k, (b.config as { nHead: number }).nHead, b.config.nLayer), (k, fast) => assert.equal(fast.top1, k.targetStillTop1));
}
