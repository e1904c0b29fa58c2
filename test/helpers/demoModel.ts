// Shared checks of the embedded demo models (models/demo, demo-mamba1, demo-transformer; test/unit/demo/): one ORT
// session per test file, recall of examples/demo-facts.json at top-1, and the probabilities of
// test/fixtures/parity/<model>-expected.json (transformers, float32 from the saved float16 weights).
import { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEngineSession, closeEngineSession } from '../../src/engine/engine';
import { cleanForward } from '../../src/engine/experiments/runner';
import type { EngineSession } from '../../src/engine/types';

export const DEMO_FACTS = resolve('examples', 'demo-facts.json');

export interface DemoFact {
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

export function readDemoFacts(): DemoFact[] {
  return JSON.parse(readFileSync(DEMO_FACTS, 'utf8')) as DemoFact[];
}

/**
 * Opens `model` once for the test file (ORT on the CPU, 2 threads, ONNX cache in a temporary folder removed after
 * the file); call the returned function inside tests for the session.
 */
export function demoSession(model: string, tag: string): () => EngineSession {
  const tmp = mkdtempSync(join(tmpdir(), `me-${tag}-`));
  let session: EngineSession | undefined;
  before(async () => {
    session = await openEngineSession(model, { ep: 'cpu', cacheRoot: tmp, threads: 2 });
  });
  after(async () => {
    if (session) await closeEngineSession(session);
    rmSync(tmp, { recursive: true, force: true });
  });
  return () => {
    assert.ok(session, `no session for ${model}`);
    return session;
  };
}

/** First token of the attribute in context (prompt + target), as the experiments use it. */
export function firstTargetId(s: EngineSession, prompt: string, target: string): number {
  const p = s.tokenizer.encode(prompt).ids;
  const full = s.tokenizer.encode(prompt + target).ids;
  assert.deepEqual(full.slice(0, p.length), p, `prompt tokens are not a prefix: ${prompt}`);
  return full[p.length];
}

export interface Recall {
  ok: number;
  total: number;
  accuracy: number;
  /** the first misses, as 'prompt →target' */
  misses: string[];
  /** one line for t.diagnostic */
  summary: string;
}

/** How many facts the model predicts at top-1 (first token of target_true); prompts batched by token length. */
export async function recallOfFacts(s: EngineSession, facts: { prompt: string; target_true: string }[]): Promise<Recall> {
  const groups = new Map<number, { ids: Int32Array; target: number; i: number }[]>();
  facts.forEach((f, i) => {
    const ids = s.tokenizer.encode(f.prompt).ids;
    const g = groups.get(ids.length) ?? [];
    g.push({ ids: Int32Array.from(ids), target: firstTargetId(s, f.prompt, f.target_true), i });
    groups.set(ids.length, g);
  });
  let ok = 0;
  const misses: string[] = [];
  const t0 = Date.now();
  for (const g of groups.values()) {
    const run = await cleanForward(s.backend, g.map((x) => ({ ids: x.ids, target: x.target })), { maxBatch: 64 });
    g.forEach((x, j) => {
      if (run.top1[j] === x.target) ok++;
      else misses.push(facts[x.i].prompt + ' →' + facts[x.i].target_true);
    });
  }
  const accuracy = ok / facts.length;
  const summary = `top-1 ${ok}/${facts.length} = ${(accuracy * 100).toFixed(2)}% in ${Date.now() - t0} ms${misses.length ? '; misses: ' + misses.slice(0, 5).join(' | ') : ''}`;
  return { ok, total: facts.length, accuracy, misses, summary };
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

/**
 * The engine's probabilities against an expected file (≥ 25 facts): same token ids, p(target) and the five most
 * likely tokens within `tol` (from the logits and from baseProbs), the same argmax.
 */
export async function checkExpected(t: TestContext, s: EngineSession, file: string, tol = 1e-4): Promise<void> {
  const exp = JSON.parse(readFileSync(file, 'utf8')) as { facts: ExpectedFact[] };
  assert.ok(exp.facts.length >= 25);
  const { vocabSize: V, paddedVocabSize: PV } = s.backend.config;
  let worst = 0;
  for (const f of exp.facts) {
    const ids = s.tokenizer.encode(f.prompt).ids;
    assert.deepEqual(ids, f.ids, `token ids of ${JSON.stringify(f.prompt)}`);
    const run = await cleanForward(s.backend, [{ ids: Int32Array.from(ids), target: f.targetId }]);
    const p = softmax(run.logits, 0, V);
    assert.equal(run.logits.length, PV);
    const d0 = Math.abs(p[f.targetId] - f.targetProb);
    worst = Math.max(worst, d0, Math.abs(run.baseProbs[0] - f.targetProb));
    assert.ok(d0 <= tol, `${f.prompt}: p(target) ${p[f.targetId]} vs ${f.targetProb}`);
    assert.ok(Math.abs(run.baseProbs[0] - f.targetProb) <= tol, `${f.prompt}: ${run.baseProbs[0]} vs ${f.targetProb}`);
    for (const [id, prob] of f.top5) {
      const d = Math.abs(p[id] - prob);
      worst = Math.max(worst, d);
      assert.ok(d <= tol, `${f.prompt}: p(${id}) ${p[id]} vs ${prob}`);
    }
    assert.equal(run.top1[0], f.top5[0][0], `${f.prompt}: argmax`);
  }
  t.diagnostic(`max |Δp| ${worst.toExponential(2)} over ${exp.facts.length} facts`);
}
