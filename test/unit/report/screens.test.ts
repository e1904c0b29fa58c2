// The report of every result kind, from real results of the bundled demo model (trace, micro, a macro dataset run
// with the split, a micro dataset run, and a checkpoint), opened in headless Chromium with scripts disabled: it renders
// without errors, has its figures, and a full-page screenshot of each lands in test-output/report/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { closeEngineSession, openEngineSession } from '../../../src/engine/engine';
import type { EngineSession } from '../../../src/engine/types';
import type { AnyResult } from '../../../src/engine/experiments/resultTypes';
import { runTrace } from '../../../src/engine/experiments/macro';
import { runMicro } from '../../../src/engine/experiments/micro';
import { runDataset } from '../../../src/engine/experiments/dataset';
import { exportReport, readResultsFile } from '../../../src/report/index';
import { DARK_THEME } from '../../../webview/shared/colors';

const ROOT = path.resolve(__dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-output', 'report');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'me-report-'));
let session: EngineSession;
let browser: Browser | undefined;
const results: Record<string, AnyResult> = {};

before(async () => {
  session = await openEngineSession(path.join(ROOT, 'models', 'demo'), { ep: 'cpu', cacheRoot: path.join(tmp, 'onnx') });
  const facts = path.join(ROOT, 'examples', 'demo-facts.json');
  results.trace = await runTrace(session, { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', target: 'Paris' });
  results.micro = await runMicro(session, { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: 'Apple' });
  results.dataset = await runDataset(session, { dataset: facts, experiment: 'macro', windows: [2, 4], limit: 40, seed: 1, split: true, out: path.join(tmp, 'run.json') });
  results.datasetMicro = await runDataset(session, { dataset: facts, experiment: 'micro', windows: [3], limit: 12, out: path.join(tmp, 'micro-run.json') });
  const partial = JSON.parse(fs.readFileSync(path.join(tmp, 'run.json'), 'utf8'));
  results.partial = { ...partial, status: 'partial', settings: { ...partial.settings, interval: { method: 't', level: 0.95 } }, resume: { chunkSize: 8, doneChunks: [0, 1], totalChunks: 6 } };
  if (fs.existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await closeEngineSession(session);
  fs.rmSync(tmp, { recursive: true, force: true });
});

// datasetMicro: the aggregate, 3 prompts' heatmaps and the first-position effect
const FIGURES: Record<string, number> = { trace: 2, micro: 1, dataset: 6, datasetMicro: 1 + 3 + 1, partial: 6 };

for (const name of Object.keys(FIGURES)) {
  test(`report of a ${name} result renders (screenshot test-output/report/${name}.png)`, { skip: !fs.existsSync(CHROMIUM) && `${CHROMIUM} is missing (tools/setup-system.sh)` }, async () => {
    const out = exportReport(results[name], path.join(tmp, `${name}.html`), name === 'dataset' ? { theme: DARK_THEME } : {});
    const html = fs.readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /<script/i);
    // the page is a results-file report too: what `report --input` reads back renders the same
    if (name === 'dataset') assert.equal(readResultsFile(path.join(tmp, 'run.json')).results[0].kind, 'dataset-run');
    const page = await browser!.newPage({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('requestfailed', (r) => errors.push(`request ${r.url()}`));
    await page.goto(pathToFileURL(out).href);
    assert.equal(await page.locator('figure svg').count(), FIGURES[name]);
    // every figure fits the page (no horizontal overflow), every footer names its window
    const widths = await page.locator('figure svg').evaluateAll((els) => els.map((e) => (e as SVGSVGElement).getBoundingClientRect().width));
    for (const w of widths) assert.ok(w > 200 && w <= 960, `figure width ${w}`);
    const footers = await page.locator('figure svg text.caption').allTextContents();
    for (const f of footers) assert.match(f, /^k = \d+ · /);
    const bodyWidth = await page.evaluate('document.documentElement.scrollWidth');
    assert.ok((bodyWidth as number) <= 1000, `page width ${bodyWidth}`);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    await page.close();
    assert.deepEqual(errors, []);
    if (name === 'partial') assert.match(html, /checkpoint of an unfinished run \(2 of 6 chunks\)/);
    if (name === 'micro') assert.match(html, /1: ·Mus/);
  });
}
