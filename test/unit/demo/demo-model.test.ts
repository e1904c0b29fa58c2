// The embedded demo model (models/demo, made by tools/train_demo.py): size, config, recall of the demo facts,
// probabilities equal to transformers' (test/fixtures/parity/demo-expected.json) and a trace whose subject curve moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { defaultModelDir } from '../../../src/engine/engine';
import { runTrace } from '../../../src/engine/experiments/macro';
import type { Mamba2Config } from '../../../src/engine/types';
import { checkExpected, demoSession, firstTargetId, readDemoFacts, recallOfFacts } from '../../helpers/demoModel';

const MODEL = resolve('models', 'demo');
const EXPECTED = resolve('test', 'fixtures', 'parity', 'demo-expected.json');

const session = demoSession(MODEL, 'demo-model');

test('the demo model is the default model, small, and its config loads', async () => {
  assert.equal(resolve(defaultModelDir()), MODEL);
  let bytes = 0;
  for (const f of readdirSync(MODEL)) bytes += statSync(join(MODEL, f)).size;
  assert.ok(statSync(join(MODEL, 'model.safetensors')).size <= 20e6, 'model.safetensors over 20 MB');
  assert.ok(bytes <= 20.5e6, `models/demo is ${bytes} bytes`);
  const ck = await openCheckpoint(MODEL);
  try {
    const c = ck.config as Mamba2Config;
    const info = JSON.parse(readFileSync(join(MODEL, 'training.json'), 'utf8')) as { model: Record<string, number> };
    assert.equal(c.format, 'hf');
    assert.equal(ck.storedDType, 'float16');
    assert.equal(c.dModel, info.model.d_model);
    assert.equal(c.nLayer, info.model.n_layer);
    assert.equal(c.dState, info.model.d_state);
    assert.equal(c.headdim, info.model.headdim);
    assert.equal(c.nHeads, info.model.n_heads);
    assert.equal(c.nGroups, 1);
    assert.equal(c.paddedVocabSize % 16, 0);
    assert.equal(c.tieEmbeddings, true);
    assert.ok(session().tokenizer.vocabSize <= c.paddedVocabSize);
  } finally {
    ck.close();
  }
});

test('the demo model recalls ≥ 95% of examples/demo-facts.json at top-1 (first attribute token)', async (t) => {
  const facts = readDemoFacts();
  assert.ok(facts.length >= 400, `only ${facts.length} demo facts`);
  assert.ok(new Set(facts.map((f) => f.relation_id)).size >= 12);
  for (const f of facts) {
    assert.match(f.target_true, /^ \S/);
    assert.ok(f.prompt.includes(f.subject.replace(/^\s+/, '')), `subject not in prompt: ${f.prompt}`);
    const target = firstTargetId(session(), f.prompt, f.target_true);
    assert.notEqual(target, firstTargetId(session(), f.prompt, f.target_false), `true and false targets share their first token: ${f.prompt}`);
  }
  const r = await recallOfFacts(session(), facts);
  t.diagnostic(r.summary);
  assert.ok(r.accuracy >= 0.95, `top-1 accuracy ${r.accuracy}`);
});

test('engine probabilities equal transformers (demo-expected.json) within 1e-4', async (t) => {
  await checkExpected(t, session(), EXPECTED, 1e-4);
});

test('tracing a demo fact: blocking last ← subject moves the target probability', async (t) => {
  const r = await runTrace(session(), { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: ' Apple', windows: [3] });
  assert.ok(r.baseProb > 0.5, `base probability ${r.baseProb}`);
  assert.equal(r.target.text, ' Apple');
  assert.deepEqual(r.subjectPositions.length > 0, true);
  const w = r.windows[0];
  assert.equal(w.window, 3);
  assert.equal(w.starts.length, session().backend.config.nLayer - 3 + 1);
  const subj = w.curves.subject.diffPct;
  const maxAbs = Math.max(...subj.map((x) => Math.abs(x)));
  t.diagnostic(`subject diff% ${subj.map((x) => x.toFixed(3)).join(', ')}; relation ${w.curves.relation.diffPct.map((x) => x.toFixed(3)).join(', ')}; last ${w.curves.last.diffPct.map((x) => x.toFixed(3)).join(', ')}`);
  assert.ok(maxAbs > 1e-3, 'the subject curve is flat at zero');
  // the demo model routes facts through the subject: some window removes most of the target probability
  assert.ok(Math.min(...subj) < -10, `subject knockout never drops p by 10%: ${subj}`);
});
