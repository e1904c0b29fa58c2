// Steering (SPEC §5): channels of one layer's mixer output scaled at every position. ORT (layer graphs, fused sweep)
// against the float64 reference with the scales written into the reference's blocks; scale 1 equals no steering
// exactly; the knockout fast path holds on the steered model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanForward, runKnockouts, runVariants, runVariantsNaive, type Variant } from '../../../src/engine/experiments/runner';
import { compileSteering, parseSteer, STEER_PRESETS } from '../../../src/engine/interventions/steering';
import { UserError } from '../../../src/engine/types';
import { makeFixture, ortBackendFor } from './fixtures';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const family of [{}, { arch: 'mamba1' as const }]) {
  const label = family.arch === 'mamba1' ? 'Mamba-1' : 'Mamba-2';
  test(`steering: ORT = float64 reference, scale 1 = none, fast path = full forwards (${label})`, async (t) => {
    const fx = await makeFixture({ ...family, dModel: 24, nLayer: 4, headdim: 6, dState: 4, nGroups: 1, seed: 51 });
    const c = fx.ckpt.config;
    const ids = Int32Array.from([5, 17, 33, 2, 71, 9, 40]);
    const n = ids.length;
    const steer = compileSteering(c, parseSteer(['2:0,3,5-8:4', '0:1:-2', '2:3:0.5']));
    assert.equal(steer[1], undefined);
    assert.equal(steer[2]![3], 2, 'two triples on one channel multiply');
    for (const fused of [true, false]) {
      const ort = await ortBackendFor(fx, { fusedSweep: fused });
      try {
        const plain = await cleanForward(ort, [{ ids }]);
        ort.setSteering!(steer);
        fx.ref.setSteering(steer);
        const steered = await cleanForward(ort, [{ ids }]);
        const ref = fx.ref.forward64(ids, 1, n).logits;
        const d = maxAbsDiff(steered.logits.subarray(0, c.vocabSize), ref.subarray(0, c.vocabSize));
        assert.ok(d < 1e-4, `steered logits vs float64: ${d}`);
        assert.ok(maxAbsDiff(steered.logits, plain.logits) > 1e-3, 'steering changes the logits');
        // knockouts on the steered model: fast path = one full forward per variant
        const variants: Variant[] = [
          { prompt: 0, start: 1, size: 2, blocked: [0, 1, 2] },
          { prompt: 0, start: 0, size: 4, blocked: [5], conv: 'block' },
        ];
        const fast = (await runKnockouts(ort, [{ ids }], variants)).results;
        const naive = await runVariantsNaive(ort, [{ ids }], steered.targets, variants);
        fast.forEach((r, i) => assert.ok(Math.abs(r.prob - naive[i].prob) <= 2e-5 * Math.max(naive[i].prob, 1e-3), `variant ${i}: ${r.prob} vs ${naive[i].prob}`));
        // scale 1 is no steering, exactly
        ort.setSteering!(compileSteering(c, parseSteer('2:0-23:1')));
        const ones = await cleanForward(ort, [{ ids }]);
        assert.deepEqual(Array.from(ones.logits), Array.from(plain.logits));
        ort.setSteering!(undefined);
        fx.ref.setSteering(undefined);
        const again = await cleanForward(ort, [{ ids }]);
        assert.deepEqual(Array.from(again.logits), Array.from(plain.logits), 'unsteered again afterwards');
        t.diagnostic(`${fused ? 'fused' : 'layers'}: steered vs float64 max |Δlogit| ${d.toExponential(2)}`);
      } finally {
        await ort.dispose();
      }
    }
  });
}

test('steering specs: presets, ranges and bad input are one clear line', async () => {
  const fx = await makeFixture({ dModel: 16, nLayer: 3, headdim: 8, dState: 4, nGroups: 1, seed: 3 });
  assert.deepEqual(parseSteer('preset:mamba-130m'), [STEER_PRESETS['mamba-130m']]);
  assert.deepEqual(parseSteer('1:2-4,7:0.5'), [{ layer: 1, channels: [2, 3, 4, 7], scale: 0.5 }]);
  const bad: [string, RegExp][] = [
    ['1:2', /must be LAYER:CHANNELS:SCALE/],
    ['1:a:2', /channels must be a list/],
    ['1:5-3:2', /channel range 5-3 is empty/],
    ['1:2:x', /scale 'x' is not a finite number/],
    ['preset:nope', /unknown preset/],
  ];
  for (const [s, re] of bad) assert.throws(() => parseSteer(s), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), s);
  assert.throws(() => compileSteering(fx.ckpt.config, parseSteer('3:0:2')), /layer 3 is out of range: the model has layers 0\.\.2/);
  assert.throws(() => compileSteering(fx.ckpt.config, parseSteer('0:16:2')), /channel 16 is out of range: the mixer output has channels 0\.\.15/);
  // the preset names mamba-130m's layer 20: out of range on a small model
  assert.throws(() => compileSteering(fx.ckpt.config, parseSteer('preset:mamba-130m')), /layer 20 is out of range/);
});
