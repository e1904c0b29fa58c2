// Named operations that the engine worker serves: the core ones (predict, attention) plus the experiments'.
import { CancelledError, UserError } from '../types';
import type { EngineSession, Encoding, MethodContext, MethodHandler } from '../types';
import { experimentMethods } from '../experiments/methods';
import { familyOf } from '../arch/index';
import { featuresReport, type FeaturesReport } from '../experiments/features';
import { compileSteering, parseSteer, type SteerTriple } from '../interventions/steering';
import { runGenerate, type GenerateParams, type GenerateResult } from '../experiments/generate';
import { runBottlenecks, type BottleneckParams } from '../experiments/bottlenecks';
import { runSteerSweep, type SteerSweepParams } from '../experiments/steerSweep';
import { attentionLayer, traceKept } from './keptTraces';

export interface PredictParams {
  prompt: string;
  /** how many top tokens (default 10) */
  top?: number;
}
export interface TokenSpan {
  id: number;
  text: string;
  start: number;
  end: number;
}
export interface PredictResult {
  tokens: TokenSpan[];
  top: { id: number; text: string; prob: number }[];
  ep: string;
  timing_ms: { tokenize: number; forward: number; total: number };
}
export interface AttentionParams {
  prompt: string;
  layers: number[];
  /** Mamba-1: the channels to return (default all) */
  channels?: number[];
}
/** One layer's attention matrices: Mamba-2 heads (SPEC §1) or Mamba-1 channels (SPEC §2). */
export interface AttentionLayer {
  layer: number;
  unit: 'head' | 'channel';
  /** Mamba-2: heads[h][i][j] = M_h[i, j] */
  heads?: number[][][];
  /** Mamba-1: channels[k][i][j] = α_c[i, j] for c = channelIds[k] */
  channels?: number[][][];
  channelIds?: number[];
  /** Mamba-1: the mean of α over the listed channels, and the max of |α| over them */
  mean?: number[][];
  maxAbs?: number[][];
}
export interface AttentionResult {
  layers: AttentionLayer[];
  tokens: TokenSpan[];
}

function encode(session: EngineSession, prompt: unknown): Encoding {
  if (typeof prompt !== 'string' || prompt.trim().length === 0) throw new UserError('the prompt is empty');
  const enc = session.tokenizer.encode(prompt);
  if (enc.ids.length === 0) throw new UserError(`the prompt '${prompt}' tokenises to nothing`);
  return enc;
}

function spans(prompt: string, enc: Encoding): TokenSpan[] {
  return enc.ids.map((id, i) => {
    const [start, end] = enc.offsets[i];
    return { id, text: end > start ? prompt.slice(start, end) : enc.tokens[i], start, end };
  });
}

/** Softmax in float64 over the real vocabulary (padded rows ≥ vocabSize excluded), top k. */
export function softmaxTop(logits: ArrayLike<number>, offset: number, vocab: number, k: number): { id: number; prob: number }[] {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[offset + v] - max);
  const order = Array.from({ length: vocab }, (_, v) => v);
  order.sort((a, b) => logits[offset + b] - logits[offset + a] || a - b);
  return order.slice(0, Math.min(k, vocab)).map((id) => ({ id, prob: Math.exp(logits[offset + id] - max) / sum }));
}

function checkCancel(ctx: MethodContext): void {
  if (ctx.cancelled()) throw new CancelledError();
}

/** Runs layers 0..upTo-1 on one prompt; collects attention of the layers in `att`. */
async function forward(session: EngineSession, ids: number[], upTo: number, att: Set<number>, ctx: MethodContext) {
  const b = session.backend;
  const n = ids.length;
  let h = await b.embed(Int32Array.from(ids), 1, n);
  const attention = new Map<number, Float32Array>();
  for (let l = 0; l < upTo; l++) {
    checkCancel(ctx);
    const o = await b.layer(l, h, 1, n, undefined, att.has(l));
    h = o.hidden;
    if (o.attention) attention.set(l, o.attention);
    ctx.progress({ done: l + 1, total: upTo, message: `layer ${l + 1}/${upTo}` });
  }
  return { hidden: h, attention };
}

export const predict: MethodHandler<PredictParams, PredictResult> = async (session, params, ctx) => {
  const t0 = performance.now();
  const top = params.top ?? 10;
  if (!Number.isInteger(top) || top < 1) throw new UserError(`--top must be a positive integer, got ${params.top}`);
  const enc = encode(session, params.prompt);
  const t1 = performance.now();
  const c = session.backend.config;
  const { hidden } = await forward(session, enc.ids, c.nLayer, new Set(), ctx);
  const logits = await session.backend.headLast(hidden, 1, enc.ids.length);
  const t2 = performance.now();
  return {
    tokens: spans(params.prompt, enc),
    top: softmaxTop(logits, 0, c.vocabSize, top).map((t) => ({ id: t.id, text: session.tokenizer.decode([t.id]), prob: t.prob })),
    ep: session.backend.ep,
    timing_ms: { tokenize: round(t1 - t0), forward: round(t2 - t1), total: round(performance.now() - t0) },
  };
};

const round = (x: number) => Math.round(x * 100) / 100;

export const attention: MethodHandler<AttentionParams, AttentionResult> = async (session, params, ctx) => {
  const c = session.backend.config;
  const { unit, count } = familyOf(c).attentionUnits(c);
  const layers = params.layers ?? [];
  if (layers.length === 0) throw new UserError('no layer given');
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= c.nLayer) throw new UserError(`layer ${l} is out of range: the model has layers 0..${c.nLayer - 1}`);
  if (params.channels !== undefined && unit !== 'channel') throw new UserError(`--channels applies to Mamba-1 models (one matrix per channel); this ${familyOf(c).label(c)} model has heads`);
  const channelIds = params.channels ?? Array.from({ length: count }, (_, k) => k);
  if (channelIds.length === 0) throw new UserError('no channel given');
  for (const ch of channelIds) if (!Number.isInteger(ch) || ch < 0 || ch >= count) throw new UserError(`channel ${ch} is out of range: the model has channels 0..${count - 1}`);
  const enc = encode(session, params.prompt);
  const n = enc.ids.length;
  const { attention: att } = await forward(session, enc.ids, Math.max(...layers) + 1, new Set(layers), ctx);
  const matrix = (a: Float32Array, u: number) => {
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) rows.push(Array.from(a.subarray((u * n + i) * n, (u * n + i + 1) * n)));
    return rows;
  };
  return {
    layers: layers.map((layer): AttentionLayer => {
      const a = att.get(layer)!;
      if (unit === 'head') return { layer, unit, heads: Array.from({ length: count }, (_, h) => matrix(a, h)) };
      const mean = Array.from({ length: n }, () => new Array<number>(n).fill(0));
      const maxAbs = Array.from({ length: n }, () => new Array<number>(n).fill(0));
      for (const ch of channelIds) {
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            const v = a[(ch * n + i) * n + j];
            mean[i][j] += v / channelIds.length;
            if (Math.abs(v) > maxAbs[i][j]) maxAbs[i][j] = Math.abs(v);
          }
        }
      }
      return { layer, unit, channels: channelIds.map((ch) => matrix(a, ch)), channelIds, mean, maxAbs };
    }),
    tokens: spans(params.prompt, enc),
  };
};

/** Decay scores and fast / middle / slow thirds of every layer (SPEC §4): FeaturesReport. */
export const features: MethodHandler<Record<string, never>, FeaturesReport> = async (session) => featuresReport(session.checkpoint);

export const coreMethods: Record<string, MethodHandler> = { predict, attention, features };

/** The `steer` param of a method: --steer strings ('20:4,38:5', 'preset:mamba-130m') or triples. */
export type SteerParam = string | (string | SteerTriple)[] | undefined;

export function steerTriples(v: SteerParam): SteerTriple[] {
  if (v === undefined) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw new UserError('steer must be a list of LAYER:CHANNELS:SCALE specs');
  return list.flatMap((x) => (typeof x === 'string' ? parseSteer(x) : [x]));
}

/**
 * Wraps a method so that `params.steer` steers the model for the whole call (clean runs and knockout variants alike)
 * and is recorded in the results' provenance (session.steering); the backend is unsteered again afterwards.
 */
export function steerable<P, R>(handler: MethodHandler<P, R>): MethodHandler<P & { steer?: SteerParam }, R> {
  return async (session, params, ctx) => {
    const triples = steerTriples(params?.steer);
    if (triples.length === 0) return handler(session, params, ctx);
    const perLayer = compileSteering(session.backend.config, triples);
    if (!session.backend.setSteering) throw new UserError(`the ${session.backend.ep} backend cannot steer`);
    session.backend.setSteering(perLayer);
    session.steering = triples;
    try {
      return await handler(session, params, ctx);
    } finally {
      session.backend.setSteering(undefined);
      session.steering = undefined;
    }
  };
}

const steered = (m: Record<string, MethodHandler>) => Object.fromEntries(Object.entries(m).map(([k, h]) => [k, k === 'features' ? h : steerable(h)]));

/** Greedy continuation, clean and (with `steer`) steered side by side: GenerateResult. It handles `steer` itself. */
export const generate: MethodHandler<Omit<GenerateParams, 'steer'> & { steer?: SteerParam }, GenerateResult> = (session, params, ctx) =>
  runGenerate(session, { ...params, steer: steerTriples(params.steer) }, ctx);

/** Every method the worker serves; predict, attention, the experiments and traceKept take `steer`; generate,
 *  bottlenecks, steerSweep and attentionLayer manage the steering themselves. */
export const methods: Record<string, MethodHandler> = {
  ...steered({ ...coreMethods, ...experimentMethods, traceKept }),
  // one layer of a kept trace, under the trace's own steering
  attentionLayer,
  generate,
  bottlenecks: (session, params: BottleneckParams, ctx) => runBottlenecks(session, params, ctx),
  steerSweep: (session, params: SteerSweepParams, ctx) => runSteerSweep(session, params, ctx),
};
