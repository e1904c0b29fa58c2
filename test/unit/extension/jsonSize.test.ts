import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLongerThan, jsonSizeAtMost } from '../../../src/extension/logic/jsonSize';
import { sampleDataset, sampleMicro, sampleTrace } from '../../webview/samples';

test('the size of plain JSON data equals JSON.stringify(v).length', () => {
  for (const v of [sampleTrace([9, 15]), sampleMicro(), sampleDataset(), { a: [1, -2.5e-7, null, true, false, 'x"y\\z'], b: {}, c: [] }, 'é', 0, null]) {
    assert.equal(jsonSizeAtMost(v, Infinity), JSON.stringify(v).length);
  }
  assert.equal(jsonSizeAtMost({ a: undefined, b: 1, f: () => 1 }, Infinity), JSON.stringify({ a: undefined, b: 1 }).length);
  assert.equal(jsonSizeAtMost([undefined, NaN, Infinity], Infinity), JSON.stringify([undefined, NaN, Infinity]).length);
});

test('the walk stops soon after the limit: a huge value costs what the limit costs', () => {
  const big = { prompts: Array.from({ length: 2_000_000 }, (_, i) => ({ i, p: 0.5 })) };
  const t0 = performance.now();
  assert.equal(jsonLongerThan(big, 4_000_000), true);
  const dt = performance.now() - t0;
  // the elements are visited one by one: a few past the limit, not the two million
  assert.ok(jsonSizeAtMost(big, 1000) < 2_000_000 + 1100);
  assert.equal(jsonLongerThan(sampleTrace([9]), 4_000_000), false);
  assert.ok(dt < 1000, `${dt} ms`);
});
