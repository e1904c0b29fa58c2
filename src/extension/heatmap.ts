// Heatmap viewer (WebviewView in the Mamba Explain activity-bar container): attention of the current prompt,
// one layer at a time ('requestLayer' → engine 'attention'), blocked edges of the current knockout outlined.
import * as vscode from 'vscode';
import type { TokenInfo, TraceResult } from '../engine/experiments/resultTypes';
import type { AttentionResult } from '../engine/runtime/methods';
import type { AttentionPayload, AttentionToken, WebviewToHost } from '../shared/protocol';
import type { EngineManager } from './engineManager';
import { WebviewChannel, webviewOptions } from './webviewChannel';

export const HEATMAP_VIEW_ID = 'mambaExplain.heatmap';

interface CurrentPrompt {
  prompt: string;
  tokens: AttentionToken[];
  nLayers: number;
  blocked?: { layers: number[]; edges: [number, number][] };
  model?: { path: string; hash: string };
  /** settings key of the engine that produced the trace */
  layer: number;
}

export class HeatmapViewProvider implements vscode.WebviewViewProvider {
  static lastChannel?: WebviewChannel;
  private view?: vscode.WebviewView;
  private channel?: WebviewChannel;
  private current?: CurrentPrompt;
  private generation = 0;

  constructor(private readonly context: vscode.ExtensionContext, private readonly engine: EngineManager, private readonly log: vscode.OutputChannel) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.context.extensionUri);
    this.channel?.dispose();
    this.channel = new WebviewChannel(view.webview, this.log, 'heatmap viewer', (m) => this.onMessage(m));
    HeatmapViewProvider.lastChannel = this.channel;
    this.channel.setHtml(this.context.extensionUri, 'heatmap.js', 'Mamba Explain: Attention', 'heatmap');
    view.onDidChangeVisibility(() => {
      if (!view.visible) this.channel?.markHidden();
    });
    view.onDidDispose(() => {
      this.channel?.dispose();
      this.channel = undefined;
      this.view = undefined;
    });
    if (this.current) void this.sendLayer(this.current.layer);
  }

  /** Shows the attention of a traced prompt; blocked edges = (last ← subject) in the first window of the first size. */
  async setTrace(trace: TraceResult): Promise<void> {
    const tokens = trace.tokens.map((t: TokenInfo) => ({ text: t.text, start: t.start, end: t.end, role: t.role }));
    const nLayers = trace.provenance.model.nLayer;
    const w = trace.windows[0];
    const layer = Math.max(0, Math.min(nLayers - 1, w ? w.starts[0] ?? 0 : 0));
    const blocked = w
      ? { layers: Array.from({ length: w.window }, (_, i) => (w.starts[0] ?? 0) + i).filter((l) => l < nLayers), edges: trace.subjectPositions.map((s) => [trace.lastPosition, s] as [number, number]) }
      : undefined;
    this.current = { prompt: trace.prompt, tokens, nLayers, blocked, model: { path: trace.provenance.model.path, hash: trace.provenance.model.hash }, layer };
    this.generation++;
    if (this.view) await this.sendLayer(layer);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    if (m.type === 'requestLayer') {
      if (!this.current) return;
      if (m.layer < 0 || m.layer >= this.current.nLayers) {
        this.channel?.post({ type: 'error', message: `layer ${m.layer} is out of range (0..${this.current.nLayers - 1})` });
        return;
      }
      await this.sendLayer(m.layer);
    } else if (m.type === 'log') this.log.appendLine(`heatmap viewer [${m.level}]: ${m.message}`);
  }

  private async sendLayer(layer: number): Promise<void> {
    const cur = this.current;
    if (!cur || !this.channel) return;
    const gen = this.generation;
    this.channel.post({ type: 'busy', message: `attention of layer ${layer}…` });
    try {
      const client = await this.engine.get();
      const r = await client.call<AttentionResult>('attention', { prompt: cur.prompt, layers: [layer] });
      if (gen !== this.generation) return;
      cur.layer = layer;
      const payload: AttentionPayload = { prompt: cur.prompt, tokens: cur.tokens, layer, nLayers: cur.nLayers, heads: r.layers[0].heads ?? [], blocked: cur.blocked, model: cur.model };
      this.channel?.post({ type: 'busy' });
      this.channel?.post({ type: 'attention', payload });
    } catch (e) {
      this.channel?.post({ type: 'error', message: String((e as Error)?.message ?? e) });
    }
  }
}
