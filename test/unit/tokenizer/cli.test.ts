// `mamba-explain tokenize`, run as the bundled CLI in a child process. The CLI entry is bundled with the
// same esbuild options as `npm run build` (esbuild.mjs), into a temporary folder so that the test does not
// race other tests on dist/.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { Oracle } from './oracle';

const root = join(__dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tok-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const cli = join(dir, 'cli.js');
const tiny = join(dir, 'tiny.json');

before(async () => {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  await build({
    entryPoints: [join(root, 'src/cli/main.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'es2022',
    external: ['vscode', 'onnxruntime-node'],
    define: { __MAMBA_EXPLAIN_VERSION__: JSON.stringify(version) },
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'silent',
  });
  writeTinyTokenizer(tiny);
});

function run(args: string[]) {
  // the bundle keeps onnxruntime-node external: let it resolve from the repository's node_modules
  const env = { ...process.env, NODE_PATH: join(root, 'node_modules') };
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tokenize --json prints ids, tokens and UTF-16 offsets equal to HF', async () => {
  const text = 'The theory 😀 of  things';
  const r = run(['tokenize', '--tokenizer', tiny, '--text', text, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  // every --json result carries kind, schemaVersion and provenance (the tokenizer used and its sha256)
  assert.deepEqual(Object.keys(out), ['kind', 'schemaVersion', 'provenance', 'text', 'ids', 'tokens', 'offsets']);
  assert.equal(out.kind, 'tokenization');
  assert.equal(out.provenance.tokenizer.file, tiny);
  const want = await new Oracle(tiny).encode(text);
  assert.deepEqual({ ids: out.ids, tokens: out.tokens, offsets: out.offsets }, want);
  assert.equal(r.stdout.trim().split('\n').length, 1);
});

test('tokenize prints a table of id, token, offsets and text slice', () => {
  const r = run(['tokenize', '--tokenizer', tiny, '--text', 'in the cat']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^#\s+id\s+token\s+offsets\s+text$/);
  assert.match(lines[1], /^0\s+\d+\s+"in"\s+0-2\s+"in"$/);
  assert.match(lines[2], /^1\s+\d+\s+"Ġthe"\s+3-6\s+"the"$/);
  assert.match(lines[3], /^2\s+\d+\s+"Ġc"\s+7-8\s+"c"$/);
  assert.match(lines[lines.length - 1], /^\d+ tokens$/);
});

test('tokenize with a non-JSON tokenizer file: exit code != 0 and one line on stderr naming the file', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, 'not json at all');
  const r = run(['tokenize', '--tokenizer', bad, '--text', 'x']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(bad));
  assert.match(lines[0], /not valid JSON/);
});

test('tokenize without --text: usage error', () => {
  const r = run(['tokenize', '--tokenizer', tiny]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--text/);
  const h = run(['tokenize', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--tokenizer FILE/);
});
