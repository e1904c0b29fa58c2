// Fuzzing results files the way "Open Results File…" and `mamba-explain report --input` read them
// (src/report/loadResult.ts: readResultsFile / parseResults) and the standalone report renders them
// (src/report/renderReport.ts, through exportReportOfFile with an output path): mutated trace, micro, dataset-run and
// demo-wrapper results, broken JSON text, and results whose strings carry HTML / SVG / script payloads. Each case ends in
// a UserError (one line) or in a report written to the output path only (nothing else created, nothing left behind),
// in which no payload appears as markup.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { exportReportOfFile, parseResults, renderReportHtml } from '../../../src/report';
import type { DatasetRunResult, MicroResult, TraceResult } from '../../../src/engine/experiments/resultTypes';
import { applyJsonOps, applyTextOps, hostileString, jsonOps, serialize, strictHostileValue, textOp } from './mutate';
import { assertListing, CASE_LIMIT_MS, check, guard, show, tempDir } from './harness';

const tmp = tempDir('res');
const L = 4;

// ------------------------------------------------------------------ samples (compact, every optional part present)

const provenance = () => ({
  tool: { name: 'mamba-explain', version: '0.1.0' },
  model: { path: '/models/demo', hash: '1e43e166b509aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33', format: 'state-spaces', arch: 'mamba2', dModel: 64, nLayer: L, storedDType: 'float32', tokenizer: { file: 'tokenizer.json', sha256: 'aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66' } },
  ep: 'cpu',
  sweep: 'layers',
  computeDType: 'float32',
  conv: 'keep',
  createdAt: '2026-11-22T21:00:00.000Z',
});
const tokens = () => ['The', ' E', 'iff', 'el', ' Tower', ' is', ' in'].map((text, i, all) => {
  const start = all.slice(0, i).join('').length;
  return { id: 100 + i, text, start, end: start + text.length, role: i >= 1 && i <= 4 ? 'subject' : i === all.length - 1 ? 'last' : 'relation' };
});
const PROMPT = 'The Eiffel Tower is in';
const starts = (k: number) => Array.from({ length: L - k + 1 }, (_, i) => i);
const curve = (k: number, f: number) => ({ probs: starts(k).map((s) => 0.4 * (1 - s * f)), diffPct: starts(k).map((s) => -100 * s * f), top1: starts(k).map((s) => s < 2) });
const top = () => [{ id: 6342, text: ' Paris', prob: 0.42 }, { id: 4551, text: ' London', prob: 0.06 }];

function trace(): TraceResult {
  return {
    kind: 'trace', schemaVersion: 2, provenance: provenance(), prompt: PROMPT, subject: 'Eiffel Tower', target: { id: 6342, text: ' Paris' }, baseProb: 0.42,
    baseTop: top(), tokens: tokens(), subjectPositions: [1, 2, 3, 4], relationPositions: [0, 5], lastPosition: 6,
    windows: [1, 2].map((k) => ({ window: k, starts: starts(k), curves: { subject: curve(k, 0.2), relation: curve(k, 0.05), last: curve(k, 0.01) } })),
    warnings: [{ code: 'subject-at-start', message: 'the subject holds position 0' }],
  } as unknown as TraceResult;
}

function micro(): MicroResult {
  const k = 2;
  const grid = tokens().map((_, p) => starts(k).map((s) => -(p + 1) * (s + 1)));
  return {
    kind: 'micro', schemaVersion: 2, provenance: provenance(), prompt: PROMPT, subject: 'Eiffel Tower', target: { id: 6342, text: ' Paris' }, baseProb: 0.42,
    baseTop: top(), tokens: tokens(), window: k, starts: starts(k), probs: grid.map((r) => r.map((d) => 0.42 * (1 + d / 100))), diffPct: grid,
    warnings: [{ code: 'w', message: 'm' }],
  } as unknown as MicroResult;
}

function dataset(): DatasetRunResult {
  const agg = (k: number, f: number) => ({
    window: k, starts: starts(k),
    curves: Object.fromEntries(['subject', 'last'].map((n) => [n, { mean: starts(k).map((s) => -s * f), ciLow: starts(k).map((s) => -s * f - 3), ciHigh: starts(k).map((s) => -s * f + 3), accuracy: starts(k).map(() => 0.9), n: starts(k).map(() => 3) }])),
  });
  return {
    kind: 'dataset-run', schemaVersion: 2, provenance: provenance(), experiment: 'micro',
    dataset: { file: '/data/counterfact.json', sha256: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', format: 'counterfact-tracing', rows: 5 },
    settings: { windows: [1, 2], sets: ['subject', 'last'], filterCorrect: true, limit: 5, seed: 1, split: true, conv: 'keep', interval: { method: 'bootstrap', level: 0.95, resamples: 1000, seed: 7 } },
    status: 'partial',
    prompts: [0, 1, 2].map((i) => ({
      index: i, prompt: `${PROMPT} ${i}`, subject: 'Eiffel Tower', target: { id: 1000 + i, text: ` T${i}` }, baseProb: 0.3, subjectHasFirst: i === 0,
      micro: { window: 1, starts: starts(1), diffPct: tokens().map(() => starts(1).map((s) => -s)), tokens: tokens().map((t) => t.text), subjectPositions: [1, 2] },
    })),
    skipped: [{ index: 3, prompt: 'Skipped prompt', reason: 'subject not in prompt', cause: 'skipped' }, { index: 4, reason: 'filtered: top-1', cause: 'filtered' }],
    aggregate: { windows: [agg(1, 10), agg(2, 12)], split: { subjectHasFirst: [agg(1, 11)], subjectLacksFirst: [agg(1, 9)], counts: { subjectHasFirst: 1, subjectLacksFirst: 2 } } },
    counts: { rows: 5, selected: 5, measured: 3, filteredOut: 1, skipped: 1, unusable: 0 },
    configHash: 'abc123',
    resume: { doneChunks: [0], totalChunks: 2 },
    warnings: [{ code: 'few-prompts', message: 'only 3 prompts', count: 3, indices: [0, 1, 2] }],
  } as unknown as DatasetRunResult;
}

const SAMPLES: { name: string; make: () => unknown }[] = [
  { name: 'trace', make: trace },
  { name: 'micro', make: micro },
  { name: 'dataset-run', make: dataset },
  { name: 'demo', make: () => ({ kind: 'demo', results: [trace(), { ...trace(), provenance: { ...provenance(), model: { ...provenance().model, arch: 'mamba1', variant: 'falcon_mamba' } } }] }) },
];

test('results samples: each loads and renders', () => {
  for (const s of SAMPLES) renderReportHtml(parseResults(s.make(), s.name).results);
});

// ------------------------------------------------------------------ a render in a thread that can be stopped

/**
 * Renders a results text in a worker thread first: a hang in the report code (niceTicks looped forever on a value near
 * Number.MAX_VALUE, regressions.test.ts) cannot be interrupted on this thread. A render that does not finish within
 * the case limit fails the case, naming it, instead of stopping the whole suite.
 */
class RenderProbe {
  private worker?: Worker;
  private static readonly SRC = `
    require('tsx/cjs');
    const { parentPort } = require('node:worker_threads');
    const { parseResults, renderReportHtml } = require(${JSON.stringify(require.resolve('../../../src/report'))});
    parentPort.on('message', (text) => {
      try { renderReportHtml(parseResults(JSON.parse(text), 'results.json').results); } catch {}
      parentPort.postMessage('done');
    });`;

  /** 'done' (returned or threw), or 'stuck' (still running after the case limit, or out of memory: stopped). */
  async render(text: string): Promise<'done' | 'stuck'> {
    const w = (this.worker ??= new Worker(RenderProbe.SRC, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 512 } }));
    w.unref();
    return new Promise((resolve) => {
      const stop = (): void => {
        clearTimeout(timer);
        w.removeAllListeners();
        this.worker = undefined;
        // a fresh thread for the next case, once this one is gone (and its descriptors with it)
        void w.terminate().then(() => resolve('stuck'));
      };
      const timer = setTimeout(stop, CASE_LIMIT_MS);
      w.once('error', stop);
      w.once('message', () => {
        clearTimeout(timer);
        w.removeAllListeners('error');
        resolve('done');
      });
      w.postMessage(text);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
const probe = new RenderProbe();
before(() => probe.render('{}')); // the thread (and its descriptors) exists before the batches count them
after(() => probe.close());

/** Fails the case when rendering `text` hangs (or runs out of memory) in the probe's thread. */
async function renders(text: string, label: string): Promise<true> {
  if ((await probe.render(text)) === 'done') return true;
  assert.fail(`${label}: rendering the report did not finish within ${CASE_LIMIT_MS} ms (or ran out of memory): a hang in the report code`);
}

// ------------------------------------------------------------------ the output path

/**
 * Reads `input` and writes its report to `out` (both in `dir`) through exportReportOfFile, allowing writes to `out` and
 * its atomic-write siblings only; afterwards the folder must hold the input and, on success, the report — nothing else.
 */
async function exportCase(dir: string, input: string, label: string) {
  const out = path.join(dir, 'report.html');
  const sibling = new RegExp(`^\\.report\\.html\\.\\d+\\.\\d+\\.\\d+\\.(tmp|probe)$`);
  const r = await guard(label, () => exportReportOfFile(input, out), {
    allowWrite: (p) => p === out || (path.dirname(p) === dir && sibling.test(path.basename(p))),
  });
  assertListing(dir, r.ok ? [path.basename(input), 'report.html'] : [path.basename(input)], label);
  if (r.ok) {
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/, `${label}: the report is not an HTML page`);
    fs.unlinkSync(out);
  }
  return r;
}

/** Values aimed at results: wrong types for every field the report reads, hostile numbers and markup. */
const resultValue = fc.oneof(
  { weight: 5, arbitrary: strictHostileValue },
  { weight: 2, arbitrary: fc.constantFrom<unknown>('trace', 'micro', 'dataset-run', 'demo', 'prediction', 'feature-knockout', 1, 2, 3, 999, 'block', 'keep', 'bootstrap', 't', 'partial', 'complete', 'macro', 'subject', 'last', 'relation') },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', ']]></metadata><svg onload=alert(1)>', '</style><x-inj>') },
);

test('results files: structural mutations of every kind, exported with an output path → UserError, or a report written there and nowhere else', async (t) => {
  const dir = path.join(tmp, 'export');
  fs.mkdirSync(dir);
  const input = path.join(dir, 'results.json');
  const msg = await check('results-json', 600, [fc.nat(), jsonOps(3, fc.oneof(hostileString, fc.constantFrom('kind', 'schemaVersion', 'tokens', 'text', 'windows', 'curves', 'provenance', 'model', 'prompts', 'micro', 'aggregate', 'split', 'counts', 'warnings', 'skipped', 'baseTop', 'prob', 'id', 'results', 'result', 'settings', 'interval', 'resume', 'diffPct', 'starts', 'window')), resultValue)], async (si, ops) => {
    const s = SAMPLES[si % SAMPLES.length];
    const text = serialize(applyJsonOps(s.make(), ops));
    fs.writeFileSync(input, text);
    const label = `results-json ${s.name} ${show(ops)}`;
    if (await renders(text, label)) await exportCase(dir, input, label);
  });
  t.diagnostic(msg);
});

test('results files: broken JSON text → UserError, or a report written to the output path only', async (t) => {
  const dir = path.join(tmp, 'export-text');
  fs.mkdirSync(dir);
  const input = path.join(dir, 'results.json');
  const msg = await check('results-text', 400, [fc.nat(), fc.array(textOp, { minLength: 1, maxLength: 3 })], async (si, ops) => {
    const s = SAMPLES[si % SAMPLES.length];
    const text = applyTextOps(JSON.stringify(s.make(), null, 1), ops);
    fs.writeFileSync(input, text);
    const label = `results-text ${s.name} ${show(ops)}`;
    if (await renders(text, label)) await exportCase(dir, input, label);
  });
  t.diagnostic(msg);
});

// ------------------------------------------------------------------ markup in the strings

/** Payloads, each carrying the marker x-inj where it would become markup (an element or an attribute) unescaped. */
const PAYLOADS = [
  '<x-inj>', '</title><x-inj>', '<script>x-inj()</script>', '"><x-inj a="', "'><x-inj a='", '" x-inj="1', "' x-inj='1", ']]></metadata><x-inj/>',
  '--><x-inj>', '</style><x-inj>', '</text><x-inj/>', '<![CDATA[<x-inj>]]>', '<x-inj\n>', '&lt;x-inj&gt;', '<svg onload=x-inj()>', '<img src=x onerror="x-inj">',
];
const payload = fc.oneof(fc.constantFrom(...PAYLOADS), fc.tuple(fc.string({ maxLength: 5 }), fc.constantFrom(...PAYLOADS), fc.string({ maxLength: 5 })).map(([a, p, b]) => a + p + b));

/** Markup that only an unescaped payload produces. */
const INJECTED = /<x-inj|<script>x-inj|["'] ?x-inj=|onerror="x-inj|<svg onload|<img src=x/;

/**
 * Where a payload became markup in a report, or undefined. CDATA sections (the figures' JSON metadata, where '<', '>'
 * and '&' are written \u003c …, so that no ']]>' can end them early) are text, and are left out; everywhere else the
 * report escapes & < > " ', so a raw payload character outside CDATA is markup.
 */
function injection(html: string): string | undefined {
  const outside = html.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '<!--cdata-->');
  const m = INJECTED.exec(outside);
  return m ? `…${outside.slice(Math.max(0, m.index - 100), m.index + 60)}…` : undefined;
}

/** Where strings of a result are shown: every string field the report prints (paths of [object, key]). */
function stringSlots(r: Record<string, unknown>): [Record<string, unknown>, string][] {
  const out: [Record<string, unknown>, string][] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (typeof x === 'string' && k !== 'kind' && k !== 'role' && k !== 'method') out.push([v as Record<string, unknown>, k]);
        else walk(x);
      }
    }
  };
  walk(r);
  return out;
}

test('results whose strings hold HTML, SVG or script (tokens, prompt, target, top-k, paths, reasons, warnings, curve names) render as text in the report', async (t) => {
  const msg = await check('results-markup', 800, [fc.nat(), fc.array(fc.tuple(fc.nat(), payload), { minLength: 1, maxLength: 4 }), fc.boolean()], async (si, edits, curveName) => {
    const s = SAMPLES[si % SAMPLES.length];
    const r = s.make() as Record<string, unknown>;
    const slots = stringSlots(r);
    for (const [at, p] of edits) {
      const [obj, k] = slots[at % slots.length];
      obj[k] = p;
    }
    // a curve (source set) name is a key, not a value
    if (curveName) {
      const target = (r.kind === 'demo' ? (r.results as Record<string, unknown>[])[0] : r) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const w = target.kind === 'dataset-run' ? target.aggregate.windows[0] : target.windows?.[0];
      if (w) w.curves = { [edits[0][1]]: Object.values(w.curves)[0], ...w.curves };
    }
    const label = `results-markup ${s.name} ${show(edits)}${curveName ? ' (and a curve name)' : ''}`;
    const text = JSON.stringify(r);
    await renders(text, label);
    const out = await guard(label, () => renderReportHtml(parseResults(JSON.parse(text), 'results.json').results));
    if (!out.ok) return; // a payload in a field the loader checks (e.g. a schema kind) may be refused
    const where = injection(out.value);
    assert.ok(!where, `${label}: the payload appears as markup in the report: ${where}`);
  });
  t.diagnostic(msg);
});

test('results whose numeric fields (ids, positions, counts) or token roles hold markup are refused or render as text', async (t) => {
  const numericSlots = (r: unknown): [Record<string, unknown>, string][] => {
    const out: [Record<string, unknown>, string][] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach((x, i) => (typeof x === 'number' ? out.push([v as unknown as Record<string, unknown>, String(i)]) : walk(x)));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (typeof x === 'number' && k !== 'schemaVersion') || k === 'role' ? out.push([v as Record<string, unknown>, k]) : walk(x);
    };
    walk(r);
    return out;
  };
  const msg = await check('results-markup-numbers', 500, [fc.nat(), fc.array(fc.tuple(fc.nat(), payload), { minLength: 1, maxLength: 3 })], async (si, edits) => {
    const s = SAMPLES[si % SAMPLES.length];
    const r = s.make();
    const slots = numericSlots(r);
    for (const [at, p] of edits) {
      const [obj, k] = slots[at % slots.length];
      obj[k] = p;
    }
    const label = `results-markup-numbers ${s.name} ${show(edits)}`;
    const text = JSON.stringify(r);
    await renders(text, label);
    // the report escapes them even without the check (the panel's Export report… renders results it holds)
    // (a field of the wrong type may make that render throw: only a page it returns is looked at)
    const data = JSON.parse(text);
    let raw: string | undefined;
    try {
      raw = renderReportHtml(data.kind === 'demo' ? data.results : data);
    } catch {
      raw = undefined;
    }
    if (raw !== undefined) assert.ok(!injection(raw), `${label}: the payload appears as markup in a report rendered without parseResults: ${injection(raw)}`);
    const out = await guard(label, () => renderReportHtml(parseResults(JSON.parse(text), 'results.json').results));
    if (!out.ok) return; // parseResults refuses a number or role that is not one (one line, naming the field)
    const where = injection(out.value);
    assert.ok(!where, `${label}: the payload appears as markup in the report: ${where}`);
  });
  t.diagnostic(msg);
});

