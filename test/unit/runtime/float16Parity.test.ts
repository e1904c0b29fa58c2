import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFloat16, formatFloat16Parity } from '../../../src/engine/runtime/float16Parity';
import type { PredictResult } from '../../../src/engine/runtime/methods';

const res = (top: [number, number][]): PredictResult => ({ tokens: [], top: top.map(([id, prob]) => ({ id, text: `t${id}`, prob })), ep: 'webgpu', timing_ms: { tokenize: 0, forward: 0, total: 0 } });

test('float16 parity: largest |Δp| over float32 top-k, missing tokens count as 0, top-1 change flagged', () => {
  const p32 = res([[1, 0.5], [2, 0.2], [3, 0.1], [4, 0.05], [5, 0.04], [6, 0.03]]);
  const same = compareFloat16('x', res([[1, 0.49], [2, 0.21], [3, 0.1], [4, 0.05], [5, 0.04]]), p32);
  assert.equal(same.sameTop1, true);
  assert.equal(same.k, 5);
  assert.ok(Math.abs(same.maxAbsProbDiff - 0.01) < 1e-12);
  const other = compareFloat16('x', res([[2, 0.45], [1, 0.3]]), p32);
  assert.equal(other.sameTop1, false);
  assert.ok(Math.abs(other.maxAbsProbDiff - 0.25) < 1e-12, 'token 2: 0.45 vs 0.2');
  assert.match(formatFloat16Parity(other), /float16 predicts another token!/);
  const missing = compareFloat16('x', res([[1, 0.5]]), p32);
  assert.ok(Math.abs(missing.maxAbsProbDiff - 0.2) < 1e-12, 'token 2 absent from the float16 list counts as 0');
});
