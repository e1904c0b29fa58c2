// Browser tests of the two webviews in headless Chromium (npm run test:webview).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { themeCss } from './harness';
import { DOCS_IMAGES, noProblems, posted, screenshot, send, setSelect, SHOTS, useBrowser } from './browser';
import {
  M1_CHANNELS, sampleAttention, sampleAttentionWithGroups, sampleChannelAttention, sampleChannelAttentionWithGroups, sampleChannelMatrix, sampleDataset,
  sampleFeatures, sampleFeatureTrace, sampleMicro, sampleTrace, sampleTraceMamba1,
} from './samples';
import { encodeAttention } from '../../src/shared/attentionWire';

const open = useBrowser();

/** The one message posted since clearPosted: a request with an id, otherwise `want`; returns its id. */
async function oneRequest(page: Page, want: Record<string, unknown>): Promise<number> {
  const got = await posted(page);
  assert.equal(got.length, 1, JSON.stringify(got));
  const { requestId, ...rest } = got[0];
  assert.ok(Number.isSafeInteger(requestId), `requestId ${requestId}`);
  assert.deepEqual(rest, want);
  return requestId;
}

async function clearPosted(page: Page): Promise<void> {
  await page.evaluate(() => ((window as any).__posted.length = 0));
}

/** Non-background pixels of a canvas, and a hash of its pixels. */
async function canvasStats(page: Page, selector: string): Promise<{ inked: number; hash: number; width: number; cssWidth: number }> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const [r0, g0, b0] = [d[0], d[1], d[2]];
    let inked = 0;
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 0 && (Math.abs(d[i] - r0) + Math.abs(d[i + 1] - g0) + Math.abs(d[i + 2] - b0) > 30 || (r0 === 0 && g0 === 0 && b0 === 0 && d[i + 3] > 0))) inked++;
      hash = (Math.imul(hash, 31) + d[i] * 65536 + d[i + 1] * 256 + d[i + 2]) | 0;
    }
    return { inked, hash, width: c.width, cssWidth: c.getBoundingClientRect().width };
  }, selector);
}

async function exportsOf(page: Page, figure: string): Promise<Record<string, any>> {
  await clearPosted(page);
  for (const f of ['png', 'svg', 'csv', 'json']) await page.click(`#${figure} .export-button[data-format="${f}"]`);
  await page.waitForFunction(() => (window as any).__posted.filter((m: any) => m.type === 'export').length >= 4);
  const out: Record<string, any> = {};
  for (const m of await posted(page)) if (m.type === 'export') out[m.format] = m;
  return out;
}

async function checkExports(page: Page, figure: string, expectInCsvHeader: string): Promise<Record<string, any>> {
  const ex = await exportsOf(page, figure);
  // PNG: magic bytes + IHDR dimensions
  assert.equal(ex.png.encoding, 'base64');
  const png = Buffer.from(ex.png.data, 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG magic');
  assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
  const w = png.readUInt32BE(16);
  const h = png.readUInt32BE(20);
  const svgW = Number(/width="(\d+)"/.exec(ex.svg.data)![1]);
  assert.equal(w, svgW * 2, 'PNG rendered at 2x the SVG size');
  assert.ok(h > 100);
  // SVG: parses as XML, carries provenance
  const parsed = await page.evaluate((s) => {
    const doc = new DOMParser().parseFromString(s, 'image/svg+xml');
    return { error: doc.querySelector('parsererror')?.textContent ?? null, root: doc.documentElement.nodeName, meta: doc.querySelector('metadata')?.textContent ?? '', desc: doc.querySelector('desc')?.textContent ?? '' };
  }, ex.svg.data);
  assert.equal(parsed.error, null);
  assert.equal(parsed.root, 'svg');
  const meta = JSON.parse(parsed.meta);
  assert.ok(meta.tool.startsWith('mamba-explain'));
  assert.ok(parsed.desc.includes('Provenance'));
  assert.match(ex.svg.data, /class="caption"/);
  // CSV: provenance comments, header, rows
  const lines = ex.csv.data.trim().split('\n');
  const comments = lines.filter((l: string) => l.startsWith('# '));
  assert.ok(comments.length >= 3);
  const header = lines[comments.length];
  assert.ok(header.includes(expectInCsvHeader), header);
  assert.ok(lines.length - comments.length - 1 > 10, 'data rows');
  const cols = header.split(',').length;
  assert.ok(lines.slice(comments.length + 1).every((l: string) => l.split(',').length >= cols));
  // JSON: parses, round-trips
  const j = JSON.parse(ex.json.data);
  assert.equal(j.format, 'mamba-explain-figure');
  assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
  return { ...ex, json: j, meta };
}

describe('knockout panel', () => {
  test('trace: handshake, tokens, curves, toggles, window select, exports, reload', async () => {
    const page = await open('panel', 'dark');
    const first = await posted(page);
    assert.deepEqual(first[0], { type: 'ready', view: 'panel' }, "'ready' is posted first");
    const trace = sampleTrace([9, 15]);
    await send(page, { type: 'showResult', result: trace });
    await page.waitForFunction(() => (window as any).__panel.chart);
    // tokens coloured by role
    const roles = await page.$$eval('.tokens .tok', (els) => els.map((e) => ({ role: (e as HTMLElement).dataset.role, bg: getComputedStyle(e).backgroundColor, border: getComputedStyle(e).borderBottomColor })));
    assert.equal(roles.length, trace.tokens.length);
    assert.deepEqual(roles.map((r) => r.role), trace.tokens.map((t) => t.role));
    const subj = roles.find((r) => r.role === 'subject')!;
    const rel = roles.find((r) => r.role === 'relation')!;
    const last = roles.find((r) => r.role === 'last')!;
    assert.equal(subj.border, 'rgb(137, 209, 133)', 'subject = --vscode-charts-green (Dark Modern)');
    assert.equal(rel.border, 'rgb(177, 128, 215)', 'relation = --vscode-charts-purple');
    assert.equal(last.border, 'rgb(209, 134, 22)', 'last = --vscode-charts-orange');
    assert.notEqual(subj.bg, 'rgba(0, 0, 0, 0)');
    assert.equal(await page.locator('.role-legend .legend-item').count(), 3);
    // top-k
    assert.equal(await page.locator('table.topk tbody tr').count(), 5);
    assert.match((await page.textContent('table.topk tr.target'))!, /Paris/);
    // curves
    const stats = await canvasStats(page, '#curves-canvas');
    assert.ok(stats.inked > 2000, `chart has ink (${stats.inked})`);
    const chartInfo = await page.evaluate(() => {
      const c = (window as any).__panel.chart;
      return { n: c.data.datasets.length, labels: c.data.datasets.map((d: any) => d.label), x: c.options.scales.x.title.text, y: c.options.scales.y.title.text, color: c.data.datasets[0].borderColor };
    });
    assert.deepEqual(chartInfo.labels, ['Subject', 'Relation', 'Last']);
    assert.equal(chartInfo.x, 'Window start layer');
    assert.equal(chartInfo.y, 'Change in target probability (%)');
    assert.equal(chartInfo.color, '#89d185');
    const aria = await page.getAttribute('#curves-canvas', 'aria-label');
    assert.match(aria!, /Subject: minimum/);
    assert.equal(await page.getAttribute('#curves-canvas', 'role'), 'img');
    await screenshot(page, 'panel-trace-dark.png');
    // tooltip values
    const tip = await page.evaluate(() => {
      const c = (window as any).__panel.chart;
      const meta = c.getDatasetMeta(0);
      const pt = meta.data[9];
      c.tooltip.setActiveElements([{ datasetIndex: 0, index: 9 }], { x: pt.x, y: pt.y });
      c.update('none');
      return c.tooltip.body.map((b: any) => b.lines.join(' '));
    });
    assert.ok(tip.some((l: string) => /Subject: -?\d+\.\d\d%, p′ = /.test(l)), JSON.stringify(tip));
    // toggle the relation line (mouse), then back with the keyboard
    await clearPosted(page);
    await page.click('.series-toggle[data-series="relation"]');
    assert.equal(await page.getAttribute('.series-toggle[data-series="relation"]', 'aria-pressed'), 'false');
    assert.equal(await page.evaluate(() => (window as any).__panel.chart.isDatasetVisible(1)), false);
    let st = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-state')!));
    assert.deepEqual(st.hidden, ['relation']);
    assert.doesNotMatch((await page.getAttribute('#curves-canvas', 'aria-label'))!, /Relation:/);
    await page.focus('.series-toggle[data-series="last"]');
    await page.keyboard.press('Space');
    assert.equal(await page.getAttribute('.series-toggle[data-series="last"]', 'aria-pressed'), 'false');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('.series-toggle[data-series="last"]', 'aria-pressed'), 'true');
    assert.deepEqual(await posted(page), [], 'toggles post nothing to the host');
    // window select: an existing window switches locally; a new one asks the host to re-run
    await setSelect(page, 'window-select', '9');
    await page.waitForFunction(() => /k = 9/.test(document.querySelector('#curves h3')!.textContent!));
    assert.deepEqual(await posted(page), []);
    await setSelect(page, 'window-select', '12');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [12] }]);
    assert.match((await page.textContent('.status'))!, /k = 12/);
    await send(page, { type: 'showResult', result: sampleTrace([9, 12, 15]) });
    await page.waitForFunction(() => (window as any).__panel.chart && /k = 9/.test(document.querySelector('#curves h3')!.textContent!));
    assert.equal(await page.textContent('.status'), '');
    // exports
    const ex = await checkExports(page, 'curves', 'source_set');
    assert.equal(ex.png.figure, 'macro-k9');
    assert.deepEqual(ex.json.data, sampleTrace([9]).windows[0]);
    assert.equal(ex.meta['model hash'], trace.provenance.model.hash);
    assert.ok(ex.csv.data.includes('# provider: cpu'));
    assert.ok(!ex.svg.data.includes('data-series="relation"'), 'hidden line left out of the SVG');
    // reload: state restored from getState, 'ready' again first
    await page.reload();
    await page.waitForFunction(() => (window as any).__posted?.length > 0 && (window as any).__panel?.chart);
    assert.deepEqual((await posted(page))[0], { type: 'ready', view: 'panel' });
    assert.match((await page.textContent('#curves h3'))!, /k = 9/);
    assert.equal(await page.getAttribute('.series-toggle[data-series="relation"]', 'aria-pressed'), 'false');
    assert.equal(await page.locator('.tokens .tok').count(), trace.tokens.length);
    // theme switch (VS Code changes body class + variables)
    await page.evaluate((css) => (window as any).__setTheme('light', css), themeCss('light'));
    await page.waitForFunction(() => (window as any).__panel.chart?.data.datasets[0].borderColor === '#388a34');
    await screenshot(page, 'panel-trace-light.png');
    await noProblems(page);
    await page.context().close();
  });

  test('micro: heatmap renders, hover shows the value, exports', async () => {
    const page = await open('panel', 'dark');
    const micro = sampleMicro(5);
    await send(page, { type: 'showResult', result: micro });
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    const stats = await canvasStats(page, '#micro-heatmap canvas');
    assert.ok(stats.inked > 5000, `heatmap has ink (${stats.inked})`);
    const p = await page.evaluate(() => (window as any).__panel.heatmap.cellCenter(4, 10));
    const box = (await page.locator('#micro-heatmap canvas').boundingBox())!;
    await page.mouse.move(box.x + p.x, box.y + p.y);
    const tip = page.locator('#micro-heatmap .tooltip');
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent())!;
    const v = micro.diffPct[4][10];
    assert.ok(text.includes(`${v > 0 ? '+' : ''}${v.toFixed(2)}%`), text);
    assert.ok(text.includes('Tower') && text.includes('position 4') && text.includes('window start 10'), text);
    assert.equal(Number(await tip.getAttribute('data-value')), v);
    // keyboard access to cells
    await page.focus('#micro-heatmap canvas');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    assert.equal(await tip.getAttribute('data-row'), String(micro.tokens.length - 2));
    assert.match((await page.getAttribute('#micro-heatmap canvas', 'aria-label'))!, /Heatmap of 11 × 20 cells/);
    await page.mouse.move(0, 0);
    await screenshot(page, 'panel-micro-dark.png');
    const ex = await checkExports(page, 'micro', 'diff_pct');
    assert.deepEqual(ex.json.data.diffPct, micro.diffPct);
    await clearPosted(page);
    await setSelect(page, 'micro-window-select', '9');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [9] }]);
    await noProblems(page);
    await page.context().close();
  });

  test('dataset run: CI bands, counts, first-token split', async () => {
    const page = await open('panel', 'light');
    const ds = sampleDataset();
    await send(page, { type: 'showResult', result: ds });
    await page.waitForFunction(() => (window as any).__panel.chart);
    const info = await page.evaluate(() => {
      const c = (window as any).__panel.chart;
      return c.data.datasets.map((d: any) => ({ label: d.label, fill: d.fill }));
    });
    assert.equal(info.length, 9, 'per set: CI low, CI high (filled), mean');
    assert.equal(info.filter((d: any) => d.fill === '-1').length, 3);
    assert.match((await page.textContent('#curves .subtitle'))!, /n = 180/);
    assert.ok((await canvasStats(page, '#curves-canvas')).inked > 2000);
    await screenshot(page, 'panel-dataset-light.png');
    const before = await canvasStats(page, '#curves-canvas');
    await setSelect(page, 'split-select', 'subjectHasFirst');
    await page.waitForFunction(() => /n = 60/.test(document.querySelector('#curves .subtitle')!.textContent!));
    const afterSplit = await canvasStats(page, '#curves-canvas');
    assert.notEqual(afterSplit.hash, before.hash, 'split changes the curves');
    let st = await page.evaluate(() => JSON.parse(sessionStorage.getItem('vscode-state')!));
    assert.equal(st.group, 'subjectHasFirst');
    const ex = await checkExports(page, 'curves', 'ci_low');
    assert.ok(ex.csv.data.includes(',subjectHasFirst,'));
    assert.deepEqual(ex.json.data, ds.aggregate.split!.subjectHasFirst[1]);
    assert.deepEqual(await page.evaluate(() => (window as any).__posted.filter((m: any) => m.type === 'rerun')), []);
    await page.evaluate((css) => (window as any).__setTheme('dark', css), themeCss('dark'));
    await page.waitForFunction(() => (window as any).__panel.chart?.data.datasets[2].borderColor === '#89d185');
    await screenshot(page, 'panel-dataset-dark.png');
    // a micro dataset run: per-prompt heatmaps with a prompt selector
    const m = sampleMicro();
    const dm = sampleDataset();
    dm.experiment = 'micro';
    dm.aggregate = { windows: [] };
    dm.prompts = dm.prompts.slice(0, 3).map((p, i) => ({ ...p, micro: { window: m.window, starts: m.starts, diffPct: m.diffPct.map((r) => r.map((v) => v * (i + 1))), tokens: m.tokens.map((t) => t.text) } }));
    await send(page, { type: 'showResult', result: dm });
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    const h0 = await canvasStats(page, '#micro-heatmap canvas');
    assert.ok(h0.inked > 3000);
    await setSelect(page, 'prompt-select', '2');
    await page.waitForFunction(() => JSON.parse(sessionStorage.getItem('vscode-state')!).promptIndex === 2);
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    assert.notEqual((await canvasStats(page, '#micro-heatmap canvas')).hash, h0.hash);
    await send(page, { type: 'error', message: 'Model folder /x has no config.json' });
    assert.match((await page.textContent('.status.error'))!, /config\.json/);
    await noProblems(page);
    await page.context().close();
  });

  test('model family and conv mode: Mamba-2 edge knockout, Mamba-1 complete knockout, Falcon-Mamba, GPT-2 attention knockout', async () => {
    const page = await open('panel', 'dark');
    await send(page, { type: 'showResult', result: sampleTrace([9, 15]) });
    await page.waitForFunction(() => (window as any).__panel.chart);
    assert.equal(await page.textContent('#model-family'), 'Mamba-2', 'results without arch are Mamba-2');
    assert.equal(await page.getAttribute('#knockout-mode', 'data-conv'), 'keep');
    assert.match((await page.textContent('#knockout-mode'))!, /^Edge knockout \(conv kept\)/);
    assert.match((await page.textContent('#knockout-mode'))!, /within d_conv − 1 = 3 positions/);
    assert.match((await page.textContent('#curves .caption'))!, /Mamba-2 · provider cpu · k = 9, 15 · edge knockout \(conv kept\)/);
    // Mamba-1, conv blocked
    const m1 = sampleTraceMamba1('block');
    await send(page, { type: 'showResult', result: m1 });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'Mamba-1' && (window as any).__panel.chart);
    assert.equal(await page.getAttribute('#model-family', 'data-arch'), 'mamba1');
    assert.equal(await page.getAttribute('#knockout-mode', 'data-conv'), 'block');
    assert.match((await page.textContent('#knockout-mode'))!, /^Complete knockout \(conv blocked\)/);
    assert.match((await page.textContent('.page-head .meta'))!, /Mamba-1\/models\/mamba-130m · 24 layers/);
    assert.match((await page.textContent('#curves .caption'))!, /Mamba-1 · .*complete knockout \(conv blocked\)/);
    assert.ok((await canvasStats(page, '#curves-canvas')).inked > 2000);
    await screenshot(page, 'panel-trace-mamba1-block-dark.png');
    // exports carry the family and the conv mode
    const ex = await checkExports(page, 'curves', 'source_set');
    assert.ok(ex.csv.data.includes('# model family: Mamba-1'), 'CSV names the family');
    assert.ok(ex.csv.data.includes('# knockout: complete knockout (conv blocked)'), 'CSV names the conv mode');
    assert.equal(ex.json.provenance.knockout, 'complete knockout (conv blocked)');
    assert.equal(ex.meta['model family'], 'Mamba-1');
    assert.match(ex.svg.data, /complete knockout \(conv blocked\)/);
    // Falcon-Mamba, conv kept; a dataset run records a block in settings.conv
    await send(page, { type: 'showResult', result: sampleTraceMamba1('keep', 'falcon_mamba') });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'Falcon-Mamba');
    assert.match((await page.textContent('#knockout-mode'))!, /^Edge knockout \(conv kept\)/);
    // GPT-2: no conv path, so an attention knockout in the header, the figure caption and the exports
    const g2 = sampleTrace([9, 15]);
    g2.provenance = { ...g2.provenance, model: { ...g2.provenance.model, path: '/models/gpt2', arch: 'gpt2' }, conv: 'keep' };
    await send(page, { type: 'showResult', result: g2 });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'GPT-2' && (window as any).__panel.chart);
    assert.match((await page.textContent('#knockout-mode'))!, /^Attention knockout — The pre-softmax scores/);
    assert.doesNotMatch((await page.textContent('#knockout-mode'))!, /conv kept|conv1d/);
    assert.match((await page.textContent('#curves .caption'))!, /GPT-2 · provider cpu · k = 9, 15 · attention knockout/);
    const gx = await checkExports(page, 'curves', 'source_set');
    assert.equal(gx.json.provenance.knockout, 'attention knockout');
    assert.ok(gx.csv.data.includes('# knockout: attention knockout'), 'CSV names the attention knockout');
    const ds = sampleDataset();
    ds.settings.conv = 'block';
    await send(page, { type: 'showResult', result: ds });
    await page.waitForFunction(() => document.getElementById('knockout-mode')?.getAttribute('data-conv') === 'block');
    assert.equal(await page.textContent('#model-family'), 'Mamba-2');
    await page.evaluate((css) => (window as any).__setTheme('light', css), themeCss('light'));
    await send(page, { type: 'showResult', result: m1 });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'Mamba-1' && (window as any).__panel.chart?.data.datasets[0].borderColor === '#388a34');
    await screenshot(page, 'panel-trace-mamba1-block-light.png');
    await noProblems(page);
    await page.context().close();
  });
  test('warnings, the interval of a dataset run, and Export report… (issue 15)', async () => {
    const page = await open('panel', 'dark');
    // a trace with warnings: each is shown, as text
    const trace = sampleTrace([9]);
    trace.warnings = [
      { code: 'multi-token-target', message: 'the target " Paris France" has 2 tokens: only the first is followed' },
      { code: 'trailing-whitespace', message: 'the prompt ends in whitespace <b>x</b>' },
    ];
    await send(page, { type: 'showResult', result: trace });
    await page.waitForSelector('#result-warnings');
    const items = await page.$$eval('#result-warnings .result-warning', (els) => els.map((e) => ({ code: (e as HTMLElement).dataset.code, text: e.textContent })));
    assert.deepEqual(items.map((i) => i.code), ['multi-token-target', 'trailing-whitespace']);
    assert.match(items[0].text!, /only the first is followed/);
    assert.match(items[1].text!, /<b>x<\/b>/, 'a warning renders as text');
    assert.equal(await page.locator('#result-warnings b').count(), 0);
    assert.equal(await page.locator('#interval-info').count(), 0, 'a trace has no interval line');
    // Export report… asks the host
    await clearPosted(page);
    await page.click('#export-report');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'exportReport' }]);
    await send(page, { type: 'exported', figure: 'report', format: 'html', ok: true, path: '/tmp/r.html' });
    await page.waitForFunction(() => /Saved \/tmp\/r\.html/.test(document.body.textContent ?? ''));
    await send(page, { type: 'exported', figure: 'report', format: 'html', ok: false, message: 'Could not export the report to r.html: no such folder' });
    await page.waitForFunction(() => /Could not export the report/.test(document.body.textContent ?? ''));
    // a dataset run: the interval used and counted warnings
    const run = sampleDataset();
    run.settings.interval = { method: 'bootstrap', level: 0.95, resamples: 2000, seed: 7 };
    run.warnings = [{ code: 'few-known', message: 'the filter kept 3 of 200 prompts', count: 12, indices: [1, 4, 9] }];
    await send(page, { type: 'showResult', result: run });
    await page.waitForSelector('#interval-info');
    assert.match((await page.textContent('#interval-info'))!, /95% bootstrap CI \(2000 resamples, seed 7\)/);
    assert.match((await page.textContent('#result-warnings'))!, /12 prompts: rows 1, 4, 9, …/);
    assert.equal(await page.locator('#export-report').count(), 1);
    await screenshot(page, 'panel-warnings-dark.png');
    // older files without settings.interval were Student t
    const old = sampleDataset();
    delete (old.settings as any).interval;
    await send(page, { type: 'showResult', result: old });
    await page.waitForFunction(() => /Student-t/.test(document.querySelector('#interval-info')?.textContent ?? ''));
    await noProblems(page);
  });
});

/** Markup that becomes an element (x-inj, img) or runs (onerror, counted in window.__pwned) when a view writes it unescaped. */
const MARKUP = '<x-inj></x-inj><img src=x onerror="window.__pwned=(window.__pwned||0)+1">"\'&';

/** `r` with MARKUP appended to every string a results file shows (names, texts, paths, messages) and to the curve names. */
function withMarkup<T>(r: T): T {
  const shown = new Set(['text', 'prompt', 'subject', 'path', 'hash', 'file', 'sha256', 'message', 'code', 'reason', 'version', 'ep', 'createdAt', 'computeDType', 'storedDType', 'configHash', 'tokens']);
  const walk = (v: any, key = ''): any => {
    if (typeof v === 'string') return shown.has(key) ? v + MARKUP : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (v && typeof v === 'object') {
      // a curve (source-set) name is a key: the relation curve is renamed
      const renamed = (x: object) => Object.fromEntries(Object.entries(x).map(([n, c]) => [n === 'relation' ? n + MARKUP : n, walk(c)]));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'curves' ? renamed(x as object) : walk(x, k)]));
    }
    return v;
  };
  return walk(r);
}

/** No element or handler came from the file's strings, in the page and in the SVG export of `figure`. */
async function markupIsText(page: Page, figure: string): Promise<void> {
  assert.equal(await page.locator('x-inj').count(), 0, 'no <x-inj> element in the page');
  assert.equal(await page.locator('img[onerror]').count(), 0, 'no <img onerror> in the page');
  assert.equal(await page.evaluate(() => (window as any).__pwned), undefined, 'no handler from the file ran');
  assert.ok((await page.textContent('body'))!.includes('<x-inj>'), 'the markup is shown as text');
  const ex = await exportsOf(page, figure);
  const svg = await page.evaluate((s) => {
    const doc = new DOMParser().parseFromString(s, 'image/svg+xml');
    return { error: doc.querySelector('parsererror')?.textContent ?? null, injected: doc.querySelectorAll('x-inj, img, [onerror]').length, text: doc.documentElement.textContent ?? '' };
  }, ex.svg.data);
  assert.equal(svg.error, null, `${figure}: the SVG export parses`);
  assert.equal(svg.injected, 0, `${figure}: no element from the file in the SVG export`);
  assert.ok(svg.text.includes('<x-inj>'), `${figure}: the SVG export shows the markup as text`);
}

describe('results files whose strings hold markup (issue 16)', () => {
  test('render as text in the panel (trace, micro, dataset run) and the heatmap, and in their exports', async () => {
    const page = await open('panel', 'dark');
    await send(page, { type: 'showResult', result: withMarkup(sampleTrace([9])) });
    await page.waitForFunction(() => (window as any).__panel.chart);
    await markupIsText(page, 'curves');
    await send(page, { type: 'showResult', result: withMarkup(sampleMicro(5)) });
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    await markupIsText(page, 'micro');
    const ds = sampleDataset();
    ds.warnings = [{ code: 'few-prompts-kept', message: 'kept 3', count: 3, indices: [1, 2, 3] }];
    await send(page, { type: 'showResult', result: withMarkup(ds) });
    await page.waitForFunction(() => (window as any).__panel.chart && /n = 180/.test(document.querySelector('#curves .subtitle')?.textContent ?? ''));
    await markupIsText(page, 'curves');
    await noProblems(page);
    await page.context().close();
    // the heatmap shows a trace's prompt, tokens and model (what the host sends from an opened results file)
    const hm = await open('heatmap', 'dark');
    const a = sampleAttention(9);
    await send(hm, { type: 'attention', payload: encodeAttention({ ...a, prompt: a.prompt + MARKUP, tokens: a.tokens.map((t) => ({ ...t, text: t.text + MARKUP })), ...(a.model ? { model: { ...a.model, path: a.model.path + MARKUP } } : {}) }) });
    await hm.waitForFunction(() => (window as any).__viewer.view.current);
    await markupIsText(hm, 'attention');
    await noProblems(hm);
    await hm.context().close();
  });
});

describe('heatmap viewer', () => {
  test('layers by keyboard and slider, aggregation and scale modes, hover, blocked edges, exports, reload', async () => {
    const page = await open('heatmap', 'dark', 2);
    assert.deepEqual((await posted(page))[0], { type: 'ready', view: 'heatmap' });
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(9)) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const sel = '#attention-heatmap canvas';
    const s0 = await canvasStats(page, sel);
    assert.ok(s0.inked > 5000);
    assert.equal(s0.width, Math.round(s0.cssWidth * 2), 'backing store at devicePixelRatio 2');
    assert.equal(await page.textContent('#layer-value'), '9 / 23');
    assert.equal((await page.evaluate(() => (window as any).__viewer.view.current.outlined)).length, 4, 'blocked edges outlined in layer 9');
    await screenshot(page, 'heatmap-dark.png');
    // hover: exact value and (row ← column)
    const raw = sampleAttention(9).heads.reduce((a, h) => a + h[7][3], 0) / 4;
    const c = await page.evaluate(() => (window as any).__viewer.view.cellCenter(7, 3));
    const box = (await page.locator(sel).boundingBox())!;
    await page.mouse.move(box.x + c.x, box.y + c.y);
    const tip = page.locator('#attention-heatmap .tooltip');
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent())!;
    assert.ok(text.includes(`M[7, 3] = ${String(raw)}`), text);
    assert.ok(text.includes('(in ← el)'), text);
    await page.mouse.move(0, 0);
    // keyboard: → requests the next layer (not cached)
    await clearPosted(page);
    await page.focus('body');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rq10 = await oneRequest(page, { type: 'requestLayer', layer: 10 });
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(10)), requestId: rq10 });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '10 / 23');
    assert.equal((await page.evaluate(() => (window as any).__viewer.view.current.outlined)).length, 4);
    const s10 = await canvasStats(page, sel);
    assert.notEqual(s10.hash, s0.hash);
    // ← goes back to a cached layer without asking the host
    await clearPosted(page);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '9 / 23');
    assert.deepEqual(await posted(page), []);
    // slider
    await page.locator('#layer-slider').fill('14');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rq14 = await oneRequest(page, { type: 'requestLayer', layer: 14 });
    assert.ok(rq14 > rq10, 'request ids increase');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(14)), requestId: rq14 });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '14 / 23');
    assert.equal(await page.evaluate(() => (window as any).__viewer.view.current.outlined), undefined, 'no blocked edges outside the window');
    // slider by keyboard
    await clearPosted(page);
    await page.focus('#layer-slider');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rq15 = await oneRequest(page, { type: 'requestLayer', layer: 15 });
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(15)), requestId: rq15 });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '15 / 23');
    // aggregation and scale modes change the pixels
    const hashes = new Set<number>([(await canvasStats(page, sel)).hash]);
    for (const agg of ['max', 'head:2']) {
      await setSelect(page, 'agg-select', agg);
      await page.waitForFunction((a) => (window as any).__viewer.state.agg === a, agg);
      hashes.add((await canvasStats(page, sel)).hash);
    }
    for (const sc of ['abs', 'row']) {
      await setSelect(page, 'scale-select', sc);
      await page.waitForFunction((a) => (window as any).__viewer.state.scale === a, sc);
      hashes.add((await canvasStats(page, sel)).hash);
    }
    assert.equal(hashes.size, 5, 'each mode draws differently');
    assert.match((await page.textContent('#attention .subtitle'))!, /row-normalised/);
    // exports
    const ex = await checkExports(page, 'attention', 'row_token');
    assert.equal(ex.png.figure, 'attention-L15-head2-row');
    assert.deepEqual(ex.json.data.matrix, sampleAttention(15).heads[2]);
    // reload restores layer + modes
    await page.reload();
    await page.waitForFunction(() => (window as any).__viewer?.view.current);
    assert.equal(await page.textContent('#layer-value'), '15 / 23');
    assert.equal(await page.evaluate(() => (window as any).__viewer.state.scale), 'row');
    await noProblems(page);
    await page.context().close();
  });

  test('a trace of another model: nothing of it, a message and Re-trace with the current model (issue 16)', async () => {
    const page = await open('heatmap', 'dark');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(3)) });
    await page.waitForFunction(() => (window as any).__viewer.cache.size > 0);
    assert.ok(await page.isVisible('#attention'));
    await send(page, { type: 'modelMismatch', message: 'This trace was made with another model (/m/a, hash aaaa) than the one loaded now (/m/b, hash bbbb)', traced: { path: '/m/a', hash: 'aaaa' }, current: { path: '/m/b', hash: 'bbbb' } });
    await page.waitForSelector('#model-mismatch');
    assert.match((await page.textContent('#model-mismatch'))!, /another model/);
    assert.equal(await page.isVisible('#attention'), false, 'no matrix of the other model');
    assert.equal(await page.locator('.tokens .tok').count(), 0, 'no tokens of the other trace');
    assert.equal(await page.evaluate(() => (window as any).__viewer.cache.size), 0);
    await screenshot(page, 'heatmap-model-mismatch-dark.png');
    await clearPosted(page);
    await page.click('#retrace');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'retrace' }]);
    // the re-trace's attention shows again
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(2)) });
    await page.waitForFunction(() => !document.querySelector('#model-mismatch'));
    assert.ok(await page.isVisible('#attention'));
    await noProblems(page);
  });

  test('requests carry ids; replies to older requests (the user moved on, a new trace came) are dropped (issue 16)', async () => {
    const page = await open('heatmap', 'dark');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(9)) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    // the matrices arrive as typed arrays and are drawn from them
    assert.equal(await page.evaluate(() => (window as any).__viewer.cache.get(9).heads[0].length), sampleAttention(9).heads[0].length);
    await page.focus('body');
    await clearPosted(page);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const a = await oneRequest(page, { type: 'requestLayer', layer: 10 });
    await clearPosted(page);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const b = await oneRequest(page, { type: 'requestLayer', layer: 11 });
    assert.ok(b > a);
    // the reply to the older request (and an error for it) comes late: dropped
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(10)), requestId: a });
    await send(page, { type: 'error', message: 'layer 10 failed', requestId: a });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
    assert.equal(await page.evaluate(() => (window as any).__viewer.cache.has(10)), false, 'the stale reply is not kept');
    assert.equal(await page.textContent('#layer-value'), '11 / 23');
    assert.equal(await page.locator('.status.error').count(), 0, 'the stale error is not shown');
    assert.ok(await page.evaluate(() => document.getElementById('attention')!.classList.contains('loading')), 'still waiting for layer 11');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(11)), requestId: b });
    await page.waitForFunction(() => !document.getElementById('attention')!.classList.contains('loading'));
    assert.equal(await page.evaluate(() => (window as any).__viewer.view.current.values.length), sampleAttention(11).tokens.length);
    // a request in flight when a new trace is pushed: its reply is of the old trace, dropped
    await clearPosted(page);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const c = await oneRequest(page, { type: 'requestLayer', layer: 12 });
    const other = { ...sampleAttention(3), prompt: 'Another prompt', model: { path: '/m/other', hash: 'ffff' } };
    await send(page, { type: 'attention', payload: encodeAttention(other) });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '3 / 23');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(12)), requestId: c });
    await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
    assert.equal(await page.textContent('#layer-value'), '3 / 23');
    assert.deepEqual(await page.evaluate(() => [...(window as any).__viewer.cache.keys()]), [3], 'only the new trace is cached');
    // a malformed payload (sizes that do not match) is an error, not a drawing
    await send(page, { type: 'attention', payload: { ...encodeAttention(sampleAttention(4)), heads: new Float64Array(5) } });
    await page.waitForSelector('.status.error');
    assert.match((await page.textContent('.status.error'))!, /Malformed attention/);
    await noProblems(page);
    await page.context().close();
  });

  test('light theme rendering', async () => {
    const page = await open('heatmap', 'light');
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(9)) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const bg = await page.evaluate(() => {
      const c = document.querySelector('#attention-heatmap canvas') as HTMLCanvasElement;
      return [...c.getContext('2d')!.getImageData(1, 1, 1, 1).data];
    });
    assert.deepEqual(bg, [255, 255, 255, 255], 'canvas background = Light Modern editor background');
    await screenshot(page, 'heatmap-light.png');
    await noProblems(page);
    await page.context().close();
  });

  test('Mamba-1: channel controls, mean / max |α| / one channel, channel requests, exports, reload', async () => {
    const page = await open('heatmap', 'dark', 2);
    await send(page, { type: 'attention', payload: encodeAttention(sampleChannelAttention(0)) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const sel = '#attention-heatmap canvas';
    // channel controls, labelled "channel", not "head"
    assert.equal(await page.getAttribute('#agg-select', 'aria-label'), 'Channels');
    assert.equal(await page.textContent('label[for="agg-select"] .control-label'), 'Channels');
    const opts = await page.$$eval('#agg-select vscode-option', (els) => els.map((e) => [e.getAttribute('value'), e.textContent]));
    assert.deepEqual(opts, [['mean', 'Mean α over channels'], ['maxAbs', 'Max |α| over channels'], ['channel', 'Channel…']]);
    assert.equal(await page.isVisible('#channel-input'), false, 'the channel input only shows for "Channel…"');
    assert.doesNotMatch((await page.textContent('.viewer-controls'))!, /head/i);
    assert.equal(await page.textContent('#layer-value'), '0 / 2');
    assert.match((await page.textContent('#attention h3'))!, /^Hidden attention α, layer 0 of 3 \(mean α over 512 channels\)$/);
    assert.match((await page.textContent('#attention .subtitle'))!, /Attention α\[i, j\] \(signed\) · Outlined: 3 knocked-out edge\(s\)/);
    const s0 = await canvasStats(page, sel);
    assert.ok(s0.inked > 3000, `heatmap has ink (${s0.inked})`);
    assert.equal((await page.evaluate(() => (window as any).__viewer.view.current.outlined)).length, 3);
    // hover: the mean α of the cell
    const mean = sampleChannelAttention(0).channels!.mean;
    const c = await page.evaluate(() => (window as any).__viewer.view.cellCenter(5, 2));
    const box = (await page.locator(sel).boundingBox())!;
    await page.mouse.move(box.x + c.x, box.y + c.y);
    const tip = page.locator('#attention-heatmap .tooltip');
    await tip.waitFor({ state: 'visible' });
    assert.ok((await tip.textContent())!.includes(`mean α[5, 2] = ${String(mean[5][2])}  (located ← Need)`), (await tip.textContent())!);
    await page.mouse.move(0, 0);
    // max |α| over channels: local, no request
    await clearPosted(page);
    await setSelect(page, 'agg-select', 'maxAbs');
    await page.waitForFunction(() => (window as any).__viewer.state.agg === 'maxAbs');
    assert.match((await page.textContent('#attention h3'))!, /max \|α\| over 512 channels/);
    const sMax = await canvasStats(page, sel);
    assert.notEqual(sMax.hash, s0.hash);
    assert.deepEqual(await posted(page), []);
    // "Channel…" asks the host for channel 0 of this layer
    await setSelect(page, 'agg-select', 'channel');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rqc0 = await oneRequest(page, { type: 'requestLayer', layer: 0, channel: 0 });
    assert.equal(await page.isVisible('#channel-input'), true);
    assert.equal(await page.getAttribute('#channel-input', 'max'), String(M1_CHANNELS - 1));
    assert.match((await page.textContent('label[for="channel-input"]'))!, /Channel \(0–511\)/);
    assert.match((await page.textContent('.status'))!, /channel 0 of layer 0/);
    await send(page, { type: 'attention', payload: encodeAttention(sampleChannelAttention(0, 0)), requestId: rqc0 });
    await page.waitForFunction(() => /channel 0\)$/.test(document.querySelector('#attention h3')!.textContent!));
    assert.equal(await page.textContent('.status'), '');
    // a number in the input requests that channel
    await clearPosted(page);
    await page.fill('#channel-input', '37');
    await page.press('#channel-input', 'Enter');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rqc37 = await oneRequest(page, { type: 'requestLayer', layer: 0, channel: 37 });
    await send(page, { type: 'attention', payload: encodeAttention(sampleChannelAttention(0, 37)), requestId: rqc37 });
    await page.waitForFunction(() => /\(channel 37\)$/.test(document.querySelector('#attention h3')!.textContent!));
    const s37 = await canvasStats(page, sel);
    assert.notEqual(s37.hash, sMax.hash);
    // out of range: refused in the webview
    await clearPosted(page);
    await page.fill('#channel-input', '512');
    await page.press('#channel-input', 'Enter');
    assert.equal(await page.getAttribute('#channel-input', 'aria-invalid'), 'true');
    assert.match((await page.textContent('.status.error'))!, /0 to 511/);
    assert.deepEqual(await posted(page), []);
    await page.fill('#channel-input', '37');
    await page.press('#channel-input', 'Enter');
    assert.equal(await page.getAttribute('#channel-input', 'aria-invalid'), null);
    assert.deepEqual(await posted(page), [], 'channel 37 is cached');
    // back to channel 0: cached, no request
    await page.fill('#channel-input', '0');
    await page.press('#channel-input', 'Enter');
    await page.waitForFunction(() => /\(channel 0\)$/.test(document.querySelector('#attention h3')!.textContent!));
    assert.deepEqual(await posted(page), []);
    await page.fill('#channel-input', '37');
    await page.press('#channel-input', 'Enter');
    await page.waitForFunction(() => /\(channel 37\)$/.test(document.querySelector('#attention h3')!.textContent!));
    // the next layer comes with the same channel (←/→ change layers when the input does not have the focus)
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    const rq1c37 = await oneRequest(page, { type: 'requestLayer', layer: 1, channel: 37 });
    await send(page, { type: 'attention', payload: encodeAttention(sampleChannelAttention(1, 37)), requestId: rq1c37 });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '1 / 2' && !document.getElementById('attention')!.classList.contains('loading'));
    assert.match((await page.textContent('#attention h3'))!, /layer 1 of 3 \(channel 37\)/);
    await page.mouse.move(0, 0);
    await screenshot(page, 'heatmap-mamba1-channel-dark.png');
    // exports name the aggregation
    const ex = await checkExports(page, 'attention', 'aggregation');
    assert.equal(ex.png.figure, 'attention-L1-channel37-signed');
    const header = ex.csv.data.split('\n').find((l: string) => !l.startsWith('# '));
    assert.equal(header, 'layer,aggregation,row,col,row_token,col_token,value');
    assert.ok(ex.csv.data.includes('# aggregation: channel 37'));
    assert.ok(ex.csv.data.includes('# channels: 512'));
    assert.ok(ex.csv.data.includes('# model family: Mamba-1'));
    assert.ok(ex.csv.data.includes('\n1,channel:37,'), 'rows carry the aggregation');
    assert.equal(ex.json.data.unit, 'channel');
    assert.equal(ex.json.data.aggregation, 'channel:37');
    assert.equal(ex.json.data.channel, 37);
    assert.equal(ex.json.data.channels, 512);
    assert.deepEqual(ex.json.data.matrix, sampleChannelMatrix(1, 37));
    await setSelect(page, 'agg-select', 'mean');
    await page.waitForFunction(() => (window as any).__viewer.state.agg === 'mean');
    assert.equal(await page.isVisible('#channel-input'), false);
    const exMean = await checkExports(page, 'attention', 'aggregation');
    assert.ok(exMean.csv.data.includes('# aggregation: mean α over 512 channels'));
    assert.equal(exMean.json.data.aggregationLabel, 'mean α over 512 channels');
    assert.deepEqual(exMean.json.data.matrix, sampleChannelAttention(1).channels!.mean);
    await setSelect(page, 'agg-select', 'maxAbs');
    await page.waitForFunction(() => (window as any).__viewer.state.agg === 'maxAbs');
    const exMax = await checkExports(page, 'attention', 'aggregation');
    assert.equal(exMax.json.data.aggregation, 'maxAbs');
    assert.deepEqual(exMax.json.data.matrix, sampleChannelAttention(1).channels!.maxAbs);
    // the README screenshot: layer 0 (a knocked-out layer), mean α over the channels
    await setSelect(page, 'agg-select', 'mean');
    await clearPosted(page);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '0 / 2');
    assert.deepEqual(await posted(page), [], 'layer 0 is cached');
    await page.mouse.move(0, 0);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await screenshot(page, 'heatmap-mamba1-dark.png');
    // reload: the channel view comes back without asking the host
    await setSelect(page, 'agg-select', 'channel');
    await page.waitForFunction(() => /\(channel 37\)$/.test(document.querySelector('#attention h3')!.textContent!));
    await page.reload();
    await page.waitForFunction(() => (window as any).__viewer?.view.current);
    assert.match((await page.textContent('#attention h3'))!, /layer 0 of 3 \(channel 37\)/);
    assert.equal(await page.inputValue('#channel-input'), '37');
    assert.deepEqual((await posted(page)).filter((m) => m.type === 'requestLayer'), []);
    // a Mamba-2 payload afterwards switches the controls back to heads
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(9)) });
    await page.waitForFunction(() => document.getElementById('agg-select')!.getAttribute('aria-label') === 'Heads' && (window as any).__viewer.view.current);
    assert.equal(await page.isVisible('#channel-input'), false);
    assert.equal(await page.evaluate(() => (window as any).__viewer.state.agg), 'mean');
    assert.match((await page.textContent('#attention h3'))!, /^Attention, layer 9 of 24 \(mean over heads\)$/);
    await noProblems(page);
    await page.context().close();
  });

  test('Mamba-1: light theme rendering', async () => {
    const page = await open('heatmap', 'light');
    await send(page, { type: 'attention', payload: encodeAttention(sampleChannelAttention(0)) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    assert.ok((await canvasStats(page, '#attention-heatmap canvas')).inked > 3000);
    await screenshot(page, 'heatmap-mamba1-light.png');
    await noProblems(page);
    await page.context().close();
  });
});


describe('feature knockout (SPEC §4)', () => {
  test('selector: presets, head list and mode re-run the trace through the host; bad lists are refused in the view', async () => {
    const page = await open('panel', 'dark');
    await send(page, { type: 'showResult', result: sampleTrace([9, 15]) });
    await page.waitForFunction(() => (window as any).__panel.chart && document.getElementById('feature-picker'));
    // the paper's figure by default: all, fast, slow, mode except
    const checked = await page.$$eval('.feature-presets input', (els) => els.map((e) => [(e as HTMLInputElement).value, (e as HTMLInputElement).checked]));
    assert.deepEqual(checked, [['all', true], ['fast', true], ['middle', false], ['slow', true]]);
    assert.equal(await page.evaluate(() => (document.getElementById('feature-mode-select') as any).value), 'except');
    assert.equal(await page.getAttribute('#feature-custom', 'placeholder'), 'heads:3,5,8-11', 'Mamba-2: heads');
    assert.equal(await page.locator('#overlay').count(), 0, 'no overlay before a feature run');
    await clearPosted(page);
    await page.click('#feature-run');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [9, 15], features: ['all', 'fast', 'slow'], featureMode: 'except' }]);
    assert.match((await page.textContent('.status'))!, /all, fast, slow \(except\)/);
    // middle instead of slow, a head list with spaces, mode only
    await clearPosted(page);
    await page.click('label[for="feature-slow"]');
    await page.click('label[for="feature-middle"]');
    await page.fill('#feature-custom', 'heads: 3, 5, 8-11');
    await setSelect(page, 'feature-mode-select', 'only');
    await page.click('#feature-run');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [9, 15], features: ['all', 'fast', 'middle', 'heads:3,5,8-11'], featureMode: 'only' }]);
    // a bare list takes the model's unit; several lists with ';'
    await clearPosted(page);
    await page.click('label[for="feature-all"]');
    await page.click('label[for="feature-fast"]');
    await page.click('label[for="feature-middle"]');
    await page.fill('#feature-custom', '0-3; heads:7');
    await page.click('#feature-run');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [9, 15], features: ['heads:0-3', 'heads:7'], featureMode: 'only' }]);
    // refused in the view: channels on a Mamba-2 model, an empty range, nothing chosen
    for (const [text, re] of [['channels:1,2', /has heads: write heads:LIST/], ['heads:5-2', /range 5-2 is empty/], ['heads:x', /not a head list/], ['', /at least one group/]] as const) {
      await clearPosted(page);
      await page.fill('#feature-custom', text);
      await page.click('#feature-run');
      await page.waitForFunction(() => document.querySelector('.status.error'));
      assert.match((await page.textContent('.status.error'))!, re);
      assert.deepEqual(await posted(page), [], `nothing posted for '${text}'`);
    }
    assert.equal(await page.getAttribute('#feature-custom', 'aria-invalid'), null, 'an empty list is not invalid');
    // with the decay scores of the model known, the list is range-checked
    await send(page, { type: 'features', payload: sampleFeatures(0) });
    await page.waitForFunction(() => document.getElementById('decay'));
    await page.fill('#feature-custom', 'heads:3,24');
    await page.click('#feature-run');
    await page.waitForFunction(() => /Head 24 is out of range: the model has heads 0–23/.test(document.querySelector('.status')!.textContent!));
    assert.equal(await page.getAttribute('#feature-custom', 'aria-invalid'), 'true');
    // the choice survives a reload
    await page.reload();
    await page.waitForFunction(() => document.getElementById('feature-picker'));
    assert.equal(await page.inputValue('#feature-custom'), 'heads:3,24');
    assert.equal(await page.evaluate(() => (document.getElementById('feature-mode-select') as any).value), 'only');
    // Mamba-1: channels; a complete knockout (conv blocked) cannot run feature groups
    await send(page, { type: 'showResult', result: sampleTraceMamba1('keep') });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'Mamba-1');
    assert.equal(await page.getAttribute('#feature-custom', 'placeholder'), 'channels:3,5,8-11');
    await send(page, { type: 'showResult', result: sampleTraceMamba1('block') });
    await page.waitForFunction(() => document.getElementById('knockout-mode')?.getAttribute('data-conv') === 'block');
    assert.equal(await page.getAttribute('#feature-run', 'disabled'), '');
    assert.match((await page.textContent('#feature-note'))!, /mambaExplain\.conv to keep/);
    await noProblems(page);
    await page.context().close();
  });

  test('a result with groups opens with the overlay: one line per group, legend names group and mode, exports include the groups', async () => {
    const page = await open('panel', 'dark');
    const r = sampleFeatureTrace('except', ['all', 'fast', 'slow'], [9, 15]);
    await send(page, { type: 'showResult', result: r });
    await page.waitForFunction(() => (window as any).__panel.overlay && (window as any).__panel.chart);
    const ds = await page.evaluate(() => (window as any).__panel.overlay.data.datasets.map((d: any) => ({ label: d.label, dash: d.borderDash ?? null, color: d.borderColor })));
    assert.deepEqual(ds.map((d: any) => d.label), ['All features (unrestricted)', 'Fast decay (except)', 'Slow decay (except)']);
    assert.equal(new Set(ds.map((d: any) => d.color)).size, 3, 'one colour per group');
    assert.equal(new Set(ds.map((d: any) => JSON.stringify(d.dash))).size, 3, 'one dash per group');
    assert.match((await page.textContent('#overlay h3'))!, /^Mode: exceptFeature knockout, subject → last, window k = 15$/);
    assert.match((await page.textContent('#overlay .subtitle'))!, /^Mode except: the edges are cut in every feature but the group's/);
    assert.equal(await page.getAttribute('#feature-mode', 'data-mode'), 'except');
    assert.match((await page.textContent('#feature-mode'))!, /^Mode: except/);
    assert.deepEqual(await page.$$eval('#overlay .series-toggle', (els) => els.map((e) => e.textContent)), ['All features (unrestricted)', 'Fast decay (except)', 'Slow decay (except)']);
    const overlayInk = await canvasStats(page, '#overlay-canvas');
    assert.ok(overlayInk.inked > 2000, `overlay has ink (${overlayInk.inked})`);
    // the selector shows what ran
    assert.deepEqual(await page.$$eval('.feature-presets input', (els) => els.filter((e) => (e as HTMLInputElement).checked).map((e) => (e as HTMLInputElement).value)), ['all', 'fast', 'slow']);
    // the main curves: per group
    assert.match((await page.textContent('#curves h3'))!, /All features \(unrestricted\)/);
    const before = await canvasStats(page, '#curves-canvas');
    await setSelect(page, 'feature-group-select', '2');
    await page.waitForFunction(() => /Slow decay \(except\)/.test(document.querySelector('#curves h3')!.textContent!));
    assert.notEqual((await canvasStats(page, '#curves-canvas')).hash, before.hash, 'the slow group draws differently');
    const main = await checkExports(page, 'curves', 'feature_group');
    assert.equal(main.png.figure, 'macro-k15-slow-except');
    assert.ok(main.csv.data.includes('\n15,slow,except,0,subject,'), 'main CSV rows name the group');
    assert.ok(main.csv.data.includes('# feature groups: all, fast, slow'));
    assert.ok(main.csv.data.includes('# feature mode: except'));
    assert.equal(main.json.data.features, 'slow');
    assert.deepEqual(main.json.data.curves, r.groups![2].windows[1].curves);
    assert.match((await page.textContent('#curves .caption'))!, /features all, fast, slow \(except\)/);
    // the paper's figure for the README: window 9, subject → last
    await setSelect(page, 'overlay-window-select', '9');
    await page.waitForFunction(() => /window k = 9$/.test(document.querySelector('#overlay h3')!.textContent!) && (window as any).__panel.overlay);
    assert.match((await page.getAttribute('#feature-mode', 'title'))!, /^except: the edges are cut in every feature but the group's/);
    await page.mouse.move(0, 0);
    await screenshot(page, 'panel-features-dark.png', { element: '#feature-knockout' });
    await screenshot(page, 'panel-features-full-dark.png');
    // exports of the overlay: every group
    const ex = await checkExports(page, 'overlay', 'feature_group');
    assert.equal(ex.png.figure, 'features-k9-subject');
    const header = ex.csv.data.split('\n').find((l: string) => !l.startsWith('# '));
    assert.equal(header, 'window,feature_group,feature_mode,source_set,start_layer,prob,diff_pct,target_top1');
    for (const g of ['all', 'fast', 'slow']) assert.ok(ex.csv.data.includes(`\n9,${g},except,subject,0,`), `CSV has the ${g} group`);
    assert.equal(ex.csv.data.trim().split('\n').filter((l: string) => !l.startsWith('#')).length - 1, 3 * 3 * 16, 'groups × sets × starts');
    assert.equal(ex.json.data.window, 9);
    assert.equal(ex.json.data.sourceSet, 'subject');
    assert.deepEqual(ex.json.data.groups.map((g: any) => [g.features, g.mode]), [['all', 'except'], ['fast', 'except'], ['slow', 'except']]);
    assert.deepEqual(ex.json.data.groups[1].window.curves.subject.y, r.groups![1].windows[0].curves.subject.diffPct);
    for (const label of ['All features (unrestricted)', 'Fast decay (except)', 'Slow decay (except)']) assert.ok(ex.svg.data.includes(`>${label}</text>`), `SVG legend: ${label}`);
    assert.match(ex.svg.data, /Mode except/);
    assert.equal((ex.svg.data.match(/class="series"/g) ?? []).length, 3);
    // hide a group in the overlay: left out of the SVG
    await page.click('#overlay .series-toggle[data-series="fast|except"]');
    const hid = await exportsOf(page, 'overlay');
    assert.ok(!hid.svg.data.includes('data-series="fast|except"'));
    // another source set
    const s9 = await canvasStats(page, '#overlay-canvas');
    await setSelect(page, 'overlay-set-select', 'relation');
    await page.waitForFunction(() => /relation → last/.test(document.querySelector('#overlay h3')!.textContent!) && (window as any).__panel.overlay);
    assert.notEqual((await canvasStats(page, '#overlay-canvas')).hash, s9.hash);
    // a window that was not computed re-runs with the same groups
    await clearPosted(page);
    await setSelect(page, 'window-select', '12');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [12], features: ['all', 'fast', 'slow'], featureMode: 'except' }]);
    // reload: the overlay comes back
    await page.reload();
    await page.waitForFunction(() => (window as any).__panel?.overlay);
    assert.match((await page.textContent('#overlay h3'))!, /relation → last, window k = 9/);
    assert.equal(await page.getAttribute('#overlay .series-toggle[data-series="fast|except"]', 'aria-pressed'), 'false');
    // one group (features, not groups), mode only; light theme
    await page.evaluate((css) => (window as any).__setTheme('light', css), themeCss('light'));
    await send(page, { type: 'showResult', result: sampleFeatureTrace('only', ['heads:3,5,8-11'], [9]) });
    await page.waitForFunction(() => (window as any).__panel.overlay?.data.datasets.length === 1);
    assert.equal(await page.evaluate(() => (window as any).__panel.overlay.data.datasets[0].label), 'Heads 3,5,8-11 (only)');
    assert.match((await page.textContent('#overlay .subtitle'))!, /^Mode only: the edges are cut in the group's features only/);
    assert.equal(await page.inputValue('#feature-custom'), 'heads:3,5,8-11');
    assert.match((await page.textContent('#curves h3'))!, /Heads 3,5,8-11 \(only\)/);
    assert.equal(await page.locator('#feature-group-select').count(), 0, 'one group: no group select');
    await screenshot(page, 'panel-features-light.png');
    await noProblems(page);
    await page.context().close();
  });

  test('decay histogram: thirds shaded and counted, log scale for Mamba-2 heads, layer slider, exports; Mamba-1 channels linear', async () => {
    const page = await open('panel', 'dark', 2);
    // opened by "Show Feature Decay" without a result
    const d0 = sampleFeatures(3);
    await send(page, { type: 'features', payload: d0 });
    await page.waitForFunction(() => (window as any).__panel.decaySpec && document.querySelector('#decay-chart svg'));
    assert.equal(await page.textContent('h1'), 'Feature decay');
    assert.equal(await page.textContent('#model-family'), 'Mamba-2');
    const spec = await page.evaluate(() => (window as any).__panel.decaySpec);
    assert.equal(spec.log, true, 'Mamba-2 heads span orders of magnitude: log scale');
    assert.deepEqual(spec.regions.map((r: any) => [r.group, r.count]), [['fast', 8], ['middle', 8], ['slow', 8]]);
    assert.equal(spec.bins.reduce((a: number, b: any) => a + b.counts.fast + b.counts.middle + b.counts.slow, 0), 24);
    assert.match((await page.textContent('#decay h3'))!, /^Feature decay, layer 3 of 24: 24 heads$/);
    assert.match((await page.textContent('#decay .subtitle'))!, /fast 8 · middle 8 · slow 8 · fast ≤ .*slow ≥ .*log scale/);
    // the inline SVG: three shaded regions with their counts, two boundaries, log ticks
    const svg = await page.evaluate(() => {
      const root = document.querySelector('#decay-chart svg')!;
      return {
        regions: [...root.querySelectorAll('rect.region')].map((e) => e.getAttribute('data-group')),
        labels: [...root.querySelectorAll('text.region-label')].map((e) => e.textContent),
        boundaries: root.querySelectorAll('line.boundary').length,
        bars: root.querySelectorAll('rect.bar').length,
        ticks: [...root.querySelectorAll('.ticks text')].map((e) => e.textContent),
        width: root.getBoundingClientRect().width,
      };
    });
    assert.deepEqual(svg.regions, ['fast', 'middle', 'slow']);
    assert.deepEqual(svg.labels, ['fast · 8', 'middle · 8', 'slow · 8']);
    assert.equal(svg.boundaries, 2);
    assert.ok(svg.bars >= 3);
    assert.ok(svg.ticks.some((t: string) => /^10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]$/.test(t)), `log ticks: ${svg.ticks.join(' ')}`);
    assert.ok(svg.width > 600);
    assert.match((await page.textContent('#decay-groups'))!, new RegExp(`Fast decay · 8 heads${d0.decay.fast.join(', ')}`));
    assert.match((await page.getAttribute('#decay-chart', 'aria-label'))!, /Histogram of 24 decay scores .*log scale.*fast 8, middle 8, slow 8/);
    await screenshot(page, 'panel-decay-dark.png');
    // the slider asks the host for a layer it does not have; back to a cached one without asking
    await clearPosted(page);
    await page.locator('#decay-layer').fill('10');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'requestDecay', layer: 10 }]);
    assert.match((await page.textContent('.status'))!, /layer 10/);
    await send(page, { type: 'features', payload: sampleFeatures(10) });
    await page.waitForFunction(() => document.getElementById('decay-layer-value')!.textContent === '10 / 23');
    assert.equal(await page.textContent('.status'), '');
    assert.match((await page.textContent('#decay h3'))!, /layer 10 of 24/);
    await clearPosted(page);
    await page.focus('#decay-layer');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'requestDecay', layer: 11 }]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'decay-layer', 'the slider keeps the focus');
    await send(page, { type: 'features', payload: sampleFeatures(11) });
    await page.waitForFunction(() => document.getElementById('decay-layer-value')!.textContent === '11 / 23');
    await clearPosted(page);
    await page.locator('#decay-layer').fill('3');
    await page.waitForFunction(() => document.getElementById('decay-layer-value')!.textContent === '3 / 23');
    assert.deepEqual(await posted(page), [], 'layer 3 is cached');
    // exports
    const ex = await checkExports(page, 'decay', 'decay_score');
    assert.equal(ex.png.figure, 'decay-L3');
    const rows = ex.csv.data.trim().split('\n').filter((l: string) => !l.startsWith('#'));
    assert.equal(rows[0], 'layer,unit,index,decay_score,group');
    assert.equal(rows.length, 25);
    assert.equal(rows[1 + d0.decay.fast[0]], `3,head,${d0.decay.fast[0]},${d0.decay.scores[d0.decay.fast[0]]},fast`);
    assert.deepEqual(ex.json.data.fast, d0.decay.fast);
    assert.deepEqual(ex.json.data.scores, d0.decay.scores);
    assert.match(ex.json.provenance['decay score'], /exp\(−exp\(A_log\[h\]\)\)/);
    assert.match(ex.svg.data, /fast · 8/);
    // reload: the figure comes back from the state
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#decay-chart svg'));
    assert.equal(await page.textContent('#decay-layer-value'), '3 / 23');
    // beside a trace: the decay figure follows the feature knockout
    await send(page, { type: 'showResult', result: sampleFeatureTrace() });
    await page.waitForFunction(() => (window as any).__panel.overlay && document.querySelector('#decay-chart svg'));
    const order = await page.$$eval('section', (els) => els.map((e) => e.getAttribute('aria-label')));
    assert.deepEqual(order.slice(-2), ['Feature knockout', 'Feature decay']);
    assert.match((await page.textContent('label[for="feature-custom"]'))!, /0–23/);
    // Mamba-1 channels: linear scale (the scores lie within a factor of 2), thirds of 512
    await send(page, { type: 'showResult', result: sampleTraceMamba1('keep') });
    await send(page, { type: 'features', payload: sampleFeatures(1, 'channel') });
    await page.waitForFunction(() => (window as any).__panel.decaySpec?.unit === 'channel');
    const m1 = await page.evaluate(() => (window as any).__panel.decaySpec);
    assert.equal(m1.log, false);
    assert.deepEqual(m1.regions.map((r: any) => [r.group, r.count]), [['fast', 170], ['middle', 172], ['slow', 170]]);
    assert.match((await page.textContent('#feature-decay h2'))!, /Mamba-1 channels/);
    assert.match((await page.textContent('#decay-groups'))!, /Fast decay · 170 channels/);
    assert.match((await page.textContent('#decay-groups'))!, /146 more; the CSV export lists them all/);
    await page.evaluate((css) => (window as any).__setTheme('light', css), themeCss('light'));
    await page.waitForFunction(() => (window as any).__panel.decaySpec?.unit === 'channel' && document.querySelector('#decay-chart svg'));
    await screenshot(page, 'panel-decay-mamba1-light.png', { element: '#feature-decay' });
    const m1ex = await checkExports(page, 'decay', 'decay_score');
    assert.equal(m1ex.csv.data.trim().split('\n').filter((l: string) => !l.startsWith('#')).length, 513);
    assert.match(m1ex.json.provenance['decay score'], /Σ_n exp/);
    await noProblems(page);
    await page.context().close();
  });

  test('micro and dataset results with feature groups', async () => {
    const page = await open('panel', 'dark');
    const micro = sampleMicro(5);
    const scaled = (f: number) => micro.diffPct.map((row) => row.map((v) => v * f));
    const withGroups = { ...micro, groups: [
      { features: 'all', mode: 'except' as const, probs: micro.probs, diffPct: micro.diffPct, top1: micro.diffPct.map((r) => r.map(() => true)) },
      { features: 'slow', mode: 'except' as const, probs: micro.probs, diffPct: scaled(0.3), top1: micro.diffPct.map((r) => r.map(() => true)) },
    ] };
    await send(page, { type: 'showResult', result: withGroups });
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    const h0 = await canvasStats(page, '#micro-heatmap canvas');
    await setSelect(page, 'micro-group-select', '1');
    await page.waitForFunction(() => /Slow decay \(except\)/.test(document.querySelector('#micro h3')!.textContent!) && (window as any).__panel.heatmap?.current);
    assert.notEqual((await canvasStats(page, '#micro-heatmap canvas')).hash, h0.hash);
    const ex = await checkExports(page, 'micro', 'diff_pct');
    assert.equal(ex.json.data.features, 'slow');
    assert.deepEqual(ex.json.data.diffPct, scaled(0.3));
    assert.ok(ex.csv.data.includes('# feature group shown: slow (except)'));
    await clearPosted(page);
    await setSelect(page, 'micro-window-select', '9');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'rerun', windows: [9], features: ['all', 'slow'], featureMode: 'except' }]);
    // a dataset run with aggregate.groups: the overlay with CI bands, no selector (nothing to re-run)
    const ds = sampleDataset();
    const agg = ds.aggregate.windows;
    const scale = (f: number) => agg.map((w) => ({ ...w, curves: Object.fromEntries(Object.entries(w.curves).map(([k, c]) => [k, { ...c, mean: c.mean.map((v) => v * f), ciLow: c.ciLow.map((v) => v * f), ciHigh: c.ciHigh.map((v) => v * f) }])) }));
    (ds.aggregate as any).groups = [{ features: 'all', mode: 'except', windows: scale(1) }, { features: 'fast', mode: 'except', windows: scale(0.9) }, { features: 'slow', mode: 'except', windows: scale(0.3) }];
    await send(page, { type: 'showResult', result: ds });
    await page.waitForFunction(() => (window as any).__panel.overlay);
    assert.equal(await page.locator('#feature-picker').count(), 0);
    const labels = await page.evaluate(() => (window as any).__panel.overlay.data.datasets.map((d: any) => d.label));
    assert.equal(labels.filter((l: string) => l.includes(' CI ')).length, 6, 'a band per group');
    assert.match((await page.textContent('#overlay .subtitle'))!, /n = 180 · shaded: 95% CI/);
    const dex = await checkExports(page, 'overlay', 'ci_low');
    assert.ok(dex.csv.data.includes('\n15,slow,except,subject,0,'));
    await noProblems(page);
    await page.context().close();
  });

  test('heatmap: mean over the fast / middle / slow group (Mamba-2 heads and Mamba-1 channels)', async () => {
    const page = await open('heatmap', 'dark');
    const p = sampleAttentionWithGroups(9);
    await send(page, { type: 'attention', payload: encodeAttention(p) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const opts = await page.$$eval('#agg-select vscode-option', (els) => els.map((e) => e.getAttribute('value')));
    assert.deepEqual(opts.slice(0, 5), ['mean', 'max', 'group:fast', 'group:middle', 'group:slow']);
    assert.equal(await page.textContent('#agg-select vscode-option[value="group:fast"]'), `Mean over fast heads (${p.groups!.fast.count})`);
    const s0 = await canvasStats(page, '#attention-heatmap canvas');
    await clearPosted(page);
    await setSelect(page, 'agg-select', 'group:slow');
    await page.waitForFunction(() => (window as any).__viewer.state.agg === 'group:slow');
    assert.deepEqual(await posted(page), [], 'the group mean came with the payload');
    assert.match((await page.textContent('#attention h3'))!, new RegExp(`\\(mean over ${p.groups!.slow.count} slow heads\\)$`));
    assert.match((await page.textContent('#attention .subtitle'))!, new RegExp(`slow heads: ${p.groups!.slow.units!.join(', ')}`));
    assert.notEqual((await canvasStats(page, '#attention-heatmap canvas')).hash, s0.hash);
    await screenshot(page, 'heatmap-group-dark.png');
    const ex = await checkExports(page, 'attention', 'row_token');
    assert.equal(ex.png.figure, 'attention-L9-groupslow-signed');
    assert.deepEqual(ex.json.data.matrix, p.groups!.slow.mean);
    assert.deepEqual(ex.json.data.group.units, p.groups!.slow.units);
    assert.ok(ex.csv.data.includes('\n9,group:slow,'));
    assert.ok(ex.csv.data.includes(`# aggregation: mean over ${p.groups!.slow.count} slow heads`));
    // a payload without groups falls back to the mean
    await send(page, { type: 'attention', payload: encodeAttention(sampleAttention(9, 4)) });
    await page.waitForFunction(() => (window as any).__viewer.state.agg === 'mean');
    // Mamba-1: the group mean of the channels
    const c = sampleChannelAttentionWithGroups(0);
    await send(page, { type: 'attention', payload: encodeAttention(c) });
    await page.waitForFunction(() => document.getElementById('agg-select')!.getAttribute('aria-label') === 'Channels' && (window as any).__viewer.view.current);
    const copts = await page.$$eval('#agg-select vscode-option', (els) => els.map((e) => [e.getAttribute('value'), e.textContent]));
    assert.deepEqual(copts, [['mean', 'Mean α over channels'], ['maxAbs', 'Max |α| over channels'], ['group:fast', 'Mean α over fast channels (170)'], ['group:middle', 'Mean α over middle channels (172)'], ['group:slow', 'Mean α over slow channels (170)'], ['channel', 'Channel…']]);
    await setSelect(page, 'agg-select', 'group:fast');
    await page.waitForFunction(() => /mean α over 170 fast channels\)$/.test(document.querySelector('#attention h3')!.textContent!));
    assert.match((await page.textContent('#attention .subtitle'))!, /fast third: 170 of 512 channels/);
    const cex = await checkExports(page, 'attention', 'aggregation');
    assert.deepEqual(cex.json.data.matrix, c.groups!.fast.mean);
    assert.equal(cex.json.data.group.count, 170);
    assert.equal(cex.json.data.group.units, undefined, 'no channel list in the payload');
    await noProblems(page);
    await page.context().close();
  });
});

describe('screenshots for the README', () => {
  test('copies one dark screenshot of each view to docs/images (< 300 KB)', () => {
    mkdirSync(DOCS_IMAGES, { recursive: true });
    for (const [src, dst] of [
      ['panel-trace-dark.png', 'knockout-panel-dark.png'], ['heatmap-dark.png', 'attention-heatmap-dark.png'], ['heatmap-mamba1-dark.png', 'attention-heatmap-mamba1-dark.png'],
      ['panel-features-dark.png', 'feature-overlay-dark.png'], ['panel-decay-dark.png', 'feature-decay-dark.png'],
    ]) {
      copyFileSync(join(SHOTS, src), join(DOCS_IMAGES, dst));
      const size = statSync(join(DOCS_IMAGES, dst)).size;
      assert.ok(size < 300 * 1024, `${dst} is ${size} bytes`);
    }
    writeFileSync(join(SHOTS, 'README.txt'), 'Screenshots written by npm run test:webview (dark and light themes).\n');
  });
});

// the Steering view's and the comparison view's tests (steering.test.ts, compare.test.ts) run in the same process
import './steering.test';
import './compare.test';
