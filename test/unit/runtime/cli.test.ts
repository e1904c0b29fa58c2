// `mamba-explain predict` / `attention` end to end through the CLI entry point (under tsx).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';

const tmp = mkdtempSync(join(tmpdir(), 'me-cli-'));
const model = join(tmp, 'model');
before(async () => {
  await writeRandomCheckpoint(model, { format: 'hf', weights: 'safetensors', dtype: 'float16', dModel: 32, nLayer: 2, vocabSize: 320, dState: 16, headdim: 8, nGroups: 1, seed: 9 });
  writeTinyTokenizer(join(model, 'tokenizer.json'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MAMBA_EXPLAIN_CACHE: join(tmp, 'cache') },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('predict --json', () => {
  const r = cli('predict', '--model', model, '--prompt', 'the cat is', '--top', '3', '--ep', 'cpu', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.ep, 'cpu');
  assert.equal(j.top.length, 3);
  assert.deepEqual(Object.keys(j.tokens[0]).sort(), ['end', 'id', 'start', 'text']);
  assert.deepEqual(Object.keys(j.top[0]).sort(), ['id', 'prob', 'text']);
  assert.deepEqual(Object.keys(j.timing_ms).sort(), ['forward', 'tokenize', 'total']);
});

test('attention --json', () => {
  const r = cli('attention', '--model', model, '--prompt', 'the cat', '--layer', '1', '--ep', 'cpu', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.layer, 1);
  const n = j.tokens.length;
  assert.equal(j.heads.length, 8);
  assert.equal(j.heads[0].length, n);
  assert.equal(j.heads[0][0].length, n);
  assert.equal(j.heads[0][0][n - 1], 0);
});

test('user errors: one line, exit 1', () => {
  for (const args of [
    ['predict', '--model', model, '--prompt', ''],
    ['attention', '--model', model, '--prompt', 'x', '--layer', '5', '--ep', 'cpu'],
    ['predict', '--model', join(tmp, 'none'), '--prompt', 'x'],
    ['predict', '--model', model, '--prompt', 'x', '--ep', 'tpu'],
  ]) {
    const r = cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^mamba-explain: .+\n$/);
  }
});

test('--dtype float16 prints its error against float32 on the prompt (stderr and JSON)', () => {
  const env = { MAMBA_EXPLAIN_TEST_CPU_FLOAT16: '1' };
  const cliEnv = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env, MAMBA_EXPLAIN_CACHE: join(tmp, 'cache') },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const p = cliEnv('predict', '--model', model, '--prompt', 'the cat is', '--ep', 'cpu', '--dtype', 'float16', '--json');
  assert.equal(p.code, 0, p.err);
  const j = JSON.parse(p.out);
  assert.match(p.err, /float16 compute vs float32 on this prompt: top-1 .* largest \|Δp\| over the top 5: /);
  assert.equal(j.float16Parity.k, 5);
  // (ORT's CPU provider runs float16 Gemms in float32, so the difference is tiny here; on a GPU it is real)
  assert.ok(j.float16Parity.maxAbsProbDiff >= 0 && j.float16Parity.maxAbsProbDiff < 0.05, String(j.float16Parity.maxAbsProbDiff));
  assert.equal(j.float16Parity.top1.id, j.top[0].id);
  const t = cliEnv('trace', '--model', model, '--prompt', 'the cat is', '--subject', 'cat', '--window', '1', '--ep', 'cpu', '--dtype', 'float16', '--json');
  assert.equal(t.code, 0, t.err);
  assert.equal(JSON.parse(t.out).float16Parity.prompt, 'the cat is');
  // without the test switch, float16 on the CPU is refused with one clear line
  const refused = cli('predict', '--model', model, '--prompt', 'the cat is', '--ep', 'cpu', '--dtype', 'float16');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /float16 compute graphs are a GPU-only option/);
  assert.match(cli('predict', '--model', model, '--prompt', 'x', '--dtype', 'bf16').err, /--dtype must be float32 or float16/);
});

test('--sweep fused gives the layer-by-layer trace; a bad --sweep is one clear error', () => {
  const args = ['trace', '--model', model, '--prompt', 'the cat sat on the mat', '--subject', 'cat', '--window', '1', '--ep', 'cpu', '--json'];
  const fused = cli(...args, '--sweep', 'fused');
  const layers = cli(...args, '--sweep', 'layers');
  assert.equal(fused.code, 0, fused.err);
  assert.equal(layers.code, 0, layers.err);
  const a = JSON.parse(fused.out);
  const b = JSON.parse(layers.out);
  assert.equal(a.provenance.sweep, 'fused');
  assert.equal(b.provenance.sweep, 'layers');
  assert.equal(a.baseProb, b.baseProb);
  for (const set of ['subject', 'relation', 'last']) {
    a.curves[set].probs.forEach((p: number, i: number) => assert.ok(Math.abs(p - b.curves[set].probs[i]) <= 1e-5 * Math.max(p, 1e-3), `${set} ${i}: ${p} vs ${b.curves[set].probs[i]}`));
  }
  const bad = cli('trace', '--model', model, '--prompt', 'x y', '--subject', 'x', '--sweep', 'fast');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^mamba-explain: --sweep must be auto, fused or layers, got 'fast'\n$/);
});
