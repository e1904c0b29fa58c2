// The CLI end to end on the bundled demo model (subprocesses, ORT CPU): `report` of every result kind, early errors
// (exit 1, one line, nothing on disk), warnings, counts that agree between terminal and JSON, every --json with kind /
// schemaVersion / provenance, help texts, unknown options, --model FILE, tokenize's default, download without network,
// float16 / webgpu refused before any conversion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'me-consistency-'));
const cache = path.join(tmp, 'cache');
const PROMPT = 'The Eiffel Tower is located in the city of';
const SUBJECT = 'The Eiffel Tower';

function cli(args: string[], env: Record<string, string> = {}) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache, ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0 };
}

/** An early user error: exit 1, exactly one line on stderr, nothing on stdout. */
function userError(r: ReturnType<typeof cli>, re: RegExp) {
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^mamba-explain: [^\n]+\n$/, r.err);
  assert.match(r.err, re);
  assert.equal(r.out, '');
}

/** A user error after some work: exit 1, the error is the last stderr line (progress lines may precede it). */
function lateUserError(r: ReturnType<typeof cli>, re: RegExp) {
  assert.equal(r.code, 1, r.err);
  const last = r.err.trimEnd().split('\n').pop()!;
  assert.match(last, /^mamba-explain: /);
  assert.match(last, re);
  assert.equal(r.out, '');
}

const files: Record<string, string> = {};
before(() => {
  const j = (name: string, args: string[]) => {
    const r = cli([...args, '--ep', 'cpu', '--json']);
    assert.equal(r.code, 0, r.err);
    files[name] = path.join(tmp, `${name}.json`);
    fs.writeFileSync(files[name], r.out);
  };
  j('trace', ['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--target', 'Paris']);
  j('micro', ['micro', '--prompt', PROMPT, '--subject', SUBJECT]);
  const run = cli(['run', '--dataset', path.join(ROOT, 'examples/demo-facts.json'), '--experiment', 'macro', '--window', '2,4', '--limit', '12', '--split', '--out', path.join(tmp, 'run.json'), '--ep', 'cpu']);
  assert.equal(run.code, 0, run.err);
  files.run = path.join(tmp, 'run.json');
  files.runText = path.join(tmp, 'run.txt');
  fs.writeFileSync(files.runText, run.out);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('report renders a trace, a micro result, a dataset run, its checkpoint and demo --json; one page, no script', () => {
  const partial = path.join(tmp, 'run.json.partial.json');
  const res = JSON.parse(fs.readFileSync(files.run, 'utf8'));
  fs.writeFileSync(partial, JSON.stringify({ ...res, status: 'partial', resume: { chunkSize: 8, doneChunks: [0], totalChunks: 2 } }));
  const demo = cli(['demo', '--report', path.join(tmp, 'demo-report.html'), '--ep', 'cpu', '--json']);
  assert.equal(demo.code, 0, demo.err);
  fs.writeFileSync(path.join(tmp, 'demo.json'), demo.out);
  for (const [name, input, want] of [
    ['trace', files.trace, /Attention knockout trace/],
    ['micro', files.micro, /Attention knockout, per position/],
    ['run', files.run, /Attention knockout over a dataset \(macro\)/],
    ['partial', partial, /checkpoint of an unfinished run/],
    ['demo', path.join(tmp, 'demo.json'), /Attention knockout trace/],
  ] as const) {
    const out = path.join(tmp, `${name}.html`);
    const r = cli(['report', '--input', input, '--out', out, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.kind, 'report');
    assert.equal(j.out, out);
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, want);
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /<svg /);
    assert.match(html, /<h2>Provenance<\/h2>/);
  }
  const runHtml = fs.readFileSync(path.join(tmp, 'run.html'), 'utf8');
  // one figure per window and split group: 2 windows × (all, has first, lacks first)
  assert.equal((runHtml.match(/<figure>/g) ?? []).length, 6);
  assert.match(runHtml, /bootstrap interval of the mean over the prompts \(2000 resamples, seed 0\)/);
  assert.match(fs.readFileSync(path.join(tmp, 'micro.html'), 'utf8'), /class="legend-bar"/);
  const traceHtml = fs.readFileSync(path.join(tmp, 'trace.html'), 'utf8');
  assert.match(traceHtml, /Clean prediction: top-5/);
  assert.match(traceHtml, />·Tower</);
  assert.match(traceHtml, /k = 4 · Mamba-2 · edge knockout/, "the footer of a figure names that figure's window");
});

test('report: a file that is not a results file is one clear error, and nothing is written', () => {
  const out = path.join(tmp, 'bad.html');
  const write = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  userError(cli(['report', '--input', path.join(ROOT, 'examples/demo-facts.json'), '--out', out]), /is not a mamba-explain results file: it holds a JSON list \(a dataset\?\)/);
  userError(cli(['report', '--input', write('x.txt', 'hello'), '--out', out]), /is not a mamba-explain results file: it is not valid JSON/);
  userError(cli(['report', '--input', write('o.json', '{"a":1}'), '--out', out]), /is not a mamba-explain results file: it has no "kind" field/);
  userError(cli(['report', '--input', write('s.json', JSON.stringify({ kind: 'dataset-run-summary', schemaVersion: 2 })), '--out', out]), /summary that `run --json` prints/);
  const trace = JSON.parse(fs.readFileSync(files.trace, 'utf8'));
  userError(cli(['report', '--input', write('new.json', JSON.stringify({ ...trace, schemaVersion: 99 })), '--out', out]), /made by a newer mamba-explain \(results schema 99; this version reads 1…3\)/);
  userError(cli(['report', '--input', write('cut.json', JSON.stringify({ ...trace, windows: undefined })), '--out', out]), /is not a valid 'trace' result: its "windows" is missing/);
  userError(cli(['report', '--input', write('k.json', JSON.stringify({ ...trace, kind: 'steering' })), '--out', out]), /kind 'steering', which this version of mamba-explain cannot render/);
  userError(cli(['report', '--input', path.join(tmp, 'none.json'), '--out', out]), /cannot be read: no such file/);
  userError(cli(['report', '--input', files.trace, '--out', tmp]), /report file '.*' is a folder/);
  userError(cli(['report', '--input', files.trace, '--out', path.join(tmp, 'nofolder', 'r.html')]), /folder '.*nofolder' does not exist/);
  userError(cli(['report', '--input', files.trace, '--out', files.trace]), /is the results file itself/);
  assert.equal(fs.existsSync(out), false);
});

test('output paths are checked before any work: run --out and demo --report (folder, missing folder) leave nothing', () => {
  const before = fs.readdirSync(tmp).sort();
  const ds = path.join(ROOT, 'examples/demo-facts.json');
  for (const r of [
    cli(['run', '--dataset', ds, '--experiment', 'macro', '--out', tmp]),
    cli(['demo', '--report', tmp]),
  ]) {
    userError(r, /is a folder: give a file name inside it/);
    assert.ok(r.ms < 15_000, `failed at once (${r.ms} ms)`);
  }
  const missing = path.join(tmp, 'missing', 'out.json');
  userError(cli(['run', '--dataset', ds, '--experiment', 'macro', '--out', missing]), /results file '.*out\.json': folder '.*missing' does not exist \(create it first/);
  userError(cli(['demo', '--report', missing]), /report file '.*out\.json': folder '.*missing' does not exist \(create it first/);
  assert.deepEqual(fs.readdirSync(tmp).sort(), before, 'no results file, no .partial.json, no report');
});

test('a run that measures no prompt exits 1 with the reason and writes no file; counts agree between terminal and JSON', () => {
  const ds = path.join(tmp, 'unknown.json');
  fs.writeFileSync(ds, JSON.stringify([1, 2, 3].map((i) => ({ prompt: `The capital of Country${i} is`, subject: `Country${i}`, target_true: ' Banana' }))));
  const out = path.join(tmp, 'nothing.json');
  lateUserError(cli(['run', '--dataset', ds, '--experiment', 'macro', '--out', out, '--ep', 'cpu']), /no prompt was measured: the model's clean top-1 is the target for none of the 3 prompts \(it knows 0 of 3 facts\).*--no-filter/);
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(out + '.partial.json'), false);
  // counts: the terminal line states exactly the JSON counts
  const res = JSON.parse(fs.readFileSync(files.run, 'utf8'));
  const c = res.counts;
  assert.equal(c.selected, c.measured + c.filteredOut + c.skipped);
  const text = fs.readFileSync(files.runText, 'utf8');
  assert.ok(text.includes(`prompts: ${c.selected} selected, ${c.measured} measured, ${c.filteredOut} filtered out (clean top-1 ≠ target), ${c.skipped} skipped`), text);
  assert.match(text, /95% bootstrap CI \(2000 resamples, seed 0\) at the minimum/);
});

test('warnings on stderr (and in the JSON): several-token target, trailing whitespace', () => {
  const r = cli(['trace', '--prompt', 'Beats Music is owned by ', '--subject', 'Beats Music', '--target', 'Apple Inc', '--ep', 'cpu', '--json']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /mamba-explain: warning: the prompt ends in whitespace/);
  assert.match(r.err, /mamba-explain: warning: the target " Apple Inc" is \d tokens/);
  const j = JSON.parse(r.out);
  assert.deepEqual(j.warnings.map((w: { code: string }) => w.code).sort(), ['multi-token-target', 'trailing-whitespace']);
  // trace on the 8-layer demo model picks two window sizes, as demo does
  assert.deepEqual(j.windows.map((w: { window: number }) => w.window), [2, 4]);
});

test('every --json result carries kind, schemaVersion and provenance', () => {
  const tok = cli(['tokenize', '--text', 'Beats Music', '--json']);
  const cases: [string, ReturnType<typeof cli>][] = [
    ['trace', { code: 0, out: fs.readFileSync(files.trace, 'utf8'), err: '', ms: 0 }],
    ['micro', { code: 0, out: fs.readFileSync(files.micro, 'utf8'), err: '', ms: 0 }],
    ['dataset-run-summary', cli(['run', '--dataset', path.join(ROOT, 'examples/demo-facts.json'), '--experiment', 'micro', '--window', '4', '--limit', '3', '--out', path.join(tmp, 'm.json'), '--ep', 'cpu', '--json'])],
    ['prediction', cli(['predict', '--prompt', 'Beats Music is owned by', '--top', '3', '--ep', 'cpu', '--json'])],
    ['attention', cli(['attention', '--prompt', 'Beats Music is owned by', '--layer', '2', '--head', 'mean', '--ep', 'cpu', '--json'])],
    ['tokenization', tok],
  ];
  for (const [kind, r] of cases) {
    assert.equal(r.code, 0, `${kind}: ${r.err}`);
    const j = JSON.parse(r.out);
    assert.equal(j.kind, kind);
    assert.equal(j.schemaVersion, 3, kind);
    assert.equal(j.provenance.tool.name, 'mamba-explain', kind);
    assert.ok(typeof j.provenance.createdAt === 'string', kind);
  }
  const demo = JSON.parse(fs.readFileSync(path.join(tmp, 'demo.json'), 'utf8'));
  assert.equal(demo.kind, 'demo');
  assert.equal(demo.result.kind, 'trace');
  // tokenize defaults to the demo tokenizer, as the other commands default to the demo model
  const t = JSON.parse(tok.out);
  assert.equal(t.provenance.tokenizer.file, path.join(ROOT, 'models/demo/tokenizer.json'));
  assert.deepEqual(t.ids.length, 3);
});

test('attention --head H|mean|max', () => {
  const all = JSON.parse(cli(['attention', '--prompt', 'Beats Music is owned by', '--layer', '1', '--ep', 'cpu', '--json']).out);
  const h = JSON.parse(cli(['attention', '--prompt', 'Beats Music is owned by', '--layer', '1', '--head', '2', '--ep', 'cpu', '--json']).out);
  assert.deepEqual(h.matrix, all.heads[2]);
  assert.equal(h.head, 2);
  const mx = JSON.parse(cli(['attention', '--prompt', 'Beats Music is owned by', '--layer', '1', '--head', 'max', '--ep', 'cpu', '--json']).out);
  assert.equal(mx.matrix[3][1], Math.max(...all.heads.map((m: number[][]) => m[3][1])));
  userError(cli(['attention', '--prompt', 'x y', '--layer', '1', '--head', '99', '--ep', 'cpu']), /--head 99 is out of range: the model has \d+ heads per layer/);
  userError(cli(['attention', '--prompt', 'x y', '--layer', '1', '--head', 'median']), /--head must be a head index \(0-based\), mean or max/);
  const m1 = cli(['attention', '--model', 'demo-mamba1', '--prompt', 'x y', '--layer', '1', '--head', '3', '--ep', 'cpu']);
  lateUserError(m1, /has channels, not heads; use --channels LIST, or --head mean\|max/);
});

test('help shows --model DIR|HUB-ID and the defaults; unknown options; --model FILE; tokenize default', () => {
  for (const cmd of ['trace', 'micro', 'run', 'demo', 'predict', 'attention', 'tokenize']) {
    const h = cli([cmd, '--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /--model DIR\|HUB-ID/, cmd);
    assert.match(h.out, /default/, cmd);
  }
  assert.match(cli(['report', '--help']).out, /--input FILE/);
  assert.match(cli(['--help']).out, /report +render a results file/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--bogus']), /^mamba-explain: unknown option --bogus\n$/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--windw', '2']), /unknown option --windw \(did you mean --window\?\)/);
  userError(cli(['predict', '--model', path.join(ROOT, 'models/demo/config.json'), '--prompt', 'x']), /--model '.*config\.json' is a file, not a model folder.*pass that folder/);
  userError(cli(['trace', '--model', path.join(ROOT, 'README.md'), '--prompt', 'x', '--subject', 'x']), /is a file, not a model folder/);
});

test('failing fast: download without a network, float16 with --ep auto and no GPU provider, webgpu without Vulkan', async () => {
  // a port nobody listens on
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const d = cli(['download', 'test-org/model', '--endpoint', `http://127.0.0.1:${port}`, '--cache-dir', path.join(tmp, 'hub')]);
  userError(d, /cannot reach the Hub at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED 127\.0\.0\.1:\d+\): no network connection\?/);
  assert.ok(d.ms < 10_000, `one attempt, no retries (${d.ms} ms)`);
  const noGpu = { MAMBA_EXPLAIN_TEST_NO_GPU: '1', MAMBA_EXPLAIN_CACHE: path.join(tmp, 'fresh-cache') };
  const f = cli(['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--dtype', 'float16'], noGpu);
  userError(f, /^mamba-explain: float16 compute graphs are a GPU-only option: use --ep cuda or --ep webgpu, or float32 compute on the CPU \(--ep auto found no GPU/);
  userError(cli(['predict', '--prompt', 'x', '--dtype', 'float16', '--ep', 'cpu'], noGpu), /float16 compute graphs are a GPU-only option/);
  userError(cli(['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--ep', 'webgpu'], noGpu), /Vulkan loader libvulkan\.so\.1 is not installed.*apt-get install libvulkan1/);
  assert.equal(fs.existsSync(path.join(tmp, 'fresh-cache')), false, 'nothing was converted');
});
