// Browser tests of the knockout panel's comparison view and of the first-position marker (headless Chromium), on
// results made with the CLI on the two embedded demo models (test/webview/fixtures/compare: `run --compare-model`,
// `micro --compare-model`, `trace --compare-model`, a micro `run`; paths rewritten to /home/user/mamba-explain).
// Screenshots in test-output/screenshots and docs/images/compare-*.png.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, type ThemeName } from './harness';
import { DOCS_IMAGES, noProblems, posted, screenshot, send, setSelect, useBrowser } from './browser';
import type { ComparisonResult, DatasetRunResult, MicroResult } from '../../src/engine/experiments/resultTypes';
import { sampleMicro } from './samples';
import { buildComparison } from '../../src/engine/experiments/comparison';

const FIX = join(ROOT, 'test', 'webview', 'fixtures', 'compare');
const load = <T>(f: string): T => JSON.parse(readFileSync(join(FIX, f), 'utf8')) as T;
const runMacro = load<ComparisonResult>('run-macro.json');
const microCmp = load<ComparisonResult>('micro.json');
const traceCmp = load<ComparisonResult>('trace.json');
const runMicro = load<DatasetRunResult>('run-micro.json');

const openView = useBrowser();
const open = (theme: ThemeName = 'dark'): Promise<Page> => openView('panel', theme);

/** The chart's line datasets (not the CI band edges): label, x values, visibility. */
async function lines(page: Page): Promise<{ label: string; x: number[]; y: number[]; visible: boolean }[]> {
  return page.evaluate(() => {
    const c = (window as any).__panel.compare.chart;
    return c.data.datasets
      .map((d: any, i: number) => ({ label: d.label, x: d.data.map((p: any) => p.x), y: d.data.map((p: any) => p.y), visible: c.isDatasetVisible(i) }))
      .filter((d: any) => !d.label.includes(' CI '));
  });
}

async function chartReady(page: Page, title: RegExp): Promise<void> {
  await page.waitForFunction((src) => {
    const h = document.querySelector('#compare h3')?.textContent ?? '';
    return new RegExp(src).test(h) && (window as any).__panel.compare.chart;
  }, title.source);
}

const round = (xs: number[]) => xs.map((x) => Math.round(x * 1e6) / 1e6);

/** Inked pixels of a canvas region (CSS pixels at devicePixelRatio 1), against the canvas' top-left colour. */
async function ink(page: Page, sel: string, x: number, y: number, w: number, h: number): Promise<number> {
  return page.evaluate(([s, x, y, w, h]) => {
    const c = document.querySelector(s as string) as HTMLCanvasElement;
    const ctx = c.getContext('2d')!;
    const bg = ctx.getImageData(1, 1, 1, 1).data;
    const d = ctx.getImageData(x as number, y as number, w as number, h as number).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 60) n++;
    return n;
  }, [sel, x, y, w, h] as const);
}

describe('knockout panel: comparisons', () => {
  test('dataset comparison of three models (Mamba-2, Mamba-1, GPT-NeoX demo models): one line per model on the relative depth with CI bands, toggles, selects, exports, reload', async () => {
    for (const theme of ['dark', 'light'] as const) {
      const page = await open(theme);
      await send(page, { type: 'showComparison', result: runMacro });
      await chartReady(page, /Subject → last, window k = 4: 3 models/);
      assert.equal(await page.textContent('h1'), 'Comparison of 3 models');
      assert.match((await page.textContent('#compare-what'))!, /^macro dataset run on .*demo-facts\.json$/);
      assert.equal(await page.$$eval('#compare-models tbody tr', (r) => r.length), 3);
      assert.match((await page.textContent('#compare-models'))!, /demo \(Mamba-2\)Mamba-28.*demo-mamba1 \(Mamba-1\)Mamba-18.*demo-transformer \(GPT-NeoX\)GPT-NeoX8/);
      assert.match((await page.textContent('#compare-coverage'))!, /^40 of 40 selected rows were measured by every model/);
      // k = 4 on 8 layers: starts 0…4 at x = ℓ / 4; the lines are each model's mean, the bands its interval
      let ls = await lines(page);
      assert.deepEqual(ls.map((l) => l.label), ['demo (Mamba-2)', 'demo-mamba1 (Mamba-1)', 'demo-transformer (GPT-NeoX)']);
      for (const l of ls) assert.deepEqual(round(l.x), [0, 0.25, 0.5, 0.75, 1]);
      const m1 = runMacro.models[1].result as DatasetRunResult;
      assert.deepEqual(ls[1].y, m1.aggregate.windows.find((w) => w.window === 4)!.curves.subject.mean);
      assert.equal(await page.evaluate(() => (window as any).__panel.compare.chart.data.datasets.length), 9, 'two band edges + a line per model');
      if (theme === 'dark') {
        await page.mouse.move(0, 0);
        await screenshot(page, 'compare-run-dark.png', { docs: true });
        await screenshot(page, 'compare-figure-dark.png', { element: '#compare', docs: true });
      } else await screenshot(page, 'compare-run-light.png');
      // legend toggle: hide the Mamba-1 model (its line and band)
      await page.click('#compare .series-toggle[data-series="model-1"]');
      ls = await lines(page);
      assert.deepEqual(ls.map((l) => l.visible), [true, false, true]);
      assert.doesNotMatch((await page.getAttribute('#compare-canvas', 'aria-label'))!, /demo-mamba1/);
      // source set and window size
      await setSelect(page, 'compare-set-select', 'relation');
      await chartReady(page, /Relation → last, window k = 4/);
      await setSelect(page, 'compare-window-select', '2');
      await chartReady(page, /Relation → last, window k = 2/);
      ls = await lines(page);
      assert.deepEqual(round(ls[0].x), round([0, 1, 2, 3, 4, 5, 6].map((s) => s / 6)));
      assert.deepEqual(ls.map((l) => l.visible), [true, false, true], 'the toggles stay');
      // exports: SVG with per-model lines and the provenance of both models, CSV on the relative depth, JSON
      await page.evaluate(() => ((window as any).__posted.length = 0));
      for (const f of ['svg', 'csv', 'json']) await page.click(`#compare .export-button[data-format="${f}"]`);
      await page.waitForFunction(() => (window as any).__posted.filter((m: any) => m.type === 'export').length >= 3);
      const ex = Object.fromEntries((await posted(page)).filter((m) => m.type === 'export').map((m) => [m.format, m]));
      assert.equal(ex.svg.figure, 'compare-k2-relation');
      const svg = await page.evaluate((s) => {
        const doc = new DOMParser().parseFromString(s, 'image/svg+xml');
        return { error: doc.querySelector('parsererror')?.textContent ?? null, series: [...doc.querySelectorAll('polyline.series')].map((p) => p.getAttribute('data-series')), meta: doc.querySelector('metadata')?.textContent ?? '' };
      }, ex.svg.data);
      assert.equal(svg.error, null);
      assert.deepEqual(svg.series, ['model-0', 'model-2'], 'the hidden model is left out');
      const meta = JSON.parse(svg.meta);
      assert.match(meta['model 1'], /demo \(Mamba-2\): .*models\/demo \(Mamba-2, 8 layers/);
      assert.match(meta['model 2'], /demo-mamba1 \(Mamba-1\)/);
      assert.match(meta['model 3'], /demo-transformer \(GPT-NeoX\): .*\(GPT-NeoX, 8 layers/);
      const csv = ex.csv.data.split('\n').filter((l: string) => l && !l.startsWith('#'));
      assert.equal(csv[0], 'model,label,layers,window,source_set,start_layer,relative_depth,mean_diff_pct,ci_low,ci_high,n');
      assert.equal(csv.length, 1 + 3 * 7);
      assert.match(csv[7], /^1,demo \(Mamba-2\),8,2,relation,6,1,/);
      const json = JSON.parse(ex.json.data);
      assert.equal(json.format, 'mamba-explain-figure');
      assert.equal(json.data.models.length, 3);
      // Compare with model… asks the host
      await page.evaluate(() => ((window as any).__posted.length = 0));
      await page.click('#compare-model');
      assert.deepEqual(await posted(page), [{ type: 'compareModel' }]);
      // a reload shows the comparison again, with its controls
      await page.reload();
      await chartReady(page, /Relation → last, window k = 2/);
      assert.deepEqual((await lines(page)).map((l) => l.visible), [true, false, true]);
      await noProblems(page);
      await page.context().close();
    }
  });

  test('micro comparison: category curves (pos 0 first) and each model\'s heatmap with position 0 marked', async () => {
    const page = await open('dark');
    await send(page, { type: 'showComparison', result: microCmp });
    await chartReady(page, /First \(pos 0\) → last, window k = 4: 2 models/);
    const sets = await page.$$eval('#compare-set-select vscode-option', (o) => o.map((x) => x.getAttribute('value')));
    assert.deepEqual(sets, ['first', 'subject', 'subject-last', 'relation', 'last']);
    const ls = await lines(page);
    const m0 = microCmp.models[0].result as MicroResult;
    assert.deepEqual(ls[0].y, m0.diffPct[0], 'first = the row of position 0');
    await page.waitForFunction(() => (window as any).__panel.compare.heatmaps.length === 2 && (window as any).__panel.compare.heatmaps.every((h: any) => h.current));
    const marks = await page.evaluate(() => (window as any).__panel.compare.heatmaps.map((h: any) => h.current.markedRows));
    assert.deepEqual(marks, [[{ row: 0, label: 'pos 0 (first)' }], [{ row: 0, label: 'pos 0 (first)' }]]);
    const titles = await page.$$eval('section[aria-label="Per position, each model"] h3', (h) => h.map((x) => x.textContent));
    assert.deepEqual(titles, ['demo (Mamba-2): Blocking last ← position, window k = 4', 'demo-mamba1 (Mamba-1): Blocking last ← position, window k = 4']);
    await screenshot(page, 'compare-micro-dark.png');
    await noProblems(page);
    await page.context().close();
  });

  test('trace comparison: the models\' own tokens, Export report… and a single result again', async () => {
    const page = await open('light');
    await send(page, { type: 'showComparison', result: traceCmp });
    await chartReady(page, /Subject → last, window k = 4: 2 models/);
    assert.match((await page.textContent('#compare-models'))!, /target " Paris" p = 0\.\d{4} · 11 tokens/);
    await page.evaluate(() => ((window as any).__posted.length = 0));
    await page.click('#export-report');
    assert.deepEqual(await posted(page), [{ type: 'exportReport' }]);
    // a single result replaces the comparison; its header offers Compare with model… too
    await send(page, { type: 'showResult', result: traceCmp.models[1].result });
    await page.waitForFunction(() => /Knockout trace/.test(document.querySelector('h1')?.textContent ?? ''));
    assert.equal(await page.$('#compare'), null);
    await page.evaluate(() => ((window as any).__posted.length = 0));
    await page.click('#compare-model');
    assert.deepEqual(await posted(page), [{ type: 'compareModel' }]);
    await noProblems(page);
    await page.context().close();
  });
});

describe('knockout panel: the first-position effect', () => {
  test('micro heatmap: position 0 is framed and labelled "pos 0 (first)", with a note of its strongest effect', async () => {
    const page = await open('dark');
    const micro = sampleMicro(5);
    await send(page, { type: 'showResult', result: micro });
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    assert.deepEqual(await page.evaluate(() => (window as any).__panel.heatmap.current.markedRows), [{ row: 0, label: 'pos 0 (first)' }]);
    // the label is drawn right of the plot on row 0's line, and nothing is drawn there on row 2's
    const c0 = await page.evaluate(() => (window as any).__panel.heatmap.cellCenter(0, 19));
    const c2 = await page.evaluate(() => (window as any).__panel.heatmap.cellCenter(2, 19));
    const cell = (await page.evaluate(() => (window as any).__panel.heatmap.cellCenter(0, 1).x - (window as any).__panel.heatmap.cellCenter(0, 0).x)) as number;
    const right = Math.round(c0.x + cell / 2 + 6);
    assert.ok((await ink(page, '#micro-heatmap canvas', right, Math.round(c0.y - 6), 80, 12)) > 40, 'the label of row 0');
    assert.ok((await ink(page, '#micro-heatmap canvas', right, Math.round(c2.y - 6), 80, 12)) < 5, 'no label on row 2');
    const row0 = micro.diffPct[0];
    const min = Math.min(...row0);
    const note = (await page.textContent('#first-position-note'))!;
    assert.match(note, /^◂ pos 0 \(first\) = "The", the prompt's first token \(the marked row\): blocking \(last ← 0\) changes the target's probability by at most /);
    assert.ok(note.includes(`${min > 0 ? '+' : ''}${min.toFixed(1)}%`), note);
    await screenshot(page, 'panel-micro-first-dark.png', { element: '#micro' });
    // the SVG export frames and labels row 0 too
    await page.evaluate(() => ((window as any).__posted.length = 0));
    await page.click('#micro .export-button[data-format="svg"]');
    await page.waitForFunction(() => (window as any).__posted.some((m: any) => m.type === 'export'));
    const svg = (await posted(page)).find((m) => m.type === 'export').data as string;
    assert.match(svg, /<rect class="marked-row" data-row="0"/);
    assert.match(svg, /<text class="row-mark" data-row="0"[^>]*>◂ pos 0 \(first\)<\/text>/);
    await noProblems(page);
    await page.context().close();
  });

  test('dataset micro run: the first-position table (all prompts, subject lacks pos 0) per window start', async () => {
    const page = await open('dark');
    await send(page, { type: 'showResult', result: runMicro });
    await page.waitForSelector('#first-position-table');
    const f = runMicro.aggregate.firstPosition!;
    assert.equal(await page.$$eval('#first-position-table tbody tr', (r) => r.length), f.starts.length);
    const head = (await page.textContent('#first-position-table thead'))!;
    assert.ok(head.includes(`All prompts (n = ${f.n})`) && head.includes(`Subject lacks pos 0 (n = ${f.notSubject.n})`), head);
    const last = await page.$$eval('#first-position-table tbody tr:last-child td', (t) => t.map((x) => x.textContent));
    const pct = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(1)}%`;
    const i = f.starts.length - 1;
    assert.equal(last[2], `${pct(f.meanDiffPct[i])} [${pct(f.ci.low[i])}, ${pct(f.ci.high[i])}]`);
    await page.waitForFunction(() => (window as any).__panel.heatmap?.current);
    assert.deepEqual(await page.evaluate(() => (window as any).__panel.heatmap.current.markedRows), [{ row: 0, label: 'pos 0 (first)' }]);
    await screenshot(page, 'panel-first-position-dark.png', { element: '#first-position' });
    // a comparison of micro runs lists the first-position effect per model (the same run twice: the same numbers)
    await send(page, { type: 'showComparison', result: buildComparison([{ ref: 'demo', result: runMicro }, { ref: 'demo', result: runMicro }]) });
    await page.waitForSelector('#compare-first-position');
    const rows = await page.$$eval('#compare-first-position tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
    assert.equal(rows.length, 2);
    assert.equal(rows[0][0], 'demo (Mamba-2)');
    assert.equal(rows[1][0], 'demo (Mamba-2) #2');
    const best = f.meanDiffPct.indexOf(Math.min(...f.meanDiffPct));
    assert.equal(rows[0][1], `${pct(f.meanDiffPct[best])} [${pct(f.ci.low[best])}, ${pct(f.ci.high[best])}] at ℓ = ${f.starts[best]} (n = ${f.n})`);
    assert.deepEqual(rows[1].slice(1), rows[0].slice(1));
    await noProblems(page);
    await page.context().close();
  });

  test('docs/images/compare-*.png are there and small', () => {
    for (const f of ['compare-run-dark.png', 'compare-figure-dark.png']) {
      const size = statSync(join(DOCS_IMAGES, f)).size;
      assert.ok(size > 10_000 && size < 300 * 1024, `${f} is ${size} bytes`);
    }
  });
});
