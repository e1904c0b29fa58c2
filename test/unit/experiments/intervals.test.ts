// Percentile-bootstrap intervals of the mean (src/engine/util/stats.ts): bounds within the data, reproducible with
// the seed, close to the t-interval on well-behaved data, never below −100 on bounded diff% where t is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMeanCI, bootstrapMeanCIs, columnIntervals, intervalSpec, meanCI, quantileSorted } from '../../../src/engine/util/stats';
import { mulberry32 } from '../../../src/engine/util/prng';

const spec = intervalSpec('bootstrap') as { resamples: number; seed: number; level: number };

test('bootstrap on small bounded samples stays within [−100, max] where Student t does not', () => {
  // diff% of 4 prompts: three destroyed, one untouched — the t-interval reaches far below −100
  const xs = [-100, -99.9, -100, 0];
  const t = meanCI(xs);
  assert.ok(t.low < -100, `t low ${t.low}`);
  const b = bootstrapMeanCI(xs, spec);
  assert.equal(b.mean, t.mean);
  assert.ok(b.low >= -100 && b.high <= 0, JSON.stringify(b));
  assert.ok(b.low <= b.mean && b.mean <= b.high);
  // many random small samples of bounded values
  const rnd = mulberry32(5);
  for (let k = 0; k < 200; k++) {
    const n = 2 + Math.floor(rnd() * 8);
    const v = Array.from({ length: n }, () => (rnd() < 0.5 ? -100 + rnd() * 5 : rnd() * 300 - 100));
    const ci = bootstrapMeanCI(v, { ...spec, resamples: 200, seed: k });
    assert.ok(ci.low >= Math.min(...v) && ci.high <= Math.max(...v), `${v} → ${ci.low}, ${ci.high}`);
    assert.ok(ci.low >= -100);
  }
});

test('bootstrap is reproducible with its seed and differs with another seed', () => {
  const rnd = mulberry32(11);
  const rows = Array.from({ length: 30 }, () => Array.from({ length: 5 }, () => rnd() * 200 - 100));
  const a = bootstrapMeanCIs(rows, spec);
  const b = bootstrapMeanCIs(rows, spec);
  assert.deepEqual(a, b);
  const c = bootstrapMeanCIs(rows, { ...spec, seed: 1 });
  assert.notDeepEqual(a.low, c.low);
  // one set of resamples for every column: column s alone gives the same bounds as within the matrix
  const col2 = bootstrapMeanCIs(
    rows.map((r) => [r[2]]),
    spec,
  );
  assert.ok(Math.abs(col2.low[0] - a.low[2]) < 1e-12 && Math.abs(col2.high[0] - a.high[2]) < 1e-12);
});

test('bootstrap agrees with the t-interval on a large normal-ish sample; n = 1 and n = 0', () => {
  const rnd = mulberry32(3);
  const xs = Array.from({ length: 400 }, () => {
    let s = 0;
    for (let i = 0; i < 12; i++) s += rnd();
    return (s - 6) * 10;
  });
  const t = meanCI(xs);
  const b = bootstrapMeanCI(xs, spec);
  const half = (t.high - t.low) / 2;
  assert.ok(Math.abs(b.low - t.low) < 0.15 * half && Math.abs(b.high - t.high) < 0.15 * half, `${JSON.stringify(b)} vs ${JSON.stringify(t)}`);
  assert.deepEqual(bootstrapMeanCI([4], spec), { n: 1, mean: 4, low: 4, high: 4 });
  const z = bootstrapMeanCI([], spec);
  assert.ok(Number.isNaN(z.mean) && Number.isNaN(z.low));
  const cols = columnIntervals([], 3, spec as never);
  assert.equal(cols.mean.length, 3);
  assert.ok(cols.low.every(Number.isNaN));
});

test('columnIntervals: t per column equals meanCI; spec validation; quantiles', () => {
  const rows = [
    [1, 10],
    [2, 20],
    [4, 40],
  ];
  const t = columnIntervals(rows, 2, intervalSpec('t'));
  const c0 = meanCI([1, 2, 4]);
  assert.deepEqual([t.mean[0], t.low[0], t.high[0]], [c0.mean, c0.low, c0.high]);
  assert.deepEqual(intervalSpec('bootstrap', { seed: 9, resamples: 500 }), { method: 'bootstrap', level: 0.95, resamples: 500, seed: 9 });
  assert.throws(() => intervalSpec('bootstrap', { resamples: 50 }), /≥ 100/);
  assert.throws(() => intervalSpec('bootstrap', { seed: -1 }), /seed/);
  assert.equal(quantileSorted([0, 10], 0.5), 5);
  assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.25), 2);
});
