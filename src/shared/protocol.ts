// Typed message protocol between the extension host and the two webviews
// (the KNOCKOUT PANEL and the HEATMAP VIEWER). Plain JSON only; no `vscode` import, so both the
// host bundle and the browser bundles use it.
//
// Handshake: the webview posts {type:'ready'} once its script has loaded; the host buffers every
// host→webview message until then and flushes them in order.
// Every webview→host message is untrusted input: the host must pass it through
// `parseWebviewMessage` and ignore `undefined` (malformed or unknown), never act on the raw value.
import type { AnyResult, ComparisonResult, TokenRole } from '../engine/experiments/resultTypes';
import type { GenerateResult } from '../engine/experiments/generate';
import type { BottleneckResult } from '../engine/experiments/bottlenecks';
import type { SteerSweepResult } from '../engine/experiments/steerSweep';
import type { AttentionWire } from './attentionWire';

/** The decay thirds of the feature knockout (SPEC §4). */
export const DECAY_GROUPS = ['fast', 'middle', 'slow'] as const;
export type DecayGroup = (typeof DECAY_GROUPS)[number];
export type FeatureMode = 'only' | 'except';

export const PROTOCOL_VERSION = 1;

/** Which webview a message belongs to. */
export type WebviewKind = 'panel' | 'heatmap' | 'steering';

// ---------------------------------------------------------------- host → webview

export interface AttentionToken {
  text: string;
  /** [start, end) in UTF-16 code units of the prompt */
  start: number;
  end: number;
  role: TokenRole;
}

/**
 * Mamba-1 / Falcon-Mamba attention of one layer, kept small for the webview: the summaries over ALL `count`
 * channels (d_inner of them) and at most one channel's own matrix.
 */
export interface ChannelAttention {
  /** number of channels of the layer (d_inner) */
  count: number;
  /** mean[i][j] = (1/count) Σ_ch α_ch[i, j] */
  mean: number[][];
  /** maxAbs[i][j] = max_ch |α_ch[i, j]| */
  maxAbs: number[][];
  /** one channel's α, when the webview asked for it (requestLayer.channel) */
  selected?: { id: number; matrix: number[][] };
}

/**
 * The mean attention over the features of one decay group of a layer (SPEC §4), computed by the host from the
 * matrices it has: the webview gets the matrix only (a Mamba-1 layer has d_inner channels).
 */
export interface GroupMean {
  /** how many heads / channels the group has in this layer */
  count: number;
  /** Mamba-2: the group's heads (ascending); absent for channel models (too many to be worth sending) */
  units?: number[];
  /** mean[i][j] = (1/count) Σ_{u ∈ group} M_u[i, j] (resp. α_u) */
  mean: number[][];
}

/** One layer of attention matrices of the current prompt, for the heatmap viewer. */
export interface AttentionPayload {
  prompt: string;
  tokens: AttentionToken[];
  /** 0-based layer index of `heads` */
  layer: number;
  nLayers: number;
  /** what one attention matrix belongs to: a Mamba-2 head, or a Mamba-1 channel; absent = 'head' */
  unit?: 'head' | 'channel';
  /** heads[h][i][j] = M_h[i, j] (row i attends to column j; lower-triangular); [] for channel models */
  heads: number[][][];
  /** channel models (unit 'channel'): summaries over all channels and the selected channel */
  channels?: ChannelAttention;
  /** the mean over each decay group's features of this layer (absent when the decay scores are not known) */
  groups?: Record<DecayGroup, GroupMean>;
  /** knockout edges, when the attention was taken under a knockout */
  blocked?: { layers: number[]; edges: [number, number][] };
  /** optional provenance for exports (model path, hash, family; `arch` absent = Mamba-2) */
  model?: PayloadModel;
}

/** The model a payload comes from (provenance for exports; `arch` absent = Mamba-2). */
export interface PayloadModel {
  path: string;
  hash: string;
  arch?: 'mamba2' | 'mamba1' | 'gpt2' | 'gptneox';
  variant?: 'mamba' | 'falcon_mamba';
}

/** The static decay scores of one layer's features and their thirds (the engine's LayerDecay, SPEC §4). */
export interface DecayLayer {
  /** decay score per feature (index = head / channel): exp(A) at Δ = 1 (Mamba-2), Σ_n of it (Mamba-1) */
  scores: number[];
  /** ascending indices: the n // 3 lowest scores (ties by index) */
  fast: number[];
  middle: number[];
  /** the n // 3 highest scores */
  slow: number[];
}

/**
 * The decay scores of one layer of the current model, for the panel's "Feature decay" figure. One layer per
 * message (a Mamba-1 layer has d_inner channels); the webview asks for others with 'requestDecay'.
 */
export interface FeaturesPayload {
  unit: 'head' | 'channel';
  /** features per layer (heads, or d_inner channels) */
  count: number;
  nLayers: number;
  layer: number;
  decay: DecayLayer;
  model?: PayloadModel;
}

/** One steering triple (SPEC §5): channels of layer `layer`'s mixer output multiplied by `scale`. */
export interface SteerSpec {
  layer: number;
  /** ascending, distinct */
  channels: number[];
  scale: number;
}

/** One entry of a next-token distribution. */
export interface SteerTop {
  id: number;
  text: string;
  prob: number;
}

/** What the Steering view needs to know about the open model, and what to start with. */
export interface SteeringInit {
  prompt: string;
  nLayer: number;
  /** width of the mixer output: channels are 0 … dModel − 1 */
  dModel: number;
  model?: PayloadModel;
  ep?: string;
  /** initial controls (from the command's arguments, or the defaults) */
  initial?: { layer?: number; channels?: number[]; scale?: number; maxTokens?: number };
  /** presets that fit this model (the steering paper's mamba-130m preset needs 21+ layers and 687+ channels) */
  presets?: { name: string; layer: number; channels: number[]; scale: number }[];
}

export type HostToWebview =
  /** Steering view: the model and the initial controls (also after a reload). */
  | { type: 'steerInit'; payload: SteeringInit }
  /** Steering view: the next-token distribution of request `requestId`, clean and steered. */
  | { type: 'steerPredict'; requestId: number; steer: SteerSpec; clean: SteerTop[]; steered: SteerTop[] }
  /** Steering view: the greedy continuation of request `requestId`, clean and steered. */
  | { type: 'steerGenerate'; requestId: number; steer: SteerSpec; result: GenerateResult }
  /** Steering view: the bottleneck finder's result (effective rank per layer, channels ranked by variance). */
  | { type: 'bottlenecks'; result: BottleneckResult }
  /** Steering view: a scale sweep's result. */
  | { type: 'steerSweep'; result: SteerSweepResult }
  /** Show a result in the knockout panel (replaces the current one). */
  | { type: 'showResult'; result: AnyResult }
  /** Show a comparison (one experiment on several models) in the knockout panel (replaces the current result). */
  | { type: 'showComparison'; result: ComparisonResult }
  /** Long work under way (message shown with a progress indicator); `message: undefined` clears it. */
  | { type: 'busy'; message?: string }
  /** An error to show in the view (also clears busy); `requestId`: the request it answers (heatmap). */
  | { type: 'error'; message: string; requestId?: number }
  /**
   * Attention of one layer, for the heatmap viewer, in typed arrays (decodeAttention gives the AttentionPayload);
   * `requestId`: the 'requestLayer' it answers (absent: pushed by the host, e.g. a new trace).
   */
  | { type: 'attention'; payload: AttentionWire; requestId?: number }
  /** Decay scores of one layer, for the panel's feature-decay figure. */
  | { type: 'features'; payload: FeaturesPayload }
  /** Theme changed (webviews also watch body class; this is a nudge). */
  | { type: 'theme'; kind?: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light' }
  /**
   * Heatmap: the shown trace comes from another model than the engine's (provenance.model.hash ≠ the engine's hash):
   * nothing of it is shown; the view offers to re-trace ('retrace').
   */
  | { type: 'modelMismatch'; message: string; traced: { path: string; hash: string }; current: { path: string; hash: string }; requestId?: number }
  /** Result of an export request. */
  | { type: 'exported'; figure: string; format: ExportFormat | 'html'; path?: string; ok: boolean; message?: string };

// ---------------------------------------------------------------- webview → host

export type ExportFormat = 'png' | 'svg' | 'csv' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'csv', 'json'];

export interface ReadyMessage {
  type: 'ready';
  /** which webview is talking (optional; the host knows which panel it created) */
  view?: WebviewKind;
}
/**
 * Re-run the current trace with these window sizes; with `features`, as a feature knockout (SPEC §4) of these
 * groups ('all', 'fast', 'middle', 'slow', 'heads:LIST', 'channels:LIST'; several = each in the same call) in
 * `featureMode` (default 'only').
 */
export interface RerunMessage {
  type: 'rerun';
  windows: number[];
  features?: string[];
  featureMode?: FeatureMode;
}
/** The panel's feature-decay figure needs the decay scores of this layer. */
export interface RequestDecayMessage {
  type: 'requestDecay';
  layer: number;
}
/**
 * The heatmap viewer needs the attention of this layer (not cached), and for channel models that channel's α. The
 * host answers every request once, with its `requestId`: 'attention', 'error' or 'modelMismatch'.
 */
export interface RequestLayerMessage {
  type: 'requestLayer';
  requestId?: number;
  layer: number;
  /** channel models: also send this channel's matrix (0 … count−1) */
  channel?: number;
}
/**
 * Save a figure or its data. `data` is UTF-8 text for svg/csv/json and base64 (no data: prefix)
 * for png. `figure` is a short slug used for the suggested file name (e.g. 'macro-k9').
 */
export interface ExportMessage {
  type: 'export';
  format: ExportFormat;
  figure: string;
  data: string;
  encoding: 'utf8' | 'base64';
}
/** Open a file in the editor (e.g. the dataset file or the results file). */
export interface OpenFileMessage {
  type: 'openFile';
  path: string;
}
/** Show a message in the host (info/warn/error notification). */
export interface LogMessage {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

/**
 * Steering view: the next-token distribution (clean and steered) and the greedy continuation of `prompt` with
 * `channels` of layer `layer` scaled by `scale`. `requestId` increases; the host answers with the same id and drops
 * (or aborts) requests that a newer one superseded.
 */
export interface SteerRequestMessage {
  type: 'steer';
  requestId: number;
  prompt: string;
  layer: number;
  channels: number[];
  scale: number;
  /** tokens of the greedy continuation; 0 = no continuation */
  maxTokens: number;
  top: number;
}
/** Steering view: run the bottleneck finder (the host asks for the corpus file unless `file` is given). */
export interface FindBottleneckMessage {
  type: 'findBottleneck';
  /** the layer whose channels are ranked (absent = the bottleneck) */
  layer?: number;
  texts?: number;
  file?: string;
}
/** Steering view: sweep the scales over a dataset (the host asks for the file unless `file` is given). */
export interface SweepScalesMessage {
  type: 'sweepScales';
  layer: number;
  channels: number[];
  scales: number[];
  metric: 'accuracy' | 'logprob';
  leaveOneOut: boolean;
  limit?: number;
  file?: string;
}
/** Steering view: cancel the long work under way (bottleneck finder, sweep). */
export interface CancelMessage {
  type: 'cancel';
}
/** Knockout panel: save the standalone HTML report of the result shown (the host asks where, then writes it). */
export interface ExportReportMessage {
  type: 'exportReport';
}
/** Heatmap: re-run the shown trace on the current engine (after a model mismatch). */
export interface RetraceMessage {
  type: 'retrace';
}
/** Knockout panel: run the shown trace, micro result or dataset run on one more model (the host asks which). */
export interface CompareModelMessage {
  type: 'compareModel';
}
/** Knockout panel: open the Steering view on this prompt. */
export interface OpenSteeringMessage {
  type: 'openSteering';
  prompt?: string;
}

export type WebviewToHost =
  | ReadyMessage | RerunMessage | RequestLayerMessage | RequestDecayMessage | ExportMessage | OpenFileMessage | LogMessage
  | SteerRequestMessage | FindBottleneckMessage | SweepScalesMessage | CancelMessage | OpenSteeringMessage | ExportReportMessage | RetraceMessage
  | CompareModelMessage;
export type WebviewToHostType = WebviewToHost['type'];

// ---------------------------------------------------------------- limits

export const LIMITS = {
  /** max distinct window sizes in one rerun */
  maxWindows: 32,
  /** largest window size / layer index accepted */
  maxLayer: 4096,
  /** largest channel index accepted (d_inner is 5120 for mamba-2.8b, 8192 for falcon-mamba-7b) */
  maxChannel: 1 << 20,
  /** figure slug */
  figurePattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/,
  /** 64 MiB of export data */
  maxExportChars: 64 * 1024 * 1024,
  maxPathChars: 4096,
  maxLogChars: 2000,
  /** feature groups in one rerun */
  maxFeatureGroups: 16,
  /** characters of one feature group ('heads:3,5,8-11') */
  maxFeatureGroupChars: 2000,
  /** steering: prompt characters */
  maxPromptChars: 4000,
  /** steering: channels of one triple */
  maxSteerChannels: 16384,
  /** steering: |scale| */
  maxScale: 1000,
  /** steering: tokens of a continuation */
  maxGenerateTokens: 256,
  /** steering: top-k */
  maxTop: 50,
  /** steering: scales of one sweep */
  maxScales: 64,
  /** steering: prompts of a sweep, texts of the bottleneck finder */
  maxItems: 1_000_000,
} as const;

/** Whether v is a list of distinct channel indices (0 … maxChannel), non-empty, at most maxSteerChannels. */
function isChannelList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.length <= LIMITS.maxSteerChannels && v.every((c) => isIntIn(c, 0, LIMITS.maxChannel));
}

function isScale(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= LIMITS.maxScale;
}

function isPath(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && p.length <= LIMITS.maxPathChars && !p.includes('\0');
}

const sortedUnique = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/** A head / channel list: indices and ranges, '3,5,8-11'. */
const UNIT_LIST = /^\d{1,7}(-\d{1,7})?(,\d{1,7}(-\d{1,7})?)*$/;

/**
 * Whether a string is one feature group of the engine's --features syntax: 'all', a decay third, or
 * 'heads:LIST' / 'channels:LIST' (ranges ascending). Spaces are not allowed (normalizeFeatureGroup removes them).
 */
export function isFeatureGroup(g: unknown): g is string {
  if (typeof g !== 'string' || g.length === 0 || g.length > LIMITS.maxFeatureGroupChars) return false;
  if (g === 'all' || (DECAY_GROUPS as readonly string[]).includes(g)) return true;
  const m = /^(heads|channels):(.*)$/.exec(g);
  if (!m || !UNIT_LIST.test(m[2])) return false;
  return m[2].split(',').every((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined || b >= a;
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function hasOnlyKeys(o: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(o).every((k) => allowed.includes(k));
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * Validates a raw message from a webview. Returns a fresh, well-typed copy, or `undefined` when the
 * message is malformed, has unknown keys, or an unknown type. Never throws.
 */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  try {
    if (!isPlainObject(raw)) return undefined;
    const t = raw.type;
    switch (t) {
      case 'ready': {
        if (!hasOnlyKeys(raw, ['type', 'view'])) return undefined;
        if (raw.view === undefined) return { type: 'ready' };
        if (raw.view !== 'panel' && raw.view !== 'heatmap' && raw.view !== 'steering') return undefined;
        return { type: 'ready', view: raw.view };
      }
      case 'rerun': {
        if (!hasOnlyKeys(raw, ['type', 'windows', 'features', 'featureMode'])) return undefined;
        const w = raw.windows;
        if (!Array.isArray(w) || w.length === 0 || w.length > LIMITS.maxWindows) return undefined;
        if (!w.every((k) => isIntIn(k, 1, LIMITS.maxLayer))) return undefined;
        const windows = [...new Set(w as number[])];
        const { features, featureMode } = raw;
        if (features === undefined) {
          // a mode without groups is meaningless (the engine refuses it too)
          if (featureMode !== undefined) return undefined;
          return { type: 'rerun', windows };
        }
        if (!Array.isArray(features) || features.length === 0 || features.length > LIMITS.maxFeatureGroups) return undefined;
        if (!features.every(isFeatureGroup)) return undefined;
        if (featureMode !== undefined && featureMode !== 'only' && featureMode !== 'except') return undefined;
        return { type: 'rerun', windows, features: [...new Set(features as string[])], featureMode: featureMode ?? 'only' };
      }
      case 'requestDecay': {
        if (!hasOnlyKeys(raw, ['type', 'layer'])) return undefined;
        if (!isIntIn(raw.layer, 0, LIMITS.maxLayer)) return undefined;
        return { type: 'requestDecay', layer: raw.layer };
      }
      case 'requestLayer': {
        if (!hasOnlyKeys(raw, ['type', 'requestId', 'layer', 'channel'])) return undefined;
        if (!isIntIn(raw.layer, 0, LIMITS.maxLayer)) return undefined;
        if (raw.requestId !== undefined && !isIntIn(raw.requestId, 0, Number.MAX_SAFE_INTEGER)) return undefined;
        if (raw.channel !== undefined && !isIntIn(raw.channel, 0, LIMITS.maxChannel)) return undefined;
        return {
          type: 'requestLayer', ...(raw.requestId !== undefined ? { requestId: raw.requestId } : {}), layer: raw.layer,
          ...(raw.channel !== undefined ? { channel: raw.channel } : {}),
        };
      }
      case 'export': {
        if (!hasOnlyKeys(raw, ['type', 'format', 'figure', 'data', 'encoding'])) return undefined;
        const { format, figure, data } = raw;
        if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) return undefined;
        if (typeof figure !== 'string' || !LIMITS.figurePattern.test(figure)) return undefined;
        if (typeof data !== 'string' || data.length === 0 || data.length > LIMITS.maxExportChars) return undefined;
        const encoding = raw.encoding === undefined ? (format === 'png' ? 'base64' : 'utf8') : raw.encoding;
        if (encoding !== 'utf8' && encoding !== 'base64') return undefined;
        if (format === 'png' && encoding !== 'base64') return undefined;
        if (encoding === 'base64' && (data.length % 4 !== 0 || !BASE64.test(data))) return undefined;
        return { type: 'export', format: format as ExportFormat, figure, data, encoding };
      }
      case 'openFile': {
        if (!hasOnlyKeys(raw, ['type', 'path'])) return undefined;
        const p = raw.path;
        if (typeof p !== 'string' || p.length === 0 || p.length > LIMITS.maxPathChars || p.includes('\0')) return undefined;
        return { type: 'openFile', path: p };
      }
      case 'log': {
        if (!hasOnlyKeys(raw, ['type', 'level', 'message'])) return undefined;
        const { level, message } = raw;
        if (level !== 'info' && level !== 'warn' && level !== 'error') return undefined;
        if (typeof message !== 'string' || message.length > LIMITS.maxLogChars) return undefined;
        return { type: 'log', level, message };
      }
      case 'steer': {
        if (!hasOnlyKeys(raw, ['type', 'requestId', 'prompt', 'layer', 'channels', 'scale', 'maxTokens', 'top'])) return undefined;
        const { requestId, prompt, layer, channels, scale, maxTokens, top } = raw;
        if (!isIntIn(requestId, 0, Number.MAX_SAFE_INTEGER)) return undefined;
        if (typeof prompt !== 'string' || prompt.trim().length === 0 || prompt.length > LIMITS.maxPromptChars || prompt.includes('\0')) return undefined;
        if (!isIntIn(layer, 0, LIMITS.maxLayer) || !isChannelList(channels) || !isScale(scale)) return undefined;
        if (!isIntIn(maxTokens, 0, LIMITS.maxGenerateTokens) || !isIntIn(top, 1, LIMITS.maxTop)) return undefined;
        return { type: 'steer', requestId, prompt, layer, channels: sortedUnique(channels), scale, maxTokens, top };
      }
      case 'findBottleneck': {
        if (!hasOnlyKeys(raw, ['type', 'layer', 'texts', 'file'])) return undefined;
        const { layer, texts, file } = raw;
        if (layer !== undefined && !isIntIn(layer, 0, LIMITS.maxLayer)) return undefined;
        if (texts !== undefined && !isIntIn(texts, 1, LIMITS.maxItems)) return undefined;
        if (file !== undefined && !isPath(file)) return undefined;
        return { type: 'findBottleneck', ...(layer !== undefined ? { layer } : {}), ...(texts !== undefined ? { texts } : {}), ...(file !== undefined ? { file } : {}) };
      }
      case 'sweepScales': {
        if (!hasOnlyKeys(raw, ['type', 'layer', 'channels', 'scales', 'metric', 'leaveOneOut', 'limit', 'file'])) return undefined;
        const { layer, channels, scales, metric, leaveOneOut, limit, file } = raw;
        if (!isIntIn(layer, 0, LIMITS.maxLayer) || !isChannelList(channels)) return undefined;
        if (!Array.isArray(scales) || scales.length === 0 || scales.length > LIMITS.maxScales || !scales.every(isScale)) return undefined;
        if (metric !== 'accuracy' && metric !== 'logprob') return undefined;
        if (typeof leaveOneOut !== 'boolean') return undefined;
        if (limit !== undefined && !isIntIn(limit, 1, LIMITS.maxItems)) return undefined;
        if (file !== undefined && !isPath(file)) return undefined;
        return {
          type: 'sweepScales', layer, channels: sortedUnique(channels), scales: sortedUnique(scales as number[]), metric, leaveOneOut,
          ...(limit !== undefined ? { limit } : {}), ...(file !== undefined ? { file } : {}),
        };
      }
      case 'cancel': {
        if (!hasOnlyKeys(raw, ['type'])) return undefined;
        return { type: 'cancel' };
      }
      case 'exportReport': {
        if (!hasOnlyKeys(raw, ['type'])) return undefined;
        return { type: 'exportReport' };
      }
      case 'retrace': {
        if (!hasOnlyKeys(raw, ['type'])) return undefined;
        return { type: 'retrace' };
      }
      case 'compareModel': {
        if (!hasOnlyKeys(raw, ['type'])) return undefined;
        return { type: 'compareModel' };
      }
      case 'openSteering': {
        if (!hasOnlyKeys(raw, ['type', 'prompt'])) return undefined;
        const { prompt } = raw;
        if (prompt === undefined) return { type: 'openSteering' };
        if (typeof prompt !== 'string' || prompt.length > LIMITS.maxPromptChars || prompt.includes('\0')) return undefined;
        return { type: 'openSteering', prompt };
      }
      default:
        return undefined;
    }
  } catch {
    // getters or proxies that throw: reject
    return undefined;
  }
}

/** Suggested file name of an export, e.g. 'macro-k9.svg'. */
export function exportFileName(msg: Pick<ExportMessage, 'figure' | 'format'>): string {
  return `${msg.figure}.${msg.format}`;
}

/** Bytes to write for an export message. */
export function exportBytes(msg: ExportMessage): Uint8Array {
  return msg.encoding === 'base64' ? Uint8Array.from(Buffer.from(msg.data, 'base64')) : Uint8Array.from(Buffer.from(msg.data, 'utf8'));
}

/**
 * Host-side buffer implementing the 'ready' handshake: messages posted before the webview said
 * 'ready' are queued and flushed in order; later ones go straight through.
 */
export class HandshakeQueue<M = HostToWebview> {
  private ready = false;
  private queue: M[] = [];
  constructor(private readonly send: (m: M) => void | Thenable<boolean> | Promise<boolean>) {}
  post(m: M): void {
    if (this.ready) void this.send(m);
    else this.queue.push(m);
  }
  /** Call when the webview posted 'ready' (again after a reload: re-sends nothing, just opens). */
  markReady(): void {
    this.ready = true;
    const q = this.queue;
    this.queue = [];
    for (const m of q) void this.send(m);
  }
  /** Call when the webview is disposed or reloads (its script restarts and will say 'ready' again). */
  reset(): void {
    this.ready = false;
  }
  get isReady(): boolean {
    return this.ready;
  }
  get pending(): number {
    return this.queue.length;
  }
}

interface Thenable<T> {
  then<R>(onfulfilled?: (value: T) => R | Thenable<R>): Thenable<R>;
}
