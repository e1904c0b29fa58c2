// Host-side logic of the feature-knockout views: the decay payload, the heatmap's group means, the run checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFeatureRun, decayPayload, describeFeatureRun, groupMeans } from '../../../src/extension/logic/featureGroups';
import type { FeaturesReport } from '../../../src/engine/experiments/features';

const report: FeaturesReport = {
  unit: 'head',
  count: 4,
  layers: [
    { scores: [0.1, 0.4, 0.2, 0.3], fast: [0], middle: [2, 3], slow: [1] },
    { scores: [0.5, 0.5, 0.5, 0.5], fast: [0], middle: [1, 2], slow: [3] },
  ],
};

test('decayPayload: one layer of the report, copied, with the model; out of range throws', () => {
  const p = decayPayload(report, 1, { path: '/m', hash: 'h', arch: 'mamba2' });
  assert.deepEqual(p, { unit: 'head', count: 4, nLayers: 2, layer: 1, decay: report.layers[1], model: { path: '/m', hash: 'h', arch: 'mamba2' } });
  p.decay.scores[0] = 9;
  assert.equal(report.layers[1].scores[0], 0.5, 'a copy');
  assert.equal('model' in decayPayload(report, 0), false);
  assert.throws(() => decayPayload(report, 2), /layer 2 is out of range \(0\.\.1\)/);
  assert.throws(() => decayPayload(report, -1), RangeError);
});

test('groupMeans: the mean of each third’s matrices; channel ids; units only when asked', () => {
  const m = (v: number) => [[v, 0], [v, 2 * v]];
  const mats = [m(1), m(2), m(3), m(4)];
  const g = groupMeans(mats, report.layers[0], true);
  assert.deepEqual(g.fast, { count: 1, units: [0], mean: m(1) });
  assert.deepEqual(g.middle, { count: 2, units: [2, 3], mean: m(3.5) });
  assert.deepEqual(g.slow, { count: 1, units: [1], mean: m(2) });
  // matrices of some channels only (ids), no unit lists
  const h = groupMeans([m(10), m(30)], { fast: [5, 7], middle: [1], slow: [2] }, false, [7, 1]);
  assert.deepEqual(h.fast, { count: 1, mean: m(10) });
  assert.deepEqual(h.middle, { count: 1, mean: m(30) });
  assert.deepEqual(h.slow, { count: 0, mean: [[0, 0], [0, 0]] }, 'a group without matrices: count 0');
  assert.deepEqual(groupMeans([], report.layers[0], false).fast, { count: 0, mean: [] });
});

test('checkFeatureRun: syntax, mode, and conv block', () => {
  assert.equal(checkFeatureRun(undefined, undefined, 'keep'), undefined);
  assert.equal(checkFeatureRun(['all', 'fast', 'heads:1-3'], 'except', 'keep'), undefined);
  assert.equal(checkFeatureRun(['all'], 'only', 'block'), undefined, 'all is unrestricted');
  assert.match(checkFeatureRun(undefined, 'only', 'keep')!, /needs feature groups/);
  assert.match(checkFeatureRun([], 'only', 'keep')!, /at least one/);
  assert.match(checkFeatureRun(['fastest'], 'only', 'keep')!, /'fastest' is not a feature group/);
  assert.match(checkFeatureRun(['fast'], 'both', 'keep')!, /only or except/);
  assert.match(checkFeatureRun(['fast'], 'except', 'block')!, /set mambaExplain\.conv to keep/);
  assert.equal(describeFeatureRun(['all', 'slow'], 'except'), 'all, slow (except)');
});
