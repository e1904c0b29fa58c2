// Browser tests of the Steering view (headless Chromium): sample results of the Mamba-1 demo model (predict clean and
// steered, generate, bottlenecks, steer-sweep; test/webview/fixtures/steering, made with the CLI), the debounced slider
// with request ids (stale replies ignored), the bottleneck finder's channel pick, the sweep request, exports;
// screenshots in test-output/screenshots and docs/images/steering-view-dark.png.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, type ThemeName } from './harness';
import type { SteeringInit, SteerSpec } from '../../src/shared/protocol';
import { noProblems, posted, screenshot, send, useBrowser } from './browser';

const FIX = join(ROOT, 'test', 'webview', 'fixtures', 'steering');
const load = (f: string) => JSON.parse(readFileSync(join(FIX, f), 'utf8'));
const predictClean = load('predict-clean.json');
const predictSteered = load('predict-steered.json');
const generate = load('generate.json');
const bottlenecks = load('bottlenecks.json');
const sweep = load('steer-sweep.json');

export const STEER: SteerSpec = { layer: 6, channels: Array.from({ length: 128 }, (_, i) => i), scale: 8 };
export const INIT: SteeringInit = {
  prompt: 'Beats Music is owned by',
  nLayer: 8,
  dModel: 256,
  model: { path: '/home/user/project/models/demo-mamba1', hash: predictClean.provenance.model.hash, arch: 'mamba1', variant: 'mamba' },
  ep: 'cpu',
  initial: { layer: 6, channels: STEER.channels, scale: 8, maxTokens: 12 },
  presets: [],
};

const openView = useBrowser();
const open = (theme: ThemeName = 'dark'): Promise<Page> => openView('steering', theme);

async function lastSteer(page: Page, after = 0): Promise<any> {
  await page.waitForFunction((n) => (window as any).__posted.filter((m: any) => m.type === 'steer').length > n, after);
  const s = (await posted(page)).filter((m) => m.type === 'steer');
  return s[s.length - 1];
}

async function steerCount(page: Page): Promise<number> {
  return (await posted(page)).filter((m) => m.type === 'steer').length;
}

/** Opens the view and feeds it every sample result, answering its first request. */
async function loaded(theme: ThemeName = 'dark'): Promise<Page> {
  const page = await open(theme);
  await send(page, { type: 'steerInit', payload: INIT });
  const req = await lastSteer(page);
  assert.equal(req.prompt, INIT.prompt);
  assert.equal(req.layer, 6);
  assert.equal(req.scale, 8);
  assert.deepEqual(req.channels, STEER.channels);
  await send(page, { type: 'steerPredict', requestId: req.requestId, steer: STEER, clean: predictClean.top, steered: predictSteered.top });
  await send(page, { type: 'steerGenerate', requestId: req.requestId, steer: STEER, result: generate });
  await send(page, { type: 'bottlenecks', result: bottlenecks });
  await send(page, { type: 'steerSweep', result: sweep });
  await page.waitForSelector('#fig-loo svg');
  return page;
}

describe('Steering view', () => {
  test('renders the distribution, continuation, effective rank, channels and sweep (dark and light screenshots)', async () => {
    for (const theme of ['dark', 'light'] as const) {
      const page = await loaded(theme);
      // distribution: one row per token of the union, two bars each
      const rows = await page.$$eval('#fig-dist .token-row', (r) => r.length);
      assert.ok(rows >= 8, `token rows: ${rows}`);
      assert.equal(await page.$$eval('#fig-dist rect.bar.steered', (r) => r.length), rows);
      assert.match(await page.textContent('#dist-summary') ?? '', /Apple/);
      // continuation: 12 chips per run, the differing steered ones marked
      assert.equal(await page.$$eval('.continuation.clean .gen-tok', (r) => r.length), 12);
      assert.equal(await page.$$eval('.continuation.steered .gen-tok', (r) => r.length), 12);
      assert.ok((await page.$$eval('.continuation.steered .gen-tok.differs', (r) => r.length)) > 0);
      assert.match(await page.textContent('#gen-summary') ?? '', /part at step 2/);
      // effective rank: a bar per layer; the channel table with the top 16 checked
      assert.equal(await page.$$eval('#fig-rank svg .bar', (r) => r.length), bottlenecks.layers.length);
      assert.equal(await page.$$eval('#channel-table tbody tr', (r) => r.length), bottlenecks.channels.length);
      assert.equal(await page.$$eval('#channel-table input:checked', (r) => r.length), 16);
      // sweep: accuracy bars and log-prob points with intervals, leave-one-out at the scale farthest from 1
      assert.equal(await page.$$eval('.sweep-svg', (r) => r.length), 2);
      assert.equal(await page.$$eval('.sweep-svg:nth-child(2) circle', (r) => r.length), sweep.scales.length);
      assert.ok((await page.$$eval('.sweep-svg path.ci', (r) => r.length)) >= 1);
      assert.equal(await page.$eval('#loo-scale', (s) => (s as HTMLSelectElement).value), '20');
      assert.equal(await page.$$eval('#fig-loo .bar', (r) => r.length), sweep.channels.length);
      await noProblems(page);
      await screenshot(page, `steering-view-${theme}.png`, { docs: theme === 'dark' });
      await page.context().close();
    }
  });

  test('the slider is debounced, requests carry increasing ids, stale replies are ignored', async () => {
    const page = await loaded();
    const before = await steerCount(page);
    const first = (await posted(page)).filter((m) => m.type === 'steer').pop();
    // three moves within the debounce: one request, with the last scale
    for (const v of ['2', '3.5', '5']) {
      await page.$eval('#steer-scale', (e, val) => {
        (e as HTMLInputElement).value = val;
        e.dispatchEvent(new Event('input'));
      }, v);
    }
    const req = await lastSteer(page, before);
    await page.waitForTimeout(300);
    assert.equal(await steerCount(page), before + 1, 'one request for three quick moves');
    assert.equal(req.scale, 5);
    assert.ok(req.requestId > first.requestId);
    assert.equal(await page.inputValue('#steer-scale-value'), '5');
    // a late reply to the old request changes nothing
    const summary = await page.textContent('#dist-summary');
    await send(page, { type: 'steerPredict', requestId: first.requestId, steer: { ...STEER, scale: 99 }, clean: predictClean.top, steered: [{ id: 1, text: ' Stale', prob: 0.99 }] });
    await page.waitForTimeout(100);
    assert.equal(await page.textContent('#dist-summary'), summary);
    // the reply to the newest request is shown
    await send(page, { type: 'steerPredict', requestId: req.requestId, steer: { ...STEER, scale: 5 }, clean: predictClean.top, steered: [{ id: 2, text: ' Fresh', prob: 0.5 }, ...predictSteered.top.slice(1)] });
    await page.waitForFunction(() => /Fresh/.test(document.getElementById('dist-summary')?.textContent ?? ''));
    assert.match(await page.textContent('#dist-summary') ?? '', /×?5|--steer 6:0-127:5/);
    // a malformed channel list posts nothing and says why
    const n = await steerCount(page);
    await page.fill('#steer-channels', '4,x');
    await page.waitForTimeout(500);
    assert.equal(await steerCount(page), n);
    assert.match(await page.textContent('#steer-channels-note') ?? '', /not a channel/);
    await page.fill('#steer-channels', '300');
    await page.waitForTimeout(500);
    assert.match(await page.textContent('#steer-channels-note') ?? '', /out of range/);
    assert.equal(await steerCount(page), n);
    await noProblems(page);
    await page.context().close();
  });

  test('channels picked from the bottleneck ranking steer the ranked layer; find and sweep ask the host', async () => {
    const page = await loaded();
    const n = await steerCount(page);
    await page.click('#check-top');
    const boxes = await page.$$('#channel-table input');
    await boxes[0].click(); // uncheck the top-ranked one
    await page.click('#use-channels');
    const req = await lastSteer(page, n);
    assert.equal(req.layer, bottlenecks.layer);
    const want = bottlenecks.channels.slice(1, 16).map((c: any) => c.channel).sort((a: number, b: number) => a - b);
    assert.deepEqual(req.channels, want);
    assert.equal(await page.inputValue('#steer-layer'), String(bottlenecks.layer));
    await page.click('#find-bottleneck');
    await page.fill('#sweep-scales', '10, 0, 1, 1, 2.5');
    await page.check('#sweep-loo');
    await page.selectOption('#sweep-metric', 'logprob');
    await page.fill('#sweep-limit', '40');
    await page.dispatchEvent('#sweep-limit', 'change');
    await page.click('#sweep-run');
    const msgs = await posted(page);
    assert.deepEqual(msgs.find((m) => m.type === 'findBottleneck'), { type: 'findBottleneck', texts: 50 });
    const sw = msgs.find((m) => m.type === 'sweepScales');
    assert.deepEqual(sw, { type: 'sweepScales', layer: bottlenecks.layer, channels: want, scales: [0, 1, 2.5, 10], metric: 'logprob', leaveOneOut: true, limit: 40 });
    // long work: the busy line has a Cancel button that posts 'cancel'
    await send(page, { type: 'busy', message: 'Sweeping…' });
    await page.click('#steer-cancel');
    assert.ok((await posted(page)).some((m) => m.type === 'cancel'));
    await noProblems(page);
    await page.context().close();
  });

  test('exports PNG, SVG, CSV and JSON of every figure with provenance', async () => {
    const page = await loaded();
    for (const [fig, header] of [['fig-dist', 'token_id,token,clean_prob'], ['fig-gen', 'run,step,token_id'], ['fig-rank', 'section,layer,effective_rank'], ['fig-sweep', 'section,scale,channel,metric'], ['fig-loo', 'section,scale,channel,metric']] as const) {
      await page.evaluate(() => ((window as any).__posted.length = 0));
      for (const f of ['png', 'svg', 'csv', 'json']) await page.locator(`#${fig} .export-bar`).first().locator(`.export-button[data-format="${f}"]`).click();
      await page.waitForFunction(() => (window as any).__posted.filter((m: any) => m.type === 'export').length >= 4);
      const ex: Record<string, any> = {};
      for (const m of await posted(page)) if (m.type === 'export') ex[m.format] = m;
      const png = Buffer.from(ex.png.data, 'base64');
      assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG', `${fig} PNG`);
      const parsed = await page.evaluate((s) => {
        const doc = new DOMParser().parseFromString(s, 'image/svg+xml');
        return { error: doc.querySelector('parsererror')?.textContent ?? null, meta: doc.querySelector('metadata')?.textContent ?? '' };
      }, ex.svg.data);
      assert.equal(parsed.error, null, `${fig} SVG parses`);
      assert.match(JSON.parse(parsed.meta).tool, /^mamba-explain/);
      assert.match(ex.svg.data, /class="caption"/);
      assert.ok(ex.csv.data.split('\n').some((l: string) => l.startsWith(header)), `${fig} CSV header`);
      assert.match(ex.csv.data, /^# tool: mamba-explain/);
      const j = JSON.parse(ex.json.data);
      assert.equal(j.format, 'mamba-explain-figure');
      assert.ok(j.provenance.model.includes('demo-mamba1'));
      assert.match(ex.png.figure, /^steer-/);
    }
    await noProblems(page);
    await page.context().close();
  });
});
