// The embedded demo model (models/demo, made by tools/train_demo.py): size, config, recall of the demo facts,
// probabilities equal to transformers' (test/fixtures/parity/demo-expected.json) and a trace whose subject curve moves.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { openEngineSession, closeEngineSession, defaultModelDir } from '../../../src/engine/engine';
import { cleanForward } from '../../../src/engine/experiments/runner';
import { runTrace } from '../../../src/engine/experiments/macro';
import type { EngineSession, Mamba2Config } from '../../../src/engine/types';

const MODEL = resolve('models', 'demo');
const FACTS = resolve('examples', 'demo-facts.json');
const EXPECTED = resolve('test', 'fixtures', 'parity', 'demo-expected.json');

interface Fact {
  prompt: string;
  subject: string;
  target_true: string;
  target_false: string;
  relation: string;
  relation_id: string;
}
interface ExpectedFact {
  prompt: string;
  ids: number[];
  targetId: number;
  targetProb: number;
  top5: [number, number][];
}

const tmp = mkdtempSync(join(tmpdir(), 'me-demo-model-'));
let session: EngineSession;
before(async () => {
  session = await openEngineSession(MODEL, { ep: 'cpu', cacheRoot: tmp, threads: 2 });
});
after(async () => {
  if (session) await closeEngineSession(session);
  rmSync(tmp, { recursive: true, force: true });
});

/** First token of the attribute in context (prompt + target), as the experiments use it. */
function firstTargetId(s: EngineSession, prompt: string, target: string): number {
  const p = s.tokenizer.encode(prompt).ids;
  const full = s.tokenizer.encode(prompt + target).ids;
  assert.deepEqual(full.slice(0, p.length), p, `prompt tokens are not a prefix: ${prompt}`);
  return full[p.length];
}

function softmax(logits: Float32Array, offset: number, vocab: number): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]);
  const out = new Float64Array(vocab);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += out[v] = Math.exp(logits[offset + v] - max);
  for (let v = 0; v < vocab; v++) out[v] /= sum;
  return out;
}

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
    assert.ok(session.tokenizer.vocabSize <= c.paddedVocabSize);
  } finally {
    ck.close();
  }
});

test('the demo model recalls ≥ 95% of examples/demo-facts.json at top-1 (first attribute token)', async (t) => {
  const facts = JSON.parse(readFileSync(FACTS, 'utf8')) as Fact[];
  assert.ok(facts.length >= 400, `only ${facts.length} demo facts`);
  assert.ok(new Set(facts.map((f) => f.relation_id)).size >= 12);
  // batch prompts of equal token length
  const groups = new Map<number, { ids: Int32Array; target: number; i: number }[]>();
  facts.forEach((f, i) => {
    assert.match(f.target_true, /^ \S/);
    assert.ok(f.prompt.includes(f.subject.replace(/^\s+/, '')), `subject not in prompt: ${f.prompt}`);
    const ids = session.tokenizer.encode(f.prompt).ids;
    const target = firstTargetId(session, f.prompt, f.target_true);
    assert.notEqual(target, firstTargetId(session, f.prompt, f.target_false), `true and false targets share their first token: ${f.prompt}`);
    const g = groups.get(ids.length) ?? [];
    g.push({ ids: Int32Array.from(ids), target, i });
    groups.set(ids.length, g);
  });
  let ok = 0;
  const misses: string[] = [];
  const t0 = Date.now();
  for (const g of groups.values()) {
    const run = await cleanForward(session.backend, g.map((x) => ({ ids: x.ids, target: x.target })), { maxBatch: 64 });
    g.forEach((x, j) => {
      if (run.top1[j] === x.target) ok++;
      else misses.push(facts[x.i].prompt + ' →' + facts[x.i].target_true);
    });
  }
  const acc = ok / facts.length;
  t.diagnostic(`top-1 ${ok}/${facts.length} = ${(acc * 100).toFixed(2)}% in ${Date.now() - t0} ms${misses.length ? '; misses: ' + misses.slice(0, 5).join(' | ') : ''}`);
  assert.ok(acc >= 0.95, `top-1 accuracy ${acc}`);
});

test('engine probabilities equal transformers (demo-expected.json) within 1e-4', async (t) => {
  const exp = JSON.parse(readFileSync(EXPECTED, 'utf8')) as { facts: ExpectedFact[] };
  assert.ok(exp.facts.length >= 25);
  const { vocabSize: V, paddedVocabSize: PV } = session.backend.config;
  let worst = 0;
  for (const f of exp.facts) {
    const ids = session.tokenizer.encode(f.prompt).ids;
    assert.deepEqual(ids, f.ids, `token ids of ${JSON.stringify(f.prompt)}`);
    const run = await cleanForward(session.backend, [{ ids: Int32Array.from(ids), target: f.targetId }]);
    const p = softmax(run.logits, 0, V);
    assert.equal(run.logits.length, PV);
    const d0 = Math.abs(p[f.targetId] - f.targetProb);
    worst = Math.max(worst, d0);
    assert.ok(d0 <= 1e-4, `${f.prompt}: p(target) ${p[f.targetId]} vs ${f.targetProb}`);
    assert.ok(Math.abs(run.baseProbs[0] - f.targetProb) <= 1e-4);
    for (const [id, prob] of f.top5) {
      const d = Math.abs(p[id] - prob);
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-4, `${f.prompt}: p(${id}) ${p[id]} vs ${prob}`);
    }
    assert.equal(run.top1[0], f.top5[0][0], `${f.prompt}: argmax`);
  }
  t.diagnostic(`max |Δp| ${worst.toExponential(2)} over ${exp.facts.length} facts`);
});

test('tracing a demo fact: blocking last ← subject moves the target probability', async (t) => {
  const r = await runTrace(session, { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: ' Apple', windows: [3] });
  assert.ok(r.baseProb > 0.5, `base probability ${r.baseProb}`);
  assert.equal(r.target.text, ' Apple');
  assert.deepEqual(r.subjectPositions.length > 0, true);
  const w = r.windows[0];
  assert.equal(w.window, 3);
  assert.equal(w.starts.length, session.backend.config.nLayer - 3 + 1);
  const subj = w.curves.subject.diffPct;
  const maxAbs = Math.max(...subj.map((x) => Math.abs(x)));
  t.diagnostic(`subject diff% ${subj.map((x) => x.toFixed(3)).join(', ')}; relation ${w.curves.relation.diffPct.map((x) => x.toFixed(3)).join(', ')}; last ${w.curves.last.diffPct.map((x) => x.toFixed(3)).join(', ')}`);
  assert.ok(maxAbs > 1e-3, 'the subject curve is flat at zero');
  // the demo model routes facts through the subject: some window removes most of the target probability
  assert.ok(Math.min(...subj) < -10, `subject knockout never drops p by 10%: ${subj}`);
});
