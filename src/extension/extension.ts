// Mamba Explain extension host: commands, knockout panel, heatmap viewer, CodeLens, model settings, status bar.
// Activation is on use only (commands, the view, the panel serializer, JSON files for the CodeLens).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CancelledError, UserError } from '../engine/types';
import type { AnyResult, DatasetRunResult, TraceResult } from '../engine/experiments/resultTypes';
import type { PredictResult } from '../engine/runtime/methods';
import type { TraceKeptResult } from '../engine/runtime/keptTraces';
import { downloadModel, KNOWN_MODELS } from '../engine/hub/index';
import { convSetting, EngineManager, isTrusted, showEngineError } from './engineManager';
import { HeatmapViewProvider, HEATMAP_VIEW_ID } from './heatmap';
import { KnockoutPanel } from './panel';
import { SteeringPanel, type SteeringHooks } from './steering';
import { steeringArgs } from './logic/steering';
import { findTraceableRecords } from './logic/counterfact';
import { formatRate } from './logic/modelRef';
import { openResultsFile } from './logic/openResults';
import { resultsFilePath, runsDir } from './logic/resultsPath';
import { promptFromSelections } from './logic/selection';
import { guessSubject, validateSubject } from './logic/subject';
import { chooseWindows, parseWindows, windowsFromSetting } from './logic/windows';
import { checkModelTrust } from './logic/trust';
import { checkFeatureRun, decayPayload, describeFeatureRun } from './logic/featureGroups';
import type { FeatureMode, FeaturesPayload } from '../shared/protocol';
import { compareWithModel, type CompareArgs } from './compareModel';
import type { Comparable } from './logic/compare';
import type { ComparisonResult } from '../engine/experiments/resultTypes';

/** Arguments for programmatic/test use of the trace command (the UI asks for whatever is missing). */
export interface TraceArgs {
  prompt?: string;
  subject?: string;
  /** '' = the model's top-1 */
  target?: string;
  windows?: number[];
  /** feature knockout (SPEC §4): groups 'all', 'fast', 'middle', 'slow', 'heads:LIST', 'channels:LIST' */
  features?: string[];
  /** 'only' (default) or 'except' */
  featureMode?: FeatureMode;
  signal?: AbortSignal;
}

export interface RunArgs {
  dataset?: string;
  experiment?: 'macro' | 'micro';
  windows?: number[];
  limit?: number;
  filter?: boolean;
  split?: boolean;
  /** results file (default <workspace>/.mamba-explain/runs/<timestamp>-<dataset>-<experiment>.json) */
  out?: string;
  /** continue a cancelled run from <out>.partial.json (same dataset and settings) */
  resume?: boolean;
  signal?: AbortSignal;
}

/** What activate() returns: used by the integration tests. */
export interface MambaExplainApi {
  engine: EngineManager;
  panelMessages(): unknown[];
  heatmapMessages(): unknown[];
  panelReceived(): unknown[];
  heatmapReceived(): unknown[];
  /** feeds a raw message through the panel's / heatmap's validation and handler, as if the webview sent it */
  simulatePanelMessage(raw: unknown): Promise<boolean>;
  simulateHeatmapMessage(raw: unknown): Promise<boolean>;
  steeringMessages(): unknown[];
  steeringReceived(): unknown[];
  simulateSteeringMessage(raw: unknown): Promise<boolean>;
}

let log: vscode.OutputChannel;

const FAMILY_LABEL: Record<string, string> = { mamba2: 'Mamba-2', mamba1: 'Mamba-1', 'falcon-mamba': 'Falcon-Mamba', gpt2: 'GPT-2', gptneox: 'GPT-NeoX (Pythia)' };

export function activate(context: vscode.ExtensionContext): MambaExplainApi {
  log = vscode.window.createOutputChannel('Mamba Explain');
  const engine = new EngineManager(context, log);
  const heatmap = new HeatmapViewProvider(context, engine, log, (t) => rerunTrace(t, t.windows.map((w) => w.window)));
  const callbacks = {
    rerun: (t: TraceResult, windows: number[], features?: string[], featureMode?: FeatureMode) => rerunTrace(t, windows, features, featureMode),
    steering: (prompt?: string) => vscode.commands.executeCommand('mambaExplain.openSteering', prompt ? { prompt } : {}),
    compareModel: async (shown: Comparable) => {
      await compareAndShow(shown, {}, false);
    },
    decay: async (layer: number) => {
      try {
        await sendDecay(layer);
      } catch (e) {
        KnockoutPanel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
        log.appendLine(`feature decay: ${(e as Error)?.stack ?? e}`);
      }
    },
  };

  const cmd = (id: string, f: (...a: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, f));

  async function traceAndShow(args: TraceArgs): Promise<TraceResult | undefined> {
    const { prompt, subject } = args as Required<Pick<TraceArgs, 'prompt' | 'subject'>>;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Mamba Explain: tracing factual flow', cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        args.signal?.addEventListener('abort', () => ac.abort(), { once: true });
        progress.report({ message: 'opening the model…' });
        const client = await engine.get((m) => progress.report({ message: m }));
        const nLayer = client.info.config.nLayer;
        const w = args.windows ? chooseWindows(args.windows, nLayer, 'window sizes') : settingWindows(nLayer);
        if (!w.ok) throw new UserError(w.message);
        const conv = convSetting();
        const bad = checkFeatureRun(args.features, args.featureMode, conv);
        if (bad) throw new UserError(bad);
        const features = args.features ? { features: args.features, featureMode: args.featureMode ?? 'only' } : {};
        KnockoutPanel.post({ type: 'busy', message: `Tracing '${prompt}'${args.features ? ` with feature groups ${describeFeatureRun(args.features, args.featureMode)}` : ''}…` });
        let last = 0;
        // traceKept: the worker keeps the clean forward, so the heatmap's layers are one layer call each
        const { trace: result, traceId } = await client.call<TraceKeptResult>(
          'traceKept',
          { prompt, subject, target: args.target ? args.target : undefined, windows: w.windows, conv, ...features },
          {
            signal: ac.signal,
            onProgress: (p) => {
              const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
              progress.report({ increment: Math.max(0, pct - last), message: p.message ?? `${p.done}/${p.total}` });
              last = pct;
            },
          },
        );
        KnockoutPanel.show(context, log, callbacks, result);
        // a feature knockout comes with the decay histogram of its model (once per panel and model)
        if (args.features) await offerDecay(result);
        await heatmap.setTrace(result, { traceId, client });
        return result;
      },
    );
  }

  /** Sends the panel a decay layer when it shows a feature-knockout result of the open model and has none of it. */
  async function offerDecay(result: TraceResult): Promise<void> {
    try {
      const shown = KnockoutPanel.currentDecay;
      const client = engine.info ? await engine.get() : undefined;
      if (!client || client.info.identity.hash !== result.provenance.model.hash) return;
      if (shown && shown.model?.hash === client.info.identity.hash) return;
      const w = result.windows[0];
      await sendDecay(Math.max(0, Math.min(client.info.config.nLayer - 1, w?.starts[0] ?? 0)));
    } catch (e) {
      log.appendLine(`feature decay: ${(e as Error)?.message ?? e}`);
    }
  }

  /** The decay scores of one layer of the open model, to the panel (opening it when needed). */
  async function sendDecay(layer: number): Promise<FeaturesPayload | undefined> {
    const { client, report } = await engine.features();
    if (layer < 0 || layer >= report.layers.length) {
      KnockoutPanel.post({ type: 'error', message: `layer ${layer} is out of range (0..${report.layers.length - 1})` });
      return undefined;
    }
    const payload = decayPayload(report, layer, EngineManager.payloadModel(client));
    KnockoutPanel.showFeatures(context, log, callbacks, payload);
    return payload;
  }

  async function rerunTrace(t: TraceResult, windows: number[], features?: string[], featureMode?: FeatureMode): Promise<void> {
    try {
      await traceAndShow({ prompt: t.prompt, subject: t.subject, target: t.target.text, windows, features, featureMode });
    } catch (e) {
      KnockoutPanel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
      // not awaited: the notification stays until dismissed, and the webview's message handler must return
      if (!(e instanceof CancelledError)) void showEngineError(e, context, log);
    }
  }

  /**
   * "Compare with model…": the shown result on one more model, in a worker of its own (the engine's worker and its
   * jobs are left alone), shown as a comparison. Errors go to the panel and a notification; `rethrow` for scripted use.
   */
  async function compareAndShow(shown: Comparable, args: CompareArgs, rethrow: boolean): Promise<ComparisonResult | undefined> {
    try {
      KnockoutPanel.post({ type: 'busy', message: 'Comparing with another model…' });
      const c = await compareWithModel(shown, engine, context.extensionPath, log, args);
      if (!c) {
        KnockoutPanel.post({ type: 'busy' });
        return undefined;
      }
      KnockoutPanel.showComparison(context, log, callbacks, c);
      return c;
    } catch (e) {
      if (e instanceof CancelledError) {
        KnockoutPanel.post({ type: 'busy' });
        void vscode.window.showInformationMessage('Mamba Explain: comparison cancelled; nothing was written.');
        if (rethrow) throw e;
        return undefined;
      }
      KnockoutPanel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
      void showEngineError(e, context, log);
      if (rethrow) throw e;
      return undefined;
    }
  }

  cmd('mambaExplain.compareWithModel', async (arg?: unknown) => {
    const shown = KnockoutPanel.currentComparison ?? KnockoutPanel.currentResult;
    if (!shown) {
      void vscode.window.showErrorMessage('Mamba Explain: trace a prompt, run an experiment or open a results file first: Compare with Model… adds a model to what the knockout panel shows.');
      return undefined;
    }
    return compareAndShow(shown, isArgs(arg) ? (arg as CompareArgs) : {}, isArgs(arg));
  });

  // ------------------------------------------------------------ Trace Factual Flow
  cmd('mambaExplain.traceFactualFlow', async (arg?: unknown) => {
    const args: TraceArgs = isArgs(arg) ? { ...(arg as TraceArgs) } : {};
    try {
      if (args.prompt === undefined) {
        const editor = vscode.window.activeTextEditor;
        const sel = editor
          ? promptFromSelections(editor.selections.map((s) => ({ text: editor.document.getText(s), start: editor.document.offsetAt(s.start), end: editor.document.offsetAt(s.end) })))
          : undefined;
        if (sel) {
          args.prompt = sel.prompt;
          args.subject ??= sel.subject;
        } else {
          args.prompt = await vscode.window.showInputBox({ title: 'Trace Factual Flow', prompt: 'Prompt (e.g. "Beats Music is owned by")', ignoreFocusOut: true });
          if (!args.prompt) return undefined;
        }
      }
      const prompt = args.prompt;
      if (args.subject === undefined) {
        args.subject = await vscode.window.showInputBox({
          title: 'Trace Factual Flow: subject',
          prompt: `The subject inside "${prompt}"`,
          value: guessSubject(prompt),
          ignoreFocusOut: true,
          validateInput: (v) => validateSubject(prompt, v),
        });
        if (args.subject === undefined) return undefined;
      }
      if (args.target === undefined && !isArgs(arg)) {
        args.target = await vscode.window.showInputBox({
          title: 'Trace Factual Flow: target (optional)',
          prompt: "Target token text, e.g. ' Apple' — leave blank for the model's top-1 prediction",
          ignoreFocusOut: true,
        });
        if (args.target === undefined) return undefined;
      }
      const bad = validateSubject(prompt, args.subject);
      if (bad) throw new UserError(bad);
      return await traceAndShow(args);
    } catch (e) {
      if (e instanceof CancelledError) {
        KnockoutPanel.post({ type: 'busy' });
        void vscode.window.showInformationMessage('Mamba Explain: trace cancelled.');
        return undefined;
      }
      KnockoutPanel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
      void showEngineError(e, context, log);
      if (args.signal || isArgs(arg)) throw e;
      return undefined;
    }
  });

  // ------------------------------------------------------------ Run Knockout Experiment
  cmd('mambaExplain.runKnockoutExperiment', async (arg?: unknown) => {
    const args: RunArgs = isArgs(arg) ? { ...(arg as RunArgs) } : arg instanceof vscode.Uri ? { dataset: arg.fsPath } : {};
    const interactive = !isArgs(arg);
    try {
      const root = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
      if (!root && !args.out) throw new UserError('Mamba Explain: open a folder first: results are written to <workspace>/.mamba-explain/runs/.');
      if (!args.dataset) {
        args.dataset = await pickDataset();
        if (!args.dataset) return undefined;
      }
      if (!args.experiment) {
        const e = await vscode.window.showQuickPick(
          [
            { label: 'macro', description: 'block last ← subject / relation / last over windows of layers' },
            { label: 'micro', description: 'block last ← each position, one at a time' },
          ],
          { title: 'Knockout experiment', ignoreFocusOut: true },
        );
        if (!e) return undefined;
        args.experiment = e.label as 'macro' | 'micro';
      }
      const client = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Mamba Explain: opening the model…' }, () => engine.get());
      const nLayer = client.info.config.nLayer;
      if (!args.windows) {
        const sw = settingWindows(nLayer);
        const def = sw.ok ? sw.windows : [Math.max(1, Math.floor(nLayer / 2))];
        const initial = args.experiment === 'micro' ? [def[0]] : def;
        const text = await vscode.window.showInputBox({
          title: `Window sizes (the model has ${nLayer} layers)`,
          value: initial.join(', '),
          ignoreFocusOut: true,
          validateInput: (v) => {
            const w = parseWindows(v);
            if (!w) return 'Enter window sizes separated by commas, e.g. 9, 15';
            if (args.experiment === 'micro' && w.length !== 1) return 'The micro experiment takes exactly one window size.';
            const c = chooseWindows(w, nLayer, 'window sizes');
            return c.ok ? undefined : c.message;
          },
        });
        if (text === undefined) return undefined;
        args.windows = parseWindows(text)!;
      }
      const w = chooseWindows(args.windows, nLayer, 'window sizes');
      if (!w.ok) throw new UserError(w.message);
      if (interactive && args.limit === undefined) {
        const text = await vscode.window.showInputBox({ title: 'Limit (optional)', prompt: 'Most prompts to run (blank = all)', ignoreFocusOut: true, validateInput: (v) => (v.trim() === '' || /^\d+$/.test(v.trim()) && Number(v) > 0 ? undefined : 'A positive whole number, or blank') });
        if (text === undefined) return undefined;
        args.limit = text.trim() === '' ? undefined : Number(text);
      }
      if (interactive && args.filter === undefined) {
        const f = await vscode.window.showQuickPick([{ label: 'Yes', description: 'only prompts whose top-1 is the target (as in the paper)' }, { label: 'No', description: 'every prompt' }], { title: 'Only correctly predicted prompts?', ignoreFocusOut: true });
        if (!f) return undefined;
        args.filter = f.label === 'Yes';
      }
      if (interactive && args.split === undefined) {
        const s = await vscode.window.showQuickPick([{ label: 'No' }, { label: 'Yes', description: 'split by whether the subject includes the first token' }], { title: 'Split the aggregate by subject position?', ignoreFocusOut: true });
        if (!s) return undefined;
        args.split = s.label === 'Yes';
      }
      const out = args.out ?? resultsFilePath(root!, args.dataset, args.experiment, new Date());
      args.out = out;
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Mamba Explain: ${args.experiment} knockout on ${path.basename(args.dataset)}`, cancellable: true },
        async (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort());
          args.signal?.addEventListener('abort', () => ac.abort(), { once: true });
          let last = 0;
          return client.call<DatasetRunResult>(
            'runDataset',
            { dataset: args.dataset, experiment: args.experiment, windows: w.windows, limit: args.limit, filter: args.filter ?? true, split: args.split ?? false, out, resume: args.resume ?? false, conv: convSetting() },
            {
              signal: ac.signal,
              onProgress: (p) => {
                const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
                const extra = formatRate(p.rate, p.etaSeconds);
                progress.report({ increment: Math.max(0, pct - last), message: `${p.done}/${p.total} prompts${extra ? ' · ' + extra : ''}` });
                last = pct;
              },
            },
          );
        },
      );
      if (!fs.existsSync(out)) fs.writeFileSync(out, JSON.stringify(result, null, 1));
      log.appendLine(`results written to ${out}`);
      KnockoutPanel.show(context, log, callbacks, result);
      void vscode.window.showInformationMessage(`Mamba Explain: results written to ${vscode.workspace.asRelativePath(out)}`);
      return out;
    } catch (e) {
      if (e instanceof CancelledError) {
        if (!interactive) throw e;
        // the engine keeps <out>.partial.json at chunk boundaries: offer to continue from it
        const canResume = args.out !== undefined && fs.existsSync(args.out + '.partial.json');
        const pick = await vscode.window.showInformationMessage(
          `Mamba Explain: run cancelled; no results file written.${canResume ? ' Its progress is saved: Resume continues it.' : ''}`,
          ...(canResume ? ['Resume'] : []),
        );
        if (pick === 'Resume') {
          const { signal: _unused, ...again } = args;
          return vscode.commands.executeCommand('mambaExplain.runKnockoutExperiment', { ...again, resume: true });
        }
        return undefined;
      }
      void showEngineError(e, context, log);
      if (!interactive) throw e;
      return undefined;
    }
  });

  async function pickDataset(): Promise<string | undefined> {
    const files = await vscode.workspace.findFiles('**/*.json', '{**/node_modules/**,**/.mamba-explain/**,**/.git/**}', 500);
    const items: (vscode.QuickPickItem & { file?: string })[] = files
      .map((f) => ({ label: path.basename(f.fsPath), description: vscode.workspace.asRelativePath(f), file: f.fsPath }))
      .sort((a, b) => a.description.localeCompare(b.description));
    items.push({ label: '$(folder-opened) Browse…', alwaysShow: true });
    const pick = await vscode.window.showQuickPick(items, { title: 'Dataset (COUNTERFACT / known_1000 JSON)', matchOnDescription: true, ignoreFocusOut: true });
    if (!pick) return undefined;
    if (pick.file) return pick.file;
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'JSON datasets': ['json'] }, title: 'Dataset' });
    return uris?.[0]?.fsPath;
  }

  // ------------------------------------------------------------ Open Results File
  cmd('mambaExplain.openResultsFile', async (arg?: unknown) => {
    let file: string | undefined;
    if (arg instanceof vscode.Uri) file = arg.fsPath;
    else if (typeof arg === 'string') file = arg;
    else if (vscode.window.activeTextEditor?.document.fileName.endsWith('.json') && isResultsDoc(vscode.window.activeTextEditor.document.getText())) file = vscode.window.activeTextEditor.document.fileName;
    if (!file) {
      const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Mamba Explain results': ['json'] }, defaultUri: root ? vscode.Uri.file(runsDir(root)) : undefined, title: 'Open Results File' });
      file = uris?.[0]?.fsPath;
      if (!file) return undefined;
    }
    try {
      // the report's validating loader: one clear error for a file that is not a results file (or has a bad field)
      const { result: data, count, comparison } = openResultsFile(file);
      if (comparison) {
        KnockoutPanel.showComparison(context, log, callbacks, comparison);
        return comparison;
      }
      KnockoutPanel.show(context, log, callbacks, data);
      if (data.kind === 'trace') await heatmap.setTrace(data);
      if (count > 1) void vscode.window.showInformationMessage(`Mamba Explain: ${path.basename(file)} holds ${count} traces; the panel shows the first (\`mamba-explain report --input\` renders them all).`);
      return data;
    } catch (e) {
      void showEngineError(e, context, log);
      return undefined;
    }
  });

  // ------------------------------------------------------------ CodeLens: trace a dataset record
  cmd('mambaExplain.traceRecord', (rec: { prompt: string; subject: string; target?: string }) =>
    vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: rec.prompt, subject: rec.subject, target: rec.target ?? '' }),
  );
  context.subscriptions.push(
    vscode.languages.registerCodeLensProvider(
      [{ language: 'json', scheme: 'file' }, { language: 'jsonc', scheme: 'file' }, { language: 'json', scheme: 'untitled' }],
      {
        provideCodeLenses(doc) {
          if (!vscode.workspace.getConfiguration('mambaExplain').get<boolean>('codeLens', true)) return [];
          if (doc.getText().length > 50_000_000) return [];
          return findTraceableRecords(doc.getText()).map((r) => {
            const pos = doc.positionAt(r.offset);
            return new vscode.CodeLens(new vscode.Range(pos, pos), { title: '$(pulse) Trace', tooltip: `Trace factual flow: ${r.prompt}`, command: 'mambaExplain.traceRecord', arguments: [{ prompt: r.prompt, subject: r.subject, target: r.target }] });
          });
        },
      },
    ),
  );

  // ------------------------------------------------------------ Models
  cmd('mambaExplain.downloadModel', async (arg?: unknown) => {
    let id = typeof arg === 'string' ? arg : undefined;
    if (!id) {
      const pick = await vscode.window.showQuickPick(
        KNOWN_MODELS.map((m) => ({ label: m.id, description: `${FAMILY_LABEL[m.family] ?? m.family} · ${m.format === 'hf' ? 'transformers format (safetensors)' : 'state-spaces (pytorch_model.bin + GPT-NeoX tokenizer)'}` })),
        { title: 'Download a Mamba model from the Hugging Face Hub', ignoreFocusOut: true },
      );
      if (!pick) return undefined;
      id = pick.label;
    }
    try {
      const res = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Mamba Explain: downloading ${id}`, cancellable: true },
        async (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort());
          let last = 0;
          return downloadModel(id!, {
            signal: ac.signal,
            onProgress: (p) => {
              const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
              const mb = (x: number) => (x / 1e6).toFixed(0);
              progress.report({ increment: Math.max(0, pct - last), message: `${p.file ?? ''} ${mb(p.done)}/${mb(p.total)} MB${p.rate ? ` · ${(p.rate / 1e6).toFixed(1)} MB/s` : ''}` });
              last = pct;
            },
          });
        },
      );
      log.appendLine(`downloaded ${id} (${res.commit}${res.fromCache ? ', from the cache' : ''}) → ${res.modelDir}`);
      // not awaited: the command returns as soon as the model is there
      void vscode.window.showInformationMessage(`Mamba Explain: ${id} is ready (${res.modelDir}).`, 'Use This Model').then(async (use) => {
        if (use === 'Use This Model') await vscode.workspace.getConfiguration('mambaExplain').update('model', id, vscode.ConfigurationTarget.Global);
      });
      return res.modelDir;
    } catch (e) {
      if (e instanceof CancelledError || (e as Error)?.name === 'AbortError') {
        void vscode.window.showInformationMessage('Mamba Explain: download cancelled (it resumes next time).');
        return undefined;
      }
      void showEngineError(e, context, log);
      return undefined;
    }
  });

  cmd('mambaExplain.selectModel', async () => {
    const items: (vscode.QuickPickItem & { value?: string; browse?: boolean; download?: boolean })[] = [
      { label: '$(beaker) Embedded demo model', description: 'small Mamba-2 model shipped with the extension', value: '' },
      { label: '$(beaker) Embedded Mamba-1 demo model', description: 'small Mamba-1 model shipped with the extension (one attention matrix per channel)', value: 'demo-mamba1' },
      { label: '$(beaker) Embedded transformer demo model', description: 'small GPT-NeoX (Pythia-layout) model trained on the same facts: the transformer baseline', value: 'demo-transformer' },
      { label: '$(folder-opened) Model folder…', description: 'config.json + weights + tokenizer.json', browse: true },
      ...KNOWN_MODELS.map((m) => ({ label: m.id, description: `${FAMILY_LABEL[m.family] ?? m.family} · Hugging Face Hub (must be downloaded)`, value: m.id })),
      { label: '$(cloud-download) Download Model…', download: true },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'Mamba Explain: model', ignoreFocusOut: true });
    if (!pick) return undefined;
    let value = pick.value;
    if (pick.download) return vscode.commands.executeCommand('mambaExplain.downloadModel');
    if (pick.browse) {
      const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Model folder' });
      if (!uris?.[0]) return undefined;
      value = uris[0].fsPath;
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      const bad = checkModelTrust(value, { trusted: isTrusted(), workspaceFolders: folders });
      if (bad) {
        void vscode.window.showErrorMessage(bad);
        return undefined;
      }
    }
    await vscode.workspace.getConfiguration('mambaExplain').update('model', value, vscode.ConfigurationTarget.Global);
    return value;
  });

  cmd('mambaExplain.showHeatmap', () => vscode.commands.executeCommand(`${HEATMAP_VIEW_ID}.focus`));

  // ------------------------------------------------------------ Show Feature Decay
  cmd('mambaExplain.showFeatureDecay', async (arg?: unknown) => {
    const want = isArgs(arg) ? (arg as { layer?: unknown }).layer : undefined;
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Mamba Explain: decay scores of the features' }, async (progress) => {
        const client = await engine.get((m) => progress.report({ message: m }));
        const nLayer = client.info.config.nLayer;
        if (want !== undefined && !(Number.isInteger(want) && (want as number) >= 0 && (want as number) < nLayer)) {
          throw new UserError(`Mamba Explain: layer ${String(want)} is out of range: the model has layers 0..${nLayer - 1}.`);
        }
        // the layer shown before (same model), else the first window of the panel's trace, else 0
        const shown = KnockoutPanel.currentDecay;
        const r = KnockoutPanel.currentResult;
        const fromTrace = r?.kind === 'trace' && r.provenance.model.hash === client.info.identity.hash ? r.windows[0]?.starts[0] : undefined;
        const layer = (want as number | undefined) ?? (shown?.model?.hash === client.info.identity.hash ? shown.layer : undefined) ?? fromTrace ?? 0;
        return sendDecay(Math.max(0, Math.min(nLayer - 1, layer)));
      });
    } catch (e) {
      void showEngineError(e, context, log);
      if (isArgs(arg)) throw e;
      return undefined;
    }
  });
  // ------------------------------------------------------------ Steering
  const steeringHooks: SteeringHooks = {
    pickCorpus: async () => {
      const root = vscode.workspace.workspaceFolders?.[0]?.uri;
      const uris = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: root, filters: { 'Corpus (text, JSON Lines, COUNTERFACT JSON)': ['txt', 'md', 'jsonl', 'json'], 'All files': ['*'] }, title: 'Corpus for the bottleneck finder' });
      return uris?.[0]?.fsPath;
    },
    pickDataset: () => pickDataset(),
    showError: (e) => void showEngineError(e, context, log),
  };
  cmd('mambaExplain.openSteering', async (arg?: unknown) => {
    const args = steeringArgs(arg);
    if (args.prompt === undefined && !isArgs(arg)) {
      const editor = vscode.window.activeTextEditor;
      const sel = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).trim() : '';
      if (sel && sel.length <= 4000) args.prompt = sel;
    }
    try {
      await SteeringPanel.show(context, engine, log, steeringHooks, args);
      return true;
    } catch (e) {
      void showEngineError(e, context, log);
      if (isArgs(arg)) throw e;
      return false;
    }
  });

  cmd('mambaExplain.predict', async (prompt?: string) => {
    const client = await engine.get();
    return client.call<PredictResult>('predict', { prompt, top: 5 });
  });

  context.subscriptions.push(
    engine,
    log,
    vscode.window.registerWebviewViewProvider(HEATMAP_VIEW_ID, heatmap),
    KnockoutPanel.registerSerializer(context, log, callbacks),
    SteeringPanel.registerSerializer(context, engine, log, steeringHooks),
  );

  return {
    engine,
    panelMessages: () => [...(KnockoutPanel.lastChannel?.posted ?? [])],
    heatmapMessages: () => [...(HeatmapViewProvider.lastChannel?.posted ?? [])],
    panelReceived: () => [...(KnockoutPanel.lastChannel?.received ?? [])],
    heatmapReceived: () => [...(HeatmapViewProvider.lastChannel?.received ?? [])],
    simulatePanelMessage: async (raw) => (await KnockoutPanel.lastChannel?.handle(raw)) ?? false,
    simulateHeatmapMessage: async (raw) => (await HeatmapViewProvider.lastChannel?.handle(raw)) ?? false,
    steeringMessages: () => [...(SteeringPanel.lastChannel?.posted ?? [])],
    steeringReceived: () => [...(SteeringPanel.lastChannel?.received ?? [])],
    simulateSteeringMessage: async (raw) => (await SteeringPanel.lastChannel?.handle(raw)) ?? false,
  };
}

export function deactivate(): void {
  // EngineManager is disposed through context.subscriptions
}

/** Window sizes from the settings for a model of nLayer layers (a user-set value must fit; the default is clipped). */
function settingWindows(nLayer: number) {
  const ins = vscode.workspace.getConfiguration('mambaExplain').inspect<number[]>('defaultWindows');
  const userValue = ins?.workspaceFolderValue ?? ins?.workspaceValue ?? ins?.globalValue;
  return windowsFromSetting(userValue ?? ins?.defaultValue ?? [9, 15], userValue !== undefined, nLayer);
}

function isArgs(a: unknown): boolean {
  return typeof a === 'object' && a !== null && !(a instanceof vscode.Uri) && !Array.isArray(a);
}

function isResultsDoc(text: string): boolean {
  return /"kind"\s*:\s*"(trace|micro|dataset-run|comparison)"/.test(text.slice(0, 2000));
}
