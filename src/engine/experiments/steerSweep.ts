// Measuring steering (SPEC §5): over the prompts of a COUNTERFACT-style dataset, per scale s, the top-1 accuracy of the
// target (first token of target_true) and its mean log-probability, with 95% intervals, when channels C of layer ℓ's
// mixer output are multiplied by s; with leave-one-out, each channel's impact = metric(all of C) − metric(C without it),
// as a paired mean over the prompts. Batched: the unsteered prefix below layer ℓ is computed once per prompt and shared
// by every scale; each scale (and each leave-one-out set) is one pass of layers ℓ … L−1 over the batched prompts.
import { compileSteering, type SteerTriple } from '../interventions/steering';
import { CancelledError, UserError, type EngineSession, type MethodContext } from '../types';
import { loadDataset, sampleItems } from '../datasets/index';
import { meanCI, type MeanCI } from '../util/stats';
import { encodePrompt, resolveTargetId } from './positions';
import { probAndArgmax } from './numerics';
import { batchCap } from './sweeps';

export interface SteerSweepParams {
  dataset: string;
  layer: number;
  channels: number[];
  /** default 0, 0.5, 1, 2, 5, 10 */
  scales?: number[];
  /** the metric of the leave-one-out impacts (default accuracy) */
  metric?: 'accuracy' | 'logprob';
  leaveOneOut?: boolean;
  limit?: number;
  seed?: number;
  maxBatch?: number;
}

export interface SteerSweepResult {
  kind: 'steer-sweep';
  dataset: { file: string; sha256: string; rows: number };
  layer: number;
  channels: number[];
  prompts: number;
  skipped: { index: number; reason: string }[];
  /** per scale: top-1 accuracy of the target and its mean log-probability, with 95% Student-t intervals */
  scales: { scale: number; accuracy: MeanCI; logprob: MeanCI }[];
  metric: 'accuracy' | 'logprob';
  /** per scale ≠ 1 and channel: metric(all channels) − metric(all but this channel), paired over the prompts */
  leaveOneOut?: { scale: number; channels: { channel: number; impact: MeanCI }[] }[];
  passes: number;
}

export const DEFAULT_SCALES = [0, 0.5, 1, 2, 5, 10];

interface Group {
  n: number;
  members: { row: number; target: number }[];
  /** the unsteered residual at the input of the steered layer [B, n, d] */
  hidden: Float32Array;
}

export async function runSteerSweep(session: EngineSession, params: SteerSweepParams, ctx?: MethodContext): Promise<SteerSweepResult> {
  const b = session.backend;
  const c = b.config;
  const { dModel: d, nLayer: L, paddedVocabSize: V, vocabSize } = c;
  const scales = params.scales ?? DEFAULT_SCALES;
  if (scales.length === 0 || scales.some((s) => !Number.isFinite(s))) throw new UserError('--scales must be a list of finite numbers, e.g. 0,0.5,1,2,5,10');
  const metric = params.metric ?? 'accuracy';
  if (metric !== 'accuracy' && metric !== 'logprob') throw new UserError(`--metric must be accuracy or logprob, got '${String(params.metric)}'`);
  const layer = params.layer;
  compileSteering(c, [{ layer, channels: params.channels, scale: 1 }]); // checks layer and channels
  if (!b.setSteering) throw new UserError(`the ${b.ep} backend cannot steer`);
  const ds = loadDataset(params.dataset);
  const items = sampleItems(ds.items, params.limit, params.seed);
  const skipped: SteerSweepResult["skipped"] = ds.skipped.map((p) => ({ index: p.index, reason: p.reason }));
  // prompts grouped by token length; the unsteered prefix below `layer` once
  const byLen = new Map<number, { row: number; ids: number[]; target: number }[]>();
  items.forEach((it) => {
    try {
      const ids = encodePrompt(session.tokenizer, it.prompt).ids;
      const full = session.tokenizer.encode(it.prompt + (/^\s/.test(it.target) ? it.target : ' ' + it.target)).ids;
      const target = full.length > ids.length && full.slice(0, ids.length).every((x, i) => x === ids[i]) ? full[ids.length] : resolveTargetId(session.tokenizer, it.target).id;
      const g = byLen.get(ids.length) ?? [];
      g.push({ row: it.index, ids, target });
      byLen.set(ids.length, g);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      skipped.push({ index: it.index, reason: e.message });
    }
  });
  const prompts = [...byLen.values()].reduce((a, g) => a + g.length, 0);
  if (prompts === 0) throw new UserError(`dataset ${params.dataset}: no usable prompt`);
  b.setSteering(undefined);
  const groups: Group[] = [];
  for (const [n, list] of byLen) {
    const cap = batchCap(b, n, { maxBatch: params.maxBatch });
    for (let i0 = 0; i0 < list.length; i0 += cap) {
      if (ctx?.cancelled()) throw new CancelledError();
      const part = list.slice(i0, i0 + cap);
      const ids = new Int32Array(part.length * n);
      part.forEach((p, i) => ids.set(p.ids, i * n));
      let h = await b.embed(ids, part.length, n);
      for (let l = 0; l < layer; l++) h = (await b.layer(l, h, part.length, n)).hidden;
      groups.push({ n, members: part.map((p) => ({ row: p.row, target: p.target })), hidden: h });
    }
  }
  // one pass: layers layer … L−1 with the given channel scales, per prompt (top-1, log p)
  const order = groups.flatMap((g) => g.members);
  const configs: { scale: number; channels: number[] }[] = [];
  for (const s of scales) configs.push({ scale: s, channels: params.channels });
  const loo = params.leaveOneOut ? scales.filter((s) => s !== 1) : [];
  for (const s of loo) for (const ch of params.channels) configs.push({ scale: s, channels: params.channels.filter((x) => x !== ch) });
  const perConfig: { top1: number[]; logp: number[] }[] = [];
  for (const [ci, cfg] of configs.entries()) {
    const triples: SteerTriple[] = cfg.channels.length ? [{ layer, channels: cfg.channels, scale: cfg.scale }] : [];
    b.setSteering(triples.length ? compileSteering(c, triples) : undefined);
    const top1: number[] = [];
    const logp: number[] = [];
    try {
      for (const g of groups) {
        if (ctx?.cancelled()) throw new CancelledError();
        const B = g.members.length;
        let h = g.hidden;
        for (let l = layer; l < L; l++) h = (await b.layer(l, h, B, g.n)).hidden;
        const lg = await b.headLast(h, B, g.n);
        g.members.forEach((m, i) => {
          const r = probAndArgmax(lg, i * V, vocabSize, m.target);
          top1.push(r.argmax === m.target ? 1 : 0);
          logp.push(Math.log(r.prob));
        });
      }
    } finally {
      b.setSteering(undefined);
    }
    perConfig.push({ top1, logp });
    ctx?.progress({ done: ci + 1, total: configs.length, message: 'passes (scales and leave-one-out sets)' });
  }
  const metricOf = (k: number) => (metric === 'accuracy' ? perConfig[k].top1 : perConfig[k].logp);
  const result: SteerSweepResult = {
    kind: 'steer-sweep',
    dataset: { file: ds.file, sha256: ds.sha256, rows: ds.rows },
    layer,
    channels: params.channels.slice(),
    prompts: order.length,
    skipped,
    scales: scales.map((s, k) => ({ scale: s, accuracy: meanCI(perConfig[k].top1), logprob: meanCI(perConfig[k].logp) })),
    metric,
    passes: configs.length,
  };
  if (params.leaveOneOut) {
    let k = scales.length;
    result.leaveOneOut = loo.map((s) => {
      const all = metricOf(scales.indexOf(s));
      return {
        scale: s,
        channels: params.channels.map((ch) => {
          const without = metricOf(k++);
          return { channel: ch, impact: meanCI(all.map((v, i) => v - without[i])) };
        }),
      };
    });
  }
  return result;
}
