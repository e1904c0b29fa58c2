import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTrace } from '../../../src/engine/experiments/macro';
import { runMicro } from '../../../src/engine/experiments/micro';
import { experimentMethods } from '../../../src/engine/experiments/methods';
import { UserError, type ModelBackend } from '../../../src/engine/types';
import { directProb64, makeCtx, makeFixture, makeSession, ortBackendFor, type Fixture } from './fixtures';

const PROMPT = 'The mother tongue of Danielle Darrieux is';
const SUBJECT = ' Danielle Darrieux';
const TOL_PP = 0.05;

async function checkTraceAgainst64(fx: Fixture, backend: ModelBackend) {
  const session = makeSession(backend, fx.ckpt);
  const L = fx.ckpt.config.nLayer;
  const res = await runTrace(session, { prompt: PROMPT, subject: SUBJECT, windows: [1, 3], sets: ['subject', 'relation', 'last', 'first', 'all'] });
  const ids = res.tokens.map((t) => t.id);
  const base = directProb64(fx.ref, ids, undefined, 0, 0, []);
  assert.equal(res.target.id, base.target);
  assert.ok(Math.abs(res.baseProb - base.prob) < 1e-5);
  assert.equal(res.windows.length, 2);
  for (const w of res.windows) {
    assert.deepEqual(w.starts, Array.from({ length: L - w.window + 1 }, (_, i) => i));
    for (const [set, curve] of Object.entries(w.curves)) {
      const blocked =
        set === 'subject' ? res.subjectPositions : set === 'relation' ? res.relationPositions : set === 'last' ? [res.lastPosition] : set === 'first' ? [0] : ids.map((_, i) => i);
      w.starts.forEach((start, s) => {
        const direct = directProb64(fx.ref, ids, base.target, start, w.window, blocked);
        const p = direct.prob;
        const d64 = ((p - base.prob) / base.prob) * 100;
        assert.equal(curve.top1[s], direct.argmax === base.target, `${backend.ep} ${set} k=${w.window} ℓ=${start}: top-1`);
        assert.ok(Math.abs(curve.diffPct[s] - d64) < TOL_PP, `${backend.ep} ${set} k=${w.window} ℓ=${start}: ${curve.diffPct[s]} vs ${d64}`);
      });
    }
  }
  return res;
}

async function checkMicroAgainst64(fx: Fixture, backend: ModelBackend) {
  const session = makeSession(backend, fx.ckpt);
  const res = await runMicro(session, { prompt: PROMPT, window: 2, target: 'French' });
  const ids = res.tokens.map((t) => t.id);
  const tgt = session.tokenizer.encode(' French').ids[0];
  assert.equal(res.target.id, tgt);
  const base = directProb64(fx.ref, ids, tgt, 0, 0, []);
  assert.equal(res.probs.length, ids.length);
  for (let c = 0; c < ids.length; c++) {
    res.starts.forEach((start, s) => {
      const p = directProb64(fx.ref, ids, tgt, start, 2, [c]).prob;
      const d64 = ((p - base.prob) / base.prob) * 100;
      assert.ok(Math.abs(res.diffPct[c][s] - d64) < TOL_PP, `${backend.ep} micro c=${c} ℓ=${start}: ${res.diffPct[c][s]} vs ${d64}`);
    });
  }
}

test('trace and micro on the reference backend equal a direct float64 reference (0.05 pp)', async () => {
  const fx = await makeFixture({ dModel: 16, nLayer: 5, seed: 21 });
  const res = await checkTraceAgainst64(fx, fx.ref);
  assert.equal(res.kind, 'trace');
  assert.equal(res.provenance.ep, 'reference');
  assert.equal(res.provenance.tool.name, 'mamba-explain');
  assert.equal(res.tokens[res.lastPosition].role, 'last');
  await checkMicroAgainst64(fx, fx.ref);
});

test('trace and micro on the ORT CPU backend equal a direct float64 reference (0.05 pp)', async () => {
  const fx = await makeFixture({ dModel: 32, nLayer: 4, headdim: 16, dState: 8, nGroups: 2, seed: 5 });
  const ort = await ortBackendFor(fx);
  try {
    await checkTraceAgainst64(fx, ort);
    await checkMicroAgainst64(fx, ort);
  } finally {
    await ort.dispose();
  }
});

test('trace: bad input gives one clear UserError each', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 2 });
  const session = makeSession(fx.ref, fx.ckpt);
  const isUser = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
  await assert.rejects(runTrace(session, { prompt: PROMPT, subject: SUBJECT, windows: [30] }), isUser(/^window 30 is larger than the model's 4 layers$/));
  await assert.rejects(runTrace(session, { prompt: PROMPT, subject: 'Big Ben' }), isUser(/^subject 'Big Ben' not found in prompt '/));
  await assert.rejects(runTrace(session, { prompt: '', subject: 'x' }), isUser(/prompt is empty/));
  await assert.rejects(runTrace(session, { prompt: '   ', subject: 'x' }), isUser(/prompt is empty/));
  await assert.rejects(runMicro(session, { prompt: PROMPT, target: '' }), isUser(/tokenises to nothing/));
  await assert.rejects(runMicro(session, { prompt: PROMPT, window: 5 }), isUser(/window 5 is larger/));
});

test('experimentMethods: trace and micro through the method table, with progress and cancellation', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 4 });
  const session = makeSession(fx.ref, fx.ckpt);
  const ctx = makeCtx();
  const r = (await experimentMethods.trace(session, { prompt: PROMPT, subject: SUBJECT, windows: [2] }, ctx)) as { windows: unknown[] };
  assert.equal(r.windows.length, 1);
  assert.ok(ctx.events.length > 0);
  const last = ctx.events[ctx.events.length - 1];
  assert.equal(last.done, last.total);
  await assert.rejects(experimentMethods.micro(session, { prompt: PROMPT }, makeCtx(0)), /Cancelled/);
});
