// Issue 16 point 2: a fused chunk graph that failed to load is told once (information message) and in the tooltip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusedSweepNotice, sweepTooltipLine } from '../../../src/extension/logic/sweep';

const identity = { hash: 'h1' } as never;

test('the tooltip says the sweep runs layer by layer and why', () => {
  assert.equal(sweepTooltipLine({ sweep: 'fused' }), 'knockout sweep fused');
  assert.equal(sweepTooltipLine({ sweep: 'layers' }), 'knockout sweep layers');
  const line = sweepTooltipLine({ sweep: 'layers', fusedSweepError: 'out of GPU memory' });
  assert.match(line, /layer by layer/u);
  assert.match(line, /fused chunk graph failed to load \(out of GPU memory\)/u);
});

test('the information message comes once per model and reason', () => {
  const shown = new Set<string>();
  assert.equal(fusedSweepNotice({ identity }, shown), undefined, 'nothing when the graph loaded');
  const first = fusedSweepNotice({ identity, fusedSweepError: 'out of GPU memory' }, shown);
  assert.match(first!, /run layer by layer.*Reason: out of GPU memory/u);
  assert.equal(fusedSweepNotice({ identity, fusedSweepError: 'out of GPU memory' }, shown), undefined, 'not twice (engine restart)');
  assert.ok(fusedSweepNotice({ identity: { hash: 'h2' } as never, fusedSweepError: 'out of GPU memory' }, shown), 'another model is told');
});
