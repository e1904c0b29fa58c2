// The knockout panel's "Export report…" (issue 15 point 1): each result kind the panel shows is written as one
// standalone HTML page; a bad target is one message and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportFileName, reportTheme, writePanelReport } from '../../../src/extension/logic/report';
import { DARK_THEME, LIGHT_THEME } from '../../../webview/shared/colors';
import { sampleDataset, sampleFeatureTrace, sampleMicro, sampleTrace } from '../../webview/samples';

test('writes the report of a trace, a micro result, a dataset run and a feature-group trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx-report-'));
  try {
    const cases = { trace: sampleTrace([9, 15]), micro: sampleMicro(5), run: sampleDataset(), features: sampleFeatureTrace('except', ['all', 'fast', 'slow']) };
    for (const [name, r] of Object.entries(cases)) {
      const file = join(dir, `${name}.html`);
      const out = writePanelReport(r, file, true);
      assert.deepEqual(out, { ok: true, path: file }, name);
      const html = readFileSync(file, 'utf8');
      assert.match(html, /^<!DOCTYPE html>/iu, name);
      assert.doesNotMatch(html, /<script/iu, `${name}: no script`);
      assert.match(html, /<svg/u, `${name}: vector figures`);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['features.html', 'micro.html', 'run.html', 'trace.html']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing folder or a folder as target is one message, nothing written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx-report-'));
  try {
    const a = writePanelReport(sampleTrace(), join(dir, 'nope', 'r.html'), false);
    assert.equal(a.ok, false);
    if (!a.ok) {
      assert.match(a.message, /^Could not export the report to r\.html: /u);
      assert.ok(!a.message.includes('\n'));
    }
    const b = writePanelReport(sampleTrace(), dir, false);
    assert.equal(b.ok, false);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('suggested names and theme', () => {
  assert.match(reportFileName(sampleTrace()), /^knockout-trace-[a-z0-9-]+\.html$/u);
  assert.equal(reportFileName(sampleDataset()), 'knockout-run-counterfact-tracing-macro.html');
  assert.equal(reportTheme(true), DARK_THEME);
  assert.equal(reportTheme(false), LIGHT_THEME);
});

test("the webview's 'exportReport' message is validated", async () => {
  const { parseWebviewMessage } = await import('../../../src/shared/protocol');
  assert.deepEqual(parseWebviewMessage({ type: 'exportReport' }), { type: 'exportReport' });
  assert.equal(parseWebviewMessage({ type: 'exportReport', file: '/etc/passwd' }), undefined);
});
