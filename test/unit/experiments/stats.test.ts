import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanCI, studentTCritical } from '../../../src/engine/util/stats';
import { canonicalJson } from '../../../src/engine/util/hash';
import { mulberry32 } from '../../../src/engine/util/prng';

test('Student t critical values (two-sided 95%)', () => {
  const table: [number, number][] = [
    [1, 12.7062047],
    [2, 4.30265273],
    [5, 2.57058184],
    [10, 2.22813885],
    [30, 2.04227246],
    [1000, 1.96233908],
  ];
  for (const [dof, t] of table) assert.ok(Math.abs(studentTCritical(dof) - t) < 1e-6, `dof ${dof}: ${studentTCritical(dof)}`);
});

test('meanCI: n = 1 gives the mean; n = 0 NaN; known example', () => {
  assert.deepEqual(meanCI([3]), { n: 1, mean: 3, low: 3, high: 3 });
  assert.ok(Number.isNaN(meanCI([]).mean));
  const r = meanCI([1, 2, 3, 4]);
  // mean 2.5, sd 1.2910, se 0.6455, t(3) = 3.18245
  assert.ok(Math.abs(r.high - (2.5 + 3.182446305 * 0.6454972244)) < 1e-6);
  assert.ok(Math.abs(r.low - (2.5 - 3.182446305 * 0.6454972244)) < 1e-6);
});

test('canonical JSON sorts keys; mulberry32 is deterministic', () => {
  assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] }), '{"a":[1,{"d":2}],"b":1}');
  const a = mulberry32(7);
  const b = mulberry32(7);
  for (let i = 0; i < 5; i++) assert.equal(a(), b());
});
