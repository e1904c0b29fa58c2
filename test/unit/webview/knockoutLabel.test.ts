// The knockout label of a single result (panel header, figure provenance and captions, exports, report footers): a
// transformer (GPT-2, GPT-NeoX: no conv path) reads 'attention knockout', never the Mamba conv wording.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FAMILIES } from '../../../src/engine/arch/index';
import type { AnyResult, ComparisonResult, TraceResult } from '../../../src/engine/experiments/resultTypes';
import { renderReportHtml } from '../../../src/report/index';
import { knockoutLabel } from '../../../src/report/renderReport';
import { hasConvPath, modelKnockoutHint, modelKnockoutLabel, provenanceCaption, provenanceOf, resultKnockoutLabel } from '../../../webview/shared/figures';
import { macroCsv } from '../../../webview/shared/exportData';
import { sampleTrace, sampleTraceMamba1 } from '../../webview/samples';

const FIX = path.resolve('test', 'webview', 'fixtures', 'compare');
const load = <T>(f: string): T => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8')) as T;
const svgs = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
const knockoutOf = (r: AnyResult) => provenanceOf(r).find(([k]) => k === 'knockout')?.[1];

function gpt2Trace(): TraceResult {
  const t = sampleTrace([9, 15]);
  return { ...t, provenance: { ...t.provenance, model: { ...t.provenance.model, path: '/models/gpt2', arch: 'gpt2' }, conv: 'keep' } };
}

test('hasConvPath is the engine families\' convPath', () => {
  for (const f of FAMILIES) assert.equal(hasConvPath({ arch: f.arch }), f.convPath, f.arch);
  assert.equal(hasConvPath({}), true, 'results without arch are Mamba-2');
  assert.equal(modelKnockoutLabel({ arch: 'gptneox' }, 'keep'), 'attention knockout');
  assert.equal(modelKnockoutLabel({ arch: 'mamba1' }, 'block'), 'complete knockout (conv blocked)');
  assert.doesNotMatch(modelKnockoutHint({ arch: 'gpt2' }, 'keep'), /d_conv|conv1d/);
  assert.match(modelKnockoutHint({ arch: 'mamba2' }, 'keep'), /d_conv − 1 = 3 positions/);
});

test('a transformer result says attention knockout in its provenance, captions, exports and report footers', () => {
  const neox = load<ComparisonResult>('run-macro.json').models[2].result as AnyResult;
  assert.equal(neox.provenance.model.arch, 'gptneox');
  for (const [r, family] of [[gpt2Trace(), 'GPT-2'], [neox, 'GPT-NeoX']] as const) {
    assert.equal(resultKnockoutLabel(r), 'attention knockout', family);
    assert.equal(knockoutOf(r), 'attention knockout', `${family}: provenance`);
    const caption = provenanceCaption(provenanceOf(r));
    assert.match(caption, new RegExp(`${family} · .* · attention knockout`), `${family}: figure caption`);
    assert.doesNotMatch(caption, /conv kept|conv blocked/);
    assert.match(knockoutLabel(r), /^attention knockout: /);
    const html = renderReportHtml(r);
    const footers = svgs(html).map((s) => /<text class="caption"[^>]*>([^<]*)<\/text>/.exec(s)?.[1] ?? '');
    assert.ok(footers.length > 0, `${family}: report figures`);
    for (const f of footers) assert.match(f, new RegExp(`^k = \\d+ · .*${family} · attention knockout · `), `${family}: report footer ${f}`);
    assert.doesNotMatch(html, /conv kept|conv blocked|edge knockout \(/, `${family}: report`);
  }
  const t = gpt2Trace();
  assert.ok(macroCsv(t.windows[0], provenanceOf(t)).includes('# knockout: attention knockout'), 'CSV export');
});

test('Mamba results keep the conv wording', () => {
  assert.equal(knockoutOf(sampleTrace([9, 15])), 'edge knockout (conv kept)');
  assert.equal(knockoutOf(sampleTraceMamba1('block')), 'complete knockout (conv blocked)');
  assert.equal(knockoutOf(sampleTraceMamba1('keep', 'falcon_mamba')), 'edge knockout (conv kept)');
  const footers = svgs(renderReportHtml(sampleTraceMamba1('block'))).map((s) => /<text class="caption"[^>]*>([^<]*)<\/text>/.exec(s)?.[1] ?? '');
  assert.ok(footers.length > 0);
  for (const f of footers) assert.match(f, /^k = \d+ · .*Mamba-1 · complete knockout \(conv blocked\) · /);
});
