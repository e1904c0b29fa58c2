// The Steering view (WebviewPanel, SPEC §5): the webview sends 'steer' requests (debounced, with increasing ids) and
// gets the next-token distribution clean and steered ('predict' without and with `steer`) and the greedy continuation
// ('generate'); a newer request aborts the one under way and stale replies are dropped. 'findBottleneck' runs
// 'bottlenecks' over a corpus file, 'sweepScales' runs 'steerSweep' over a dataset; both show progress, can be
// cancelled (the notification, or 'cancel' from the view) and send their result to the view.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CancelledError } from '../engine/types';
import type { PredictResult } from '../engine/runtime/methods';
import type { GenerateResult } from '../engine/experiments/generate';
import type { BottleneckResult } from '../engine/experiments/bottlenecks';
import type { SteerSweepResult } from '../engine/experiments/steerSweep';
import { STEER_PRESETS } from '../engine/interventions/steering';
import type { ExportMessage, FindBottleneckMessage, HostToWebview, SteerRequestMessage, SteeringInit, SweepScalesMessage, WebviewToHost } from '../shared/protocol';
import { EngineManager } from './engineManager';
import { WebviewChannel, webviewOptions } from './webviewChannel';
import { fittingPresets, steerParam } from './logic/steering';

export const STEERING_VIEW_TYPE = 'mambaExplain.steering';

export interface SteeringArgs {
  prompt?: string;
  layer?: number;
  channels?: number[];
  scale?: number;
  maxTokens?: number;
}

export interface SteeringHooks {
  /** asks for a corpus file (bottleneck finder) */
  pickCorpus(): Promise<string | undefined>;
  /** asks for a dataset file (scale sweep) */
  pickDataset(): Promise<string | undefined>;
  showError(e: unknown): void;
}

export class SteeringPanel {
  private static current?: SteeringPanel;
  static lastChannel?: WebviewChannel;
  private readonly channel: WebviewChannel;
  private readonly subs: vscode.Disposable[] = [];
  /** the steer request under way (aborted by a newer one) */
  private live?: { id: number; ac: AbortController };
  private latestId = -1;
  /** long work under way (bottleneck finder, sweep) */
  private long?: AbortController;
  /** clean next-token distributions by prompt and top-k (steering does not change them) */
  private cleanCache = new Map<string, PredictResult['top']>();
  private modelHash?: string;
  /** resolved when a steered continuation was posted (test hook) */
  readonly replies: { requestId: number; kind: 'predict' | 'generate' }[] = [];

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineManager,
    private readonly log: vscode.OutputChannel,
    private readonly hooks: SteeringHooks,
  ) {
    panel.webview.options = webviewOptions(context.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'mamba.svg');
    this.channel = new WebviewChannel(panel.webview, log, 'steering view', (m) => this.onMessage(m), ['steerInit', 'bottlenecks', 'steerSweep']);
    SteeringPanel.lastChannel = this.channel;
    this.channel.setHtml(context.extensionUri, 'steering.js', 'Mamba Explain: Steering', 'steering');
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (!e.webviewPanel.visible) this.channel.markHidden();
      }),
    );
  }

  static get active(): SteeringPanel | undefined {
    return SteeringPanel.current;
  }

  /** Opens (or reveals) the view on the current model; `args` set the prompt and the initial controls. */
  static async show(context: vscode.ExtensionContext, engine: EngineManager, log: vscode.OutputChannel, hooks: SteeringHooks, args: SteeringArgs = {}): Promise<SteeringPanel> {
    let p = SteeringPanel.current;
    if (!p) {
      const panel = vscode.window.createWebviewPanel(STEERING_VIEW_TYPE, 'Mamba Explain: Steering', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
        ...webviewOptions(context.extensionUri),
        retainContextWhenHidden: false,
        enableFindWidget: true,
      });
      p = SteeringPanel.current = new SteeringPanel(panel, context, engine, log, hooks);
    } else p.panel.reveal(undefined, false);
    await p.init(args);
    return p;
  }

  static registerSerializer(context: vscode.ExtensionContext, engine: EngineManager, log: vscode.OutputChannel, hooks: SteeringHooks): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(STEERING_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
        SteeringPanel.current?.panel.dispose();
        const p = (SteeringPanel.current = new SteeringPanel(panel, context, engine, log, hooks));
        try {
          await p.init({});
        } catch (e) {
          p.channel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
        }
      },
    });
  }

  private async init(args: SteeringArgs): Promise<void> {
    const client = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Mamba Explain: opening the model…' }, () => this.engine.get());
    const c = client.info.config;
    if (this.modelHash !== client.info.identity.hash) this.cleanCache.clear();
    this.modelHash = client.info.identity.hash;
    const hasInitial = args.layer !== undefined || args.channels !== undefined || args.scale !== undefined || args.maxTokens !== undefined;
    const payload: SteeringInit = {
      prompt: args.prompt ?? '',
      nLayer: c.nLayer,
      dModel: c.dModel,
      model: EngineManager.payloadModel(client),
      ep: client.info.ep,
      presets: fittingPresets(STEER_PRESETS, c.nLayer, c.dModel),
      ...(hasInitial ? { initial: { layer: args.layer, channels: args.channels, scale: args.scale, maxTokens: args.maxTokens } } : {}),
    };
    if (!payload.prompt && !hasInitial) payload.prompt = 'Beats Music is owned by';
    this.channel.post({ type: 'steerInit', payload });
  }

  post(m: HostToWebview): void {
    this.channel.post(m);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    switch (m.type) {
      case 'steer':
        await this.steer(m);
        return;
      case 'findBottleneck':
        await this.findBottleneck(m);
        return;
      case 'sweepScales':
        await this.sweep(m);
        return;
      case 'cancel':
        this.long?.abort();
        return;
      case 'export':
        await this.export(m);
        return;
      case 'log':
        this.log.appendLine(`steering view [${m.level}]: ${m.message}`);
        if (m.level === 'error') void vscode.window.showErrorMessage(`Mamba Explain: ${m.message}`);
        return;
      default:
        return;
    }
  }

  /** One slider position: the clean and steered next-token distributions, then the greedy continuations. */
  private async steer(m: SteerRequestMessage): Promise<void> {
    if (m.requestId <= this.latestId) return; // an older request arriving late
    this.latestId = m.requestId;
    this.live?.ac.abort();
    const ac = new AbortController();
    const live = (this.live = { id: m.requestId, ac });
    const stale = () => this.live !== live;
    const triple = { layer: m.layer, channels: m.channels, scale: m.scale };
    try {
      const client = await this.engine.get();
      const c = client.info.config;
      if (m.layer >= c.nLayer) throw new Error(`layer ${m.layer} is out of range: the model has layers 0..${c.nLayer - 1}`);
      const bad = m.channels.find((ch) => ch >= c.dModel);
      if (bad !== undefined) throw new Error(`channel ${bad} is out of range: the mixer output has channels 0..${c.dModel - 1} (d_model)`);
      if (this.modelHash !== client.info.identity.hash) {
        this.cleanCache.clear();
        this.modelHash = client.info.identity.hash;
      }
      const key = `${m.top}\u0000${m.prompt}`;
      let clean = this.cleanCache.get(key);
      if (!clean) {
        clean = (await client.call<PredictResult>('predict', { prompt: m.prompt, top: m.top }, { signal: ac.signal })).top;
        if (this.cleanCache.size > 32) this.cleanCache.clear();
        this.cleanCache.set(key, clean);
      }
      if (stale()) return;
      const steered = m.scale === 1 ? clean : (await client.call<PredictResult>('predict', { prompt: m.prompt, top: m.top, steer: steerParam(triple) }, { signal: ac.signal })).top;
      if (stale()) return;
      this.channel.post({ type: 'steerPredict', requestId: m.requestId, steer: triple, clean, steered });
      this.replies.push({ requestId: m.requestId, kind: 'predict' });
      if (m.maxTokens === 0) return;
      const result = await client.call<GenerateResult>('generate', { prompt: m.prompt, maxTokens: m.maxTokens, top: 5, steer: steerParam(triple) }, { signal: ac.signal });
      if (stale()) return;
      this.channel.post({ type: 'steerGenerate', requestId: m.requestId, steer: triple, result });
      this.replies.push({ requestId: m.requestId, kind: 'generate' });
    } catch (e) {
      if (stale() || e instanceof CancelledError || ac.signal.aborted) return;
      this.channel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
      this.log.appendLine(`steering view: ${(e as Error)?.stack ?? e}`);
    } finally {
      if (this.live === live) this.live = undefined;
    }
  }

  private async findBottleneck(m: FindBottleneckMessage): Promise<void> {
    const file = m.file ?? (await this.hooks.pickCorpus());
    if (!file) return;
    await this.longWork(`Mamba Explain: finding the bottleneck in ${path.basename(file)}`, `Finding the bottleneck over ${path.basename(file)}…`, async (client, signal, onProgress) => {
      const result = await client.call<BottleneckResult>('bottlenecks', { corpus: file, layer: m.layer, texts: m.texts }, { signal, onProgress });
      this.channel.post({ type: 'bottlenecks', result });
    });
  }

  private async sweep(m: SweepScalesMessage): Promise<void> {
    const file = m.file ?? (await this.hooks.pickDataset());
    if (!file) return;
    await this.longWork(`Mamba Explain: sweeping ${m.scales.length} scales on ${path.basename(file)}`, `Sweeping scales ${m.scales.join(', ')} at layer ${m.layer} over ${path.basename(file)}…`, async (client, signal, onProgress) => {
      const result = await client.call<SteerSweepResult>(
        'steerSweep',
        { dataset: file, layer: m.layer, channels: m.channels, scales: m.scales, metric: m.metric, leaveOneOut: m.leaveOneOut, limit: m.limit },
        { signal, onProgress },
      );
      this.channel.post({ type: 'steerSweep', result });
    });
  }

  /** Long work with a cancellable notification and the view's busy line (its Cancel button posts 'cancel'). */
  private async longWork(
    title: string,
    busy: string,
    work: (client: Awaited<ReturnType<EngineManager['get']>>, signal: AbortSignal, onProgress: (p: { done: number; total: number; message?: string }) => void) => Promise<void>,
  ): Promise<void> {
    if (this.long) {
      this.channel.post({ type: 'error', message: 'Other work is under way in the Steering view: cancel it first.' });
      return;
    }
    const ac = new AbortController();
    this.long = ac;
    this.channel.post({ type: 'busy', message: busy });
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => ac.abort());
        const client = await this.engine.get((msg) => progress.report({ message: msg }));
        let last = 0;
        await work(client, ac.signal, (p) => {
          const pct = p.total > 0 ? (100 * p.done) / p.total : 0;
          progress.report({ increment: Math.max(0, pct - last), message: p.message ?? `${p.done}/${p.total}` });
          last = pct;
        });
      });
      this.channel.post({ type: 'busy' });
    } catch (e) {
      if (e instanceof CancelledError || ac.signal.aborted) {
        this.channel.post({ type: 'busy' });
        void vscode.window.showInformationMessage('Mamba Explain: cancelled.');
        return;
      }
      this.channel.post({ type: 'error', message: String((e as Error)?.message ?? e) });
      this.hooks.showError(e);
    } finally {
      this.long = undefined;
    }
  }

  private async export(m: ExportMessage): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `${m.figure}.${m.format}`;
    const filters = ({ png: { PNG: ['png'] }, svg: { SVG: ['svg'] }, csv: { CSV: ['csv'] }, json: { JSON: ['json'] } } as Record<string, Record<string, string[]>>)[m.format];
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters, saveLabel: 'Export' });
    if (!target) {
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: false, message: 'cancelled' });
      return;
    }
    try {
      await vscode.workspace.fs.writeFile(target, m.encoding === 'base64' ? Buffer.from(m.data, 'base64') : Buffer.from(m.data, 'utf8'));
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: true, path: target.fsPath });
    } catch (e) {
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: false, message: String((e as Error)?.message ?? e) });
    }
  }

  dispose(): void {
    if (SteeringPanel.current === this) SteeringPanel.current = undefined;
    this.live?.ac.abort();
    this.long?.abort();
    this.channel.dispose();
    for (const s of this.subs) s.dispose();
  }
}
