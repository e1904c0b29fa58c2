// Realistic sample results for the webview/report tests (shapes of resultTypes.ts; numbers shaped like
// the paper's Figure 1/2 on a 24-layer Mamba-2 130m).
import type {
  AggregateWindow, DatasetRunResult, MacroWindow, MicroResult, Provenance, TokenInfo, TraceResult,
} from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload, DecayLayer, FeaturesPayload } from '../../src/shared/protocol';
import { groupMeans } from '../../src/extension/logic/featureGroups';

export const N_LAYERS = 24;

export const provenance: Provenance = {
  tool: { name: 'mamba-explain', version: '0.1.0' },
  model: {
    path: '/models/mamba2-130m',
    hash: '3f9a1c07b2e4d5a6978812ab34cd56ef7890ab12cd34ef567890ab12cd34ef56',
    format: 'state-spaces',
    dModel: 768,
    nLayer: N_LAYERS,
    storedDType: 'float32',
    tokenizer: { file: 'tokenizer.json', sha256: 'aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66' },
  },
  ep: 'cpu',
  computeDType: 'float32',
  createdAt: '2026-11-22T21:00:00.000Z',
};

export const prompt = 'The Eiffel Tower is located in the city of';
const words = ['The', ' E', 'iff', 'el', ' Tower', ' is', ' located', ' in', ' the', ' city', ' of'];
export const tokens: TokenInfo[] = (() => {
  let at = 0;
  return words.map((text, i) => {
    const t: TokenInfo = { id: 100 + i, text, start: at, end: at + text.length, role: i >= 1 && i <= 4 ? 'subject' : i === words.length - 1 ? 'last' : 'relation' };
    at += text.length;
    return t;
  });
})();

const bump = (x: number, mu: number, sd: number, amp: number) => amp * Math.exp(-((x - mu) ** 2) / (2 * sd * sd));

function macroWindow(k: number, baseProb: number): MacroWindow {
  const starts = Array.from({ length: N_LAYERS - k + 1 }, (_, i) => i);
  const mk = (f: (s: number) => number) => {
    const diffPct = starts.map((s) => Math.max(-100, f(s)));
    const probs = diffPct.map((d) => baseProb * (1 + d / 100));
    return { probs, diffPct, top1: diffPct.map((d) => d > -50) };
  };
  return {
    window: k,
    starts,
    curves: {
      subject: mk((s) => -bump(s + k / 2, 14, 4, 62) + 1.5),
      relation: mk((s) => -bump(s + k / 2, 6, 3, 24) + 0.5),
      last: mk((s) => -bump(s + k / 2, 19, 3, 11) + 2 * Math.sin(s)),
    },
  };
}

export function sampleTrace(windows = [9, 15]): TraceResult {
  const baseProb = 0.4213;
  return {
    kind: 'trace',
    schemaVersion: 1,
    provenance,
    prompt,
    subject: 'Eiffel Tower',
    target: { id: 6342, text: ' Paris' },
    baseProb,
    baseTop: [
      { id: 6342, text: ' Paris', prob: baseProb },
      { id: 4551, text: ' London', prob: 0.0612 },
      { id: 7311, text: ' Lyon', prob: 0.0304 },
      { id: 8810, text: ' Brussels', prob: 0.0188 },
      { id: 2001, text: ' New', prob: 0.0123 },
    ],
    tokens,
    subjectPositions: [1, 2, 3, 4],
    relationPositions: [0, 5, 6, 7, 8, 9],
    lastPosition: 10,
    windows: windows.map((k) => macroWindow(k, baseProb)),
  };
}

export function sampleMicro(k = 5): MicroResult {
  const baseProb = 0.4213;
  const starts = Array.from({ length: N_LAYERS - k + 1 }, (_, i) => i);
  const diffPct = tokens.map((t, p) =>
    starts.map((s) => {
      if (t.role === 'subject') return -bump(s, 11 + p, 3, 10 + 12 * p);
      if (t.role === 'last') return -bump(s, 17, 3, 15);
      return -bump(s, 4, 2.5, 6 + p) + 0.8 * Math.cos(s + p);
    }),
  );
  return {
    kind: 'micro',
    schemaVersion: 1,
    provenance,
    prompt,
    subject: 'Eiffel Tower',
    target: { id: 6342, text: ' Paris' },
    baseProb,
    baseTop: sampleTrace().baseTop,
    tokens,
    window: k,
    starts,
    probs: diffPct.map((row) => row.map((d) => baseProb * (1 + d / 100))),
    diffPct,
  };
}

function aggWindow(k: number, scale: number): AggregateWindow {
  const w = macroWindow(k, 0.3);
  const curves: AggregateWindow['curves'] = {};
  for (const [name, c] of Object.entries(w.curves)) {
    const mean = c.diffPct.map((d) => d * scale);
    curves[name] = {
      mean,
      ciLow: mean.map((m, i) => m - 3 - Math.abs(m) * 0.15 - (i % 3)),
      ciHigh: mean.map((m, i) => m + 3 + Math.abs(m) * 0.15 + (i % 2)),
      accuracy: mean.map((m) => Math.max(0, Math.min(1, 1 + m / 120))),
      n: mean.map(() => 180),
    };
  }
  return { window: k, starts: w.starts, curves };
}

export function sampleDataset(): DatasetRunResult {
  return {
    kind: 'dataset-run',
    schemaVersion: 1,
    provenance,
    experiment: 'macro',
    dataset: { file: '/data/counterfact-tracing.json', sha256: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', format: 'counterfact-tracing', rows: 21919 },
    settings: { windows: [9, 15], sets: ['subject', 'relation', 'last'], filterCorrect: true, limit: 200, seed: 1, split: true },
    status: 'complete',
    prompts: Array.from({ length: 180 }, (_, i) => ({
      index: i,
      prompt: `Prompt number ${i} is about`,
      subject: `Subject ${i}`,
      target: { id: 1000 + i, text: ` T${i}` },
      baseProb: 0.2 + (i % 7) / 20,
      subjectHasFirst: i % 3 === 0,
    })),
    skipped: [{ index: 7, prompt: 'Skipped prompt', reason: 'clean top-1 is not the target' }],
    aggregate: {
      windows: [aggWindow(9, 1), aggWindow(15, 1.1)],
      split: {
        subjectHasFirst: [aggWindow(9, 1.25), aggWindow(15, 1.3)],
        subjectLacksFirst: [aggWindow(9, 0.8), aggWindow(15, 0.9)],
        counts: { subjectHasFirst: 60, subjectLacksFirst: 120 },
      },
    },
  };
}

/** Attention of one layer: 4 heads, decaying lower-triangular, with some structure and signed values. */
export function sampleAttention(layer: number, nHeads = 4): AttentionPayload {
  const n = tokens.length;
  const heads = Array.from({ length: nHeads }, (_, h) =>
    Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => {
        if (j > i) return 0;
        const decay = Math.exp(-(i - j) * (0.15 + 0.2 * h));
        const content = Math.sin(1 + i * 0.7 + j * 1.3 + h + layer * 0.5);
        return Number((decay * (0.6 + content) * (1 + layer / 10)).toFixed(6));
      }),
    ),
  );
  return {
    prompt,
    tokens: tokens.map(({ text, start, end, role }) => ({ text, start, end, role })),
    layer,
    nLayers: N_LAYERS,
    heads,
    blocked: { layers: [8, 9, 10, 11, 12], edges: [[10, 1], [10, 2], [10, 3], [10, 4]] },
    model: { path: provenance.model.path, hash: provenance.model.hash },
  };
}

// ------------------------------------------------------------------ Mamba-1 / Falcon-Mamba samples

/** Provenance of a result on a Mamba-1 checkpoint (mamba-130m: 24 layers, d_model 768, d_inner 1536). */
export function mamba1Provenance(conv: 'keep' | 'block' = 'block', variant: 'mamba' | 'falcon_mamba' = 'mamba'): Provenance {
  return {
    ...provenance,
    model: { ...provenance.model, path: variant === 'falcon_mamba' ? '/models/falcon-mamba-tiny' : '/models/mamba-130m', format: 'hf', arch: 'mamba1', variant },
    conv,
  };
}

/** The sample trace, as if run on Mamba-1 with the given conv path. */
export function sampleTraceMamba1(conv: 'keep' | 'block' = 'block', variant: 'mamba' | 'falcon_mamba' = 'mamba'): TraceResult {
  return { ...sampleTrace([9, 15]), provenance: mamba1Provenance(conv, variant) };
}

export const M1_LAYERS = 3;
export const M1_CHANNELS = 512;
export const m1Prompt = 'The Space Needle is located in';
const m1Words = ['The', ' Space', ' Need', 'le', ' is', ' located', ' in'];
export const m1Tokens: TokenInfo[] = (() => {
  let at = 0;
  return m1Words.map((text, i) => {
    const t: TokenInfo = { id: 200 + i, text, start: at, end: at + text.length, role: i >= 1 && i <= 3 ? 'subject' : i === m1Words.length - 1 ? 'last' : 'relation' };
    at += text.length;
    return t;
  });
})();

/**
 * α of one channel: Δ_j inside α, a decay rate per channel, a signed content term, and (growing with the layer) a
 * read of the last position from the subject tokens, as in a trained model that moves the subject there.
 */
export function sampleChannelMatrix(layer: number, ch: number): number[][] {
  const n = m1Tokens.length;
  const last = n - 1;
  const rate = 0.15 + ((ch * 37) % 100) / 150;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      if (j > i) return 0;
      const dt = 0.5 + 0.5 * Math.sin(j * 1.3 + ch * 0.2) ** 2;
      const content = 0.3 + Math.sin(ch * 0.61 + i * 0.9 - j * 1.7 + layer);
      const reader = i === last && m1Tokens[j].role === 'subject' ? (0.8 + 0.6 * Math.sin(ch * 0.3 + j)) * (0.6 + 0.5 * layer) : 0;
      return Number((0.06 * dt * (Math.exp(-(i - j) * rate) * content + reader)).toFixed(7));
    }),
  );
}

/**
 * Mamba-1 attention of one layer as the host sends it: the mean α and the max |α| over all 512 channels, and
 * (optionally) one channel's α. A 7-token prompt, a 3-layer model; the knockout blocked layers 0–1.
 */
export function sampleChannelAttention(layer: number, channel?: number): AttentionPayload {
  const n = m1Tokens.length;
  const mean = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const maxAbs = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  // 64 sample channels stand in for the 512 (the summaries only need to look plausible)
  const sampled = Array.from({ length: 64 }, (_, k) => k * 8);
  for (const ch of sampled) {
    const m = sampleChannelMatrix(layer, ch);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      mean[i][j] += m[i][j] / sampled.length;
      maxAbs[i][j] = Math.max(maxAbs[i][j], Math.abs(m[i][j]));
    }
  }
  const round = (m: number[][]) => m.map((r) => r.map((v) => Number(v.toFixed(7))));
  return {
    prompt: m1Prompt,
    tokens: m1Tokens.map(({ text, start, end, role }) => ({ text, start, end, role })),
    layer,
    nLayers: M1_LAYERS,
    unit: 'channel',
    heads: [],
    channels: {
      count: M1_CHANNELS,
      mean: round(mean),
      maxAbs: round(maxAbs),
      ...(channel !== undefined ? { selected: { id: channel, matrix: sampleChannelMatrix(layer, channel) } } : {}),
    },
    blocked: { layers: [0, 1], edges: [[6, 1], [6, 2], [6, 3]] },
    model: { path: '/models/demo-mamba1', hash: '9c1e5a0b7d3f2e4a6b8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a', arch: 'mamba1', variant: 'mamba' },
  };
}

// ------------------------------------------------------------------ feature knockout samples (SPEC §4)

/** Deterministic pseudo-random numbers in [0, 1). */
function rand(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

/** The thirds of SPEC §4: sort ascending by (score, index), n // 3 fast, n // 3 slow, the rest middle. */
export function thirds(scores: number[]): DecayLayer {
  const n = scores.length;
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  const t = Math.floor(n / 3);
  const asc = (xs: number[]) => xs.sort((a, b) => a - b);
  return { scores, fast: asc(order.slice(0, t)), middle: asc(order.slice(t, n - t)), slow: asc(order.slice(n - t)) };
}

/**
 * Decay scores of one layer: Mamba-2 heads s_h = exp(−exp(A_log)) with A = exp(A_log) spread over [1, 16] (the
 * state-spaces init), so the scores span 10⁻⁷ … 0.37; Mamba-1 channels Σ_n exp(−A[c, n]) with A ≈ n (S4D-real init).
 */
export function sampleDecay(layer: number, unit: 'head' | 'channel' = 'head', count = unit === 'head' ? 24 : M1_CHANNELS): DecayLayer {
  const r = rand(1000 + layer * 17 + (unit === 'head' ? 0 : 7));
  const scores = Array.from({ length: count }, () => {
    if (unit === 'head') return Math.exp(-(1 + 15 * r() ** (0.8 + layer / 30)));
    let s = 0;
    for (let n = 1; n <= 16; n++) s += Math.exp(-n * (0.55 + 0.9 * r() * r()));
    return s;
  });
  return thirds(scores);
}

/** The panel's feature-decay payload of one layer (a 24-layer mamba2-130m, or the 3-layer Mamba-1 sample). */
export function sampleFeatures(layer: number, unit: 'head' | 'channel' = 'head'): FeaturesPayload {
  return unit === 'head'
    ? { unit, count: 24, nLayers: N_LAYERS, layer, decay: sampleDecay(layer, 'head'), model: { path: provenance.model.path, hash: provenance.model.hash } }
    : { unit, count: M1_CHANNELS, nLayers: M1_LAYERS, layer, decay: sampleDecay(layer, 'channel'), model: { path: '/models/mamba-130m', hash: mamba1Provenance().model.hash, arch: 'mamba1', variant: 'mamba' } };
}

function scaledWindow(w: MacroWindow, baseProb: number, scale: Record<string, number>): MacroWindow {
  const curves: MacroWindow['curves'] = {};
  for (const [name, c] of Object.entries(w.curves)) {
    const diffPct = c.diffPct.map((d, i) => Math.max(-100, d * (scale[name] ?? 1) + 0.4 * Math.sin(i + name.length)));
    curves[name] = { diffPct, probs: diffPct.map((d) => baseProb * (1 + d / 100)), top1: diffPct.map((d) => d > -50) };
  }
  return { ...w, curves };
}

/**
 * The sample trace as a feature knockout of several groups computed in one call (the paper's figure: all vs fast
 * vs slow, subject → last), `windows` = the first group's as the engine writes it.
 */
export function sampleFeatureTrace(mode: 'only' | 'except' = 'except', names = ['all', 'fast', 'slow'], windows = [9]): TraceResult {
  const base = sampleTrace(windows);
  // except: blocking every head but the fast ones removes almost all of the flow; but the slow ones, little of it
  const scale: Record<string, Record<string, number>> = {
    all: { subject: 1, relation: 1, last: 1 },
    fast: mode === 'except' ? { subject: 0.9, relation: 0.85, last: 0.9 } : { subject: 0.12, relation: 0.2, last: 0.15 },
    middle: mode === 'except' ? { subject: 0.7, relation: 0.75, last: 0.8 } : { subject: 0.3, relation: 0.3, last: 0.2 },
    slow: mode === 'except' ? { subject: 0.25, relation: 0.4, last: 0.3 } : { subject: 0.75, relation: 0.6, last: 0.7 },
  };
  const groups = names.map((features, i) => ({ features, mode, windows: base.windows.map((w) => scaledWindow(w, base.baseProb, scale[features] ?? { subject: 0.5 + 0.1 * i, relation: 0.5, last: 0.5 })) }));
  return { ...base, windows: groups[0].windows, ...(groups.length === 1 ? { features: { features: names[0], mode } } : { groups }) };
}

/** Attention of one layer with the group means the host adds (over the sample heads' decay thirds). */
export function sampleAttentionWithGroups(layer: number): AttentionPayload {
  const p = sampleAttention(layer, 6);
  const d = sampleDecay(layer, 'head', 6);
  return { ...p, groups: groupMeans(p.heads, d, true) };
}

/** Mamba-1 attention of one layer with group means (of the 64 sample channels standing in for the thirds). */
export function sampleChannelAttentionWithGroups(layer: number, channel?: number): AttentionPayload {
  const p = sampleChannelAttention(layer, channel);
  const ids = Array.from({ length: 64 }, (_, k) => k * 8);
  const d = sampleDecay(layer, 'channel');
  const g = groupMeans(ids.map((ch) => sampleChannelMatrix(layer, ch)), d, false, ids);
  const round = (m: number[][]) => m.map((r) => r.map((v) => Number(v.toFixed(7))));
  return { ...p, groups: { fast: { count: d.fast.length, mean: round(g.fast.mean) }, middle: { count: d.middle.length, mean: round(g.middle.mean) }, slow: { count: d.slow.length, mean: round(g.slow.mean) } } };
}
