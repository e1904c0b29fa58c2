// Realistic sample results for the webview/report tests (shapes of resultTypes.ts; numbers shaped like
// the paper's Figure 1/2 on a 24-layer Mamba-2 130m).
import type {
  AggregateWindow, DatasetRunResult, MacroWindow, MicroResult, Provenance, TokenInfo, TraceResult,
} from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload } from '../../src/shared/protocol';

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
