// End-to-end CLI tests of trace / micro / run through the engine worker (subprocess, ORT CPU on a tiny random model).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { tmpDir } from './fixtures';

const ROOT = path.resolve(__dirname, '../../..');
let model = '';
let cache = '';

before(async () => {
  model = path.join(tmpDir('cli'), 'model');
  cache = tmpDir('cache');
  await writeRandomCheckpoint(model, { format: 'state-spaces', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 4, vocabSize: 300, dState: 8, headdim: 8, nGroups: 1, seed: 9 });
  writeTinyTokenizer(path.join(model, 'tokenizer.json'));
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROMPT = 'The mother tongue of Danielle Darrieux is';

test('trace --json: one window flattened, several under "windows"', () => {
  const r = cli(['trace', '--model', model, '--prompt', PROMPT, '--subject', 'Danielle Darrieux', '--window', '2', '--ep', 'cpu', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.window, 2);
  assert.deepEqual(j.starts, [0, 1, 2]);
  assert.ok(j.target.id >= 0 && typeof j.target.text === 'string');
  assert.ok(j.baseProb > 0 && j.baseProb <= 1);
  assert.ok(j.subjectPositions.length >= 2);
  for (const s of ['subject', 'relation', 'last']) {
    assert.equal(j.curves[s].probs.length, 3);
    assert.equal(j.curves[s].diffPct.length, 3);
  }
  const r2 = cli(['trace', '--model', model, '--prompt', PROMPT, '--subject', 'Danielle Darrieux', '--window', '1,3', '--target', 'French', '--sets', 'subject,first,all', '--ep', 'cpu', '--json']);
  assert.equal(r2.code, 0, r2.stderr);
  const j2 = JSON.parse(r2.stdout);
  assert.deepEqual(j2.windows.map((w: { window: number }) => w.window), [1, 3]);
  assert.deepEqual(Object.keys(j2.windows[1].curves), ['subject', 'first', 'all']);
  assert.equal(j2.windows[0].target.text, ' French'.slice(0, j2.windows[0].target.text.length));
  // human form
  const h = cli(['trace', '--model', model, '--prompt', PROMPT, '--subject', 'Danielle Darrieux', '--window', '2', '--ep', 'cpu']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /window k=2/);
  assert.match(h.stdout, /subject .*min/);
});

test('micro --json: probs per position × start', () => {
  const r = cli(['micro', '--model', model, '--prompt', PROMPT, '--window', '2', '--ep', 'cpu', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.window, 2);
  assert.equal(j.probs.length, j.tokens.length);
  assert.equal(j.probs[0].length, 3);
  assert.equal(j.diffPct[0].length, 3);
});

test('CLI bad input: one line, exit 1', () => {
  const cases: [string[], RegExp][] = [
    [['trace', '--prompt', PROMPT, '--subject', 'Big Ben'], /^mamba-explain: subject 'Big Ben' not found in prompt 'The mother tongue of Danielle Darrieux is'\n$/],
    [['trace', '--prompt', PROMPT, '--subject', 'Danielle', '--window', '30'], /^mamba-explain: window 30 is larger than the model's 4 layers\n$/],
    [['micro', '--prompt', '', '--window', '2'], /^mamba-explain: the prompt is empty\n$/],
    [['run', '--dataset', 'x.json', '--experiment', 'macro', '--out', '/nonexistent/dir/r.json'], /^mamba-explain: results file '.*r\.json': folder '\/nonexistent\/dir' does not exist \(create it first: mkdir -p \/nonexistent\/dir\)\n$/],
  ];
  for (const [args, re] of cases) {
    const r = cli([...args, '--model', model, '--ep', 'cpu']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

test('run: progress on stderr, results file; SIGINT leaves no results file and --resume completes', async () => {
  const dir = tmpDir('clirun');
  const rows = Array.from({ length: 150 }, (_, i) => ({
    prompt: `The mother tongue of Person${i % 7} is`,
    subject: ` Person${i % 7}`,
    target_true: ' French',
    target_false: ' English',
    relation: 'The mother tongue of {} is',
    relation_id: 'P103',
  }));
  const ds = path.join(dir, 'ds.json');
  fs.writeFileSync(ds, JSON.stringify(rows));
  const out = path.join(dir, 'res.json');
  const args = ['run', '--model', model, '--dataset', ds, '--experiment', 'macro', '--window', '2', '--no-filter', '--split', '--out', out, '--ep', 'cpu', '--chunk', '2'];
  // interrupt once the first checkpoint exists
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => {
    const iv = setInterval(() => {
      if (fs.existsSync(out + '.partial.json')) {
        clearInterval(iv);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('exit', (c) => {
      clearInterval(iv);
      resolve(c);
    });
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /mamba-explain: cancelled/);
  assert.equal(fs.existsSync(out), false, 'no results file after Ctrl-C');
  assert.ok(fs.existsSync(out + '.partial.json'));
  assert.match(stderr, /--resume/);
  const r = cli([...args, '--resume', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.prompts, 150);
  assert.equal(summary.timing.resumed, true);
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(res.status, 'complete');
  assert.equal(res.prompts.length, 150);
  assert.equal(fs.existsSync(out + '.partial.json'), false);
  const again = cli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /150\/150 prompts/);
  assert.match(again.stdout, /macro run on/);
  const res2 = JSON.parse(fs.readFileSync(out, 'utf8'));
  const strip = (x: { timing?: unknown; provenance: { createdAt: string } }) => ({ ...x, timing: undefined, provenance: { ...x.provenance, createdAt: '' } });
  assert.deepEqual(strip(res2), strip(res));
});
