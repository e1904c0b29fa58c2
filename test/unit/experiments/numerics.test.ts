// The softmax numerics of the experiments (numerics.ts): one pass per logits row gives the same bits as the
// definition written out (max, first argmax, float64 Σ exp(logit − max) over the real vocabulary), for the clean numbers,
// probAndArgmax and topK alike; the padded vocabulary rows never count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanNumbers, probAndArgmax, softmaxStats, topK } from '../../../src/engine/experiments/numerics';

/** the definition, written out once more: float64, positions in order */
function direct(row: Float32Array, vocab: number, target: number): { prob: number; argmax: number } {
  let max = -Infinity, argmax = 0;
  for (let v = 0; v < vocab; v++) if (row[v] > max) [max, argmax] = [row[v], v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(row[v] - max);
  return { prob: target >= 0 && target < vocab ? Math.exp(row[target] - max) / sum : 0, argmax };
}

// 3 prompts, real vocabulary 50, padded to 56; the padding rows hold the largest logits (they must not count), prompt 1
// has a tie for the largest logit (the first index wins)
const V = 56, vocab = 50, P = 3;
const logits = new Float32Array(P * V);
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 8 - 4;
for (let i = 0; i < logits.length; i++) logits[i] = rnd();
for (let p = 0; p < P; p++) for (let v = vocab; v < V; v++) logits[p * V + v] = 100;
logits[1 * V + 9] = logits[1 * V + 31] = 20;

test('softmaxStats: the largest real logit, its first index and the float64 sum of exp(logit − max)', () => {
  for (let p = 0; p < P; p++) {
    const row = logits.subarray(p * V, (p + 1) * V);
    const st = softmaxStats(logits, p * V, vocab);
    const d = direct(row, vocab, 0);
    assert.equal(st.argmax, d.argmax);
    assert.ok(st.max < 100, 'a padded row counted');
    assert.equal(Math.exp(row[0] - st.max) / st.sum, d.prob);
  }
  assert.equal(softmaxStats(logits, V, vocab).argmax, 9);
});

test('cleanNumbers equals the definition bit for bit: given targets, the clean top-1 where none is given', () => {
  const wanted = [17, undefined, 3];
  const { targets, baseProbs, top1 } = cleanNumbers(logits, V, vocab, wanted);
  for (let p = 0; p < P; p++) {
    const row = logits.subarray(p * V, (p + 1) * V);
    const first = direct(row, vocab, 0).argmax;
    assert.equal(top1[p], first);
    assert.equal(targets[p], wanted[p] ?? first);
    assert.equal(baseProbs[p], direct(row, vocab, targets[p]).prob);
    assert.deepEqual(probAndArgmax(logits, p * V, vocab, targets[p]), direct(row, vocab, targets[p]));
  }
  assert.equal(targets[1], 9);
});

test('probAndArgmax: a target outside the real vocabulary has probability 0; topK shares the same softmax', () => {
  assert.equal(probAndArgmax(logits, 0, vocab, vocab + 1).prob, 0);
  assert.equal(probAndArgmax(logits, 0, vocab, -1).prob, 0);
  const top = topK(logits, V, vocab, 3);
  assert.deepEqual(top.map((t) => t.id).slice(0, 2), [9, 31]);
  assert.equal(top[0].prob, direct(logits.subarray(V, 2 * V), vocab, 9).prob);
  const total = Array.from({ length: vocab }, (_, v) => probAndArgmax(logits, V, vocab, v).prob).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
});
