// "Open Results File…" (src/extension/logic/openResults.ts) reads through the report's validating loader: what the
// panel gets is what `mamba-explain report --input` accepts, and every other file is one clear error line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openResultsFile } from '../../../src/extension/logic/openResults';
import { parseResults, registerResultKind } from '../../../src/report';
import { UserError } from '../../../src/engine/types';
import { sampleDataset, sampleMicro, sampleTrace, sampleTraceMamba1 } from '../../webview/samples';

const dir = mkdtempSync(join(tmpdir(), 'mx-open-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const write = (text: string, name = `r${n++}.json`) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

/** The one UserError the command shows for `file`, with the checks every such message passes. */
function refusal(file: string): string {
  let thrown: unknown;
  try {
    openResultsFile(file);
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof UserError, `a UserError, got ${String(thrown)}`);
  const m = (thrown as UserError).message;
  assert.ok(m.length > 0 && m.length <= 2000 && !/[\r\n]/.test(m), `one line: ${JSON.stringify(m)}`);
  return m;
}

test('a trace, a micro result, a dataset run and a demo record open; the demo record shows its first trace', () => {
  for (const r of [sampleTrace([9]), sampleMicro(5), sampleDataset()]) {
    const opened = openResultsFile(write(JSON.stringify(r)));
    assert.equal(opened.result.kind, r.kind);
    assert.equal(opened.count, 1);
    assert.deepEqual(opened.result, JSON.parse(JSON.stringify(r)));
  }
  const demo = openResultsFile(write(JSON.stringify({ kind: 'demo', results: [sampleTrace([9]), sampleTraceMamba1()] })));
  assert.equal(demo.count, 2);
  assert.equal(demo.result.provenance.model.arch ?? 'mamba2', 'mamba2');
});

test('what the panel refuses is what the report refuses, with the same one-line message', () => {
  const trace = sampleTrace([9]);
  const cases: [string, RegExp][] = [
    [':{\n', /is not a mamba-explain results file: it is not valid JSON \(.*\\u000a/],
    ['[1, 2]', /it holds a JSON list \(a dataset\?\)/],
    ['{"a": 1}', /it has no "kind" field/],
    [JSON.stringify({ kind: 'prediction', schemaVersion: 2 }), /cannot be rendered as a report: it is a next-token prediction/],
    [JSON.stringify({ ...trace, schemaVersion: 99 }), /made by a newer mamba-explain/],
    // before: the command checked only "kind", and these reached the panel and the heatmap
    [JSON.stringify({ ...trace, windows: undefined }), /is not a valid 'trace' result: its "windows" is missing/],
    [JSON.stringify({ ...trace, target: { ...trace.target, id: '<img src=x onerror=alert(1)>' } }), /its "target\.id" is not an integer ≥ 0/],
    [JSON.stringify({ ...trace, tokens: trace.tokens.map((t, i) => (i === 2 ? { ...t, role: '"><b>' } : t)) }), /its "tokens\[2\]\.role" is not "subject", "relation" or "last"/],
    [JSON.stringify({ ...trace, lastPosition: 99 }), /its "lastPosition" is not a position below/],
    [JSON.stringify({ ...trace, provenance: { ...trace.provenance, model: { ...trace.provenance.model, nLayer: 'many' } } }), /its "provenance\.model\.nLayer" is not an integer ≥ 1/],
  ];
  for (const [text, re] of cases) {
    const f = write(text);
    const m = refusal(f);
    assert.match(m, re);
    assert.ok(m.startsWith(f), `the message names the file first: ${m}`);
    // the report's loader says the same of the parsed JSON
    if (!text.startsWith(':')) assert.throws(() => parseResults(JSON.parse(text), f), (e: Error) => e instanceof UserError && e.message === m);
  }
  assert.match(refusal(join(dir, 'none.json')), /cannot be read: no such file/);
  assert.match(refusal(dir), /is a folder: give a results JSON file/);
});

test('a kind registered for the report only is refused by the panel, by name', () => {
  registerResultKind('report-only-kind', []);
  const t = sampleTrace([9]);
  const m = refusal(write(JSON.stringify({ ...t, kind: 'report-only-kind' })));
  assert.match(m, /holds results of kind 'report-only-kind', which the knockout panel cannot show \(it shows trace, micro, dataset-run\)/);
});
