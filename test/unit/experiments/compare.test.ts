// Comparisons (src/engine/experiments/compare.ts, comparison.ts): one experiment on three models — the Mamba-2 and
// Mamba-1 demo models and a tiny random 4-layer checkpoint, or the demo model twice — in-process on ONNX Runtime (CPU).
// The one comparison holds, per model, exactly the result of that model's own run; bad inputs fail before any model
// opens; cancelling stops between models and keeps a dataset comparison's progress, which --resume continues.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { closeEngineSession, openEngineSession } from '../../../src/engine/engine';
import { runTrace } from '../../../src/engine/experiments/macro';
import { runMicro } from '../../../src/engine/experiments/micro';
import { partialPath, runDataset } from '../../../src/engine/experiments/dataset';
import {
  comparedModel, comparisonWindowSizes, modelRunFile, runComparison, splitModelList, type ModelOpener, type ModelToCompare,
} from '../../../src/engine/experiments/compare';
import { inProcessOpener } from '../../../src/engine/experiments/compareSessions';
import {
  buildComparison, comparisonFigure, comparisonFigures, comparisonLabels, incomparable, microCategoryCurve, relativeDepth,
} from '../../../src/engine/experiments/comparison';
import { renderComparison } from '../../../src/engine/experiments/renderComparison';
import { renderDatasetRun } from '../../../src/engine/experiments/render';
import { CancelledError, UserError, type EngineSession } from '../../../src/engine/types';
import type { ComparedResult, DatasetRunResult, MicroResult, TraceResult } from '../../../src/engine/experiments/resultTypes';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { tmpDir } from './fixtures';

const DEMO = path.resolve('models', 'demo');
const DEMO1 = path.resolve('models', 'demo-mamba1');
const FACTS = path.resolve('examples', 'demo-facts.json');
const cache = tmpDir('cmp-onnx');
let tiny = '';
const sessionOpts = { ep: 'cpu' as const, cacheRoot: cache, threads: 2 };

/** What must be equal between two runs of the same experiment: everything but the wall-clock fields. */
function stable(r: ComparedResult): unknown {
  const { timing: _t, ...rest } = r as DatasetRunResult;
  return { ...rest, provenance: { ...r.provenance, createdAt: '' } };
}

async function alone<R>(dir: string, f: (s: EngineSession) => Promise<R>): Promise<R> {
  const s = await openEngineSession(dir, sessionOpts);
  try {
    return await f(s);
  } finally {
    await closeEngineSession(s);
  }
}

before(async () => {
  tiny = path.join(tmpDir('cmp-tiny'), 'tiny-model');
  await writeRandomCheckpoint(tiny, { format: 'state-spaces', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 4, vocabSize: 300, dState: 8, headdim: 8, nGroups: 1, seed: 13 });
  writeTinyTokenizer(path.join(tiny, 'tokenizer.json'));
});

after(() => fs.rmSync(cache, { recursive: true, force: true }));

const PROMPT = 'Beats Music is owned by';

test('trace comparison of three models (Mamba-2 demo, Mamba-1 demo, a random 4-layer model): each entry equals that model run alone', async () => {
  const models = [comparedModel('demo', DEMO), comparedModel('demo-mamba1', DEMO1), comparedModel(tiny, tiny)];
  assert.deepEqual(models.map((m) => m.nLayer), [8, 8, 4]);
  // no --window: the default of the shallowest model, for all
  const windows = comparisonWindowSizes('trace', 'macro', undefined, models);
  assert.deepEqual(windows, [1, 2]);
  const params = { prompt: PROMPT, subject: 'Beats Music', target: ' Apple', windows };
  const seen: string[] = [];
  const progress: number[] = [];
  const c = await runComparison('trace', params, models, inProcessOpener(sessionOpts), {
    onModel: (i, total, m) => seen.push(`${i + 1}/${total} ${m.ref}`),
    onProgress: (i, _t, _p, phase) => phase === 'run' && progress.push(i),
  });
  assert.equal(c.kind, 'comparison');
  assert.equal(c.schemaVersion, 3);
  assert.equal(c.experiment, 'trace');
  assert.deepEqual(seen, ['1/3 demo', '2/3 demo-mamba1', `3/3 ${tiny}`]);
  assert.deepEqual([...new Set(progress)], [0, 1, 2], 'progress of every model, in order');
  assert.deepEqual(c.models.map((m) => m.label), ['demo (Mamba-2)', 'demo-mamba1 (Mamba-1)', 'tiny-model (Mamba-2)']);
  assert.deepEqual(c.provenance, c.models[0].result.provenance);
  for (const [i, dir] of [DEMO, DEMO1, tiny].entries()) {
    const own = await alone(dir, (s) => runTrace(s, params));
    assert.deepEqual(stable(c.models[i].result), stable(own), `model ${i + 1}`);
  }
  // each model its own tokenisation; the figure puts the curves on the relative depth: start / (L − k)
  const f = comparisonFigure(c, 2, 'subject');
  assert.equal(f.curves.length, 3);
  assert.deepEqual(f.curves[0].x, [0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1]);
  assert.deepEqual(f.curves[2].x, [0, 0.5, 1]);
  assert.deepEqual(f.curves[1].y, (c.models[1].result as TraceResult).windows[1].curves.subject.diffPct);
  assert.equal(comparisonFigures(c).length, 2 * 3, 'per window and set');
  const text = renderComparison(c);
  assert.match(text, /^comparison of 3 models: trace of "Beats Music is owned by"/);
  assert.match(text, /demo-mamba1 \(Mamba-1\)\s+8 layers/);
  assert.match(text, /tiny-model \(Mamba-2\)\s+4 layers/);
  assert.match(text, /subject → last: diff%/);
  assert.match(text, /at ℓ=\d of 4 layers \(layers \d…\d; depth (0\.00|0\.50|1\.00)\)/);
});

test('micro comparison: category curves per model (pos 0, subject, …) on the relative depth', async () => {
  const models = [comparedModel('demo', DEMO), comparedModel('demo-mamba1', DEMO1)];
  const params = { prompt: PROMPT, subject: 'Beats Music', window: 4 };
  const c = await runComparison('micro', params, models, inProcessOpener(sessionOpts));
  const own = await alone(DEMO1, (s) => runMicro(s, params));
  assert.deepEqual(stable(c.models[1].result), stable(own));
  const m = c.models[1].result as MicroResult;
  const first = comparisonFigure(c, 4, 'first').curves[1];
  assert.deepEqual(first.y, m.diffPct[0], 'first = the row of position 0');
  const subj = m.tokens.flatMap((t, i) => (t.role === 'subject' ? [i] : []));
  assert.deepEqual(microCategoryCurve(m, 'subject-last'), m.diffPct[subj[subj.length - 1]]);
  assert.deepEqual(first.x, [0, 0.25, 0.5, 0.75, 1]);
});

function facts(dir: string, n: number): string {
  const all = JSON.parse(fs.readFileSync(FACTS, 'utf8')) as unknown[];
  const f = path.join(dir, 'facts.json');
  fs.writeFileSync(f, JSON.stringify(all.slice(0, n)));
  return f;
}

test('dataset micro comparison over three models (demo, demo-mamba1, demo again): ONE file, each entry equals its own run, first-position effect per model', async () => {
  const dir = tmpDir('cmp-run');
  const ds = facts(dir, 8);
  const out = path.join(dir, 'compare.json');
  const models = [comparedModel('demo', DEMO), comparedModel('demo-mamba1', DEMO1), comparedModel('demo', DEMO)];
  const params = { dataset: ds, experiment: 'micro' as const, windows: [4], out, chunkSize: 4, split: true };
  const c = await runComparison('runDataset', params, models, inProcessOpener(sessionOpts));
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), c, 'the file is the comparison');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['compare.json', 'facts.json'], 'no per-model run or checkpoint is left');
  assert.deepEqual(c.models.map((m) => m.label), ['demo (Mamba-2)', 'demo-mamba1 (Mamba-1)', 'demo (Mamba-2) #2']);
  for (const [i, m] of models.entries()) {
    const own = await alone(m.dir, (s) => runDataset(s, { ...params, out: path.join(dir, `alone${i}.json`) }));
    assert.deepEqual(stable(c.models[i].result), stable(own), `model ${i + 1}`);
  }
  assert.deepEqual(stable(c.models[0].result), stable(c.models[2].result), 'the same model twice gives the same numbers');
  // the first-position effect: the mean of row 0 over the prompts, per start, per model
  for (const m of c.models) {
    const r = m.result as DatasetRunResult;
    const f = r.aggregate.firstPosition!;
    assert.ok(f, m.label);
    assert.equal(f.window, 4);
    assert.deepEqual(f.starts, [0, 1, 2, 3, 4]);
    assert.equal(f.n, r.prompts.length);
    for (let s = 0; s < f.starts.length; s++) {
      const mean = r.prompts.reduce((a, p) => a + p.micro!.diffPct[0][s], 0) / r.prompts.length;
      assert.ok(Math.abs(f.meanDiffPct[s] - mean) < 1e-9);
      assert.ok(f.ci.low[s] <= f.meanDiffPct[s] + 1e-9 && f.meanDiffPct[s] <= f.ci.high[s] + 1e-9);
    }
    assert.deepEqual(f.meanDiffPct, r.aggregate.windows[0].curves.first.mean, 'equals the micro aggregate of the first category');
    const lacking = r.prompts.filter((p) => !p.subjectHasFirst);
    assert.equal(f.notSubject.n, lacking.length);
    assert.ok(lacking.length > 0 && lacking.length < r.prompts.length, 'the facts have subjects at position 0 and elsewhere');
    const m0 = lacking.reduce((a, p) => a + p.micro!.diffPct[0][0], 0) / lacking.length;
    assert.ok(Math.abs(f.notSubject.meanDiffPct[0] - m0) < 1e-9);
  }
  assert.equal(c.coverage!.selected, 8);
  assert.equal(c.coverage!.models.length, 3);
  const text = renderComparison(c, out);
  assert.match(text, /first \(pos 0\) → last: mean diff%/);
  assert.match(text, /first-position effect, pos 0 \(first\) blocked, window k=4/);
  assert.equal(text.match(/first-position effect/g)!.length, 3, 'one per model');
  // a single micro run prints its first-position effect too
  assert.match(renderDatasetRun(c.models[1].result as DatasetRunResult, out), /first-position effect, pos 0 \(first\) blocked[\s\S]*all prompts +\S+ +min [-+]\d+\.\d% \[[-+]\d+\.\d, [-+]\d+\.\d\] at ℓ=\d[\s\S]*subject lacks pos 0/);
});

test('dataset comparison: cancelled between models it keeps the finished run, --resume reuses it; another error leaves nothing', async () => {
  const dir = tmpDir('cmp-cancel');
  const ds = facts(dir, 4);
  const out = path.join(dir, 'c.json');
  const models = [comparedModel('demo', DEMO), comparedModel('demo', DEMO)];
  const params = { dataset: ds, experiment: 'macro' as const, windows: [4], out, chunkSize: 2 };
  const ac = new AbortController();
  const inner = inProcessOpener(sessionOpts);
  let opened = 0;
  const opener: ModelOpener = async (m, p) => {
    opened++;
    const o = await inner(m, p);
    return { ...o, run: async (method, prm, hooks) => {
      const r = await o.run(method, prm, hooks);
      ac.abort(); // Ctrl-C right after the first model finished
      return r;
    } };
  };
  await assert.rejects(runComparison('runDataset', params, models, opener, { signal: ac.signal }), CancelledError);
  assert.equal(opened, 1, 'the second model is not opened');
  assert.equal(fs.existsSync(out), false, 'no comparison file');
  assert.ok(fs.existsSync(modelRunFile(out, 0)), "the first model's finished run is kept for --resume");
  const reused: boolean[] = [];
  const c = await runComparison('runDataset', { ...params, resume: true }, models, inner, { onModel: (_i, _n, _m, r) => reused.push(r) });
  assert.deepEqual(reused, [true, false]);
  assert.deepEqual(stable(c.models[0].result), stable(c.models[1].result));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['c.json', 'facts.json']);
  await assert.rejects(runComparison('runDataset', { ...params, resume: true }, models, inner), /nothing to resume: .*already complete/);
  // a model that measures nothing: one UserError, and neither the comparison nor the first model's run is left
  const tinyModel = comparedModel('tiny', tiny);
  const out2 = path.join(dir, 'c2.json');
  await assert.rejects(runComparison('runDataset', { ...params, out: out2, windows: [2] }, [models[0], tinyModel], inner), (e: unknown) => e instanceof UserError && /no prompt was measured/.test(e.message));
  assert.equal(fs.existsSync(out2), false);
  assert.equal(fs.existsSync(modelRunFile(out2, 0)), false);
  assert.equal(fs.existsSync(partialPath(modelRunFile(out2, 1))), false);
});

test('bad comparison inputs: one clear UserError before any model opens', () => {
  const missing = path.join(tmpDir('cmp-bad'), 'nope');
  assert.throws(() => comparedModel('nope', missing), (e: unknown) => e instanceof UserError && e.message === `--compare-model 'nope': model folder ${missing} does not exist`);
  const file = path.join(DEMO, 'config.json');
  assert.throws(() => comparedModel(file, file), /is a file, not a model folder/);
  const empty = tmpDir('cmp-empty');
  assert.throws(() => comparedModel(empty, empty), /has no config\.json: it is not a model folder/);
  assert.throws(() => splitModelList('demo,,demo-mamba1'), /--compare-model: empty model name in 'demo,,demo-mamba1'/);
  const models: ModelToCompare[] = [comparedModel('demo', DEMO), { ref: 'tiny', dir: tiny, nLayer: 4 }];
  assert.throws(() => comparisonWindowSizes('trace', 'macro', [6], models), (e: unknown) => e instanceof UserError && /^window 6 is larger than the model's 4 layers of tiny: every model of a comparison runs the same window sizes$/.test(e.message));
  assert.deepEqual(comparisonWindowSizes('micro', 'micro', undefined, models), [4]);
  assert.deepEqual(comparisonWindowSizes('runDataset', 'macro', [2, 4], models), [2, 4]);
  assert.rejects(runComparison('trace', { prompt: 'x', subject: 'x' }, [models[0]], inProcessOpener()), /at least 2 models/);
});

test('comparison helpers: relative depth, labels, what cannot be compared', () => {
  assert.equal(relativeDepth(0, 9, 24), 0);
  assert.equal(relativeDepth(15, 9, 24), 1);
  assert.equal(relativeDepth(3, 4, 4), 0, 'one start when k = L');
  assert.deepEqual(
    comparisonLabels([{ ref: 'demo', identity: { arch: 'mamba2' } }, { ref: '/x/y/falcon/', identity: { arch: 'mamba1', variant: 'falcon_mamba' } }, { ref: 'demo', identity: { arch: 'mamba2' } }, { ref: 'openai-community/gpt2', identity: { arch: 'gpt2' } }, { ref: 'EleutherAI/pythia-160m', identity: { arch: 'gptneox' } }]),
    ['demo (Mamba-2)', 'falcon (Falcon-Mamba)', 'demo (Mamba-2) #2', 'openai-community/gpt2 (GPT-2)', 'EleutherAI/pythia-160m (GPT-NeoX)'],
  );
  const t = { kind: 'trace', prompt: 'a', provenance: { model: { arch: 'mamba2' } } } as unknown as TraceResult;
  assert.match(incomparable([t])!, /at least 2/);
  assert.match(incomparable([t, { ...t, prompt: 'b' }])!, /model 2 ran on another prompt/);
  assert.match(incomparable([t, { ...t, kind: 'micro' } as unknown as MicroResult])!, /model 2 has a micro result, model 1 a trace result/);
  assert.throws(() => buildComparison([{ ref: 'a', result: t }, { ref: 'b', result: { ...t, prompt: 'c' } }]), /cannot compare these results: model 2 ran on another prompt/);
});
