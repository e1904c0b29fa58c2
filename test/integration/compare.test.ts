// "Compare with model…" in a real VS Code: the panel's trace or dataset run on one more model (the embedded Mamba-1
// demo), run in an engine worker of its own — the extension's engine keeps its model and a trace it runs meanwhile
// finishes — shown in the panel as one comparison; a missing model is one error and nothing else happens.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ComparisonResult, TraceResult } from '../../src/engine/experiments/resultTypes';
import { activate, EXTENSION_ID, setModel, waitFor, workspaceRoot, type Api } from './helpers';

const MODEL = process.env.MAMBA_EXPLAIN_TEST_MODEL ?? path.join(vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? '', 'models', 'demo');

type FullApi = Api & { engine: { starts: number; info?: { identity: { hash: string } } } };

suite('compare with model', () => {
  suiteSetup(async () => {
    await setModel(MODEL);
  });

  test('a trace on a second model: one comparison in the panel; the engine keeps its model and its running trace', async () => {
    const api = (await activate()) as FullApi;
    const trace = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as TraceResult;
    const starts = api.engine.starts;
    const hash = api.engine.info!.identity.hash;
    // the comparison and another trace on the extension's engine at the same time: both finish
    const [c, again] = (await Promise.all([
      vscode.commands.executeCommand('mambaExplain.compareWithModel', { model: 'demo-mamba1' }),
      vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'The capital of France is', subject: 'France', target: '' }),
    ])) as [ComparisonResult, TraceResult];
    assert.equal(again.kind, 'trace');
    assert.equal(c.kind, 'comparison');
    assert.equal(c.experiment, 'trace');
    assert.equal(c.models.length, 2);
    assert.deepEqual(c.models[0].result, trace, "the panel's trace is kept as it is");
    assert.equal(c.models[1].result.provenance.model.arch, 'mamba1');
    assert.equal((c.models[1].result as TraceResult).prompt, trace.prompt);
    assert.deepEqual((c.models[1].result as TraceResult).windows.map((w) => w.window), trace.windows.map((w) => w.window));
    assert.equal(api.engine.starts, starts, 'the engine was not restarted');
    assert.equal(api.engine.info!.identity.hash, hash, 'and keeps its model');
    const shown = await waitFor('showComparison', () => api.panelMessages().filter((m) => m.type === 'showComparison').pop(), 30_000);
    assert.equal((shown.result as ComparisonResult).models[1].label, 'demo-mamba1 (Mamba-1)');
  });

  test('the panel asks through its message, and a model that does not exist is one error', async () => {
    const api = (await activate()) as FullApi;
    await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' });
    const before = api.panelMessages().filter((m) => m.type === 'showComparison').length;
    const missing = path.join(workspaceRoot(), 'no-such-model');
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('mambaExplain.compareWithModel', { model: missing })),
      (e: Error) => new RegExp(`model folder ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`).test(e.message),
    );
    const err = await waitFor('the error in the panel', () => api.panelMessages().filter((m) => m.type === 'error').pop(), 10_000);
    assert.match(String(err.message), /does not exist/);
    assert.equal(api.panelMessages().filter((m) => m.type === 'showComparison').length, before, 'no comparison shown');
    // the webview's button: a valid message reaches the host (which then asks for a model: dismissed here)
    assert.equal(await api.simulatePanelMessage({ type: 'compareModel', extra: 1 }), false, 'malformed: ignored');
  });

  test('a dataset run on a second model: ONE comparison file in the runs folder, no per-model file left', async () => {
    const api = (await activate()) as FullApi;
    const runs = path.join(workspaceRoot(), '.mamba-explain', 'runs');
    const out = (await vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', {
      dataset: path.join(workspaceRoot(), 'facts.json'), experiment: 'micro', windows: [2], limit: 3, filter: false, split: false,
      out: path.join(runs, 'compare-base-micro.json'),
    })) as string;
    assert.ok(fs.existsSync(out));
    const file = path.join(runs, 'compare-two-models.json');
    const c = (await vscode.commands.executeCommand('mambaExplain.compareWithModel', { model: 'demo-mamba1', out: file })) as ComparisonResult;
    assert.equal(c.experiment, 'dataset-run');
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), c);
    assert.deepEqual(fs.readdirSync(runs).filter((f) => f.startsWith('compare-two-models')), ['compare-two-models.json']);
    for (const m of c.models) assert.ok(m.result.kind === 'dataset-run' && m.result.aggregate.firstPosition, `${m.label} has the first-position effect`);
    assert.equal(c.coverage!.selected, 3);
    // Open Results File… shows the comparison file as one
    const opened = (await vscode.commands.executeCommand('mambaExplain.openResultsFile', file)) as ComparisonResult;
    assert.equal(opened.kind, 'comparison');
    assert.deepEqual(opened, c);
    fs.rmSync(out, { force: true });
    fs.rmSync(file, { force: true });
    assert.ok(api.panelMessages().some((m) => m.type === 'showComparison'));
  });
});
