// The knockout panel (WebviewPanel): shows a TraceResult / MicroResult / DatasetRunResult; 'rerun' re-runs the
// trace with new windows (and feature groups); 'export' saves figures/data through a save dialog; the feature-decay
// figure gets one layer's decay scores at a time ('requestDecay' → 'features'). Restored after a reload.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnyResult, ComparisonResult, TraceResult } from '../engine/experiments/resultTypes';
import type { ExportMessage, FeatureMode, FeaturesPayload, HostToWebview, WebviewToHost } from '../shared/protocol';
import { reportFileName, writePanelReport } from './logic/report';
import { jsonLongerThan } from './logic/jsonSize';
import { comparisonReportName, comparisonTitle, type Comparable } from './logic/compare';
import { WebviewChannel, webviewOptions } from './webviewChannel';

export const PANEL_VIEW_TYPE = 'mambaExplain.knockout';
const STATE_KEY = 'mambaExplain.panel.lastResult';

export interface PanelCallbacks {
  /** re-trace the panel's prompt with these windows; with `features`, as a feature knockout of these groups */
  rerun(trace: TraceResult, windows: number[], features?: string[], featureMode?: FeatureMode): Promise<void>;
  /** send the decay scores of this layer of the current model ('features') */
  decay(layer: number): Promise<void>;
  /** open the Steering view (on this prompt) */
  steering?(prompt?: string): Thenable<unknown>;
  /** run the shown trace, micro result, dataset run or comparison on one more model and show the comparison */
  compareModel?(shown: Comparable): Promise<void>;
}

export class KnockoutPanel {
  private static current?: KnockoutPanel;
  /** test hook: the channel of the last panel (survives disposal) */
  static lastChannel?: WebviewChannel;
  private readonly channel: WebviewChannel;
  private result?: AnyResult;
  /** a comparison of several models, shown instead of `result` */
  private comparison?: ComparisonResult;
  /** the decay layer shown last */
  private decay?: FeaturesPayload;
  private readonly subs: vscode.Disposable[] = [];

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.OutputChannel,
    private readonly callbacks: PanelCallbacks,
  ) {
    panel.webview.options = webviewOptions(context.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'mamba.svg');
    this.channel = new WebviewChannel(panel.webview, log, 'knockout panel', (m) => this.onMessage(m));
    KnockoutPanel.lastChannel = this.channel;
    this.channel.setHtml(context.extensionUri, 'panel.js', 'Mamba Explain: Knockout', 'panel');
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        // retainContextWhenHidden is false: the document is destroyed while hidden and posts 'ready' again when
        // shown; the channel then re-sends the current result.
        if (!e.webviewPanel.visible) this.channel.markHidden();
      }),
    );
  }

  static show(context: vscode.ExtensionContext, log: vscode.OutputChannel, callbacks: PanelCallbacks, result: AnyResult): KnockoutPanel {
    const p = KnockoutPanel.open(context, log, callbacks, titleOf(result));
    p.showResult(result);
    return p;
  }

  /** Shows one layer's decay scores in the panel (opening it, without a result, when there is none). */
  static showFeatures(context: vscode.ExtensionContext, log: vscode.OutputChannel, callbacks: PanelCallbacks, payload: FeaturesPayload): KnockoutPanel {
    const p = KnockoutPanel.open(context, log, callbacks, 'Mamba Explain: Feature decay');
    p.showFeatures(payload);
    return p;
  }

  private static open(context: vscode.ExtensionContext, log: vscode.OutputChannel, callbacks: PanelCallbacks, title: string): KnockoutPanel {
    let p = KnockoutPanel.current;
    if (!p) {
      const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        ...webviewOptions(context.extensionUri),
        retainContextWhenHidden: false,
        enableFindWidget: true,
      });
      p = KnockoutPanel.current = new KnockoutPanel(panel, context, log, callbacks);
    } else p.panel.reveal(undefined, true);
    return p;
  }

  static registerSerializer(context: vscode.ExtensionContext, log: vscode.OutputChannel, callbacks: PanelCallbacks): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        KnockoutPanel.current?.panel.dispose();
        const p = (KnockoutPanel.current = new KnockoutPanel(panel, context, log, callbacks));
        const st = state as { result?: AnyResult; comparison?: ComparisonResult } | undefined;
        const saved = st?.comparison ?? st?.result ?? context.workspaceState.get<AnyResult | ComparisonResult>(STATE_KEY);
        if (saved && typeof saved === 'object' && saved.kind === 'comparison') p.showComparison(saved);
        else if (saved && typeof saved === 'object' && 'kind' in saved) p.showResult(saved);
      },
    });
  }

  static get currentResult(): AnyResult | undefined {
    return KnockoutPanel.current?.result;
  }

  /** The comparison the open panel shows, if any. */
  static get currentComparison(): ComparisonResult | undefined {
    return KnockoutPanel.current?.comparison;
  }

  /** Shows a comparison in the panel (opening it when needed). */
  static showComparison(context: vscode.ExtensionContext, log: vscode.OutputChannel, callbacks: PanelCallbacks, c: ComparisonResult): KnockoutPanel {
    const p = KnockoutPanel.open(context, log, callbacks, comparisonTitle(c));
    p.showComparison(c);
    return p;
  }

  showComparison(c: ComparisonResult): void {
    this.comparison = c;
    this.result = undefined;
    this.panel.title = comparisonTitle(c);
    this.channel.post({ type: 'showComparison', result: c });
    void this.context.workspaceState.update(STATE_KEY, jsonLongerThan(c, 4_000_000) ? undefined : c);
  }

  /** The decay layer the open panel shows, if any. */
  static get currentDecay(): FeaturesPayload | undefined {
    return KnockoutPanel.current?.decay;
  }

  showFeatures(payload: FeaturesPayload): void {
    this.decay = payload;
    this.channel.post({ type: 'features', payload });
  }

  showResult(result: AnyResult): void {
    this.result = result;
    this.comparison = undefined;
    this.panel.title = titleOf(result);
    this.channel.post({ type: 'showResult', result });
    // keep small results for restoring after a reload (measured without writing the JSON of a large one)
    void this.context.workspaceState.update(STATE_KEY, jsonLongerThan(result, 4_000_000) ? undefined : result);
  }

  post(m: HostToWebview): void {
    this.channel.post(m);
  }

  static post(m: HostToWebview): void {
    KnockoutPanel.current?.post(m);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    switch (m.type) {
      case 'rerun': {
        if (this.result?.kind !== 'trace') {
          this.channel.post({ type: 'error', message: 'Re-running needs a single-prompt trace in the panel.' });
          return;
        }
        await this.callbacks.rerun(this.result, m.windows, m.features, m.featureMode);
        return;
      }
      case 'compareModel': {
        const shown = this.comparison ?? this.result;
        if (!shown) {
          this.channel.post({ type: 'error', message: 'There is no result in the panel to compare.' });
          return;
        }
        await this.callbacks.compareModel?.(shown);
        return;
      }
      case 'requestDecay':
        await this.callbacks.decay(m.layer);
        return;
      case 'openSteering':
        await this.callbacks.steering?.(m.prompt ?? (this.result?.kind === 'trace' || this.result?.kind === 'micro' ? this.result.prompt : undefined));
        return;
      case 'export':
        await this.export(m);
        return;
      case 'exportReport':
        await this.exportReport();
        return;
      case 'openFile': {
        if (!fs.existsSync(m.path)) {
          this.log.appendLine(`knockout panel: openFile ignored, no such file ${m.path}`);
          return;
        }
        await vscode.window.showTextDocument(vscode.Uri.file(m.path), { preview: true, viewColumn: vscode.ViewColumn.One });
        return;
      }
      case 'log': {
        this.log.appendLine(`knockout panel [${m.level}]: ${m.message}`);
        if (m.level === 'error') void vscode.window.showErrorMessage(`Mamba Explain: ${m.message}`);
        else if (m.level === 'warn') void vscode.window.showWarningMessage(`Mamba Explain: ${m.message}`);
        return;
      }
      default:
        return;
    }
  }

  /** "Export report…": a save dialog, then the standalone HTML report of the result shown. */
  private async exportReport(): Promise<void> {
    const result = this.comparison ?? this.result;
    if (!result) {
      this.channel.post({ type: 'exported', figure: 'report', format: 'html', ok: false, message: 'There is no result in the panel to export.' });
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = result.kind === 'comparison' ? comparisonReportName(result) : reportFileName(result);
    const target = await (KnockoutPanel.saveDialog ?? vscode.window.showSaveDialog)({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { 'HTML report': ['html'] },
      saveLabel: 'Export report',
      title: 'Export the knockout report',
    });
    if (!target) {
      this.channel.post({ type: 'exported', figure: 'report', format: 'html', ok: false, message: 'cancelled' });
      return;
    }
    const kind = vscode.window.activeColorTheme.kind;
    const dark = kind === vscode.ColorThemeKind.Dark || kind === vscode.ColorThemeKind.HighContrast;
    // a comparison renders through the report kind it registers (src/report/compareReport.ts)
    const outcome = writePanelReport(result as AnyResult, target.fsPath, dark);
    if (outcome.ok) {
      this.log.appendLine(`knockout panel: report written to ${outcome.path}`);
      this.channel.post({ type: 'exported', figure: 'report', format: 'html', ok: true, path: outcome.path });
      void vscode.window.showInformationMessage(`Mamba Explain: saved the report ${path.basename(outcome.path)}`);
    } else {
      this.log.appendLine(`knockout panel: ${outcome.message}`);
      this.channel.post({ type: 'exported', figure: 'report', format: 'html', ok: false, message: outcome.message });
      void vscode.window.showErrorMessage(`Mamba Explain: ${outcome.message}`);
    }
  }

  /** test hook: replaces the save dialog of "Export report…" */
  static saveDialog?: (o: vscode.SaveDialogOptions) => Thenable<vscode.Uri | undefined>;

  private async export(m: ExportMessage): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `${m.figure}.${m.format}`;
    const filters: Record<string, string[]> = { png: { PNG: ['png'] }, svg: { SVG: ['svg'] }, csv: { CSV: ['csv'] }, json: { JSON: ['json'] } }[m.format] as unknown as Record<string, string[]>;
    const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters, saveLabel: 'Export' });
    if (!target) {
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: false, message: 'cancelled' });
      return;
    }
    try {
      const bytes = m.encoding === 'base64' ? Buffer.from(m.data, 'base64') : Buffer.from(m.data, 'utf8');
      await vscode.workspace.fs.writeFile(target, bytes);
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: true, path: target.fsPath });
      void vscode.window.showInformationMessage(`Mamba Explain: saved ${path.basename(target.fsPath)}`);
    } catch (e) {
      this.channel.post({ type: 'exported', figure: m.figure, format: m.format, ok: false, message: String((e as Error)?.message ?? e) });
    }
  }

  dispose(): void {
    if (KnockoutPanel.current === this) KnockoutPanel.current = undefined;
    this.channel.dispose();
    for (const s of this.subs) s.dispose();
  }
}

function titleOf(r: AnyResult): string {
  if (r.kind === 'trace') return `Knockout: ${truncate(r.prompt)}`;
  if (r.kind === 'micro') return `Micro knockout: ${truncate(r.prompt)}`;
  return `Knockout run: ${path.basename(r.dataset.file)} (${r.experiment})`;
}

function truncate(s: string, n = 40): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
