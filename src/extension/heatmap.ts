// Heatmap viewer (WebviewView in the Mamba Explain activity-bar container): attention of the current prompt,
// one layer at a time, blocked edges of the current knockout outlined. The attention comes from the traced
// computation: the engine worker keeps the trace's clean forward (traceKept) and 'requestLayer' {requestId} →
// engine 'attentionLayer' {traceId, layer} is one layer call there; the reply's typed arrays go to the webview as
// they are, answered once per request with its id (stale replies are dropped by the webview).
// Mamba-2: every head of the layer. Mamba-1 / Falcon-Mamba: d_inner channels (512 … 5120+), far too many for the
// webview: the worker sends only the mean α and max |α| over all channels, and one channel's α when the webview asks
// for it (`requestLayer.channel`). Both: the mean over each decay third's features (fast / middle / slow, SPEC §4),
// computed in the worker.
import * as vscode from 'vscode';
import type { TokenInfo, TraceResult } from '../engine/experiments/resultTypes';
import type { EngineClient } from '../engine/runtime/client';
import type { AttentionLayerParams, AttentionLayerReply } from '../engine/runtime/keptTraces';
import type { AttentionPayload, AttentionToken, HostToWebview, WebviewToHost } from '../shared/protocol';
import type { AttentionWire } from '../shared/attentionWire';
import { ReplyOnce } from '../shared/requests';
import type { EngineManager } from './engineManager';
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
  /** the engine's kept forward of this trace (traceKept / attentionLayer) and the engine that keeps it */
  traceId?: string;
  traceClient?: EngineClient;
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

  /**
   * Shows the attention of a traced prompt; blocked edges = (last ← subject) in the first window of the first size.
   * `kept`: the engine's kept forward of this trace (traceKept), so layers are one layer call each.
   */
  async setTrace(trace: TraceResult, kept?: { traceId: string; client: EngineClient }): Promise<void> {
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
    this.current = { prompt: trace.prompt, tokens, nLayers, blocked, model, trace, layer, channel, ...(kept ? { traceId: kept.traceId, traceClient: kept.client } : {}) };
    this.generation++;
    if (this.view) await this.sendLayer(layer, channel);
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    if (m.type === 'requestLayer') {
      const reply = new ReplyOnce<HostToWebview>(m.requestId, (r) => this.channel?.post(r));
      try {
        if (!this.current) {
          reply.reply({ type: 'error', message: 'No trace is shown: trace a prompt first.' });
          return;
        }
        if (m.layer < 0 || m.layer >= this.current.nLayers) {
          reply.reply({ type: 'error', message: `layer ${m.layer} is out of range (0..${this.current.nLayers - 1})` });
          return;
        }
        await this.sendLayer(m.layer, m.channel, m.channel !== undefined, reply);
      } finally {
        // one reply per request, whatever happened
        if (!reply.settled) reply.reply({ type: 'error', message: `layer ${m.layer}: no attention (the request was superseded)` });
      }
    } else if (m.type === 'retrace') {
      if (!this.current || !this.retrace) return;
      await this.retrace(this.current.trace);
    } else if (m.type === 'log') this.log.appendLine(`heatmap viewer [${m.level}]: ${m.message}`);
  }

  /**
   * Sends one layer, from the engine's kept trace (one layer call, or none when the worker has it). `channel`: for
   * channel models, also that channel's α; `explicit`: the webview asked for it (an out-of-range channel is then an
   * error; a remembered one is just dropped). `reply`: the request it answers (absent: a push, e.g. a new trace).
   */
  private async sendLayer(layer: number, channel?: number, explicit = false, reply?: ReplyOnce<HostToWebview>): Promise<void> {
    const cur = this.current;
    if (!cur || !this.channel) return;
    const gen = this.generation;
    const answer = (m: HostToWebview) => (reply ? reply.reply(m) : this.channel?.post(m));
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
        answer({ type: 'modelMismatch', message: mismatch, traced: { path: cur.model?.path ?? '', hash: cur.model?.hash ?? '' }, current: { path: id.path, hash: id.hash } });
        return;
      }
      const isChannelModel = client.info.config.arch === 'mamba1';
      if (!isChannelModel && explicit && channel !== undefined) throw new Error(`channel ${channel}: this ${client.info.config.arch} model has heads, not channels`);
      const params: AttentionLayerParams = {
        ...(cur.traceId && cur.traceClient === client ? { traceId: cur.traceId } : {}),
        prompt: cur.prompt,
        layer,
        ...(isChannelModel && channel !== undefined ? { channel, lenientChannel: !explicit } : {}),
      };
      const r = await client.call<AttentionLayerReply>('attentionLayer', params);
      if (gen !== this.generation) return;
      // the worker kept this prompt's forward under this id (a new one when the trace's was not kept)
      cur.traceId = r.traceId;
      cur.traceClient = client;
      if (r.selected) cur.channel = r.selected.id;
      cur.layer = layer;
      this.channel?.post({ type: 'busy' });
      answer({ type: 'attention', payload: wireOf(this.base(cur, layer), r) });
    } catch (e) {
      if (gen !== this.generation) return;
      this.channel?.post({ type: 'busy' });
      answer({ type: 'error', message: String((e as Error)?.message ?? e) });
    }
  }

  private base(cur: CurrentPrompt, layer: number): Omit<AttentionPayload, 'heads' | 'channels' | 'groups' | 'unit'> {
    return { prompt: cur.prompt, tokens: cur.tokens, layer, nLayers: cur.nLayers, blocked: cur.blocked, model: cur.model };
  }
}

/** The webview message of a layer: the engine's typed arrays as they are (no nested arrays on the host thread). */
export function wireOf(base: Omit<AttentionWire, 'n' | 'heads' | 'channels' | 'groups' | 'unit'>, r: AttentionLayerReply): AttentionWire {
  const w: AttentionWire = { ...base, unit: r.unit, n: r.n, heads: r.heads ?? new Float32Array(0) };
  if (r.unit === 'channel' && r.mean && r.maxAbs) w.channels = { count: r.count, mean: r.mean, maxAbs: r.maxAbs, ...(r.selected ? { selected: r.selected } : {}) };
  if (r.groups) w.groups = r.groups;
  return w;
}
