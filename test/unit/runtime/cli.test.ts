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

// ---------------------------------------------------------------- Mamba-1 and the conv path through the CLI

const m1 = join(tmp, 'model-m1');
before(async () => {
  await writeRandomCheckpoint(m1, { arch: 'mamba1', format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 3, vocabSize: 320, dState: 4, headdim: 1, nGroups: 1, seed: 21 });
  writeTinyTokenizer(join(m1, 'tokenizer.json'));
});

test('Mamba-1 attention --json: channels[c][i][j] = α_c, the mean and max |α| over the listed channels', () => {
  const all = cli('attention', '--model', m1, '--prompt', 'the cat sat', '--layer', '2', '--ep', 'cpu', '--json');
  assert.equal(all.code, 0, all.err);
  const a = JSON.parse(all.out);
  const n = a.tokens.length;
  assert.equal(a.unit, 'channel');
  assert.equal(a.channels.length, 32);
  assert.deepEqual(a.channelIds, Array.from({ length: 32 }, (_, i) => i));
  assert.equal(a.channels[0].length, n);
  assert.equal(a.channels[5][0][n - 1], 0, 'causal');
  const some = JSON.parse(cli('attention', '--model', m1, '--prompt', 'the cat sat', '--layer', '2', '--channels', '3,5-7', '--ep', 'cpu', '--json').out);
  assert.deepEqual(some.channelIds, [3, 5, 6, 7]);
  assert.deepEqual(some.channels[1], a.channels[5]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const vals = [3, 5, 6, 7].map((c) => a.channels[c][i][j]);
      assert.ok(Math.abs(some.mean[i][j] - vals.reduce((x, y) => x + y, 0) / 4) < 1e-6);
      assert.ok(Math.abs(some.maxAbs[i][j] - Math.max(...vals.map(Math.abs))) < 1e-6);
    }
  }
  assert.equal(JSON.parse(cli('attention', '--model', model, '--prompt', 'the cat', '--layer', '0', '--ep', 'cpu', '--json').out).unit, 'head');
});

test('Mamba-1 trace records the architecture and the conv path; conv block differs from keep near the last position', () => {
  const args = ['trace', '--model', m1, '--prompt', 'the cat sat on the mat', '--subject', 'mat', '--window', '1', '--sets', 'subject,last', '--ep', 'cpu', '--json'];
  const keep = cli(...args);
  const block = cli(...args, '--conv', 'block');
  assert.equal(keep.code, 0, keep.err);
  assert.equal(block.code, 0, block.err);
  const a = JSON.parse(keep.out);
  const b = JSON.parse(block.out);
  assert.equal(a.provenance.model.arch, 'mamba1');
  assert.equal(a.provenance.conv, 'keep');
  assert.equal(b.provenance.conv, 'block');
  const diff = a.curves.subject.probs.map((p: number, i: number) => Math.abs(p - b.curves.subject.probs[i]));
  assert.ok(Math.max(...diff) > 1e-6, 'the subject "mat" is next to the last position: cutting its conv taps must change p′');
});

test('bad --conv and --channels: one line, exit 1', () => {
  const cases: [string[], RegExp][] = [
    [['trace', '--model', m1, '--prompt', 'a b', '--subject', 'a', '--conv', 'maybe'], /--conv must be keep or block, got "maybe"/],
    [['micro', '--model', m1, '--prompt', 'a b', '--conv', ''], /--conv must be keep or block/],
    [['attention', '--model', model, '--prompt', 'a b', '--layer', '0', '--channels', '1', '--ep', 'cpu'], /--channels applies to Mamba-1 models/],
    [['attention', '--model', m1, '--prompt', 'a b', '--layer', '0', '--channels', '32', '--ep', 'cpu'], /channel 32 is out of range: the model has channels 0\.\.31/],
    [['attention', '--model', m1, '--prompt', 'a b', '--layer', '0', '--channels', '5-3'], /--channels: range 5-3 is empty/],
    [['attention', '--model', m1, '--prompt', 'a b', '--layer', '0', '--channels', 'x'], /--channels must be a list of integers and ranges/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /^mamba-explain: .+\n$/);
    assert.match(r.err, re);
  }
});
