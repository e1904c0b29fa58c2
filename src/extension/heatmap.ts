// Heatmap viewer (WebviewView in the Mamba Explain activity-bar container): attention of the current prompt,
// one layer at a time ('requestLayer' → engine 'attention'), blocked edges of the current knockout outlined.
// Mamba-2: every head of the layer. Mamba-1 / Falcon-Mamba: d_inner channels (512 … 5120+), far too many for the
// webview: the host asks the worker for all of them once per layer, forwards only the mean α and max |α| over all
// channels (kept here per layer), and one channel's α when the webview asks for it (`requestLayer.channel`).
// Both: the mean over each decay third's features (fast / middle / slow, SPEC §4), computed here from the matrices
// the host has, with the model's decay scores (the worker's `features`, fetched once per model).
import * as vscode from 'vscode';
import type { TokenInfo, TraceResult } from '../engine/experiments/resultTypes';
import type { AttentionLayer, AttentionResult } from '../engine/runtime/methods';
import type { FeaturesReport } from '../engine/experiments/features';
import type { AttentionPayload, AttentionToken, ChannelAttention, DecayGroup, GroupMean, WebviewToHost } from '../shared/protocol';
import type { EngineManager } from './engineManager';
import { groupMeans } from './logic/featureGroups';
import { modelMismatchMessage } from './logic/heatmapModel';
import { WebviewChannel, webviewOptions } from './webviewChannel';

export const HEATMAP_VIEW_ID = 'mambaExplain.heatmap';

interface CurrentPrompt {
  prompt: string;
  tokens: AttentionToken[];
  nLayers: number;
  blocked?: { layers: number[]; edges: [number, number][] };
  model?: AttentionPayload['model'];
  /** the trace shown (re-run on the current engine after a model mismatch) */
  trace: TraceResult;
  /** the layer shown last */
  layer: number;
  /** channel models: the channel asked for last (sent along with later layers) */
  channel?: number;
  /** channel models: the summaries over all channels, per layer */
  summaries: Map<number, { count: number; mean: number[][]; maxAbs: number[][]; groups?: Record<DecayGroup, GroupMean> }>;
}

export class HeatmapViewProvider implements vscode.WebviewViewProvider {
  static lastChannel?: WebviewChannel;
  private view?: vscode.WebviewView;
  private channel?: WebviewChannel;
  private current?: CurrentPrompt;
  private generation = 0;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly engine: EngineManager,
    private readonly log: vscode.OutputChannel,
    /** re-runs a trace on the current engine (and shows it here): the "Re-trace with the current model" action */
    private readonly retrace?: (trace: TraceResult) => Promise<void>,
  ) {}

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
    if (this.current) void this.sendLayer(this.current.layer, this.current.channel);
  }

  /** Shows the attention of a traced prompt; blocked edges = (last ← subject) in the first window of the first size. */
  async setTrace(trace: TraceResult): Promise<void> {
    const tokens = trace.tokens.map((t: TokenInfo) => ({ text: t.text, start: t.start, end: t.end, role: t.role }));
    const m = trace.provenance.model;
    const nLayers = m.nLayer;
    const w = trace.windows[0];
    const layer = Math.max(0, Math.min(nLayers - 1, w ? w.starts[0] ?? 0 : 0));
    const blocked = w
      ? { layers: Array.from({ length: w.window }, (_, i) => (w.starts[0] ?? 0) + i).filter((l) => l < nLayers), edges: trace.subjectPositions.map((s) => [trace.lastPosition, s] as [number, number]) }
      : undefined;
    const model: AttentionPayload['model'] = { path: m.path, hash: m.hash, ...(m.arch ? { arch: m.arch } : {}), ...(m.variant ? { variant: m.variant } : {}) };
    // the channel shown before is kept when the next trace is on a channel model too (checked against its count)
    const channel = this.current?.model?.arch === 'mamba1' && m.arch === 'mamba1' ? this.current.channel : undefined;
    this.current = { prompt: trace.prompt, tokens, nLayers, blocked, model, trace, layer, channel, summaries: new Map() };
    this.generation++;
    if (this.view) await this.sendLayer(layer, channel);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    if (m.type === 'requestLayer') {
      if (!this.current) return;
      if (m.layer < 0 || m.layer >= this.current.nLayers) {
        this.channel?.post({ type: 'error', message: `layer ${m.layer} is out of range (0..${this.current.nLayers - 1})` });
        return;
      }
      await this.sendLayer(m.layer, m.channel, m.channel !== undefined);
    } else if (m.type === 'retrace') {
      if (!this.current || !this.retrace) return;
      await this.retrace(this.current.trace);
    } else if (m.type === 'log') this.log.appendLine(`heatmap viewer [${m.level}]: ${m.message}`);
  }

  /**
   * Sends one layer. `channel`: for channel models, also that channel's α; `explicit`: the webview asked for it
   * (an out-of-range channel is then an error; a remembered one is just dropped).
   */
  private async sendLayer(layer: number, channel?: number, explicit = false): Promise<void> {
    const cur = this.current;
    if (!cur || !this.channel) return;
    const gen = this.generation;
    this.channel.post({ type: 'busy', message: channel === undefined ? `attention of layer ${layer}…` : `attention of layer ${layer}, channel ${channel}…` });
    try {
      const client = await this.engine.get();
      // the traced model or nothing: never the matrices of another model than the trace's
      const id = client.info.identity;
      const mismatch = modelMismatchMessage({ path: cur.model?.path ?? cur.trace.provenance.model.path, hash: cur.model?.hash }, { path: id.path, hash: id.hash });
      if (mismatch) {
        if (gen !== this.generation) return;
        this.log.appendLine(`heatmap viewer: ${mismatch}`);
        this.channel?.post({ type: 'busy' });
        this.channel?.post({ type: 'modelMismatch', message: mismatch, traced: { path: cur.model?.path ?? '', hash: cur.model?.hash ?? '' }, current: { path: id.path, hash: id.hash } });
        return;
      }
      const isChannelModel = client.info.config.arch === 'mamba1';
      const report = await this.decayReport();
      let payload: AttentionPayload;
      if (!isChannelModel) {
        if (explicit && channel !== undefined) throw new Error(`channel ${channel}: this ${client.info.config.arch} model has heads, not channels`);
        const r = await client.call<AttentionResult>('attention', { prompt: cur.prompt, layers: [layer] });
        if (gen !== this.generation) return;
        const heads = r.layers[0].heads ?? [];
        const thirds = report?.layers[layer];
        const groups = thirds && report!.count === heads.length ? groupMeans(heads, thirds, true) : undefined;
        payload = { ...this.base(cur, layer), unit: 'head', heads, ...(groups ? { groups } : {}) };
      } else {
        const { groups, ...channels } = await this.channelAttention(cur, layer, channel, explicit, (method, params) => client.call<AttentionResult>(method, params), report);
        if (gen !== this.generation) return;
        if (channels.selected) cur.channel = channels.selected.id;
        payload = { ...this.base(cur, layer), unit: 'channel', heads: [], channels, ...(groups ? { groups } : {}) };
      }
      cur.layer = layer;
      this.channel?.post({ type: 'busy' });
      this.channel?.post({ type: 'attention', payload });
    } catch (e) {
      if (gen !== this.generation) return;
      this.channel?.post({ type: 'error', message: String((e as Error)?.message ?? e) });
    }
  }

  /** The model's decay scores, or undefined when they cannot be had (the heatmap then offers no group means). */
  private async decayReport(): Promise<FeaturesReport | undefined> {
    try {
      return (await this.engine.features()).report;
    } catch (e) {
      this.log.appendLine(`heatmap viewer: no decay groups (${(e as Error)?.message ?? e})`);
      return undefined;
    }
  }

  private base(cur: CurrentPrompt, layer: number): Omit<AttentionPayload, 'heads'> {
    return { prompt: cur.prompt, tokens: cur.tokens, layer, nLayers: cur.nLayers, blocked: cur.blocked, model: cur.model };
  }

  /**
   * The channel summaries of a layer (all channels: one worker call per layer, then kept) and, when asked, one
   * channel's α (`channels: [c]`, a small call, once the summaries are known).
   */
  private async channelAttention(
    cur: CurrentPrompt,
    layer: number,
    channel: number | undefined,
    explicit: boolean,
    call: (method: string, params: { prompt: string; layers: number[]; channels?: number[] }) => Promise<AttentionResult>,
    report?: FeaturesReport,
  ): Promise<ChannelAttention & { groups?: Record<DecayGroup, GroupMean> }> {
    let summary = cur.summaries.get(layer);
    let all: AttentionLayer | undefined;
    if (!summary) {
      all = (await call('attention', { prompt: cur.prompt, layers: [layer] })).layers[0];
      summary = { count: all.channelIds?.length ?? all.channels?.length ?? 0, mean: all.mean ?? [], maxAbs: all.maxAbs ?? [] };
      // the group means from all channels' α, now: only the summaries are kept
      const thirds = report?.layers[layer];
      if (thirds && all.channels && report!.count === summary.count) summary.groups = groupMeans(all.channels, thirds, false, all.channelIds);
      cur.summaries.set(layer, summary);
    }
    const { groups, ...counts } = summary;
    const out: ChannelAttention & { groups?: Record<DecayGroup, GroupMean> } = { ...counts, ...(groups ? { groups } : {}) };
    if (channel === undefined) return out;
    if (channel >= summary.count) {
      if (explicit) throw new Error(`channel ${channel} is out of range: the model has channels 0..${summary.count - 1}`);
      return out;
    }
    let matrix: number[][] | undefined;
    if (all) {
      const k = all.channelIds ? all.channelIds.indexOf(channel) : channel;
      matrix = all.channels?.[k];
    }
    if (!matrix) matrix = (await call('attention', { prompt: cur.prompt, layers: [layer], channels: [channel] })).layers[0].channels?.[0];
    if (matrix) out.selected = { id: channel, matrix };
    return out;
  }
}
