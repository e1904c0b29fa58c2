// Finding the bottleneck (SPEC §5): (a) per layer the effective rank of the mixer output over a corpus,
// exp(entropy(σ / Σσ)) of the singular values σ of the [tokens, d_model] matrix — the layer where it dips is the
// bottleneck; (b) at the chosen layer, per text the mean over its tokens of the mixer output, and per channel the
// variance of that mean across texts: the candidate channels, ranked by variance.
// The mixer output of layer ℓ is h_{ℓ+1} − h_ℓ of the unsteered model's residual stream (computed in float64).
import * as fs from 'node:fs';
import { CancelledError, UserError, type EngineSession, type MethodContext } from '../types';
import { parseDataset } from '../datasets/index';

export interface BottleneckParams {
  /** corpus file: text (one text per blank-line-separated paragraph), JSON Lines with "text", or a COUNTERFACT-style JSON file (its prompts) */
  corpus: string;
  /** the layer whose channels are ranked (default: the layer of lowest effective rank) */
  layer?: number;
  /** at most this many texts (default 50) */
  texts?: number;
  /** tokens per text, at most (default 512) */
  maxTokens?: number;
  /** channels listed (default 32) */
  top?: number;
}

export interface BottleneckResult {
  kind: 'bottlenecks';
  corpus: { file: string; texts: number; tokens: number };
  /** effective rank of each layer's mixer output over all the corpus's tokens */
  layers: { layer: number; effectiveRank: number }[];
  /** the layer of lowest effective rank */
  bottleneck: number;
  layer: number;
  /** channels of `layer` ranked by the variance across texts of their per-text mean (sample variance), highest first */
  channels: { channel: number; variance: number; mean: number }[];
}

/** Texts of a corpus file: JSON Lines with "text", a COUNTERFACT-style JSON (prompts), or plain text paragraphs. */
export function readCorpus(file: string): string[] {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`corpus ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (raw.includes('\u0000')) throw new UserError(`corpus ${file} is not a text file (it holds NUL bytes)`);
  const trimmed = raw.trimStart();
  let texts: string[];
  if (trimmed.startsWith('[') || (trimmed.startsWith('{') && !/\n\s*\{/.test(trimmed))) {
    texts = parseDataset(raw, file).items.map((it) => it.prompt);
  } else if (trimmed.startsWith('{')) {
    texts = raw
      .split('\n')
      .map((l, i) => [l.trim(), i] as const)
      .filter(([l]) => l !== '')
      .map(([l, i]) => {
        let o: unknown;
        try {
          o = JSON.parse(l);
        } catch {
          throw new UserError(`corpus ${file}: line ${i + 1} is not JSON (JSON Lines needs one {"text": …} object per line)`);
        }
        const t = (o as { text?: unknown })?.text;
        if (typeof t !== 'string') throw new UserError(`corpus ${file}: line ${i + 1} has no string "text"`);
        return t;
      });
  } else {
    texts = raw.split(/\n\s*\n/).map((p) => p.trim());
  }
  texts = texts.filter((t) => t.trim() !== '');
  if (texts.length === 0) throw new UserError(`corpus ${file} holds no text`);
  return texts;
}

/** Eigenvalues of a symmetric matrix (row-major n×n, overwritten): Householder tridiagonalisation + implicit QL. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // tred2 without eigenvectors
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(a[i * n + k]);
      if (scale === 0) e[i] = a[i * n + l];
      else {
        for (let k = 0; k <= l; k++) {
          a[i * n + k] /= scale;
          h += a[i * n + k] * a[i * n + k];
        }
        let f = a[i * n + l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          let gg = 0;
          for (let k = 0; k <= j; k++) gg += a[j * n + k] * a[i * n + k];
          for (let k = j + 1; k <= l; k++) gg += a[k * n + j] * a[i * n + k];
          e[j] = gg / h;
          f += e[j] * a[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = a[i * n + j];
          const gj = (e[j] -= hh * fj);
          for (let k = 0; k <= j; k++) a[j * n + k] -= fj * e[k] + gj * a[i * n + k];
        }
      }
    } else e[i] = a[i * n + l];
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  // tqli
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ === 60) break;
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1, c = 1, p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          let f = s * e[i];
          const b = c * e[i];
          e[i + 1] = r = Math.hypot(f, g);
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          d[i + 1] = g + (p = s * r);
          g = c * r - b;
          f = 0;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d;
}

/** exp(entropy(σ / Σσ)) from the Gram matrix MᵀM (its eigenvalues are σ²). */
export function effectiveRankFromGram(gram: Float64Array, n: number): number {
  const ev = symmetricEigenvalues(Float64Array.from(gram), n);
  const sig = Array.from(ev, (v) => Math.sqrt(Math.max(0, v)));
  const total = sig.reduce((a, b) => a + b, 0);
  if (total <= 0) return 0;
  let h = 0;
  for (const s of sig) if (s > 0) h -= (s / total) * Math.log(s / total);
  return Math.exp(h);
}

export async function runBottlenecks(session: EngineSession, params: BottleneckParams, ctx?: MethodContext): Promise<BottleneckResult> {
  const c = session.backend.config;
  const { dModel: d, nLayer: L } = c;
  const maxTexts = params.texts ?? 50;
  const maxTokens = params.maxTokens ?? 512;
  const top = params.top ?? 32;
  if (!Number.isInteger(maxTexts) || maxTexts < 2) throw new UserError(`--texts must be an integer ≥ 2 (the variance across texts needs two), got ${params.texts}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UserError(`--max-tokens must be a positive integer, got ${params.maxTokens}`);
  if (params.layer !== undefined && !(Number.isInteger(params.layer) && params.layer >= 0 && params.layer < L)) throw new UserError(`--layer ${params.layer} is out of range: the model has layers 0..${L - 1}`);
  const texts = readCorpus(params.corpus).slice(0, maxTexts);
  if (texts.length < 2) throw new UserError(`corpus ${params.corpus} holds ${texts.length} text: the variance across texts needs at least 2`);
  const b = session.backend;
  const grams = Array.from({ length: L }, () => new Float64Array(d * d));
  const means = Array.from({ length: L }, () => [] as Float64Array[]);
  let tokens = 0;
  const o = new Float64Array(d);
  for (const [ti, text] of texts.entries()) {
    if (ctx?.cancelled()) throw new CancelledError();
    const ids = session.tokenizer.encode(text).ids.slice(0, maxTokens);
    const n = ids.length;
    if (n === 0) continue;
    tokens += n;
    let h = await b.embed(Int32Array.from(ids), 1, n);
    for (let l = 0; l < L; l++) {
      const next = (await b.layer(l, h, 1, n)).hidden;
      const g = grams[l];
      const m = new Float64Array(d);
      for (let t = 0; t < n; t++) {
        for (let k = 0; k < d; k++) o[k] = next[t * d + k] - h[t * d + k];
        for (let k = 0; k < d; k++) {
          m[k] += o[k] / n;
          const ok = o[k];
          if (ok === 0) continue;
          const row = k * d;
          for (let j = 0; j <= k; j++) g[row + j] += ok * o[j];
        }
      }
      means[l].push(m);
      h = next;
    }
    ctx?.progress({ done: ti + 1, total: texts.length, message: 'texts' });
  }
  const layers: BottleneckResult['layers'] = [];
  for (let l = 0; l < L; l++) {
    if (ctx?.cancelled()) throw new CancelledError();
    const g = grams[l];
    for (let k = 0; k < d; k++) for (let j = k + 1; j < d; j++) g[k * d + j] = g[j * d + k];
    layers.push({ layer: l, effectiveRank: effectiveRankFromGram(g, d) });
    ctx?.progress({ done: l + 1, total: L, message: 'effective rank per layer' });
  }
  const bottleneck = layers.reduce((best, x) => (x.effectiveRank < best.effectiveRank ? x : best)).layer;
  const layer = params.layer ?? bottleneck;
  const ms = means[layer];
  const T = ms.length;
  const channels = Array.from({ length: d }, (_, ch) => {
    let mu = 0;
    for (const m of ms) mu += m[ch] / T;
    let v = 0;
    for (const m of ms) v += (m[ch] - mu) ** 2;
    return { channel: ch, variance: v / (T - 1), mean: mu };
  }).sort((a, b) => b.variance - a.variance || a.channel - b.channel);
  return { kind: 'bottlenecks', corpus: { file: params.corpus, texts: T, tokens }, layers, bottleneck, layer, channels: channels.slice(0, top) };
}
