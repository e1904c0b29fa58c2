// Browser tests of the two webviews in headless Chromium (npm run test:webview).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Server } from 'node:http';
import { buildBundles, launchChromium, ROOT, startServer, themeCss, type ThemeName } from './harness';
import { M1_CHANNELS, sampleAttention, sampleChannelAttention, sampleChannelMatrix, sampleDataset, sampleMicro, sampleTrace, sampleTraceMamba1 } from './samples';
import type { HostToWebview } from '../../src/shared/protocol';

const SHOTS = join(ROOT, 'test-output', 'screenshots');
let browser: Browser;
let server: Server;
let origin: string;
let cleanup: () => void = () => undefined;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await buildBundles();
  ({ server, origin } = await startServer());
  ({ browser, cleanup } = await launchChromium());
});

after(async () => {
  await browser?.close();
  server?.close();
  cleanup();
});

async function open(view: 'panel' | 'heatmap', theme: ThemeName = 'dark', dpr = 1): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: dpr });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  (page as unknown as { __errors: string[] }).__errors = errors;
  await page.goto(`${origin}/${view}.html?theme=${theme}`);
  await page.waitForFunction(() => (window as any).__posted?.length > 0);
  return page;
}

async function send(page: Page, msg: HostToWebview): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg as unknown as Record<string, unknown>);
}

async function posted(page: Page): Promise<any[]> {
  return page.evaluate(() => (window as any).__posted);
}

async function clearPosted(page: Page): Promise<void> {
  await page.evaluate(() => ((window as any).__posted.length = 0));
}

async function noProblems(page: Page): Promise<void> {
  assert.deepEqual(await page.evaluate(() => (window as any).__csp), [], 'no CSP violations');
  assert.deepEqual((page as unknown as { __errors: string[] }).__errors, [], 'no page errors');
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

async function setSelect(page: Page, id: string, value: string): Promise<void> {
  await page.evaluate(
    ([id, value]) => {
      const s = document.getElementById(id) as any;
      s.value = value;
      s.dispatchEvent(new Event('change'));
    },
    [id, value],
  );
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
    await page.screenshot({ path: join(SHOTS, 'panel-trace-dark.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'panel-trace-light.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'panel-micro-dark.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'panel-dataset-light.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'panel-dataset-dark.png'), fullPage: true });
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

  test('model family and conv mode: Mamba-2 edge knockout, Mamba-1 complete knockout, Falcon-Mamba', async () => {
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
    await page.screenshot({ path: join(SHOTS, 'panel-trace-mamba1-block-dark.png'), fullPage: true });
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
    const ds = sampleDataset();
    ds.settings.conv = 'block';
    await send(page, { type: 'showResult', result: ds });
    await page.waitForFunction(() => document.getElementById('knockout-mode')?.getAttribute('data-conv') === 'block');
    assert.equal(await page.textContent('#model-family'), 'Mamba-2');
    await page.evaluate((css) => (window as any).__setTheme('light', css), themeCss('light'));
    await send(page, { type: 'showResult', result: m1 });
    await page.waitForFunction(() => document.getElementById('model-family')?.textContent === 'Mamba-1' && (window as any).__panel.chart?.data.datasets[0].borderColor === '#388a34');
    await page.screenshot({ path: join(SHOTS, 'panel-trace-mamba1-block-light.png'), fullPage: true });
    await noProblems(page);
    await page.context().close();
  });
});

describe('heatmap viewer', () => {
  test('layers by keyboard and slider, aggregation and scale modes, hover, blocked edges, exports, reload', async () => {
    const page = await open('heatmap', 'dark', 2);
    assert.deepEqual((await posted(page))[0], { type: 'ready', view: 'heatmap' });
    await send(page, { type: 'attention', payload: sampleAttention(9) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const sel = '#attention-heatmap canvas';
    const s0 = await canvasStats(page, sel);
    assert.ok(s0.inked > 5000);
    assert.equal(s0.width, Math.round(s0.cssWidth * 2), 'backing store at devicePixelRatio 2');
    assert.equal(await page.textContent('#layer-value'), '9 / 23');
    assert.equal((await page.evaluate(() => (window as any).__viewer.view.current.outlined)).length, 4, 'blocked edges outlined in layer 9');
    await page.screenshot({ path: join(SHOTS, 'heatmap-dark.png'), fullPage: true });
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
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 10 }]);
    await send(page, { type: 'attention', payload: sampleAttention(10) });
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
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 14 }]);
    await send(page, { type: 'attention', payload: sampleAttention(14) });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '14 / 23');
    assert.equal(await page.evaluate(() => (window as any).__viewer.view.current.outlined), undefined, 'no blocked edges outside the window');
    // slider by keyboard
    await clearPosted(page);
    await page.focus('#layer-slider');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 15 }]);
    await send(page, { type: 'attention', payload: sampleAttention(15) });
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

  test('light theme rendering', async () => {
    const page = await open('heatmap', 'light');
    await send(page, { type: 'attention', payload: sampleAttention(9) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    const bg = await page.evaluate(() => {
      const c = document.querySelector('#attention-heatmap canvas') as HTMLCanvasElement;
      return [...c.getContext('2d')!.getImageData(1, 1, 1, 1).data];
    });
    assert.deepEqual(bg, [255, 255, 255, 255], 'canvas background = Light Modern editor background');
    await page.screenshot({ path: join(SHOTS, 'heatmap-light.png'), fullPage: true });
    await noProblems(page);
    await page.context().close();
  });

  test('Mamba-1: channel controls, mean / max |α| / one channel, channel requests, exports, reload', async () => {
    const page = await open('heatmap', 'dark', 2);
    await send(page, { type: 'attention', payload: sampleChannelAttention(0) });
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
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 0, channel: 0 }]);
    assert.equal(await page.isVisible('#channel-input'), true);
    assert.equal(await page.getAttribute('#channel-input', 'max'), String(M1_CHANNELS - 1));
    assert.match((await page.textContent('label[for="channel-input"]'))!, /Channel \(0–511\)/);
    assert.match((await page.textContent('.status'))!, /channel 0 of layer 0/);
    await send(page, { type: 'attention', payload: sampleChannelAttention(0, 0) });
    await page.waitForFunction(() => /channel 0\)$/.test(document.querySelector('#attention h3')!.textContent!));
    assert.equal(await page.textContent('.status'), '');
    // a number in the input requests that channel
    await clearPosted(page);
    await page.fill('#channel-input', '37');
    await page.press('#channel-input', 'Enter');
    await page.waitForFunction(() => (window as any).__posted.length > 0);
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 0, channel: 37 }]);
    await send(page, { type: 'attention', payload: sampleChannelAttention(0, 37) });
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
    assert.deepEqual(await posted(page), [{ type: 'requestLayer', layer: 1, channel: 37 }]);
    await send(page, { type: 'attention', payload: sampleChannelAttention(1, 37) });
    await page.waitForFunction(() => document.getElementById('layer-value')!.textContent === '1 / 2' && !document.getElementById('attention')!.classList.contains('loading'));
    assert.match((await page.textContent('#attention h3'))!, /layer 1 of 3 \(channel 37\)/);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(SHOTS, 'heatmap-mamba1-channel-dark.png'), fullPage: true });
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
    await page.screenshot({ path: join(SHOTS, 'heatmap-mamba1-dark.png'), fullPage: true });
    // reload: the channel view comes back without asking the host
    await setSelect(page, 'agg-select', 'channel');
    await page.waitForFunction(() => /\(channel 37\)$/.test(document.querySelector('#attention h3')!.textContent!));
    await page.reload();
    await page.waitForFunction(() => (window as any).__viewer?.view.current);
    assert.match((await page.textContent('#attention h3'))!, /layer 0 of 3 \(channel 37\)/);
    assert.equal(await page.inputValue('#channel-input'), '37');
    assert.deepEqual((await posted(page)).filter((m) => m.type === 'requestLayer'), []);
    // a Mamba-2 payload afterwards switches the controls back to heads
    await send(page, { type: 'attention', payload: sampleAttention(9) });
    await page.waitForFunction(() => document.getElementById('agg-select')!.getAttribute('aria-label') === 'Heads' && (window as any).__viewer.view.current);
    assert.equal(await page.isVisible('#channel-input'), false);
    assert.equal(await page.evaluate(() => (window as any).__viewer.state.agg), 'mean');
    assert.match((await page.textContent('#attention h3'))!, /^Attention, layer 9 of 24 \(mean over heads\)$/);
    await noProblems(page);
    await page.context().close();
  });

  test('Mamba-1: light theme rendering', async () => {
    const page = await open('heatmap', 'light');
    await send(page, { type: 'attention', payload: sampleChannelAttention(0) });
    await page.waitForFunction(() => (window as any).__viewer.view.current);
    assert.ok((await canvasStats(page, '#attention-heatmap canvas')).inked > 3000);
    await page.screenshot({ path: join(SHOTS, 'heatmap-mamba1-light.png'), fullPage: true });
    await noProblems(page);
    await page.context().close();
  });
});

describe('screenshots for the README', () => {
  test('copies one dark screenshot of each view to docs/images (< 300 KB)', () => {
    mkdirSync(join(ROOT, 'docs', 'images'), { recursive: true });
    for (const [src, dst] of [['panel-trace-dark.png', 'knockout-panel-dark.png'], ['heatmap-dark.png', 'attention-heatmap-dark.png'], ['heatmap-mamba1-dark.png', 'attention-heatmap-mamba1-dark.png']]) {
      copyFileSync(join(SHOTS, src), join(ROOT, 'docs', 'images', dst));
      const size = statSync(join(ROOT, 'docs', 'images', dst)).size;
      assert.ok(size < 300 * 1024, `${dst} is ${size} bytes`);
    }
    writeFileSync(join(SHOTS, 'README.txt'), 'Screenshots written by npm run test:webview (dark and light themes).\n');
  });
});
