import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetRunResult, TraceResult } from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload, FeaturesPayload } from '../../src/shared/protocol';
import { decodeAttention, type AttentionWire } from '../../src/shared/attentionWire';
import { activate, EXTENSION_ID, setModel, waitFor, workspaceRoot, type Api } from './helpers';

// the fixture model of npm run test:integration, else the repository's demo model (e.g. under @vscode/test-cli)
const MODEL = process.env.MAMBA_EXPLAIN_TEST_MODEL ?? path.join(vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? '', 'models', 'demo');

suite('extension', () => {
  suiteSetup(async function () {
    if (!fs.existsSync(path.join(MODEL, 'config.json'))) throw new Error(`no test model at ${MODEL} (run through npm run test:integration)`);
    await setModel(MODEL);
  });

  test('activates and registers its commands', async () => {
    const api = await activate();
    assert.ok(api && typeof api.panelMessages === 'function', 'activate() returns the API');
    const cmds = await vscode.commands.getCommands(true);
    for (const c of ['traceFactualFlow', 'runKnockoutExperiment', 'openResultsFile', 'downloadModel', 'selectModel']) {
      assert.ok(cmds.includes(`mambaExplain.${c}`), `command mambaExplain.${c} is registered`);
    }
  });

  test("the editor context menu shows Trace Factual Flow only with a selection", () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const items = pkg.contributes.menus['editor/context'] as { command: string; when?: string }[];
    const item = items.find((m) => m.command === 'mambaExplain.traceFactualFlow');
    assert.ok(item, 'Trace Factual Flow is in editor/context');
    assert.equal(item!.when, 'editorHasSelection');
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['mambaExplain.model']);
  });

  test('Trace Factual Flow on an editor selection delivers the result to the panel and the heatmap', async () => {
    const api = await activate();
    const doc = await vscode.workspace.openTextDocument(path.join(workspaceRoot(), 'prompts.txt'));
    const editor = await vscode.window.showTextDocument(doc);
    const line = doc.lineAt(1);
    editor.selections = [new vscode.Selection(line.range.start, line.range.end)];
    const result = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { subject: 'Beats Music', target: '' })) as TraceResult;
    assert.ok(result, 'the command returns the TraceResult');
    assert.equal(result.kind, 'trace');
    assert.equal(result.prompt, 'Beats Music is owned by');
    assert.equal(result.subject, 'Beats Music');
    assert.deepEqual(result.windows.map((w) => w.window), [2]);
    assert.ok(result.provenance.model.nLayer >= 2);
    assert.ok(result.baseProb > 0 && result.baseProb <= 1);
    // delivered to the panel
    const shown = api.panelMessages().filter((m) => m.type === 'showResult');
    assert.ok(shown.length > 0, 'a showResult message was posted to the panel');
    assert.equal((shown[shown.length - 1].result as TraceResult).prompt, result.prompt);
    // the panel's webview script loads and completes the handshake
    await waitFor("the panel's 'ready'", () => api.panelReceived().some((m) => m.type === 'ready'), 60_000);
    // the heatmap viewer gets the prompt's attention
    await vscode.commands.executeCommand('mambaExplain.showHeatmap');
    const att = await waitFor('attention for the heatmap', () => api.heatmapMessages().find((m) => m.type === 'attention'), 60_000);
    const payload = decodeAttention(att.payload as AttentionWire);
    assert.equal(payload.prompt, result.prompt);
    assert.equal(payload.heads[0].length, result.tokens.length);
    assert.ok(payload.blocked && payload.blocked.edges.length === result.subjectPositions.length);
  });

  test('the panel gets its result again after being hidden and shown (retainContextWhenHidden: false)', async () => {
    const api = await activate();
    const ready = () => api.panelReceived().filter((m) => m.type === 'ready').length;
    const n0 = ready();
    const shown0 = api.panelMessages().filter((m) => m.type === 'showResult').length;
    const doc = await vscode.workspace.openTextDocument({ content: 'hide the panel', language: 'plaintext' });
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Two, preview: false });
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await waitFor("the panel's 'ready' after being shown again", () => ready() > n0, 30_000);
    assert.equal(api.panelMessages().filter((m) => m.type === 'showResult').length, shown0, 'no new result was computed');
  });

  test("webview messages are validated: malformed ones are ignored, 'rerun' re-traces, 'requestLayer' sends that layer", async () => {
    const api = await activate();
    const count = () => api.panelMessages().filter((m) => m.type === 'showResult').length;
    const before = count();
    assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: 'nine' }), false);
    assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [1], extra: true }), false);
    assert.equal(await api.simulatePanelMessage({ type: 'no-such-type' }), false);
    assert.equal(await api.simulatePanelMessage('rerun'), false);
    assert.equal(count(), before, 'nothing happened for malformed messages');
    assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [1, 2] }), true);
    const shown = api.panelMessages().filter((m) => m.type === 'showResult');
    assert.equal(shown.length, before + 1, 'rerun posted a new result');
    assert.deepEqual((shown[shown.length - 1].result as TraceResult).windows.map((w) => w.window), [1, 2]);
    assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 1 }), true);
    const att = api.heatmapMessages().filter((m) => m.type === 'attention');
    assert.equal((att[att.length - 1].payload as AttentionWire).layer, 1);
    assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: -1 }), false);
  });

  test("'export' saves the figure data through the save dialog", async function () {
    const api = await activate();
    const target = path.join(workspaceRoot(), 'exported-macro.csv');
    const w = vscode.window as unknown as { showSaveDialog: typeof vscode.window.showSaveDialog };
    const original = w.showSaveDialog;
    try {
      w.showSaveDialog = async () => vscode.Uri.file(target);
    } catch {
      this.skip();
    }
    if (w.showSaveDialog === original) this.skip();
    try {
      assert.equal(await api.simulatePanelMessage({ type: 'export', format: 'csv', figure: 'macro-k2', data: 'start,diff\n0,-1.5\n', encoding: 'utf8' }), true);
      assert.equal(fs.readFileSync(target, 'utf8'), 'start,diff\n0,-1.5\n');
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
      w.showSaveDialog = async () => vscode.Uri.file(target + '.png');
      assert.equal(await api.simulatePanelMessage({ type: 'export', format: 'png', figure: 'macro-k2', data: png.toString('base64'), encoding: 'base64' }), true);
      assert.deepEqual(fs.readFileSync(target + '.png'), png);
      const ex = api.panelMessages().filter((m) => m.type === 'exported');
      assert.equal(ex[ex.length - 1].ok, true);
      assert.equal(await api.simulatePanelMessage({ type: 'export', format: 'exe', figure: 'x', data: '', encoding: 'utf8' }), false);
    } finally {
      w.showSaveDialog = original;
      fs.rmSync(target, { force: true });
      fs.rmSync(target + '.png', { force: true });
    }
  });

  test('a window size larger than the model is a clear error', async () => {
    const api = (await activate()) as unknown as { engine: { info?: { config: { nLayer: number } } } };
    const n = api.engine.info!.config.nLayer;
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '', windows: [n + 1] })),
      new RegExp(`exceeds the model's ${n} layers`),
    );
  });

  test('a missing model folder is a clear error naming the setting', async () => {
    await setModel(path.join(workspaceRoot(), '..', 'no-such-model-folder'));
    try {
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })),
        /no-such-model-folder does not exist \(setting mambaExplain\.model\)/,
      );
    } finally {
      await setModel(MODEL);
    }
  });

  test('the status bar names the model and the provider in use', async () => {
    const api = (await activate()) as unknown as { engine: { status: vscode.StatusBarItem; info?: { ep: string } } };
    await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' });
    assert.match(api.engine.status.text, new RegExp(`^\\$\\(pulse\\) Mamba: ${path.basename(MODEL)} · ${api.engine.info!.ep}$`));
    assert.equal(api.engine.info!.ep, 'cpu');
  });

  test('the sweep setting is declared, restarts the engine and is recorded in the result and the status tooltip', async () => {
    const api = (await activate()) as unknown as { engine: { status: vscode.StatusBarItem } };
    const cfg = () => vscode.workspace.getConfiguration('mambaExplain');
    assert.equal(cfg().inspect<string>('sweep')?.defaultValue, 'auto');
    const trace = async () =>
      (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as TraceResult;
    try {
      // auto on the CPU: fused for a model this small
      assert.equal((await trace()).provenance.sweep, 'fused');
      await cfg().update('sweep', 'layers', vscode.ConfigurationTarget.Global);
      const r = await trace();
      assert.equal(r.provenance.sweep, 'layers');
      assert.match(String(api.engine.status.tooltip), /knockout sweep layers/);
    } finally {
      await cfg().update('sweep', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('mambaExplain.conv is declared, does not restart the engine, and the next trace and run record conv block', async () => {
    const api = (await activate()) as unknown as Api & { engine: { starts: number; info?: unknown; status: vscode.StatusBarItem } };
    const cfg = () => vscode.workspace.getConfiguration('mambaExplain');
    const ins = cfg().inspect<string>('conv');
    assert.equal(ins?.defaultValue, 'keep');
    const decl = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.configuration.properties['mambaExplain.conv'];
    assert.deepEqual(decl.enum, ['keep', 'block']);
    assert.match(decl.markdownDescription, /d_conv − 1 = 3/);
    const trace = async () =>
      (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as TraceResult;
    const r0 = await trace();
    assert.equal(r0.provenance.conv ?? 'keep', 'keep');
    const starts = api.engine.starts;
    const info = api.engine.info;
    assert.ok(info, 'the engine is open');
    try {
      await cfg().update('conv', 'block', vscode.ConfigurationTarget.Global);
      // give the configuration listener its turn: it must leave the engine alone
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(api.engine.info, info, 'the engine was not stopped by the conv setting');
      const r = await trace();
      assert.equal(r.provenance.conv, 'block');
      assert.equal(api.engine.starts, starts, 'the engine was not restarted');
      assert.equal(api.engine.info, info);
      assert.match(String(api.engine.status.tooltip), /complete knockout \(conv blocked\)/);
      const shown = api.panelMessages().filter((m) => m.type === 'showResult');
      assert.equal((shown[shown.length - 1].result as TraceResult).provenance.conv, 'block', 'the panel got the complete-knockout result');
      // a dataset run takes it too
      const out = (await vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', {
        dataset: path.join(workspaceRoot(), 'facts.json'), experiment: 'macro', windows: [2], limit: 2, filter: false, split: false,
        out: path.join(workspaceRoot(), '.mamba-explain', 'runs', 'conv-block-run.json'),
      })) as string;
      const run = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
      assert.equal(run.provenance.conv, 'block');
      assert.equal(run.settings.conv, 'block');
      fs.rmSync(out, { force: true });
      assert.equal(api.engine.starts, starts, 'still the same engine');
    } finally {
      await cfg().update('conv', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('the bundled Mamba-1 demo model traces, and the heatmap gets channel summaries and one channel on request', async () => {
    const api = await activate();
    const dir = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'models', 'demo-mamba1');
    assert.ok(fs.existsSync(path.join(dir, 'config.json')), `${dir} is shipped`);
    await setModel(dir);
    try {
      const prompt = 'The Eiffel Tower is located in the city of';
      const r = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt, subject: 'The Eiffel Tower', target: '' })) as TraceResult;
      assert.equal(r.kind, 'trace');
      assert.equal(r.provenance.model.arch, 'mamba1');
      assert.equal(r.provenance.model.path, dir);
      assert.equal(r.provenance.conv ?? 'keep', 'keep');
      assert.equal(r.target.text, ' Paris', 'the demo model knows the fact');
      assert.deepEqual(r.subjectPositions, [0, 1, 2, 3, 4]);
      // the heatmap: summaries over all 512 channels, no head matrices, a small payload
      await vscode.commands.executeCommand('mambaExplain.showHeatmap');
      const isM1 = (m: { type: string; payload?: unknown }) => m.type === 'attention' && (m.payload as AttentionWire).prompt === prompt && (m.payload as AttentionWire).unit === 'channel';
      const att = await waitFor('Mamba-1 attention for the heatmap', () => api.heatmapMessages().filter(isM1).pop(), 60_000);
      const p = decodeAttention(att.payload as AttentionWire);
      assert.deepEqual(p.heads, []);
      assert.equal(p.channels!.count, 512);
      assert.equal(p.channels!.mean.length, r.tokens.length);
      assert.equal(p.channels!.maxAbs[3].length, r.tokens.length);
      assert.ok(p.channels!.maxAbs.every((row, i) => row.every((v, j) => v >= Math.abs(p.channels!.mean[i][j]) - 1e-6)), 'max |α| ≥ |mean α|');
      assert.equal(p.channels!.selected, undefined);
      assert.equal(p.model?.arch, 'mamba1');
      assert.ok(JSON.stringify(p).length < 50_000, `the payload stays small (${JSON.stringify(p).length} chars)`);
      assert.ok((att.payload as AttentionWire).channels!.mean instanceof Float64Array, 'typed arrays, not JSON arrays');
      // one channel on request
      assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 1, channel: 5 }), true);
      const sel = decodeAttention(api.heatmapMessages().filter(isM1).pop()!.payload as AttentionWire);
      assert.equal(sel.layer, 1);
      assert.equal(sel.channels!.selected!.id, 5);
      assert.equal(sel.channels!.selected!.matrix.length, r.tokens.length);
      assert.ok(sel.channels!.selected!.matrix[2][7] === 0, 'causal: α[2, 7] = 0 (±0)');
      assert.ok(JSON.stringify(sel).length < 60_000);
      // the same layer, another channel (summaries kept on the host)
      assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 1, channel: 511 }), true);
      const sel2 = decodeAttention(api.heatmapMessages().filter(isM1).pop()!.payload as AttentionWire);
      assert.equal(sel2.channels!.selected!.id, 511);
      assert.deepEqual(sel2.channels!.mean, sel.channels!.mean);
      // out of range: an error in the view, no payload
      assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 1, channel: 512 }), true);
      const last = api.heatmapMessages().pop()!;
      assert.equal(last.type, 'error');
      assert.match(String(last.message), /channel 512 is out of range: the model has channels 0\.\.511/);
      assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 1, channel: -1 }), false, 'negative channels are malformed');
      // the setting also takes the shipped model by name, as the CLI's --model does
      await vscode.workspace.getConfiguration('mambaExplain').update('model', 'demo-mamba1', vscode.ConfigurationTarget.Global);
      const engine = (api as unknown as { engine: { resolveModelDir(): string; status: vscode.StatusBarItem } }).engine;
      assert.equal(engine.resolveModelDir(), dir);
      const again = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt, subject: 'The Eiffel Tower', target: '' })) as TraceResult;
      assert.equal(again.provenance.model.arch, 'mamba1');
      assert.match(engine.status.text, /Mamba: demo-mamba1 · cpu$/);
      assert.match(String(engine.status.tooltip), /Mamba-1, 8 layers, d_model 256/);
    } finally {
      await setModel(MODEL);
    }
  });

  test('feature knockout on the bundled Mamba-1 demo model: groups in the result, the decay histogram, group means in the heatmap', async () => {
    const api = (await activate()) as Api & { engine: { featureCalls: number } };
    const calls0 = api.engine.featureCalls;
    await vscode.workspace.getConfiguration('mambaExplain').update('model', 'demo-mamba1', vscode.ConfigurationTarget.Global);
    try {
      const prompt = 'Beats Music is owned by';
      const trace = (features?: string[], featureMode?: 'only' | 'except', windows = [3]) =>
        vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt, subject: 'Beats Music', target: '', windows, features, featureMode }) as Thenable<TraceResult>;
      const r = await trace(['all', 'fast', 'slow'], 'except');
      assert.equal(r.provenance.model.arch, 'mamba1');
      assert.deepEqual(r.groups!.map((g) => [g.features, g.mode]), [['all', 'except'], ['fast', 'except'], ['slow', 'except']]);
      assert.deepEqual(r.groups![0].windows, r.windows, 'windows = the first group');
      assert.ok(r.groups!.every((g) => g.windows[0].window === 3 && g.windows[0].curves.subject.diffPct.length === 8 - 3 + 1));
      // 'all' is today's trace
      const plain = await trace();
      assert.equal(plain.groups, undefined);
      plain.windows[0].curves.subject.diffPct.forEach((d, i) => assert.ok(Math.abs(d - r.groups![0].windows[0].curves.subject.diffPct[i]) < 1e-6));
      // the panel got the groups and, beside them, the decay histogram of the model (512 channels, thirds 170/172/170)
      const shown = api.panelMessages().filter((m) => m.type === 'showResult');
      assert.equal((shown[shown.length - 1].result as TraceResult).groups, undefined, 'the last one is the plain trace');
      assert.equal((shown[shown.length - 2].result as TraceResult).groups!.length, 3);
      const decay = api.panelMessages().filter((m) => m.type === 'features').pop()!.payload as FeaturesPayload;
      assert.equal(decay.unit, 'channel');
      assert.equal(decay.count, 512);
      assert.equal(decay.nLayers, 8);
      assert.deepEqual([decay.decay.fast.length, decay.decay.middle.length, decay.decay.slow.length], [170, 172, 170]);
      assert.equal(decay.model?.arch, 'mamba1');
      // the webview asks for a layer ('requestDecay'); Show Feature Decay takes one
      assert.equal(await api.simulatePanelMessage({ type: 'requestDecay', layer: 5 }), true);
      assert.equal((api.panelMessages().filter((m) => m.type === 'features').pop()!.payload as FeaturesPayload).layer, 5);
      const viaCommand = (await vscode.commands.executeCommand('mambaExplain.showFeatureDecay', { layer: 7 })) as FeaturesPayload;
      assert.equal(viaCommand.layer, 7);
      await assert.rejects(Promise.resolve(vscode.commands.executeCommand('mambaExplain.showFeatureDecay', { layer: 8 })), /layer 8 is out of range: the model has layers 0\.\.7/);
      // a rerun with features from the panel (validated), one group: `features`, not `groups`
      const before = shown.length;
      assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [3], features: ['heads:1'] }), true, 'well-formed (the engine refuses heads on Mamba-1)');
      const err = api.panelMessages().filter((m) => m.type === 'error').pop();
      assert.match(String(err?.message), /this Mamba-1 model has channels, not heads/);
      assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [3], features: ['nope'] }), false);
      assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [3], featureMode: 'only' }), false);
      assert.equal(await api.simulatePanelMessage({ type: 'rerun', windows: [3], features: ['channels:0-99'], featureMode: 'only' }), true);
      const last = api.panelMessages().filter((m) => m.type === 'showResult').pop()!.result as TraceResult;
      assert.ok(api.panelMessages().filter((m) => m.type === 'showResult').length > before);
      assert.deepEqual(last.features, { features: 'channels:0-99', mode: 'only' });
      assert.equal(last.groups, undefined);
      // the decay scores were asked of the worker once for this model
      assert.equal(api.engine.featureCalls, calls0 + 1);
      // the heatmap: the mean over each third, computed on the host, in a small payload
      await vscode.commands.executeCommand('mambaExplain.showHeatmap');
      assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 2 }), true);
      const att = decodeAttention(api.heatmapMessages().filter((m) => m.type === 'attention').pop()!.payload as AttentionWire);
      assert.equal(att.unit, 'channel');
      assert.deepEqual([att.groups!.fast.count, att.groups!.middle.count, att.groups!.slow.count], [170, 172, 170]);
      assert.equal(att.groups!.fast.units, undefined, 'no channel lists in the payload');
      assert.equal(att.groups!.slow.mean.length, att.tokens.length);
      // the three group means, weighted by their sizes, give the mean over all channels
      const n = att.tokens.length;
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
        const w = (170 * att.groups!.fast.mean[i][j] + 172 * att.groups!.middle.mean[i][j] + 170 * att.groups!.slow.mean[i][j]) / 512;
        assert.ok(Math.abs(w - att.channels!.mean[i][j]) < 1e-5, `(${i}, ${j}): ${w} vs ${att.channels!.mean[i][j]}`);
      }
      assert.ok(JSON.stringify(att).length < 60_000, `the payload stays small (${JSON.stringify(att).length} chars)`);
      assert.equal(api.engine.featureCalls, calls0 + 1, 'still once');
      // conv block: a restricted group is refused before the worker is asked
      await vscode.workspace.getConfiguration('mambaExplain').update('conv', 'block', vscode.ConfigurationTarget.Global);
      try {
        await assert.rejects(Promise.resolve(trace(['fast'], 'only')), /set mambaExplain\.conv to keep/);
      } finally {
        await vscode.workspace.getConfiguration('mambaExplain').update('conv', undefined, vscode.ConfigurationTarget.Global);
      }
    } finally {
      await setModel(MODEL);
    }
  });

  test('Mamba-2: the heatmap offers the mean over the fast / middle / slow heads', async () => {
    const api = await activate();
    await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' });
    await vscode.commands.executeCommand('mambaExplain.showHeatmap');
    assert.equal(await api.simulateHeatmapMessage({ type: 'requestLayer', layer: 0 }), true);
    const att = decodeAttention(api.heatmapMessages().filter((m) => m.type === 'attention').pop()!.payload as AttentionWire);
    assert.equal(att.unit ?? 'head', 'head');
    const units = [...att.groups!.fast.units!, ...att.groups!.middle.units!, ...att.groups!.slow.units!].sort((a, b) => a - b);
    assert.deepEqual(units, att.heads.map((_, h) => h), 'the thirds partition the heads');
    const u = att.groups!.slow.units!;
    const want = (i: number, j: number) => u.reduce((a, h) => a + att.heads[h][i][j], 0) / u.length;
    assert.ok(Math.abs(att.groups!.slow.mean[2][1] - want(2, 1)) < 1e-9);
  });

  test('an experiment run writes a valid results file under .mamba-explain/runs and opens it', async () => {
    const api = await activate();
    const dataset = path.join(workspaceRoot(), 'facts.json');
    const out = (await vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', {
      dataset, experiment: 'macro', windows: [2], limit: 3, filter: false, split: false,
    })) as string;
    assert.ok(out, 'the command returns the results file');
    assert.equal(path.dirname(out), path.join(workspaceRoot(), '.mamba-explain', 'runs'));
    assert.match(path.basename(out), /^\d{8}-\d{6}-facts-macro\.json$/);
    const r = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
    assert.equal(r.kind, 'dataset-run');
    assert.equal(r.status, 'complete');
    assert.equal(r.experiment, 'macro');
    assert.equal(r.prompts.length + r.skipped.length, 3);
    assert.ok(r.aggregate.windows.length === 1 && r.aggregate.windows[0].window === 2);
    assert.ok(!fs.existsSync(out + '.partial.json'), 'no checkpoint left after a complete run');
    const shown = api.panelMessages().filter((m) => m.type === 'showResult');
    assert.equal((shown[shown.length - 1].result as DatasetRunResult).kind, 'dataset-run');
    // and Open Results File redraws it
    const opened = (await vscode.commands.executeCommand('mambaExplain.openResultsFile', vscode.Uri.file(out))) as DatasetRunResult;
    assert.equal(opened.kind, 'dataset-run');
  });

  test('Open Results File… refuses what the report refuses (the one validating loader): nothing reaches the panel', async () => {
    const api = await activate();
    const dir = path.join(workspaceRoot(), '.mamba-explain');
    fs.mkdirSync(dir, { recursive: true });
    const shown0 = api.panelMessages().filter((m) => m.type === 'showResult').length;
    // a "trace" without provenance, tokens or windows (the command used to check "kind" only and hand it to the panel),
    // a JSON syntax error, and a dataset file
    const files = { 'bad-kind-only.json': JSON.stringify({ kind: 'trace', schemaVersion: 2 }), 'bad-syntax.json': '{\n"kind": ', 'bad-dataset.json': '[{"prompt": "x"}]' };
    for (const [name, text] of Object.entries(files)) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, text);
      assert.equal(await vscode.commands.executeCommand('mambaExplain.openResultsFile', vscode.Uri.file(f)), undefined, name);
    }
    assert.equal(api.panelMessages().filter((m) => m.type === 'showResult').length, shown0, 'no result was shown');
  });

  test('cancelling a run leaves no results file', async () => {
    const api = (await activate()) as Api & { engine: { inFlight: string[] } };
    // long enough to be still running when it is cancelled (the chunk graph ran 400 of these in under 1.5 s)
    const rows = [];
    for (let i = 0; i < 4000; i++) rows.push({ prompt: `Beats Music number ${i} is owned by`, subject: 'Beats Music', target_true: ' Apple' });
    const dataset = path.join(workspaceRoot(), 'many.json');
    fs.writeFileSync(dataset, JSON.stringify(rows));
    const out = path.join(workspaceRoot(), '.mamba-explain', 'runs', 'cancelled-run-micro.json');
    const ac = new AbortController();
    const t0 = Date.now();
    const run = Promise.resolve(vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', { dataset, experiment: 'micro', windows: [2], filter: false, split: false, out, signal: ac.signal }));
    // cancelled while it is in flight (not after a fixed delay, which a fast machine can outlast)
    await waitFor('the run in flight', () => api.engine.inFlight.includes('runDataset'), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await assert.rejects(run, (e: Error) => e.name === 'CancelledError' || /cancel/i.test(e.message));
    assert.ok(Date.now() - t0 < 60_000, 'cancellation is prompt');
    assert.ok(!fs.existsSync(out), 'no results file after cancelling');
    const left = fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith('cancelled-run'));
    assert.ok(left.every((f) => f.endsWith('.partial.json')), `only the engine's checkpoint may remain: ${left.join(', ')}`);
    if (left.length > 0) {
      // what the "Resume" action of the cancellation message runs: the same run with resume: true
      const done = (await vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', {
        dataset, experiment: 'micro', windows: [2], filter: false, split: false, out, resume: true,
      })) as string;
      assert.equal(done, out);
      const r = JSON.parse(fs.readFileSync(out, 'utf8')) as DatasetRunResult;
      assert.equal(r.status, 'complete');
      assert.equal(r.prompts.length + r.skipped.length, 4000);
      assert.ok(!fs.existsSync(out + '.partial.json'), 'the checkpoint is removed once the run completes');
      fs.rmSync(out, { force: true });
    }
    for (const f of left) fs.rmSync(path.join(path.dirname(out), f), { force: true });
    fs.rmSync(dataset, { force: true });
  });

  test('CodeLens offers Trace on each record of a COUNTERFACT-style file', async () => {
    const uri = vscode.Uri.file(path.join(workspaceRoot(), 'facts.json'));
    await vscode.window.showTextDocument(uri);
    const found = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri)) as vscode.CodeLens[];
    const ours = found.filter((l) => l.command?.command === 'mambaExplain.traceRecord');
    assert.equal(ours.length, 4);
    const r = (await vscode.commands.executeCommand(ours[0].command!.command, ...(ours[0].command!.arguments ?? []))) as TraceResult;
    assert.equal(r.prompt, 'Beats Music is owned by');
    assert.ok(' Apple'.startsWith(r.target.text), "the record's target (its first token) is traced");
  });
});
