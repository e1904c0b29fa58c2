import { renderReportHtml, parseResults } from '../../../src/report';
import { niceTicks } from '../../../webview/shared/svg';
import type { DatasetRunResult, MicroResult, TraceResult } from '../../../src/engine/experiments/resultTypes';
const L = 4;
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
for (const v of [1e20, 1e300, 1.7976931348623145e+308]) {
  const r: any = trace(); r.windows[0].curves.relation.diffPct[1] = v;
  const t0 = Date.now();
  const w = new (require('node:worker_threads').Worker)('setTimeout(()=>{process.kill(process.pid,"SIGKILL")},4000)', { eval: true }); w.unref();
  try { renderReportHtml(parseResults(r, 'x').results); } catch (e) { console.log('err', (e as Error).message); }
  console.log(v, Date.now() - t0, 'ms');
  w.terminate();
}
