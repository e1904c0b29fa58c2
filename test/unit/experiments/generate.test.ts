// Generation through the recurrent step graphs (conv and SSM state per layer, one position per call): its greedy
// tokens equal those of full forwards of the growing sequence (the attention-form layer graphs) for 32 steps, clean
// and steered, on both families; the steered continuation is computed beside the clean one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greedy, runGenerate } from '../../../src/engine/experiments/generate';
import { cleanForward } from '../../../src/engine/experiments/runner';
import { compileSteering, parseSteer } from '../../../src/engine/interventions/steering';
import { UserError } from '../../../src/engine/types';
import { makeFixture, makeSession, ortBackendFor } from './fixtures';

for (const family of [{}, { arch: 'mamba1' as const }, { arch: 'mamba1' as const, variant: 'falcon_mamba' as const }]) {
  const label = family.arch === 'mamba1' ? (family.variant ? 'Falcon-Mamba' : 'Mamba-1') : 'Mamba-2 (ngroups 2)';
  test(`step-graph greedy generation equals full forwards for 32 steps, clean and steered (${label})`, async (t) => {
    const fx = await makeFixture({ ...family, dModel: 24, nLayer: 3, headdim: 6, dState: 4, nGroups: family.arch ? 1 : 2, seed: 61 });
    const ort = await ortBackendFor(fx);
    try {
      const session = makeSession(ort, fx.ckpt);
      const prompt = [3, 14, 15, 92, 65];
      for (const steer of [undefined, compileSteering(fx.ckpt.config, parseSteer('1:0-11:3'))]) {
        ort.setSteering!(steer);
        const run = await greedy(session, prompt, 32, 3);
        assert.equal(run.ids.length, 32);
        // full forwards of prompt + the first s generated tokens give the same argmax, and close probabilities
        let worst = 0;
        for (let s = 0; s < 32; s++) {
          const ids = Int32Array.from([...prompt, ...run.ids.slice(0, s)]);
          const full = await cleanForward(ort, [{ ids }]);
          assert.equal(full.top1[0], run.ids[s], `step ${s}${steer ? ' (steered)' : ''}`);
          worst = Math.max(worst, Math.abs(full.baseProbs[0] - run.steps[s].top[0].prob));
        }
        assert.ok(worst < 1e-4, `max |Δp| of the greedy token ${worst}`);
        t.diagnostic(`${steer ? 'steered' : 'clean'}: ${run.ids.slice(0, 12).join(' ')} …, max |Δp| vs full forwards ${worst.toExponential(2)}`);
      }
      ort.setSteering!(undefined);
      const r = await runGenerate(session, { prompt: 'a b c d', maxTokens: 8, steer: parseSteer('1:0-23:-4') });
      assert.equal(r.clean.ids.length, 8);
      assert.equal(r.steered!.ids.length, 8);
      assert.deepEqual(r.steer, parseSteer('1:0-23:-4'));
      assert.notDeepEqual(r.steered!.steps.map((s) => s.top[0].prob), r.clean.steps.map((s) => s.top[0].prob), 'steering changes the distribution');
      await assert.rejects(runGenerate(session, { prompt: 'a', maxTokens: 0 }), UserError);
      await assert.rejects(runGenerate(session, { prompt: 'a', steer: parseSteer('9:0:2') }), /layer 9 is out of range/);
    } finally {
      await ort.dispose();
    }
  });
}

for (const model of ['models/demo', 'models/demo-mamba1']) {
  test(`step-graph generation on the trained demo model equals full forwards (${model})`, async (t) => {
    const { openCheckpoint } = await import('../../../src/engine/checkpoint/index');
    const { ReferenceBackend } = await import('../../../src/engine/reference/referenceBackend');
    const { loadTokenizer } = await import('../../../src/engine/tokenizer/index');
    const ckpt = await openCheckpoint(model);
    const ort = await ortBackendFor({ dir: model, ckpt, ref: new ReferenceBackend(ckpt) });
    try {
      const session = makeSession(ort, ckpt, loadTokenizer(`${model}/tokenizer.json`));
      const r = await runGenerate(session, { prompt: 'The Eiffel Tower is located in the city of', maxTokens: 32 });
      assert.equal(r.clean.steps[0].text, ' Paris');
      const prompt = r.promptIds;
      let distinct = new Set(r.clean.ids).size;
      for (let s = 0; s < 32; s++) {
        const full = await cleanForward(ort, [{ ids: Int32Array.from([...prompt, ...r.clean.ids.slice(0, s)]) }]);
        assert.equal(full.top1[0], r.clean.ids[s], `step ${s}`);
      }
      t.diagnostic(`${JSON.stringify(r.clean.text.slice(0, 80))} (${distinct} distinct tokens), ${r.tokensPerSecond.clean.toFixed(0)} tokens/s`);
      assert.ok(distinct >= 3, 'a varied continuation');
      distinct = 0;
    } finally {
      await ort.dispose();
      ckpt.close();
    }
  });
}
