// "Compare with model…" of the knockout panel: pick a model (as Select Model… offers them), run the panel's trace,
// micro result or dataset run on it in an engine worker of its own — the extension's engine keeps its model and any job
// it runs — and show the comparison (the panel's models plus the new one). Progress and cancel in a notification.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CancelledError, UserError } from '../engine/types';
import { KNOWN_MODELS, resolveModelRef } from '../engine/hub/index';
import { comparedModel, comparisonProgressFiles, comparisonWindowSizes, runComparison, type ModelToCompare } from '../engine/experiments/compare';
import { workerOpener } from '../engine/experiments/compareSessions';
import type { ComparisonResult } from '../engine/experiments/resultTypes';
import type { EngineManager } from './engineManager';
import { engineThreads, isTrusted } from './engineManager';
import { checkModelTrust } from './logic/trust';
import { modelSetting } from './logic/modelRef';
import { comparisonFilePath, comparisonRequest, shownModels, type Comparable } from './logic/compare';
import { formatRate } from './logic/modelRef';

const FAMILY_LABEL: Record<string, string> = { mamba2: 'Mamba-2', mamba1: 'Mamba-1', 'falcon-mamba': 'Falcon-Mamba', gpt2: 'GPT-2', gptneox: 'GPT-NeoX (Pythia)' };

/** Arguments for tests and scripted use (the UI asks for what is missing). */
export interface CompareArgs {
  /** the model: '' / 'demo' / 'demo-mamba1', a folder or a downloaded Hub id */
  model?: string;
  /** where a dataset comparison is written (default: the workspace's runs folder) */
  out?: string;
  signal?: AbortSignal;
}

/** The quick pick of Select Model…: the embedded demo models, a folder, the known Hub ids. undefined = cancelled. */
async function pickModel(): Promise<string | undefined> {
  const items: (vscode.QuickPickItem & { value?: string; browse?: boolean })[] = [
    { label: '$(beaker) Embedded demo model', description: 'small Mamba-2 model shipped with the extension', value: 'demo' },
    { label: '$(beaker) Embedded Mamba-1 demo model', description: 'small Mamba-1 model shipped with the extension', value: 'demo-mamba1' },
    { label: '$(beaker) Embedded transformer demo model', description: 'small GPT-NeoX (Pythia-layout) model trained on the same facts: the transformer baseline', value: 'demo-transformer' },
    { label: '$(folder-opened) Model folder…', description: 'config.json + weights + tokenizer.json', browse: true },
    ...KNOWN_MODELS.map((m) => ({ label: m.id, description: `${FAMILY_LABEL[m.family] ?? m.family} · Hugging Face Hub (must be downloaded)`, value: m.id })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Mamba Explain: compare with which model?', ignoreFocusOut: true });
  if (!pick) return undefined;
  if (!pick.browse) return pick.value;
  const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Model folder to compare with' });
  return uris?.[0]?.fsPath;
}

/** The picked reference as a checked model: embedded names, Hub ids (must be downloaded), folders (trust). */
function resolvePicked(ref: string, extensionPath: string): ModelToCompare {
  const { ref: setting, embedded } = modelSetting(ref, extensionPath);
  const dir = embedded ? setting : resolveModelRef(setting);
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const real = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  const bad = checkModelTrust(dir, { trusted: isTrusted(), workspaceFolders: folders }) ?? checkModelTrust(real, { trusted: isTrusted(), workspaceFolders: folders.map((f) => (fs.existsSync(f) ? fs.realpathSync(f) : f)) });
  if (bad) throw new UserError(bad);
  return comparedModel(embedded ? (ref.trim() || 'demo') : ref, dir, 'Compare with model');
}

/**
 * Runs the panel's experiment on one more model and returns the comparison (undefined when the pick was cancelled).
 * Throws UserError for a model that cannot be used (missing, untrusted, too shallow for the windows) before any work.
 */
export async function compareWithModel(shown: Comparable, engine: EngineManager, extensionPath: string, log: vscode.OutputChannel, args: CompareArgs = {}): Promise<ComparisonResult | undefined> {
  const ref = args.model ?? (await pickModel());
  if (ref === undefined) return undefined;
  const added = resolvePicked(ref, extensionPath);
  const models = [...shownModels(shown), added];
  let out: string | undefined;
  if ((shown.kind === 'comparison' ? shown.experiment : shown.kind) === 'dataset-run') {
    const root = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
    out = args.out ?? (root ? comparisonFilePath(root, shown, new Date()) : undefined);
    if (!out) throw new UserError('Mamba Explain: open a folder first: a dataset comparison is written to <workspace>/.mamba-explain/runs/.');
    fs.mkdirSync(path.dirname(out), { recursive: true });
  }
  const { method, params } = comparisonRequest(shown, out);
  // the added model runs the windows of the shown result: one that is too deep for it is refused here
  const windows = method === 'micro' ? [(params as { window: number }).window] : (params as { windows: number[] }).windows;
  comparisonWindowSizes(method, method === 'runDataset' ? (params as { experiment: 'macro' | 'micro' }).experiment : method === 'micro' ? 'micro' : 'macro', windows, [added]);
  const c = engine.choice();
  const opener = workerOpener({ ep: c.ep, computeDType: c.dtype, sweep: c.sweep, threads: engineThreads(), workerPath: path.join(extensionPath, 'dist', 'worker.js') });
  log.appendLine(`compare: ${method} on ${added.dir} (${added.nLayer} layers), beside ${models.length - 1} model(s) shown`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Mamba Explain: comparing with ${path.basename(added.dir)}`, cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      token.onCancellationRequested(() => ac.abort());
      args.signal?.addEventListener('abort', () => ac.abort(), { once: true });
      let last = 0;
      let current = -1;
      try {
        return await runComparison(method, params, models, opener, {
          signal: ac.signal,
          onModel: (i, total, m, reused) => {
            if (!reused && !m.result) progress.report({ message: `model ${i + 1}/${total}: opening ${path.basename(m.dir)}…` });
          },
          onProgress: (i, total, p, phase) => {
            if (i !== current) [current, last] = [i, 0];
            const pct = phase === 'run' && p.total > 0 ? (100 * p.done) / p.total : 0;
            const extra = method === 'runDataset' ? formatRate(p.rate, p.etaSeconds) : '';
            progress.report({ increment: Math.max(0, pct - last), message: `model ${i + 1}/${total}: ${phase === 'open' ? 'opening' : `${p.done}/${p.total} ${method === 'runDataset' ? 'prompts' : 'steps'}`}${extra ? ' · ' + extra : ''}` });
            last = phase === 'run' ? pct : last;
          },
        });
      } catch (e) {
        if (e instanceof CancelledError || ac.signal.aborted) {
          // the extension offers no resume of a comparison: a cancelled one leaves nothing behind
          if (out) for (const f of comparisonProgressFiles(out, models.length)) fs.rmSync(f, { force: true });
          throw new CancelledError();
        }
        throw e;
      }
    },
  );
}
