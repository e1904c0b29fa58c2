// The clean numbers on worker threads (softmaxPool.ts) are the same bits as on the calling thread (numerics.ts
// cleanNumbers): the workers run numerics.ts's own rowStats on whole rows. Checked with the pool really used (the
// thread count it reports), on rows that do not split evenly over the threads, with ties and padded vocabulary rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanNumbers } from '../../../src/engine/experiments/numerics';
import * as pool from '../../../src/engine/experiments/softmaxPool';

const { cleanNumbersParallel } = pool;

const V = 1031, vocab = 1000, P = 37;
const logits = new Float32Array(P * V);
let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 30 - 15;
for (let i = 0; i < logits.length; i++) logits[i] = rnd();
for (let p = 0; p < P; p++) for (let v = vocab; v < V; v++) logits[p * V + v] = 99; // padding: never counts
logits[5 * V + 3] = logits[5 * V + 700] = 40; // a tie: the first index wins
const wanted = Array.from({ length: P }, (_, p) => (p % 3 === 0 ? undefined : (p * 37) % vocab));

test('cleanNumbersParallel on 3 worker threads: the same bits as cleanNumbers on one', async () => {
  const here = cleanNumbers(logits, V, vocab, wanted);
  pool.warmSoftmaxPool(P, { threads: 3, minRows: 1 }); // (threads started ahead, as chunkSweep does before its calls)
  const there = await cleanNumbersParallel(logits, V, vocab, wanted, { threads: 3, minRows: 1 });
  assert.equal(pool.lastThreads, 3, 'the pool was not used');
  assert.deepEqual(there, here);
  for (let p = 0; p < P; p++) assert.ok(Object.is(there.baseProbs[p], here.baseProbs[p]));
  assert.equal(there.top1[5], 3);
  assert.ok(there.top1.every((t) => t < vocab));
});

test('cleanNumbersParallel: logits already on a SharedArrayBuffer, and fewer rows than threads', async () => {
  const shared = new Float32Array(new SharedArrayBuffer(2 * V * 4));
  shared.set(logits.subarray(0, 2 * V));
  const there = await cleanNumbersParallel(shared, V, vocab, wanted.slice(0, 2), { threads: 4, minRows: 1 });
  assert.equal(pool.lastThreads, 2);
  assert.deepEqual(there, cleanNumbers(logits, V, vocab, wanted.slice(0, 2)));
});

test('cleanNumbersParallel: below minRows it stays on the calling thread', async () => {
  const there = await cleanNumbersParallel(logits, V, vocab, wanted.slice(0, 4), { threads: 3, minRows: 8 });
  assert.equal(pool.lastThreads, 1);
  assert.deepEqual(there, cleanNumbers(logits, V, vocab, wanted.slice(0, 4)));
});
