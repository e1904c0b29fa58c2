// `--compare-model` of trace, micro and run end to end (subprocesses, one engine worker per model, ORT CPU) on the two
// demo models: one comparison file / JSON, bad inputs as one line before any model opens with nothing written, the
// text form on the relative depth, the first-position effect printed per model, and `report` of the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'me-compare-cli-'));
const cache = path.join(tmp, 'cache');
const PROMPT = 'Beats Music is owned by';

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache },
    timeout: 240_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function userError(r: ReturnType<typeof cli>, re: RegExp) {
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^mamba-explain: [^\n]+\n$/, r.err);
  assert.match(r.err, re);
  assert.equal(r.out, '');
}

test('bad --compare-model input: one line, exit 1, no model opened, nothing written', () => {
  const missing = path.join(tmp, 'no-such-model');
  const out = path.join(tmp, 'never.json');
  const facts = path.resolve(ROOT, 'examples', 'demo-facts.json');
  userError(cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--compare-model', missing]), new RegExp(`--compare-model '${missing}': model folder ${missing} does not exist`));
  userError(cli(['run', '--dataset', facts, '--experiment', 'macro', '--limit', '2', '--out', out, '--compare-model', `demo-mamba1,${missing}`]), /model folder .*no-such-model does not exist/);
  userError(cli(['micro', '--prompt', PROMPT, '--compare-model', 'demo,,demo-mamba1']), /--compare-model: empty model name in 'demo,,demo-mamba1'/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--compare-model', 'demo-mamba1', '--window', '9']), /^mamba-explain: window 9 is larger than the model's 8 layers of demo: every model of a comparison runs the same window sizes\n$/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--compare-model', 'demo-mamba1', '--tokenizer', path.join(ROOT, 'models', 'demo', 'tokenizer.json')]), /--tokenizer cannot be combined with --compare-model: a comparison uses each model's own tokenizer\.json/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--compare-model', path.join(ROOT, 'models', 'demo', 'config.json')]), /is a file, not a model folder/);
  userError(cli(['run', '--dataset', facts, '--experiment', 'macro', '--out', path.join(tmp, 'missing-dir', 'c.json'), '--compare-model', 'demo-mamba1']), /folder '.*missing-dir' does not exist/);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f !== 'cache'), [], 'nothing written');
  assert.equal(fs.existsSync(cache), false, 'no model was converted');
});

test('trace --compare-model --json: one comparison with an entry per model; text form on the relative depth; report', () => {
  const r = cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--target', 'Apple', '--window', '4', '--compare-model', 'demo-mamba1', '--ep', 'cpu', '--json']);
  assert.equal(r.code, 0, r.err);
  const c = JSON.parse(r.out);
  assert.equal(c.kind, 'comparison');
  assert.equal(c.schemaVersion, 3);
  assert.equal(c.experiment, 'trace');
  assert.deepEqual(c.models.map((m: { ref: string; label: string }) => [m.ref, m.label]), [['demo', 'demo (Mamba-2)'], ['demo-mamba1', 'demo-mamba1 (Mamba-1)']]);
  assert.deepEqual(c.models.map((m: { result: { provenance: { model: { arch: string } } } }) => m.result.provenance.model.arch), ['mamba2', 'mamba1']);
  for (const m of c.models) assert.deepEqual(m.result.windows.map((w: { window: number }) => w.window), [4]);
  const file = path.join(tmp, 'trace-compare.json');
  fs.writeFileSync(file, r.out);
  const rep = cli(['report', '--input', file, '--out', path.join(tmp, 'trace-compare.html')]);
  assert.equal(rep.code, 0, rep.err);
  assert.match(fs.readFileSync(path.join(tmp, 'trace-compare.html'), 'utf8'), /Comparison of 2 models: macro trace/);
  // stderr names each model as it starts
  const h = cli(['trace', '--prompt', PROMPT, '--subject', 'Beats Music', '--window', '4', '--compare-model', 'demo-mamba1', '--ep', 'cpu']);
  assert.equal(h.code, 0, h.err);
  assert.match(h.err, /^model 1\/2: demo \(.*models\/demo\), 8 layers$/m);
  assert.match(h.err, /^model 2\/2: demo-mamba1 \(.*models\/demo-mamba1\), 8 layers$/m);
  assert.match(h.out, /^comparison of 2 models: trace of "Beats Music is owned by" \(subject "Beats Music"\)$/m);
  assert.match(h.out, /window k=4; x: the relative depth ℓ \/ \(L − k\)/);
  assert.match(h.out, /^ {4}demo-mamba1 \(Mamba-1\) +\S{5} +min [-+]\d+\.\d% at ℓ=\d of 8 layers/m);
});

test('run --experiment micro --compare-model: ONE results file, no per-model file left, the first-position effect printed per model', () => {
  const out = path.join(tmp, 'run-compare.json');
  const r = cli(['run', '--dataset', path.join(ROOT, 'examples', 'demo-facts.json'), '--experiment', 'micro', '--window', '4', '--limit', '6', '--compare-model', 'demo-mamba1', '--out', out, '--ep', 'cpu']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.startsWith('run-compare')), ['run-compare.json'], 'one file: no model run or checkpoint left');
  const c = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(c.kind, 'comparison');
  assert.equal(c.experiment, 'dataset-run');
  assert.equal(c.coverage.selected, 6);
  for (const m of c.models) assert.equal(m.result.aggregate.firstPosition.starts.length, 5);
  assert.match(r.out, /^comparison of 2 models: micro run on .*demo-facts\.json/m);
  assert.match(r.out, /first \(pos 0\) → last: mean diff%/);
  assert.equal((r.out.match(/first-position effect, pos 0 \(first\) blocked, window k=4/g) ?? []).length, 2);
  assert.match(r.out, /^demo-mamba1 \(Mamba-1\):\n {2}first-position effect/m);
  // --json: a summary (the prompts are in the file)
  const j = cli(['run', '--dataset', path.join(ROOT, 'examples', 'demo-facts.json'), '--experiment', 'micro', '--window', '4', '--limit', '2', '--compare-model', 'demo-mamba1', '--out', path.join(tmp, 'run2.json'), '--ep', 'cpu', '--json']);
  assert.equal(j.code, 0, j.err);
  const s = JSON.parse(j.out);
  assert.equal(s.kind, 'comparison-summary');
  assert.equal(s.out, path.join(tmp, 'run2.json'));
  assert.deepEqual(s.models.map((m: { result: { prompts: number } }) => m.result.prompts), [2, 2]);
});
