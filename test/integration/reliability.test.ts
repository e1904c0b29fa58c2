// Issue 16 in the real VS Code: an engine setting changed during a run never kills it; "Restart now" cancels it
// cleanly (checkpoint, Resume); the heatmap's layers come from the kept trace; the extension host stays responsive.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { DatasetRunResult, TraceResult } from '../../src/engine/experiments/resultTypes';
import { decodeAttention, type AttentionWire } from '../../src/shared/attentionWire';
import { RESTART_NOW } from '../../src/extension/logic/restart';
import { activate, EXTENSION_ID, setModel, waitFor, workspaceRoot, type Api } from './helpers';

const MODEL = process.env.MAMBA_EXPLAIN_TEST_MODEL ?? path.join(vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? '', 'models', 'demo');

interface Engine {
  starts: number;
  info?: { ep: string };
  inFlight: string[];
  restarts: { notices: string[]; waiting: boolean };
  ask: (message: string, ...actions: string[]) => PromiseLike<string | undefined>;
}
type TestApi = Api & { engine: Engine };

const cfg = () => vscode.workspace.getConfiguration('mambaExplain');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A COUNTERFACT-style file of `rows` prompts in the workspace (removed by the caller). */
function writeDataset(name: string, rows: number): string {
  const data = Array.from({ length: rows }, (_, i) => ({ prompt: `Beats Music number ${i} is owned by`, subject: 'Beats Music', target_true: ' Apple' }));
  const file = path.join(workspaceRoot(), name);
  fs.writeFileSync(file, JSON.stringify(data));
  return file;
}

const trace = async () =>
  (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as TraceResult;

suite('reliability (issue 16)', () => {
  let ask: Engine['ask'];
  suiteSetup(async () => {
    await setModel(MODEL);
    ask = ((await activate()) as TestApi).engine.ask;
  });
  teardown(async () => {
    const api = (await activate()) as TestApi;
    api.engine.ask = ask;
    await cfg().update('sweep', undefined, vscode.ConfigurationTarget.Global);
  });

  test('an engine setting changed during a dataset run: the run completes with results, then the engine restarts', async () => {
    const api = (await activate()) as TestApi;
    const asked: string[][] = [];
    api.engine.ask = async (message, ...actions) => {
      asked.push([message, ...actions]);
      return undefined;
    };
    assert.equal((await trace()).provenance.sweep, 'fused', 'auto = fused for this model');
    const starts = api.engine.starts;
    const info = api.engine.info;
    // long enough to outlast the scheduler's 500 ms before it asks (150 prompts could finish first on a fast machine)
    const dataset = writeDataset('restart-during-run.json', 1500);
    const out = path.join(workspaceRoot(), '.mamba-explain', 'runs', 'restart-during-run.json');
    try {
      const run = Promise.resolve(vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', { dataset, experiment: 'micro', windows: [2], filter: false, split: false, out })) as Promise<string>;
      await waitFor('the run in flight', () => api.engine.inFlight.includes('runDataset'));
      await cfg().update('sweep', 'layers', vscode.ConfigurationTarget.Global);
      await waitFor('the notice', () => asked.length > 0, 10_000);
      assert.deepEqual(asked[0], ['Mamba Explain: engine settings changed; the engine restarts when the running dataset run finishes.', RESTART_NOW, 'Wait']);
      assert.equal(api.engine.info, info, 'the engine is not stopped under the run');
      assert.ok(api.engine.inFlight.includes('runDataset'), 'the run is still going');
      assert.equal(await run, out);
      const r = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
      assert.equal(r.status, 'complete');
      assert.equal(r.prompts.length + r.skipped.length, 1500, 'every prompt measured: the run was not killed');
      assert.equal(r.provenance.sweep, 'fused', 'made by the engine that was running');
      // the engine restarts once the run is done: the next trace uses the new setting on a new engine
      await waitFor('the old engine stopped', () => api.engine.info !== info && !api.engine.restarts.waiting);
      const t = await trace();
      assert.equal(t.provenance.sweep, 'layers');
      assert.equal(api.engine.starts, starts + 1, 'restarted once');
      assert.equal(asked.length, 1, 'one notice');
    } finally {
      fs.rmSync(dataset, { force: true });
      fs.rmSync(out, { force: true });
    }
  });

  test('"Restart now (cancel the run)": the run is cancelled with its checkpoint, Resume is offered and continues it on the restarted engine', async function () {
    const api = (await activate()) as TestApi;
    await trace();
    const starts = api.engine.starts;
    api.engine.ask = async (message, ...actions) => {
      assert.ok(actions.includes(RESTART_NOW), message);
      await sleep(300);
      return RESTART_NOW;
    };
    // the interactive command's questions and messages, answered here (it is the path a user takes)
    const w = vscode.window as unknown as Record<string, unknown>;
    const original = { showQuickPick: w.showQuickPick, showInputBox: w.showInputBox, showInformationMessage: w.showInformationMessage };
    const shown: string[] = [];
    try {
      w.showQuickPick = async (items: readonly vscode.QuickPickItem[], opts?: vscode.QuickPickOptions) => {
        const want = /Knockout experiment/.test(opts?.title ?? '') ? 'micro' : 'No';
        return (await items).find((i) => i.label === want);
      };
      w.showInputBox = async (opts?: vscode.InputBoxOptions) => (/Window sizes/.test(opts?.title ?? '') ? '2' : '');
      w.showInformationMessage = async (message: string, ...actions: string[]) => {
        shown.push(message);
        return /run cancelled/.test(message) && actions.includes('Resume') ? 'Resume' : undefined;
      };
    } catch {
      this.skip();
    }
    if (w.showQuickPick === original.showQuickPick) this.skip();
    // long enough that it is still running when the restart is asked (a fast machine ran 300 prompts in under 2 s)
    const dataset = writeDataset('restart-now.json', 2000);
    const runs = path.join(workspaceRoot(), '.mamba-explain', 'runs');
    try {
      const done = Promise.resolve(vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', vscode.Uri.file(dataset))) as Promise<string>;
      await waitFor('the run in flight', () => api.engine.inFlight.includes('runDataset'), 60_000);
      await sleep(200);
      await cfg().update('sweep', 'layers', vscode.ConfigurationTarget.Global);
      const out = await done;
      assert.match(path.basename(out), /restart-now-micro\.json$/);
      const cancelled = shown.find((m) => /run cancelled/.test(m));
      assert.ok(cancelled, `the cancellation message was shown: ${shown.join(' | ')}`);
      assert.match(cancelled!, /Its progress is saved: Resume continues it/);
      const r = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
      assert.equal(r.status, 'complete');
      assert.equal(r.timing?.resumed, true, 'continued from the checkpoint');
      assert.equal(r.prompts.length + r.skipped.length, 2000);
      assert.equal(r.provenance.sweep, 'layers', 'resumed on the restarted engine');
      assert.equal(api.engine.starts, starts + 1);
      assert.ok(!fs.existsSync(out + '.partial.json'));
      fs.rmSync(out, { force: true });
    } finally {
      Object.assign(w, original);
      fs.rmSync(dataset, { force: true });
      for (const f of fs.existsSync(runs) ? fs.readdirSync(runs) : []) if (f.includes('restart-now')) fs.rmSync(path.join(runs, f), { force: true });
    }
  });

  test('heatmap layers come from the kept trace, answered once per request with its id', async () => {
    const api = (await activate()) as TestApi;
    const t = await trace();
    await vscode.commands.executeCommand('mambaExplain.showHeatmap');
    await waitFor('the heatmap view', () => api.heatmapReceived().some((m) => m.type === 'ready'), 60_000);
    assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', requestId: 41, layer: 1 }), true);
    assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', requestId: 42, layer: 99 }), true);
    // (the record keeps the last 50 messages: find the replies by their ids)
    const replies = api.heatmapMessages().filter((m) => m.requestId === 41 || m.requestId === 42);
    assert.deepEqual(replies.map((m) => [m.type, m.requestId]), [['attention', 41], ['error', 42]], 'one reply per request');
    const p = decodeAttention(replies[0].payload as AttentionWire);
    assert.equal(p.layer, 1);
    assert.equal(p.prompt, t.prompt);
    assert.ok((replies[0].payload as AttentionWire).heads instanceof Float32Array, 'the engine’s float32 matrices as they are');
    // the same matrices as a fresh computation from layer 0
    const client = (api.engine as unknown as { get(): Promise<{ call<R>(m: string, p: unknown): Promise<R> }> }).get();
    const fresh = await (await client).call<{ layers: { heads: number[][][] }[] }>('attention', { prompt: t.prompt, layers: [1] });
    assert.deepEqual(p.heads, fresh.layers[0].heads);
  });

  test('the extension host stays responsive during a dataset run and a trace (no event-loop stall over 200 ms)', async () => {
    const api = (await activate()) as TestApi;
    await trace();
    const dataset = writeDataset('responsive.json', 200);
    const out = path.join(workspaceRoot(), '.mamba-explain', 'runs', 'responsive-run.json');
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const stalls = new StallSampler();
    try {
      delay.enable();
      stalls.start();
      const run = Promise.resolve(vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', { dataset, experiment: 'micro', windows: [2], filter: false, split: false, out }));
      // the user keeps working meanwhile: a trace and heatmap layers queue behind the run
      await waitFor('the run in flight', () => api.engine.inFlight.includes('runDataset'));
      const traced = trace();
      assert.equal(await run, out);
      await traced;
      await vscode.commands.executeCommand('mambaExplain.showHeatmap');
      for (let l = 0; l < 2; l++) await api.simulateHeatmapMessage({ type: 'requestLayer', requestId: 100 + l, layer: l });
    } finally {
      delay.disable();
      stalls.stop();
      fs.rmSync(dataset, { force: true });
    }
    const wallMax = delay.max / 1e6;
    console.log(`      event-loop delay: max ${wallMax.toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms; ${stalls.report()}`);
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
    fs.rmSync(out, { force: true });
    assert.equal(r.prompts.length + r.skipped.length, 200);
    if (stalls.measuresCpu) {
      // gaps over 200 ms in which this thread itself was working: stalls of the extension, whatever else the machine runs
      assert.deepEqual(stalls.stalls, [], `the extension host stalled (${stalls.report()})`);
    } else assert.ok(wallMax < 200, `the extension host's event loop stalled for ${wallMax.toFixed(0)} ms`);
  });
});

/**
 * Samples the event loop every 10 ms and, where Node has process.threadCpuUsage (23.9+; VS Code's server runs 24),
 * the CPU time this thread spent between two samples. A stall is a gap over 200 ms in which the thread itself ran for
 * at least a fifth of the time: the extension's own synchronous work (a 300 ms busy loop on a loaded 2-core runner
 * shows as a 440 ms gap with 160 ms of CPU), while a gap with next to no CPU is the machine being busy elsewhere.
 */
class StallSampler {
  private timer?: ReturnType<typeof setInterval>;
  private readonly cpu = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  readonly stalls: string[] = [];
  private wallMax = 0;
  private gaps: string[] = [];

  get measuresCpu(): boolean {
    return typeof this.cpu === 'function';
  }

  start(): void {
    const t0 = Date.now();
    let last = Date.now();
    let lastCpu = this.cpuMs();
    this.timer = setInterval(() => {
      const now = Date.now();
      const c = this.cpuMs();
      const wall = now - last;
      const busy = c !== undefined && lastCpu !== undefined ? c - lastCpu : undefined;
      this.wallMax = Math.max(this.wallMax, wall);
      const text = `+${now - t0} ms: ${wall} ms${busy !== undefined ? `, ${busy.toFixed(0)} ms CPU` : ''}`;
      if (wall > 150) this.gaps.push(text);
      if (wall > 200 && busy !== undefined && busy >= wall / 5) this.stalls.push(text);
      last = now;
      lastCpu = c;
    }, 10);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  report(): string {
    return `longest timer gap ${this.wallMax} ms; gaps over 150 ms: ${this.gaps.join('; ') || 'none'}`;
  }

  private cpuMs(): number | undefined {
    if (!this.cpu) return undefined;
    const u = this.cpu();
    return (u.user + u.system) / 1000;
  }
}
