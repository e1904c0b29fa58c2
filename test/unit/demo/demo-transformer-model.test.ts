// The embedded transformer demo model (models/demo-transformer, made by tools/train_demo_transformer.py on the same
// facts and tokenizer as the Mamba demos): size, config, recall of the demo facts, probabilities equal to
// transformers' (test/fixtures/parity/demo-transformer-expected.json), a trace whose subject curve moves, the first
// position's effect, head-list feature knockout, and the refusals that make no sense for attention (decay groups,
// --conv block).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { demoModelDir } from '../../../src/engine/engine';
import { runTrace } from '../../../src/engine/experiments/macro';
import { featuresReport } from '../../../src/engine/experiments/features';
import { UserError, type TransformerConfig } from '../../../src/engine/types';
import { checkExpected, demoSession, readDemoFacts, recallOfFacts } from '../../helpers/demoModel';

const MODEL = resolve('models', 'demo-transformer');
const EXPECTED = resolve('test', 'fixtures', 'parity', 'demo-transformer-expected.json');

const session = demoSession(MODEL, 'demo-tf');

test('the transformer demo model ships (demo-transformer), is at most 10 MB, GPT-NeoX with the Mamba demos\' tokenizer', async () => {
  assert.equal(resolve(demoModelDir('demo-transformer')!), MODEL);
  let bytes = 0;
  for (const f of readdirSync(MODEL)) bytes += statSync(join(MODEL, f)).size;
  assert.ok(bytes <= 10.5e6, `models/demo-transformer is ${bytes} bytes`);
  assert.ok(statSync(join(MODEL, 'model.safetensors')).size <= 10e6);
  assert.equal(readFileSync(join(MODEL, 'tokenizer.json'), 'utf8'), readFileSync(resolve('models', 'demo', 'tokenizer.json'), 'utf8'));
  const ck = await openCheckpoint(MODEL);
  try {
    const c = ck.config as TransformerConfig;
    assert.equal(c.arch, 'gptneox');
    assert.equal(ck.storedDType, 'float16');
    assert.equal(c.rotaryPct, 0.25);
    assert.equal(c.parallelResidual, true);
    assert.equal(session().identity.arch, 'gptneox');
  } finally {
    ck.close();
  }
});

test('the transformer demo model recalls ≥ 95% of examples/demo-facts.json at top-1', async (t) => {
  const r = await recallOfFacts(session(), readDemoFacts());
  t.diagnostic(r.summary);
  assert.ok(r.accuracy >= 0.95, `top-1 accuracy ${r.accuracy}`);
});

test('transformer demo: engine probabilities equal transformers (demo-transformer-expected.json) within 1e-4', async (t) => {
  await checkExpected(t, session(), EXPECTED, 1e-4);
});

test('transformer demo trace: last ← subject moves the target; a head list restricts it; decay groups and --conv block are refused', async (t) => {
  const params = { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: ' Apple', windows: [3] };
  const all = await runTrace(session(), params);
  assert.equal(all.provenance.model.arch, 'gptneox');
  const subj = all.windows[0].curves.subject.diffPct;
  t.diagnostic(`subject ${subj.map((x) => x.toFixed(2)).join(', ')}`);
  assert.ok(Math.min(...subj) < -10, `subject knockout never drops p by 10%: ${subj}`);
  const oneHead = await runTrace(session(), { ...params, features: ['heads:0'] });
  assert.equal(oneHead.features?.features, 'heads:0');
  const subj1 = oneHead.windows[0].curves.subject.diffPct;
  assert.ok(subj1.some((v, i) => Math.abs(v - subj[i]) > 1e-3), 'a one-head knockout equals the all-head one');
  await assert.rejects(runTrace(session(), { ...params, conv: 'block' as const }), (e: unknown) => e instanceof UserError && /no conv token path/.test(e.message));
  assert.throws(() => featuresReport(session().checkpoint), (e: unknown) => e instanceof UserError && /heads have no decay/.test(e.message));
});
