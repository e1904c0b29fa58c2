// Opens the model in the engine worker (one EngineClient at a time), from the settings; status bar item.
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../engine/runtime/client';
import type { SessionInfo } from '../engine/runtime/protocol';
import type { SweepMode } from '../engine/engine';
import type { FeaturesReport } from '../engine/experiments/features';
import type { PayloadModel } from '../shared/protocol';
import { resolveModelRef } from '../engine/hub/index';
import { UserError, type ExecutionProviderChoice } from '../engine/types';
import { modelLabel, modelSetting } from './logic/modelRef';
import { fusedSweepNotice, sweepTooltipLine } from './logic/sweep';
import { checkModelTrust } from './logic/trust';
import { RestartScheduler } from './logic/restart';
import { modelFamily, modelKnockoutLabel } from '../../webview/shared/figures';

export const README_CUDA_ANCHOR = 'enabling-cuda';
const ORT_CUDA_DOCS = 'https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html';

/** GitHub-style slug of a Markdown heading. */
export function headingSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-');
}

/** Opens the README's CUDA section (first heading mentioning CUDA) in the Markdown preview, else ONNX Runtime's CUDA docs. */
export async function openCudaHelp(context: vscode.ExtensionContext): Promise<void> {
  const readme = vscode.Uri.joinPath(context.extensionUri, 'README.md');
  let text = '';
  try {
    text = fs.readFileSync(readme.fsPath, 'utf8');
  } catch {
    text = '';
  }
  const h = /^#{1,4}\s+(.*CUDA.*)$/im.exec(text);
  if (!h) {
    await vscode.env.openExternal(vscode.Uri.parse(ORT_CUDA_DOCS));
    return;
  }
  const target = readme.with({ fragment: headingSlug(h[1]) || README_CUDA_ANCHOR });
  await Promise.resolve(vscode.commands.executeCommand('markdown.showPreview', target)).catch(() => vscode.commands.executeCommand('vscode.open', target));
}

export interface ModelChoice {
  /** setting value or embedded demo folder */
  ref: string;
  embedded: boolean;
  ep: ExecutionProviderChoice;
  dtype: 'float32' | 'float16';
  sweep: SweepMode;
}

/**
 * What the engine worker is opened with: a change of any of these restarts it. Per-call parameters (the window
 * sizes, mambaExplain.conv) are not part of it.
 */
export function engineKey(dir: string | undefined, c: Pick<ModelChoice, 'ep' | 'dtype' | 'sweep'>): string {
  return JSON.stringify([dir, c.ep, c.dtype, c.sweep]);
}

/**
 * ONNX Runtime threads of the extension's engine: every core but one, so that a long run leaves a core to the
 * extension host and the window (issue 16; the CLI takes them all).
 */
export function engineThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** The conv path of knockouts (mambaExplain.conv, SPEC §8): a parameter of each trace / micro / dataset call. */
export function convSetting(): 'keep' | 'block' {
  return vscode.workspace.getConfiguration('mambaExplain').get<string>('conv', 'keep') === 'block' ? 'block' : 'keep';
}

export class EngineManager implements vscode.Disposable {
  private client?: EngineClient;
  private key?: string;
  /** how many times an engine worker was started (tests: a per-call setting must not restart it) */
  starts = 0;
  private starting?: Promise<EngineClient>;
  /** the decay scores of the open model (the worker's `features`), fetched once per engine */
  private featureCache?: { client: EngineClient; report: Promise<FeaturesReport> };
  /** how many times `features` was asked of a worker (tests: once per model) */
  featureCalls = 0;
  readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  /**
   * Restarts for changed engine settings, never under a call in flight (issue 16). `ask` shows the notice (tests
   * may replace it to pick an action).
   */
  ask: (message: string, ...actions: string[]) => PromiseLike<string | undefined> = (message, ...actions) => vscode.window.showInformationMessage(message, ...actions);
  readonly restarts = new RestartScheduler({
    inFlight: () => this.client?.inFlight ?? [],
    whenIdle: () => this.client?.whenIdle() ?? Promise.resolve(),
    cancelAll: () => this.client?.cancelAll(),
    stillChanged: () => this.client !== undefined && this.currentKey() !== this.key,
    stop: () => this.stop(),
    ask: (message, ...actions) => {
      this.log.appendLine(message);
      return this.ask(message, ...actions);
    },
  });

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: vscode.OutputChannel) {
    this.status = vscode.window.createStatusBarItem('mambaExplain.status', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Mamba Explain';
    this.status.command = 'mambaExplain.selectModel';
    this.disposables.push(
      this.status,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('mambaExplain')) {
          void this.restartIfChanged();
          this.updateStatus();
        }
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.updateStatus()),
    );
    this.updateStatus();
    this.status.show();
  }

  choice(): ModelChoice {
    const cfg = vscode.workspace.getConfiguration('mambaExplain');
    const { ref, embedded } = modelSetting(cfg.get<string>('model'), this.context.extensionPath);
    const ep = cfg.get<string>('executionProvider', 'auto');
    const dtype = cfg.get<string>('dtype', 'float32');
    const sweep = cfg.get<string>('sweep', 'auto');
    return {
      ref,
      embedded,
      ep: (['auto', 'cuda', 'webgpu', 'cpu'].includes(ep) ? ep : 'auto') as ExecutionProviderChoice,
      dtype: dtype === 'float16' ? 'float16' : 'float32',
      sweep: (['auto', 'fused', 'layers'].includes(sweep) ? sweep : 'auto') as SweepMode,
    };
  }

  /** the (model, reason) pairs whose fused-sweep failure was shown */
  private readonly sweepNoticesShown = new Set<string>();
  /** test hook: the fused-sweep notices shown */
  readonly sweepNotices: string[] = [];

  get info(): SessionInfo | undefined {
    return this.client?.info;
  }

  /** The methods of the running engine's calls in flight. */
  get inFlight(): string[] {
    return this.client?.inFlight ?? [];
  }

  updateStatus(): void {
    const c = this.choice();
    const label = modelLabel(c.ref, c.embedded);
    const ep = this.client ? this.client.ep : c.ep;
    this.status.text = `$(pulse) Mamba: ${label} · ${ep}`;
    this.status.tooltip = this.client
      ? `Mamba Explain: ${this.client.info.identity.path}\n${modelFamily({ arch: this.client.info.config.arch, variant: this.client.info.identity.variant })}, ${this.client.info.config.nLayer} layers, d_model ${this.client.info.config.dModel}\nexecution provider in use: ${this.client.ep} (setting: ${c.ep}), compute ${this.client.info.computeDType}, ${sweepTooltipLine(this.client.info)}, ${modelKnockoutLabel(this.client.info.config, convSetting())}\nClick to select a model.`
      : `Mamba Explain: ${c.ref} (not loaded yet; provider setting: ${c.ep}). Click to select a model.`;
  }

  /** Resolves the model setting to a folder, refusing workspace models in an untrusted workspace. Throws UserError. */
  resolveModelDir(c = this.choice()): string {
    let dir: string;
    try {
      dir = resolveModelRef(c.ref);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`Mamba Explain: ${e.message} (setting mambaExplain.model).`);
      throw e;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => realPath(f.uri.fsPath));
    // real paths: a link from outside into the workspace (or the reverse) must not get around the check
    const trustError = checkModelTrust(dir, { trusted: isTrusted(), workspaceFolders: folders }) ?? checkModelTrust(realPath(dir), { trusted: isTrusted(), workspaceFolders: folders });
    if (trustError) throw new UserError(trustError);
    if (!fs.existsSync(dir)) {
      throw new UserError(
        c.embedded
          ? `Mamba Explain: the embedded demo model is missing (${dir}). Reinstall the extension or set mambaExplain.model.`
          : `Mamba Explain: the model folder ${dir} does not exist (setting mambaExplain.model). Download a model or select another one.`,
      );
    }
    if (!fs.existsSync(path.join(dir, 'config.json'))) throw new UserError(`Mamba Explain: ${dir} has no config.json: it is not a Mamba model folder (setting mambaExplain.model).`);
    return dir;
  }

  /** The running engine for the current settings, starting it when needed. */
  async get(progress?: (message: string) => void): Promise<EngineClient> {
    const c = this.choice();
    const dir = this.resolveModelDir(c);
    const key = engineKey(dir, c);
    if (this.client && this.key === key) return this.client;
    if (this.starting && this.key === key) return this.starting;
    if (this.client && (this.restarts.waiting || this.client.inFlight.length > 0)) {
      // the running calls finish (or are cancelled by the user) before the engine restarts with the new settings
      progress?.('waiting for the running engine call to finish (engine settings changed)…');
      await this.restarts.request();
      return this.get(progress);
    }
    await this.stop();
    this.key = key;
    this.log.appendLine(`opening ${dir} (execution provider ${c.ep}, ${c.dtype})`);
    this.starts++;
    const started = EngineClient.start({
      modelDir: dir,
      ep: c.ep,
      computeDType: c.dtype,
      sweep: c.sweep,
      threads: engineThreads(),
      workerPath: path.join(this.context.extensionPath, 'dist', 'worker.js'),
      onProgress: (p) => progress?.(p.message ?? `opening the model ${p.done}/${p.total}`),
    });
    this.starting = started;
    try {
      const client = await started;
      if (this.key !== key) {
        await client.dispose();
        throw new Error('model settings changed while opening the model');
      }
      this.client = client;
      this.log.appendLine(`model ready: ${client.info.config.nLayer} layers, provider ${client.ep}`);
      const notice = fusedSweepNotice(client.info, this.sweepNoticesShown);
      if (notice) {
        this.log.appendLine(`fused chunk graph not loaded: ${client.info.fusedSweepError}`);
        this.sweepNotices.push(notice);
        void vscode.window.showInformationMessage(notice);
      }
      return client;
    } catch (e) {
      if (this.key === key) this.key = undefined;
      throw e;
    } finally {
      if (this.starting === started) this.starting = undefined;
      this.updateStatus();
    }
  }

  /**
   * The decay scores and thirds of every layer of the current model (SPEC §4), with the client they came from:
   * asked of the worker once per engine and kept (a failed call is asked again next time).
   */
  async features(progress?: (message: string) => void): Promise<{ client: EngineClient; report: FeaturesReport }> {
    const client = await this.get(progress);
    if (this.featureCache?.client !== client) {
      this.featureCalls++;
      const report = client.call<FeaturesReport>('features', {});
      this.featureCache = { client, report };
      report.catch(() => {
        if (this.featureCache?.report === report) this.featureCache = undefined;
      });
    }
    return { client, report: await this.featureCache.report };
  }

  /** The open model as payloads name it (path, hash, family). */
  static payloadModel(client: EngineClient): PayloadModel {
    const id = client.info.identity;
    return { path: id.path, hash: id.hash, ...(id.arch ? { arch: id.arch } : {}), ...(id.variant ? { variant: id.variant } : {}) };
  }

  /** The engine key of the current settings (model folder undefined when it cannot be resolved). */
  private currentKey(): string {
    const c = this.choice();
    let dir: string | undefined;
    try {
      dir = this.resolveModelDir(c);
    } catch {
      dir = undefined;
    }
    return engineKey(dir, c);
  }

  /** A setting changed: restart when it is one the engine uses, once the calls in flight are done. */
  private async restartIfChanged(): Promise<void> {
    if (!this.client) return;
    await this.restarts.request();
    this.updateStatus();
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.key = undefined;
    this.featureCache = undefined;
    if (c) await c.dispose().catch(() => undefined);
    this.updateStatus();
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) d.dispose();
  }
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Workspace trust; tests may force "untrusted" through MAMBA_EXPLAIN_FORCE_UNTRUSTED=1. */
export function isTrusted(): boolean {
  if (process.env.MAMBA_EXPLAIN_FORCE_UNTRUSTED === '1') return false;
  return vscode.workspace.isTrusted;
}

/** Shows an engine error with the right actions (download/select model, CUDA help). */
export async function showEngineError(e: unknown, context: vscode.ExtensionContext, log: vscode.OutputChannel): Promise<void> {
  const err = e as Error;
  const message = err?.message ?? String(e);
  log.appendLine(`error: ${err?.stack ?? message}`);
  const actions: string[] = [];
  if (/cuda|webgpu|execution provider|provider/i.test(message)) actions.push('How to enable CUDA');
  if (/does not exist|is not downloaded|demo model is missing|no config\.json/i.test(message)) actions.push('Download Model…', 'Select Model…');
  const text = message.startsWith('Mamba Explain') ? message : `Mamba Explain: ${message}`;
  const pick = await vscode.window.showErrorMessage(text, ...actions);
  if (pick === 'How to enable CUDA') await openCudaHelp(context); else if (pick === 'Download Model…') await vscode.commands.executeCommand('mambaExplain.downloadModel');
  else if (pick === 'Select Model…') await vscode.commands.executeCommand('mambaExplain.selectModel');
}
