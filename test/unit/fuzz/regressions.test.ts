// One regression test per defect the fuzz suite found (each failed before its fix): in the readers, and outside them
// (src/engine/arch/index.ts, src/report, webview/shared), where they were `todo` tests until fixed there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { openCheckpoint, parseConfig } from '../../../src/engine/checkpoint';
import { readSafetensorsHeader } from '../../../src/engine/checkpoint/safetensors';
import { readTorchZip } from '../../../src/engine/checkpoint/pytorch';
import { unpickle, PyOpaque, PyTuple, type PyValue } from '../../../src/engine/checkpoint/pickle';
import { parsePythonJson } from '../../../src/engine/checkpoint/pythonJson';
import { loadTokenizer, tokenizerFromJson } from '../../../src/engine/tokenizer';
import { loadDataset, parseDataset } from '../../../src/engine/datasets';
import { UserError } from '../../../src/engine/types';
import { parseResults, readResultsFile, renderReportHtml } from '../../../src/report';
import { PickleWriter, writeRandomCheckpoint, writeSafetensors, writeZip } from '../../helpers/checkpointWriter';
import { tinyTokenizerJson } from '../../helpers/tinyTokenizer';
import { assertUserError, tempDir } from './harness';

const tmp = tempDir('reg');
let n = 0;
const fresh = (name: string): string => path.join(tmp, `${n++}-${name}`);

/** fn must throw a clear UserError (one line, bounded) whose message matches `re`. */
function refuses(fn: () => unknown, re: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, 'expected a UserError, got a result');
  assertUserError(thrown, 'regression');
  assert.match((thrown as UserError).message, re);
}

async function refusesAsync(p: Promise<unknown>, re: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, 'expected a UserError, got a result');
  assertUserError(thrown, 'regression');
  assert.match((thrown as UserError).message, re);
}

/** config.json text → config through the functions openCheckpoint uses (that exist before and after the fixes). */
const parseConfigText = (text: string, file: string) => parseConfig(parsePythonJson(text), file);

/** A model folder whose config.json is `text` (the weights of a small Mamba-2 model). */
async function modelWithConfig(text: string): Promise<string> {
  const w = await writeRandomCheckpoint(fresh('model'), { ...small, arch: 'mamba2', format: 'state-spaces', weights: 'safetensors' });
  fs.writeFileSync(path.join(w.dir, 'config.json'), text);
  return w.dir;
}

const small = { dModel: 8, nLayer: 1, vocabSize: 20, dState: 4, headdim: 4, nGroups: 1, seed: 7, dtype: 'float32' } as const;

function readHeader(buf: Buffer) {
  const f = fresh('h.safetensors');
  fs.writeFileSync(f, buf);
  const fd = fs.openSync(f, 'r');
  try {
    return readSafetensorsHeader(fd, f);
  } finally {
    fs.closeSync(fd);
  }
}

function safetensorsWithHeader(header: unknown, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

// ------------------------------------------------------------------ checkpoints

test('safetensors (src/engine/checkpoint/safetensors.ts, io.ts): a tensor name with a newline, or of 20,000 characters, gives a one-line, bounded message', () => {
  refuses(() => readHeader(safetensorsWithHeader({ 'a\nb': { dtype: 'F32', shape: [1], data_offsets: [0, 'x'] } })), /tensor 'a\\nb'/);
  refuses(() => readHeader(safetensorsWithHeader({ ['k'.repeat(20_000)]: { dtype: 'F32', shape: [1] } })), /\(20000 characters\)/);
  // a shape of 900 dimensions is shown by its first ones
  refuses(() => readHeader(safetensorsWithHeader({ w: { dtype: 'F32', shape: Array(900).fill(8), data_offsets: [0, 0] } })), /\[8, 8, 8, 8, 8, 8, 8, 8, … \(900 dimensions\)\]/);
});

test('sharded index (src/engine/checkpoint/index.ts loadIndex): a shard name with a newline or of 300 characters is a bad shard name, in one line', async () => {
  const w = await writeRandomCheckpoint(fresh('sharded'), { ...small, arch: 'mamba2', format: 'hf', weights: 'sharded', shards: 2 });
  const f = path.join(w.dir, 'model.safetensors.index.json');
  const idx = JSON.parse(fs.readFileSync(f, 'utf8'));
  const key = Object.keys(idx.weight_map)[0];
  for (const bad of ['a\nb.safetensors', 'x'.repeat(300)]) {
    fs.writeFileSync(f, JSON.stringify({ ...idx, weight_map: { ...idx.weight_map, [key]: bad } }));
    await refusesAsync(openCheckpoint(w.dir), /bad shard file name/);
  }
});

test('pickle (src/engine/checkpoint/pickle.ts appendItems): APPENDS of 300,000 items does not overflow the call stack', () => {
  const data = Buffer.concat([Buffer.from([0x80, 2, 0x5d, 0x28]), Buffer.alloc(600_000, Buffer.from([0x4b, 0x01])), Buffer.from([0x65, 0x2e])]);
  const hooks = { allowGlobal: () => false, call: (): PyValue => null, persistentLoad: (p: PyValue): PyValue => new PyOpaque('pid', p) };
  const v = unpickle(data, 'data.pkl', hooks);
  assert.ok(Array.isArray(v) && v.length === 300_000);
});

test('pickle (src/engine/checkpoint/pickle.ts): a forbidden STACK_GLOBAL whose name holds a newline is refused in one line', () => {
  const w = new PickleWriter().proto(2).str('os\nx').str('system').raw(0x93);
  const hooks = { allowGlobal: () => false, call: (): PyValue => null, persistentLoad: (): PyValue => null };
  refuses(() => unpickle(w.stop(), 'data.pkl', hooks), /forbidden global 'os\\nx\.system'/);
});

/** A torch zip with one float16 tensor whose storage offset is `offset` (written as written by `put`). */
function torchZipWithOffset(put: (w: PickleWriter) => void, cls = 'HalfStorage'): string {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').raw(0x29).reduce().mark();
  w.str('w').global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', cls).str('0').str('cpu').int(8).tuple().raw(0x51);
  put(w);
  w.intTuple([2]).intTuple([1]).raw(0x89).global('collections', 'OrderedDict').raw(0x29).reduce().tuple().reduce();
  w.raw(0x75);
  const f = fresh('offset.bin');
  writeZip(f, [{ name: 'archive/data.pkl', data: w.stop() }, { name: 'archive/data/0', data: Buffer.alloc(16) }]);
  return f;
}

test('pytorch (src/engine/checkpoint/pytorch.ts): a negative or fractional storage offset is refused (it read bytes before the storage, or threw RangeError on reading)', () => {
  const read = (f: string) => {
    const fd = fs.openSync(f, 'r');
    try {
      return readTorchZip(fd, f);
    } finally {
      fs.closeSync(fd);
    }
  };
  refuses(() => read(torchZipWithOffset((w) => w.int(-1))), /malformed tensor in pickle/);
  const float = (v: number) => (w: PickleWriter) => {
    const b = Buffer.alloc(9);
    b[0] = 0x47;
    b.writeDoubleBE(v, 1);
    w.raw(...b);
  };
  refuses(() => read(torchZipWithOffset(float(0.25))), /malformed tensor in pickle/);
  refuses(() => read(torchZipWithOffset((w) => w.raw(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1))), /malformed tensor in pickle/);
});

test('openCheckpoint (src/engine/checkpoint/index.ts): n_layer 1,000,000,000 is refused at once (it built a Map of a few entries per layer: 30 s, then RangeError)', async () => {
  const w = await writeRandomCheckpoint(fresh('nlayer'), { ...small, arch: 'mamba1', format: 'state-spaces', weights: 'safetensors' });
  const f = path.join(w.dir, 'config.json');
  fs.writeFileSync(f, JSON.stringify({ ...w.configJson, n_layer: 1_000_000_000 }));
  const t0 = Date.now();
  await refusesAsync(openCheckpoint(w.dir), /"n_layer" is 1000000000, but .* holds only \d+ tensors/);
  assert.ok(Date.now() - t0 < 2000);
});

test('config.json (src/engine/checkpoint/index.ts openCheckpoint): a JSON syntax error is reported in one line', async () => {
  // V8 quotes a short text whole, newlines included: "Unexpected token ':', ":{\n" is not valid JSON"
  await refusesAsync(openCheckpoint(await modelWithConfig(':{\n')), /config\.json: not valid JSON/);
});

test('config.json (src/engine/checkpoint/pythonJson.ts): a deeply nested value is valid JSON, not "Maximum call stack size exceeded"', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  const dir = await modelWithConfig(`{"d_model": 8, "n_layer": 1, "vocab_size": 20, "ssm_cfg": {"layer": "Mamba2", "headdim": 4, "d_state": 4, "ngroups": 1, "expand": 2, "d_conv": 4}, "d_intermediate": 0, "zz_extra": ${deep}}`);
  const ck = await openCheckpoint(dir);
  assert.equal(ck.config.dModel, 8);
  ck.close();
  assert.equal((parsePythonJson(`{"a": ${deep}, "b": {"__float__": "Infinity"}}`) as { b: number }).b, Infinity);
});

test('config.json (src/engine/checkpoint/pythonJson.ts): a bare NaN stays NaN and is refused, not taken for an absent value (it gave the default epsilon)', () => {
  const base = '{"d_model": 16, "n_layer": 2, "vocab_size": 30, "ssm_cfg": {"layer": "Mamba2", "headdim": 8, "d_state": 4}';
  refuses(() => parseConfigText(`${base}, "norm_epsilon": NaN}`, 'config.json'), /"norm_epsilon" must be a positive number \(got NaN\)/);
  assert.ok(Number.isNaN((parsePythonJson('{"x": NaN}') as { x: number }).x));
});

// ------------------------------------------------------------------ config readers

const M2 = (extra: string) => `{"d_model": 16, "n_layer": 2, "vocab_size": 30, "ssm_cfg": {"layer": "Mamba2", "headdim": 8, "d_state": 4}${extra}}`;

test('config readers (src/engine/arch/configReader.ts int): a dimension above 2^31 − 1 (1e21, 2^53 + 2) is refused (it gave configs with unsafe sizes)', () => {
  refuses(() => parseConfigText(M2(', "vocab_size": 1e21'), 'config.json'), /"vocab_size" must be at most 2147483647/);
  refuses(() => parseConfigText(M2(', "pad_vocab_size_multiple": 9007199254740994'), 'config.json'), /"pad_vocab_size_multiple" must be at most/);
  refuses(() => parseConfigText('{"model_type": "mamba", "hidden_size": 1e300, "num_hidden_layers": 1, "vocab_size": 10}', 'config.json'), /"hidden_size" must be at most/);
});

test('config readers (src/engine/arch/mamba1/config.ts, mamba2/config.ts finish): expand · d_model above 2^31 − 1 is refused', () => {
  refuses(() => parseConfigText('{"model_type": "mamba", "hidden_size": 1073741824, "expand": 1024, "num_hidden_layers": 1, "vocab_size": 10}', 'config.json'), /d_inner = expand·d_model = 1024·1073741824 is too large/);
  refuses(() => parseConfigText('{"model_type": "mamba2", "hidden_size": 1073741824, "expand": 1024, "num_hidden_layers": 1, "vocab_size": 10, "head_dim": 64}', 'config.json'), /is too large/);
});

test('config readers (src/engine/arch/configReader.ts, mamba1/config.ts, mamba2/config.ts): a deeply nested or huge value is shown briefly (it threw RangeError)', () => {
  const deep = '['.repeat(50_000) + ']'.repeat(50_000);
  refuses(() => parseConfigText(M2(`, "n_layer": ${deep}`), 'config.json'), /"n_layer" must be an integer \(got \(a deeply nested list\)\)/);
  refuses(() => parseConfigText(M2(`, "rms_norm": ${deep}`), 'config.json'), /"rms_norm" must be true or false/);
  refuses(() => parseConfigText(M2(`, "ssm_cfg": {"layer": "Mamba2", "dt_limit": ${deep}}`), 'config.json'), /"ssm_cfg\.dt_limit": \(a deeply nested list\) clamps/);
  refuses(() => parseConfigText(`{"model_type": "mamba", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "hidden_act": "${'g'.repeat(100_000)}"}`, 'config.json'), /"hidden_act": "g{59}…/);
});

// ------------------------------------------------------------------ tokenizer

const tiny = (): Record<string, any> => tinyTokenizerJson() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('tokenizer.json (src/engine/tokenizer/index.ts): wrong types are UserErrors (they threw TypeError: … is not a function / not iterable / of null)', () => {
  const cases: [string, (j: Record<string, any>) => void, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['normalizers: 5', (j) => (j.normalizer = { type: 'Sequence', normalizers: 5 }), /"normalizers" must be a list/],
    ['added_tokens: 5', (j) => (j.added_tokens = 5), /"added_tokens" must be a list/],
    ['added token null', (j) => (j.added_tokens = [null]), /added token without content/],
    ['merges: 5', (j) => (j.model.merges = 5), /"merges" must be a list/],
    ['single: [null]', (j) => (j.post_processor = { type: 'TemplateProcessing', single: [null], special_tokens: {} }), /unsupported TemplateProcessing item null/],
    ['SpecialToken: null', (j) => (j.post_processor = { type: 'TemplateProcessing', single: [{ SpecialToken: null }] }), /template special token undefined is not defined/],
    ['Sequence: null', (j) => (j.post_processor = { type: 'TemplateProcessing', single: [{ Sequence: null }] }), /unsupported TemplateProcessing sequence/],
    ['pattern: null', (j) => (j.pre_tokenizer = { type: 'Split', pattern: null, behavior: 'Isolated' }), /"pattern" must be an object/],
    ['pretokenizers: {}', (j) => (j.pre_tokenizer = { type: 'Sequence', pretokenizers: {} }), /"pretokenizers" must be a list/],
    ['processors: "x"', (j) => (j.post_processor = { type: 'Sequence', processors: 'x' }), /"processors" must be a list/],
    ['normalizer: 5', (j) => (j.normalizer = 5), /normalizer must be an object/],
    ['unk_token: 5', (j) => (j.model.unk_token = 5), /"unk_token" must be a string/],
  ];
  for (const [what, edit, re] of cases) {
    const j = tiny();
    edit(j);
    refuses(() => tokenizerFromJson(j, 'tok.json'), re);
    assert.ok(what);
  }
});

test('tokenizer.json (src/engine/tokenizer/index.ts, bpe.ts): deeply nested values and Sequences are UserErrors (they threw RangeError)', () => {
  const deep = JSON.parse('['.repeat(20_000) + ']'.repeat(20_000));
  const j = tiny();
  j.model.vocab.x = deep;
  refuses(() => tokenizerFromJson(j, 'tok.json'), /vocabulary id \(a list\) of token 'x'/);
  const k = tiny();
  k.normalizer = { type: deep };
  refuses(() => tokenizerFromJson(k, 'tok.json'), /normalizer has no "type"/);
  let nested: Record<string, unknown> = { type: 'NFC' };
  for (let i = 0; i < 10_000; i++) nested = { type: 'Sequence', normalizers: [nested] };
  const m = tiny();
  m.normalizer = nested;
  refuses(() => tokenizerFromJson(m, 'tok.json'), /nested more than 32 deep/);
});

test('tokenizer.json (src/engine/tokenizer/index.ts): a boolean written as a string is refused ("false" was true)', () => {
  const j = tiny();
  j.pre_tokenizer = { ...j.pre_tokenizer, add_prefix_space: 'false' };
  refuses(() => tokenizerFromJson(j, 'tok.json'), /"add_prefix_space" must be true or false \(got "false"\)/);
});

test('tokenizer.json (src/engine/tokenizer/index.ts): template special tokens must be tokens of the tokenizer (ids 1e300, -1, 0.5 reached the encodings)', () => {
  for (const ids of [[1e300], [-1], [0.5], [100_000]]) {
    const j = tiny();
    j.post_processor = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: 'E' } }, { Sequence: { id: 'A' } }], special_tokens: { E: { id: 'E', ids, tokens: ['x'] } } };
    refuses(() => tokenizerFromJson(j, 'tok.json'), /template special token|TemplateProcessing special token id/);
  }
});

test('tokenizer.json (src/engine/tokenizer/bpe.ts, index.ts): an unk_token missing from the vocabulary is a UserError naming the file at encode (it was a plain Error)', () => {
  const j = tiny();
  j.model.unk_token = '<unk>';
  j.normalizer = null;
  j.pre_tokenizer = null; // so that a character outside the byte alphabet reaches the model
  const tok = tokenizerFromJson(j, 'tok.json');
  refuses(() => tok.encode('\u4e00'), /^tokenizer file tok\.json: unk_token '<unk>' is not in the vocabulary/);
});

test('tokenizer.json (src/engine/tokenizer/index.ts): a JSON syntax error is reported in one line', () => {
  const f = fresh('tok.json');
  fs.writeFileSync(f, ':{\n');
  refuses(() => loadTokenizer(f), /is not valid JSON/);
});

test('tokenizer.json (src/engine/tokenizer/addedVocabulary.ts Matcher, index.ts HfTokenizer): 60,000 added tokens load and encode in well under 2 s (quadratic: over 10 s)', () => {
  const j = tiny();
  for (let i = 0; i < 60_000; i++) j.added_tokens.push({ id: 400 + i, content: `<extra_${i}>`, special: i % 3 === 0, normalized: false });
  const f = fresh('big.json');
  fs.writeFileSync(f, JSON.stringify(j));
  const t0 = Date.now();
  const tok = loadTokenizer(f);
  const e = tok.encode('a <extra_59999> b' + '<'.repeat(3000));
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  assert.ok(e.tokens.includes('<extra_59999>'));
});

test('tokenizer.json (src/engine/tokenizer/preTokenize.ts assertLinearRegex): a Split regex that backtracks exponentially is refused (it hung the encoder)', () => {
  for (const re of ['(a+)+$', '([a-z]+)*!', '(a|aa)+$', '(\\s*)*$', '(?:x+x+)+y']) {
    const j = tiny();
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: re }, behavior: 'Isolated' }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] };
    refuses(() => tokenizerFromJson(j, 'tok.json'), /exponential time/);
  }
  // the Split regexes of real byte-level tokenizers still load
  // (Node 20's RegExp has no (?i:…) modifier groups, so Llama 3's regex is refused for that reason, before this check)
  for (const re of ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", '\\p{N}', '\\s+$']) {
    const j = tiny();
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: re }, behavior: 'Isolated' }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] };
    tokenizerFromJson(j, 'tok.json').encode('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! 123');
  }
});

// ------------------------------------------------------------------ datasets

test("datasets (src/engine/datasets/index.ts fillTemplate): a subject holding '$&', '$1' or \"$'\" is put in the template literally (it was read as a replacement pattern)", () => {
  for (const subject of ['$&x', 'A$1B', "it$'s", '$$']) {
    const known = parseDataset(JSON.stringify([{ known_id: 0, subject, attribute: 'Paris', template: 'The city of {} is in' }]), 'k.json');
    assert.equal(known.items[0].prompt, `The city of ${subject} is in`);
    const rome = parseDataset(JSON.stringify([{ case_id: 0, requested_rewrite: { prompt: '{} is in', subject, target_true: { str: 'Paris' } } }]), 'r.json');
    assert.equal(rome.items[0].prompt, `${subject} is in`);
  }
});

test('datasets (src/engine/datasets/index.ts): a JSON syntax error, and rows whose reasons quote prompts with newlines, give one-line messages', () => {
  const f = fresh('ds.json');
  fs.writeFileSync(f, ':[\n');
  refuses(() => loadDataset(f), /is not valid JSON/);
  refuses(() => parseDataset(JSON.stringify([{ prompt: 'a\nb\nc', subject: 'zz', target_true: 'x' }]), 'ds.json'), /subject 'zz' not found in prompt 'a\\u000ab\\u000ac'/);
});

// ------------------------------------------------------------------ outside the readers (todo tests until fixed there)

test('config.json (src/engine/arch/index.ts:30,37 detectFamily): a deeply nested or huge "ssm_cfg.layer" / "model_type" is shown briefly', () => {
  const deep = '['.repeat(50_000) + ']'.repeat(50_000);
  refuses(() => parseConfigText(`{"d_model": 16, "n_layer": 2, "vocab_size": 30, "ssm_cfg": {"layer": ${deep}}}`, 'config.json'), /"ssm_cfg\.layer"/);
  refuses(() => parseConfigText(`{"model_type": "${'m'.repeat(100_000)}"}`, 'config.json'), /model_type/);
});

/** A complete trace result (every field the report reads). */
function traceResult(): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const tokens = ['The', ' E', 'iff', 'el'].map((text, i, all) => ({ id: 10 + i, text, start: all.slice(0, i).join('').length, end: all.slice(0, i + 1).join('').length, role: i === 3 ? 'last' : 'subject' }));
  return {
    kind: 'trace', schemaVersion: 2,
    provenance: { tool: { name: 'mamba-explain', version: '0.1.0' }, model: { path: '/m', hash: 'ab'.repeat(32), format: 'hf', dModel: 8, nLayer: 3, storedDType: 'float32', tokenizer: { file: 't', sha256: 'cd'.repeat(32) } }, ep: 'cpu', computeDType: 'float32', createdAt: 'now' },
    prompt: 'The Eiffel', subject: 'Eiffel', target: { id: 5, text: ' Paris' }, baseProb: 0.4, baseTop: [{ id: 5, text: ' Paris', prob: 0.4 }],
    tokens, subjectPositions: [1, 2], relationPositions: [0], lastPosition: 3,
    windows: [{ window: 1, starts: [0, 1, 2], curves: { subject: { probs: [0.4, 0.3, 0.2], diffPct: [0, -25, -50], top1: [true, true, false] } } }],
  };
}

test('results (src/report/loadResult.ts readResultsFile): a results file with a JSON syntax error gives a one-line message', () => {
  const f = fresh('results.json');
  fs.writeFileSync(f, ':{\n'); // V8 quotes a short text whole: "Unexpected token ':', ":{\n" is not valid JSON"
  refuses(() => readResultsFile(f), /not valid JSON \(Unexpected token.*\\u000a/);
  // a path with a line break is written escaped too
  const g = fresh('a\nb.json');
  fs.writeFileSync(g, '{');
  refuses(() => readResultsFile(g), /a\\u000ab\.json is not a mamba-explain results file/);
});

test('results (src/report/loadResult.ts parseResults): a kind that names an Object.prototype member, a huge kind, or nested demo records are refused briefly', () => {
  const r = traceResult();
  for (const kind of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    // before: NOT_REPORTABLE[kind] was Object's own function, and the message quoted its source
    refuses(() => parseResults({ ...r, kind }, 'results.json'), new RegExp(`kind '${kind}', which this version of mamba-explain cannot render`));
    refuses(() => parseResults({ ...r, kind, provenance: {} }, 'results.json'), new RegExp(`kind '${kind}' is not one of trace, micro, dataset-run`));
  }
  refuses(() => parseResults({ ...r, kind: 'k'.repeat(100_000) }, 'results.json'), /kind 'k{60}…', which this version/);
  // before: one parseResults call per level, a RangeError (stack overflow) for a deep one
  let deep: unknown = r;
  for (let i = 0; i < 20_000; i++) deep = { kind: 'demo', results: [deep] };
  refuses(() => parseResults(deep, 'results.json'), /"demo" record holds another "demo" record/);
});

test('results (src/report/loadResult.ts, resultSchema.ts): a results file parseResults accepts renders, or parseResults refuses it naming the field', () => {
  const cases: [(r: any) => unknown, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    [(r) => (r.warnings = 5), /its "warnings" is not a list/],
    [(r) => delete r.provenance.model.tokenizer, /its "provenance\.model\.tokenizer" is missing/],
    [(r) => delete r.provenance.tool.name, /its "provenance\.tool\.name" is missing/],
    [(r) => (r.tokens[0].text = 5), /its "tokens\[0\]\.text" is not a string/],
    [(r) => (r.baseTop[0].prob = 'x'), /its "baseTop\[0\]\.prob" is not a number/],
    // the fuzz suite's other symptoms (TypeErrors in figures.ts, svg.ts, tokenText.ts and renderReport.ts)
    [(r) => (r.windows[0].starts = 'abc'), /its "windows\[0\]\.starts" is not a list/],
    [(r) => (r.windows[0].starts[1] = '1'), /its "windows\[0\]\.starts\[1\]" is not an integer ≥ 0/],
    [(r) => delete r.subjectPositions, /its "subjectPositions" is missing/],
    [(r) => (r.windows[0].curves.subject.diffPct = [1]), /its "windows\[0\]\.curves\.subject\.diffPct" is not a list of 3 values \(one per start\)/],
    [(r) => (r.windows[0].curves['<x>'] = 1), /its "windows\[0\]\.curves\["<x>"\]" is not an object/],
    [(r) => (r.windows[0].window = 9), /its "windows\[0\]\.window" is not a window size of at most 3/],
    [(r) => (r.lastPosition = 4), /its "lastPosition" is not a position below 4/],
    [(r) => (r.provenance.model.nLayer = 1e9), /its "provenance\.model\.nLayer" is not at most 10000/],
  ];
  for (const [edit, re] of cases) {
    const r = traceResult();
    edit(r);
    refuses(() => parseResults(r, 'results.json'), re);
  }
  // the sample itself loads and renders
  renderReportHtml(parseResults(traceResult(), 'results.json').results);
});

test('results (src/report/renderReport.ts, loadResult.ts): markup in a token id or role, or in the target id, is refused, and stays text in a report rendered without the check', () => {
  const edits = [(r: any) => (r.target.id = '<x-inj>'), (r: any) => (r.tokens[0].id = '"><x-inj a="'), (r: any) => (r.tokens[0].role = '"><x-inj a="'), (r: any) => (r.subjectPositions = ['<x-inj>']), (r: any) => (r.provenance.model.nLayer = '<x-inj>')]; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const edit of edits) {
    const r = traceResult();
    edit(r);
    refuses(() => parseResults(r, 'results.json'), /is not a valid 'trace' result: its "(target\.id|tokens\[0\]\.(id|role)|subjectPositions\[0\]|provenance\.model\.nLayer)" is not/);
    // the report escapes these fields as text too (the panel's Export report… hands it results it made itself)
    const html = renderReportHtml(r as never);
    assert.ok(!html.includes('<x-inj') && !/" x-inj|"><x-inj/.test(html), 'markup from the results file is markup in the report');
  }
});

test('report figures (webview/shared/svg.ts niceTicks): a value near Number.MAX_VALUE does not loop forever, and the ticks cover the range', async () => {
  const M = Number.MAX_VALUE;
  const ranges = [[-40, M], [-M, M], [M, M], [-M, -M], [0, M], [-M, 0], [1e20, 1.0000000000000002e20], [1e300, 1e300], [-5e-324, 5e-324], [0, 5e-324], [-40, 12], [3, 3]];
  // in a thread that is stopped after 5 s, so that a hang cannot hang the suite
  const src = `require('tsx/cjs');
    const { niceTicks } = require(${JSON.stringify(require.resolve('../../../webview/shared/svg'))});
    require('node:worker_threads').parentPort.postMessage(${JSON.stringify(ranges)}.map(([lo, hi]) => niceTicks(lo, hi)));`;
  const w = new Worker(src, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256 } });
  const result = await new Promise<number[][] | string>((resolve) => {
    const timer = setTimeout(() => resolve('still running after 5 s'), 5000);
    w.once('message', (t) => (clearTimeout(timer), resolve(t)));
    w.once('error', (e) => (clearTimeout(timer), resolve(`failed: ${e.message}`)));
  });
  await w.terminate();
  assert.ok(typeof result !== 'string', `niceTicks on ranges near ±Number.MAX_VALUE: ${result}`);
  ranges.forEach(([lo, hi], i) => {
    const t = result[i];
    const what = `niceTicks(${lo}, ${hi}) = [${t.join(', ')}]`;
    assert.ok(t.length >= 2 && t.length <= 20, `${what}: 2 to 20 ticks`);
    assert.ok(t.every(Number.isFinite) && t.every((v, j) => j === 0 || v > t[j - 1]), `${what}: finite and ascending`);
    if (lo < hi) assert.ok(t[0] <= lo && t[t.length - 1] >= hi, `${what}: covers the range`);
  });
});
