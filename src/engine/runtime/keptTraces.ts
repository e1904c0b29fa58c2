// Kept traces (issue 16): the engine worker keeps the clean forward of the last few traces (the residual stream at
// the input of every layer), keyed by a trace id returned with the trace, so that the heatmap's attention of a layer
// is ONE layer call on the kept input (then kept too, within a byte budget) instead of a forward from layer 0 for
// every request. Replies carry typed arrays (transferred, never JSON arrays of numbers).
import { randomUUID } from 'node:crypto';
import { familyOf } from '../arch/index';
import { featuresReport, type FeaturesReport } from '../experiments/features';
import { runTrace, type TraceParams } from '../experiments/macro';
import type { TraceResult } from '../experiments/resultTypes';
import { compileSteering, type SteerTriple } from '../interventions/steering';
import { CancelledError, UserError, type EngineSession, type MethodContext, type MethodHandler } from '../types';
import { withTransfer } from './transfer';

export const DECAY_GROUPS = ['fast', 'middle', 'slow'] as const;
type DecayGroup = (typeof DECAY_GROUPS)[number];

/** One kept trace: its prompt's token ids and the clean residual at the input of every layer. */
export interface KeptTrace {
  id: string;
  prompt: string;
  ids: Int32Array;
  /** inputs[l]: the clean residual stream at the input of layer l, [n, dModel] */
  inputs: Float32Array[];
  /** the steering of the trace (re-applied to its layer calls) */
  steering?: SteerTriple[];
  /** attention computed so far, by layer: [units, n, n] */
  attention: Map<number, Float32Array>;
}

const bytesOf = (t: KeptTrace) => t.inputs.reduce((a, x) => a + x.byteLength, 0) + [...t.attention.values()].reduce((a, x) => a + x.byteLength, 0);

/** LRU of kept traces, bounded by count and bytes (the newest trace is kept whatever its size). */
export class TraceCache {
  private readonly traces = new Map<string, KeptTrace>();
  constructor(readonly maxTraces = 4, readonly maxBytes = 256 * 1024 * 1024) {}

  get size(): number {
    return this.traces.size;
  }

  get bytes(): number {
    let b = 0;
    for (const t of this.traces.values()) b += bytesOf(t);
    return b;
  }

  add(prompt: string, ids: Int32Array, inputs: Float32Array[], steering?: SteerTriple[]): KeptTrace {
    const t: KeptTrace = { id: randomUUID(), prompt, ids, inputs, ...(steering?.length ? { steering: steering.map((s) => ({ ...s, channels: [...s.channels] })) } : {}), attention: new Map() };
    this.traces.set(t.id, t);
    this.evict(t);
    return t;
  }

  /** The kept trace (most recently used from now on), or undefined. */
  get(id: string): KeptTrace | undefined {
    const t = this.traces.get(id);
    if (!t) return undefined;
    this.traces.delete(id);
    this.traces.set(id, t);
    return t;
  }

  /** Keeps a layer's attention of a trace when it fits the budget (older traces' attention goes first). */
  keepAttention(t: KeptTrace, layer: number, a: Float32Array): void {
    if (!this.traces.has(t.id)) return;
    t.attention.set(layer, a);
    this.evict(t);
    if (this.bytes > this.maxBytes) t.attention.delete(layer);
  }

  private evict(keep: KeptTrace): void {
    for (const t of this.traces.values()) {
      if (this.traces.size <= this.maxTraces && this.bytes <= this.maxBytes) break;
      if (t !== keep) this.traces.delete(t.id);
    }
  }
}

/** One cache and one decay report per open session (the worker has one session). */
const caches = new WeakMap<EngineSession, TraceCache>();
const reports = new WeakMap<EngineSession, FeaturesReport | null>();

export function traceCache(session: EngineSession): TraceCache {
  let c = caches.get(session);
  if (!c) caches.set(session, (c = new TraceCache()));
  return c;
}

function decayReport(session: EngineSession): FeaturesReport | undefined {
  if (!reports.has(session)) {
    try {
      reports.set(session, featuresReport(session.checkpoint));
    } catch {
      reports.set(session, null);
    }
  }
  return reports.get(session) ?? undefined;
}

export interface TraceKeptResult {
  trace: TraceResult;
  /** the id of the kept clean forward, for attentionLayer */
  traceId: string;
}

/** `trace`, keeping the clean forward for attentionLayer: { trace, traceId }. */
export const traceKept: MethodHandler<TraceParams, TraceKeptResult> = async (session, params, ctx) => {
  let kept: KeptTrace | undefined;
  const trace = await runTrace(session, params, ctx, (clean, ids) => {
    kept = traceCache(session).add(params.prompt, ids, clean.hiddens.slice(0, session.backend.config.nLayer), session.steering);
  });
  return { trace, traceId: kept!.id };
};

export interface AttentionLayerParams {
  /** the kept trace; absent, unknown (evicted, another worker) or of another prompt: the prompt's clean forward runs once and is kept */
  traceId?: string;
  prompt: string;
  layer: number;
  /** channel models: also this channel's α */
  channel?: number;
  /** an out-of-range channel is left out instead of an error (a channel remembered from another model) */
  lenientChannel?: boolean;
}

export interface GroupMeanData {
  count: number;
  /** head models: the group's heads */
  units?: number[];
  /** [n, n]: the mean of the group's matrices */
  mean: Float64Array;
}

/** One layer's attention as the heatmap needs it, in typed arrays (row-major). */
export interface AttentionLayerReply {
  /** the kept trace the reply comes from (a new one when the request's was not kept) */
  traceId: string;
  layer: number;
  unit: 'head' | 'channel';
  /** positions */
  n: number;
  /** heads or channels of the layer */
  count: number;
  /** head models: M_h for every head, [count, n, n] */
  heads?: Float32Array;
  /** channel models: the mean α over all channels and the max |α|, [n, n] each */
  mean?: Float64Array;
  maxAbs?: Float32Array;
  /** channel models: the channel asked for, [n, n] */
  selected?: { id: number; matrix: Float32Array };
  /** the mean over each decay third's units (absent when the decay scores are not known) */
  groups?: Record<DecayGroup, GroupMeanData>;
}

function checkCancel(ctx: MethodContext): void {
  if (ctx.cancelled()) throw new CancelledError();
}

/** Runs f with the trace's steering on the backend (none: as is). */
async function steered<T>(session: EngineSession, steering: SteerTriple[] | undefined, f: () => Promise<T>): Promise<T> {
  if (!steering?.length || !session.backend.setSteering) return f();
  session.backend.setSteering(compileSteering(session.backend.config, steering));
  try {
    return await f();
  } finally {
    session.backend.setSteering(undefined);
  }
}

/** The prompt's clean forward up to the last layer's input, kept (the fallback for a trace that is not kept). */
async function keepPrompt(session: EngineSession, prompt: string, ctx: MethodContext): Promise<KeptTrace> {
  if (typeof prompt !== 'string' || prompt.trim() === '') throw new UserError('the prompt is empty');
  const ids = Int32Array.from(session.tokenizer.encode(prompt).ids);
  const n = ids.length;
  if (n === 0) throw new UserError(`the prompt '${prompt}' tokenises to nothing`);
  const b = session.backend;
  const L = b.config.nLayer;
  const inputs: Float32Array[] = [await b.embed(ids, 1, n)];
  for (let l = 0; l < L - 1; l++) {
    checkCancel(ctx);
    inputs.push((await b.layer(l, inputs[l], 1, n)).hidden);
  }
  return traceCache(session).add(prompt, ids, inputs);
}

/** The attention of one layer of a kept trace: kept, else one layer call on its kept input. */
export async function layerAttention(session: EngineSession, t: KeptTrace, layer: number): Promise<Float32Array> {
  const kept = t.attention.get(layer);
  if (kept) return kept;
  const n = t.ids.length;
  const out = await steered(session, t.steering, () => session.backend.layer(layer, t.inputs[layer], 1, n, undefined, true));
  if (!out.attention) throw new Error(`the ${session.backend.ep} backend returned no attention for layer ${layer}`);
  traceCache(session).keepAttention(t, layer, out.attention);
  return out.attention;
}

function groupMeans(a: Float32Array, n: number, thirds: Record<DecayGroup, readonly number[]>, withUnits: boolean): Record<DecayGroup, GroupMeanData> {
  const nn = n * n;
  const out = {} as Record<DecayGroup, GroupMeanData>;
  for (const g of DECAY_GROUPS) {
    const units = thirds[g];
    const mean = new Float64Array(nn);
    for (const u of units) for (let k = 0; k < nn; k++) mean[k] += a[u * nn + k];
    if (units.length) for (let k = 0; k < nn; k++) mean[k] /= units.length;
    out[g] = { count: units.length, ...(withUnits ? { units: [...units] } : {}), mean };
  }
  return out;
}

/** attentionLayer: one layer of a kept trace (typed arrays, transferred to the host). */
export const attentionLayer: MethodHandler<AttentionLayerParams, AttentionLayerReply> = async (session, params, ctx) => {
  const c = session.backend.config;
  const { unit, count } = familyOf(c).attentionUnits(c);
  const layer = params.layer;
  if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayer) throw new UserError(`layer ${layer} is out of range: the model has layers 0..${c.nLayer - 1}`);
  let channel = params.channel;
  if (channel !== undefined) {
    if (unit !== 'channel') throw new UserError(`channel ${channel}: this ${familyOf(c).label(c)} model has heads, not channels`);
    if (!Number.isInteger(channel) || channel < 0 || channel >= count) {
      if (!params.lenientChannel) throw new UserError(`channel ${channel} is out of range: the model has channels 0..${count - 1}`);
      channel = undefined;
    }
  }
  const cache = traceCache(session);
  let t = params.traceId ? cache.get(params.traceId) : undefined;
  // never another prompt's matrices under a reused id
  if (t && t.prompt !== params.prompt) t = undefined;
  t ??= await keepPrompt(session, params.prompt, ctx);
  checkCancel(ctx);
  const a = await layerAttention(session, t, layer);
  const n = t.ids.length;
  const nn = n * n;
  const report = decayReport(session);
  const thirds = report && report.count === count ? report.layers[layer] : undefined;
  const reply: AttentionLayerReply = { traceId: t.id, layer, unit, n, count };
  if (unit === 'head') {
    // a copy: the kept attention stays in the cache, the reply's buffer is transferred
    reply.heads = a.slice(0, count * nn);
  } else {
    const mean = new Float64Array(nn);
    const maxAbs = new Float32Array(nn);
    for (let ch = 0; ch < count; ch++) {
      const o = ch * nn;
      for (let k = 0; k < nn; k++) {
        const v = a[o + k];
        mean[k] += v / count;
        const m = Math.abs(v);
        if (m > maxAbs[k]) maxAbs[k] = m;
      }
    }
    reply.mean = mean;
    reply.maxAbs = maxAbs;
    if (channel !== undefined) reply.selected = { id: channel, matrix: a.slice(channel * nn, (channel + 1) * nn) };
  }
  if (thirds) reply.groups = groupMeans(a, n, thirds, unit === 'head');
  const buffers: ArrayBuffer[] = [];
  for (const x of [reply.heads, reply.mean, reply.maxAbs, reply.selected?.matrix, ...(reply.groups ? DECAY_GROUPS.map((g) => reply.groups![g].mean) : [])]) if (x) buffers.push(x.buffer as ArrayBuffer);
  return withTransfer(reply, buffers);
};
