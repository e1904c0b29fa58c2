import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { demoCommand, loadDemoFacts, normalizeFact, demoWindows, defaultFactIndex, BUILTIN_FACT } from '../../../src/cli/commands/demo';
import { parseArgs, Options } from '../../../src/cli/args';
import type { CommandIO } from '../../../src/cli/command';
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';

const NEOX = path.resolve('..', 'shared', 'data', 'gpt-neox-20b-tokenizer.json');

function run(argv: string[], out: string[] = []): Promise<unknown> {
  const flags = new Set(['json', 'help', ...(demoCommand.flags ?? [])]);
  const opts = new Options(parseArgs(argv, flags), new Set([...flags, ...(demoCommand.options ?? [])]));
  const io: CommandIO = { json: opts.flag('json'), out: (t) => out.push(t), err: () => undefined, signal: new AbortController().signal };
  return demoCommand.run(opts, io);
}

test('demo prompts: plain entries, templates and COUNTERFACT records are accepted', () => {
  assert.deepEqual(normalizeFact({ prompt: 'The Eiffel Tower is in', subject: 'The Eiffel Tower', target: ' Paris' }), { prompt: 'The Eiffel Tower is in', subject: 'The Eiffel Tower', target: ' Paris' });
  assert.deepEqual(normalizeFact({ requested_rewrite: { prompt: '{} is located in', subject: 'Rome', target_true: { str: 'Italy' } } }), { prompt: 'Rome is located in', subject: 'Rome', target: 'Italy' });
  assert.equal(normalizeFact({ prompt: 'no subject here', subject: 'Paris' }), undefined);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-facts-'));
  const f = path.join(tmp, 'p.json');
  fs.writeFileSync(f, JSON.stringify({ prompts: [{ prompt: 'A B C', subject: 'A' }] }));
  assert.equal(loadDemoFacts(f).length, 1);
  assert.equal(defaultFactIndex(loadDemoFacts(f)), 0);
  assert.equal(defaultFactIndex([{ prompt: 'x y', subject: 'x' }, { ...BUILTIN_FACT }]), 1);
  assert.deepEqual(demoWindows(8), [2, 4]);
  assert.deepEqual(demoWindows(48), [9]);
  assert.deepEqual(demoWindows(1), [1]);
  fs.writeFileSync(f, '[]');
  assert.throws(() => loadDemoFacts(f), /no usable/);
});

test('demo traces a fact and writes the HTML report', { skip: !fs.existsSync(NEOX) && 'shared tokenizer missing' }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-run-'));
  const model = path.join(tmp, 'model');
  await writeRandomCheckpoint(model, { format: 'state-spaces', weights: 'bin', dtype: 'float32', dModel: 16, nLayer: 3, vocabSize: 50277, dState: 8, headdim: 8, nGroups: 1, seed: 3 });
  fs.copyFileSync(NEOX, path.join(model, 'tokenizer.json'));
  const prompts = path.join(tmp, 'prompts.json');
  fs.writeFileSync(prompts, JSON.stringify([{ prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', target: ' Paris' }]));
  const report = path.join(tmp, 'out', 'report.html');
  fs.mkdirSync(path.dirname(report)); // the report's folder must exist (checked before any work, as for run --out)
  // The engine worker runs from a bundle (as with `npm run demo`): bundle the CLI + worker into test-output/.
  const outdir = path.resolve('test-output', `demo-bundle-${process.pid}`);
  const common = { bundle: true, platform: 'node' as const, format: 'cjs' as const, target: 'es2022', logLevel: 'silent' as const, external: ['vscode', 'onnxruntime-node'], define: { __MAMBA_EXPLAIN_VERSION__: '"0.0.0-test"' } };
  await esbuild.build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: path.join(outdir, 'cli.js') });
  await esbuild.build({ ...common, entryPoints: ['src/engine/runtime/worker.ts'], outfile: path.join(outdir, 'worker.js') });
  try {
    const p = spawnSync(process.execPath, [path.join(outdir, 'cli.js'), 'demo', '--model', model, '--prompts', prompts, '--report', report, '--backend', 'reference', '--window', '2'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /window k=2/);
    assert.match(p.stdout, /report written to/);
    const html = fs.readFileSync(report, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /Eiffel/);
    const j = spawnSync(process.execPath, [path.join(outdir, 'cli.js'), 'demo', '--model', model, '--prompt', 'Rome is the capital of', '--subject', 'Rome', '--report', report, '--backend', 'reference', '--window', '1', '--json'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(j.status, 0, j.stderr);
    const r = JSON.parse(j.stdout) as { report: string; result: { kind: string; windows: unknown[] } };
    assert.equal(r.report, report);
    assert.equal(r.result.kind, 'trace');
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
  await assert.rejects(run(['--model', path.join(tmp, 'nope')]), /no config\.json/);
  await assert.rejects(run(['--model', model, '--prompt', 'x']), /go together/);
});
