// The embedded Mamba-1 demo model (models/demo-mamba1, made by tools/train_demo_mamba1.py on the same facts as the
// Mamba-2 demo): size, config, recall of the demo facts, probabilities equal to transformers'
// (test/fixtures/parity/demo-mamba1-expected.json), a trace whose subject curve moves, and the conv path: its conv
// taps on previous tokens are 0, so the complete knockout equals the edge knockout on every source but the last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { demoModelDir } from '../../../src/engine/engine';
import { runTrace } from '../../../src/engine/experiments/macro';
import type { Mamba1Config } from '../../../src/engine/types';
import { checkExpected, demoSession, readDemoFacts, recallOfFacts } from '../../helpers/demoModel';

const MODEL = resolve('models', 'demo-mamba1');
const EXPECTED = resolve('test', 'fixtures', 'parity', 'demo-mamba1-expected.json');

const session = demoSession(MODEL, 'demo-m1');

test('the Mamba-1 demo model ships in the package (demo-mamba1), is at most 10 MB and its config is Mamba-1', async () => {
  assert.equal(resolve(demoModelDir('demo-mamba1')!), MODEL);
  let bytes = 0;
  for (const f of readdirSync(MODEL)) bytes += statSync(join(MODEL, f)).size;
  assert.ok(bytes <= 10.5e6, `models/demo-mamba1 is ${bytes} bytes`);
  assert.ok(statSync(join(MODEL, 'model.safetensors')).size <= 10e6);
  const ck = await openCheckpoint(MODEL);
  try {
    const c = ck.config as Mamba1Config;
    assert.equal(c.arch, 'mamba1');
    assert.equal(c.variant, 'mamba');
    assert.equal(c.format, 'hf');
    assert.equal(ck.storedDType, 'float16');
    assert.equal(c.tieEmbeddings, true);
    assert.equal(session().identity.arch, 'mamba1');
    // the demo recipe: conv taps on previous tokens are exactly 0
    for (let i = 0; i < c.nLayer; i++) {
      const w = ck.readF32(`layers.${i}.mixer.conv1d.weight`);
      for (let ch = 0; ch < c.dInner; ch++) for (let k = 0; k < c.dConv - 1; k++) assert.equal(w[ch * c.dConv + k], 0);
    }
  } finally {
    ck.close();
  }
});

test('the Mamba-1 demo model recalls ≥ 95% of examples/demo-facts.json at top-1', async (t) => {
  const r = await recallOfFacts(session(), readDemoFacts());
  t.diagnostic(r.summary);
  assert.ok(r.accuracy >= 0.95, `top-1 accuracy ${r.accuracy}`);
});

test('Mamba-1 demo: engine probabilities equal transformers (demo-mamba1-expected.json) within 1e-4', async (t) => {
  await checkExpected(t, session(), EXPECTED, 1e-4);
});

test('Mamba-1 demo trace: blocking last ← subject moves the target; conv block = keep but for the last position', async (t) => {
  const params = { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: ' Apple', windows: [3] };
  const keep = await runTrace(session(), params);
  const block = await runTrace(session(), { ...params, conv: 'block' as const });
  assert.equal(keep.provenance.model.arch, 'mamba1');
  assert.equal(keep.provenance.conv, 'keep');
  assert.equal(block.provenance.conv, 'block');
  const w = keep.windows[0];
  const subj = w.curves.subject.diffPct;
  t.diagnostic(`subject ${subj.map((x) => x.toFixed(2)).join(', ')}; relation ${w.curves.relation.diffPct.map((x) => x.toFixed(2)).join(', ')}`);
  assert.ok(Math.min(...subj) < -10, `subject knockout never drops p by 10%: ${subj}`);
  // sources before the last reach it through conv taps that are 0 in this model: the complete knockout is the same
  for (const set of ['subject', 'relation'] as const) {
    keep.windows[0].curves[set].probs.forEach((p, i) => assert.ok(Math.abs(p - block.windows[0].curves[set].probs[i]) <= 1e-6 * Math.max(p, 1e-6) + 1e-9, `${set} start ${i}`));
  }
  // blocking (last ← last) with conv block also cuts the current token's own tap: it changes the prediction
  const dl = keep.windows[0].curves.last.probs.map((p, i) => Math.abs(p - block.windows[0].curves.last.probs[i]));
  assert.ok(Math.max(...dl) > 1e-4, 'complete knockout of the last position changes nothing');
});
