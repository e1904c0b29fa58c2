// Crash safety of dataset runs (issue 16, point 5): the real CLI (`mamba-explain run` on the demo model) killed with
// SIGKILL at random (seeded) points and continued with --resume ends in the same results file as an uninterrupted run
// (all but `timing` and `provenance.createdAt`), one of the killed runs on two engine workers. After every kill the results file is absent or complete, the
// checkpoint absent or a valid partial result, and nothing else is in the folder but the temp files of an atomic write
// the kill cut short, which the next run removes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { ensureOnnxCache } from '../../../src/engine/onnx/cache';
import { removeStaleTempFiles } from '../../../src/engine/util/atomicFile';
import { mulberry32 } from '../../../src/engine/util/prng';
import { parseResults } from '../../../src/report';
import { tmpDir } from './fixtures';

const ROOT = path.resolve(__dirname, '../../..');
const cache = tmpDir('crash-cache');
const work = tmpDir('crash-run');
after(() => {
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const DATASET = path.join(ROOT, 'examples/demo-facts.json');
/** 32 prompts of several token lengths in chunks of 4 (8+ chunks), a checkpoint after every chunk. */
const ARGS = ['run', '--model', 'demo', '--dataset', DATASET, '--experiment', 'macro', '--window', '2,4', '--limit', '32', '--chunk', '4', '--checkpoint', '0', '--no-filter', '--split', '--ep', 'cpu'];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stderr: string;
  /** ms after the start when the checkpoint file first appeared (undefined: it did not) */
  firstCheckpoint?: number;
}

/** When to SIGKILL a run: `at` ms after its start, or `afterCheckpoint` ms after it writes its first checkpoint. */
type Kill = { at: number } | { afterCheckpoint: number };

/** Runs the CLI, killing it as `kill` says (undefined: lets it finish). */
function run(args: string[], out: string, kill?: Kill): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const partial = `${out}.partial.json`;
    const mtime = () => (fs.existsSync(partial) ? fs.statSync(partial).mtimeMs : undefined);
    const before = mtime();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args, '--out', out], { cwd: ROOT, env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache } });
    let stderr = '';
    let firstCheckpoint: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const killIn = (ms: number) => (timer = setTimeout(() => child.kill('SIGKILL'), ms));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    const watch = setInterval(() => {
      if (firstCheckpoint !== undefined) return;
      let m: number | undefined;
      try {
        m = mtime();
      } catch {
        m = undefined; // replaced between the two calls
      }
      if (m === undefined || m === before) return;
      firstCheckpoint = Date.now() - t0;
      if (kill && 'afterCheckpoint' in kill) killIn(kill.afterCheckpoint);
    }, 5);
    if (kill && 'at' in kill) killIn(kill.at);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(watch);
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - t0, stderr, firstCheckpoint });
    });
  });
}

/** The result without what differs between runs by design: wall-clock timing and the start time. */
function numbers(file: string): unknown {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  delete r.timing;
  delete r.provenance.createdAt;
  return r;
}

/** What a kill may leave: the results file absent or complete, the checkpoint absent or a partial result, temp files. */
function checkLeftovers(dir: string, out: string, what: string): { partial: boolean; complete: boolean } {
  const name = path.basename(out);
  const temp = new RegExp(`^\\.${name.replace(/\./g, '\\.')}(\\.partial\\.json)?\\.\\d+\\.\\d+\\.\\d+\\.(tmp|probe)$`);
  const others = fs.readdirSync(dir).filter((f) => f !== name && f !== `${name}.partial.json` && !temp.test(f));
  assert.deepEqual(others, [], `${what}: nothing but the results file, its checkpoint and temp files`);
  const complete = fs.existsSync(out);
  if (complete) {
    const r = parseResults(JSON.parse(fs.readFileSync(out, 'utf8')), out).results[0];
    // (a kill after the results file is written, before the checkpoint is removed, leaves both: --resume redoes the rest)
    assert.equal(r.kind === 'dataset-run' && r.status, 'complete', `${what}: the results file is complete`);
  }
  const partial = fs.existsSync(`${out}.partial.json`);
  if (partial) {
    const p = JSON.parse(fs.readFileSync(`${out}.partial.json`, 'utf8'));
    parseResults(p, `${out}.partial.json`);
    assert.equal(p.status, 'partial', `${what}: the checkpoint is a partial result`);
    assert.ok(p.resume.doneChunks.length > 0 && p.resume.doneChunks.length < p.resume.totalChunks, `${what}: the checkpoint holds some chunks, not all`);
  }
  return { partial, complete };
}

test('a dataset run killed with SIGKILL at random points resumes to the same numbers as an uninterrupted run', async (t) => {
  // the uninterrupted run
  const refDir = path.join(work, 'ref');
  fs.mkdirSync(refDir);
  const refOut = path.join(refDir, 'res.json');
  // the demo model's ONNX cache first (test/unit/onnx/crash.test.ts kills conversions), so that every run below times
  // the same work
  const ckpt = await openCheckpoint(path.join(ROOT, 'models/demo'));
  ensureOnnxCache(ckpt, { root: path.join(cache, 'onnx') });
  ckpt.close();
  const ref = await run(ARGS, refOut);
  assert.equal(ref.code, 0, ref.stderr);
  assert.ok(ref.firstCheckpoint !== undefined, 'the run writes checkpoints');
  const want = numbers(refOut);

  const dir = path.join(work, 'killed');
  fs.mkdirSync(dir);
  const out = path.join(dir, 'res.json');
  // kill points: one while the model opens (before the first checkpoint), then, in each later attempt, at a random
  // time after its first checkpoint (between two checkpoints, or while one is written), so that every attempt
  // makes progress and the next one resumes
  const rnd = mulberry32(20261201);
  const computeMs = Math.max(50, ref.ms - ref.firstCheckpoint!);
  const kills: Kill[] = [{ at: Math.round(rnd() * ref.firstCheckpoint!) }, ...Array.from({ length: 3 }, () => ({ afterCheckpoint: Math.round(rnd() * computeMs * 0.25) }))];
  let resumed = 0;
  let attempts = 0;
  const log: string[] = [];
  for (const kill of kills) {
    const partialBefore = fs.existsSync(`${out}.partial.json`);
    if (fs.existsSync(out) && !partialBefore) break; // an attempt completed before its kill
    // the third attempt runs two engine workers (--devices cpu,cpu): the same checkpoint and results file
    const pool = attempts === 2 ? ['--devices', 'cpu,cpu'] : [];
    const r = await run([...(partialBefore ? [...ARGS, '--resume'] : ARGS), ...pool], out, kill);
    attempts++;
    if (partialBefore) resumed++;
    const when = 'at' in kill ? `${kill.at} ms after its start` : `${kill.afterCheckpoint} ms after its first checkpoint`;
    const what = `attempt ${attempts} (${partialBefore ? '--resume' : 'fresh'}), killed ${when} (uninterrupted: ${ref.ms} ms)`;
    if (r.signal !== 'SIGKILL') assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    const left = checkLeftovers(dir, out, what);
    log.push(`${partialBefore ? 'resumed' : 'fresh'} run${pool.length ? ' on two workers' : ''} ${r.signal === 'SIGKILL' ? `killed ${when}` : 'finished'}: ${left.complete ? 'results file' : left.partial ? 'checkpoint' : 'no file'} left`);
  }
  assert.ok(attempts >= 2, `several kills: ${log.join('; ')}`);

  // continue to the end: --resume from the checkpoint (or, when a kill came before the first one, the same command)
  const hasPartial = fs.existsSync(`${out}.partial.json`);
  if (hasPartial || !fs.existsSync(out)) {
    // the temp file of an atomic write that a kill cut short (a dead process's): the next run removes it
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(path.join(dir, `.res.json.partial.json.${deadPid}.1764590000000.0.tmp`), '{"kind": "dataset-run", "prompts": [');
    const last = await run(hasPartial ? [...ARGS, '--resume'] : ARGS, out);
    assert.equal(last.code, 0, last.stderr);
    if (hasPartial) resumed++;
    assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).timing.resumed, hasPartial, 'the last run resumed from the checkpoint');
  }
  assert.ok(resumed >= 1, `a run resumed from a checkpoint: ${log.join('; ')}`);
  assert.deepEqual(fs.readdirSync(dir), ['res.json'], 'only the results file is left: no checkpoint, no temp file');
  assert.deepEqual(numbers(out), want, 'the numbers equal the uninterrupted run');
  t.diagnostic(`uninterrupted: ${ref.ms} ms (first checkpoint at ${ref.firstCheckpoint} ms); ${log.join('; ')}; then completed`);
});

test("removeStaleTempFiles: removes a dead process's temp files of that file only; a live process's and other files stay", () => {
  const dir = tmpDir('stale');
  try {
    const out = path.join(dir, 'res.json');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    const names = {
      dead: `.res.json.${deadPid}.1.0.tmp`,
      deadProbe: `.res.json.${deadPid}.1.1.probe`,
      live: `.res.json.${process.pid}.1.2.tmp`,
      otherFile: `.res2.json.${deadPid}.1.3.tmp`,
      partial: `.res.json.partial.json.${deadPid}.1.4.tmp`,
      plain: 'res.json',
    };
    for (const n of Object.values(names)) fs.writeFileSync(path.join(dir, n), 'x');
    assert.deepEqual(removeStaleTempFiles(out).map((p) => path.basename(p)).sort(), [names.dead, names.deadProbe].sort());
    assert.deepEqual(fs.readdirSync(dir).sort(), [names.live, names.otherFile, names.partial, names.plain].sort());
    assert.deepEqual(removeStaleTempFiles(`${out}.partial.json`).map((p) => path.basename(p)), [names.partial]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
