// The embedded Mamba-1 demo model (models/demo-mamba1, made by tools/train_demo_mamba1.py on the same facts as the
// Mamba-2 demo): size, config, recall of the demo facts, probabilities equal to transformers'
// (test/fixtures/parity/demo-mamba1-expected.json), a trace whose subject curve moves, and the conv path: its conv
// taps on previous tokens are 0, so the complete knockout equals the edge knockout on every source but the last.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { openEngineSession, closeEngineSession, demoModelDir } from '../../../src/engine/engine';
import { cleanForward } from '../../../src/engine/experiments/runner';
import { runTrace } from '../../../src/engine/experiments/macro';
import type { EngineSession, Mamba1Config } from '../../../src/engine/types';

const MODEL = resolve('models', 'demo-mamba1');
const FACTS = resolve('examples', 'demo-facts.json');
const EXPECTED = resolve('test', 'fixtures', 'parity', 'demo-mamba1-expected.json');

const tmp = mkdtempSync(join(tmpdir(), 'me-demo-m1-'));
let session: EngineSession;
before(async () => {
  session = await openEngineSession(MODEL, { ep: 'cpu', cacheRoot: tmp, threads: 2 });
});
after(async () => {
  if (session) await closeEngineSession(session);
  rmSync(tmp, { recursive: true, force: true });
});

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
    assert.equal(session.identity.arch, 'mamba1');
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
  const facts = JSON.parse(readFileSync(FACTS, 'utf8')) as { prompt: string; target_true: string }[];
  const groups = new Map<number, { ids: Int32Array; target: number }[]>();
  for (const f of facts) {
    const p = session.tokenizer.encode(f.prompt).ids;
    const target = session.tokenizer.encode(f.prompt + f.target_true).ids[p.length];
    groups.set(p.length, [...(groups.get(p.length) ?? []), { ids: Int32Array.from(p), target }]);
  }
  let ok = 0;
  for (const g of groups.values()) {
    const run = await cleanForward(session.backend, g, { maxBatch: 64 });
    g.forEach((x, j) => (ok += run.top1[j] === x.target ? 1 : 0));
  }
  t.diagnostic(`top-1 ${ok}/${facts.length}`);
  assert.ok(ok / facts.length >= 0.95, `top-1 accuracy ${ok / facts.length}`);
});

test('Mamba-1 demo: engine probabilities equal transformers (demo-mamba1-expected.json) within 1e-4', async (t) => {
  const exp = JSON.parse(readFileSync(EXPECTED, 'utf8')) as { facts: { prompt: string; ids: number[]; targetId: number; targetProb: number; top5: [number, number][] }[] };
  assert.ok(exp.facts.length >= 25);
  let worst = 0;
  for (const f of exp.facts) {
    const ids = session.tokenizer.encode(f.prompt).ids;
    assert.deepEqual(ids, f.ids);
    const run = await cleanForward(session.backend, [{ ids: Int32Array.from(ids), target: f.targetId }]);
    worst = Math.max(worst, Math.abs(run.baseProbs[0] - f.targetProb));
    assert.ok(Math.abs(run.baseProbs[0] - f.targetProb) <= 1e-4, `${f.prompt}: ${run.baseProbs[0]} vs ${f.targetProb}`);
    assert.equal(run.top1[0], f.top5[0][0]);
  }
  t.diagnostic(`max |Δp| ${worst.toExponential(2)}`);
});

test('Mamba-1 demo trace: blocking last ← subject moves the target; conv block = keep but for the last position', async (t) => {
  const params = { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: ' Apple', windows: [3] };
  const keep = await runTrace(session, params);
  const block = await runTrace(session, { ...params, conv: 'block' as const });
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
