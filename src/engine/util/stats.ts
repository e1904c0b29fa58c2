// Small statistics helpers for aggregating knockout results: mean, Student-t and percentile-bootstrap 95% intervals.

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for n < 2. */
export function sampleStd(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (n - 1));
}

/** ln Γ(x), Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the regularised incomplete beta function (Numerical Recipes betacf). */
function betacf(a: number, b: number, x: number): number {
  const MAXIT = 300;
  const EPS = 1e-15;
  const FPMIN = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAXIT; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const bt = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (bt * betacf(a, b, x)) / a;
  return 1 - (bt * betacf(b, a, 1 - x)) / b;
}

/** Student-t CDF with `dof` degrees of freedom. */
export function studentTCdf(t: number, dof: number): number {
  const x = dof / (dof + t * t);
  const tail = 0.5 * incompleteBeta(x, dof / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Two-sided critical value t such that P(|T| ≤ t) = level, T ~ Student-t(dof). */
export function studentTCritical(dof: number, level = 0.95): number {
  if (!(dof >= 1)) throw new Error(`degrees of freedom must be ≥ 1, got ${dof}`);
  const p = 1 - (1 - level) / 2;
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
    if (hi - lo < 1e-13) break;
  }
  return (lo + hi) / 2;
}

export interface MeanCI {
  n: number;
  mean: number;
  low: number;
  high: number;
}

/** Mean and two-sided 95% confidence interval (Student t, n − 1 dof). n = 1 → CI = [mean, mean]; n = 0 → NaN. */
export function meanCI(xs: readonly number[], level = 0.95): MeanCI {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, low: NaN, high: NaN };
  const m = mean(xs);
  if (n === 1) return { n, mean: m, low: m, high: m };
  const half = (studentTCritical(n - 1, level) * sampleStd(xs)) / Math.sqrt(n);
  return { n, mean: m, low: m - half, high: m + half };
}

// ------------------------------------------------------------------ bootstrap percentile intervals

/** How a confidence interval of a mean was computed (recorded in results files: settings.interval). */
export type IntervalSpec =
  | { method: 'bootstrap'; level: number; resamples: number; seed: number }
  | { method: 't'; level: number };

export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;
export const DEFAULT_BOOTSTRAP_SEED = 0;

/** Interval of `--ci bootstrap|t` (default bootstrap, 2000 resamples, seed 0, 95%). */
export function intervalSpec(method: 'bootstrap' | 't' = 'bootstrap', opts: { resamples?: number; seed?: number; level?: number } = {}): IntervalSpec {
  const level = opts.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  if (method === 't') return { method, level };
  if (method !== 'bootstrap') throw new RangeError(`unknown interval method '${String(method)}'`);
  const resamples = opts.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`bootstrap resamples must be an integer ≥ 100, got ${resamples}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`bootstrap seed must be an integer in [0, 2^32), got ${seed}`);
  return { method, level, resamples, seed };
}

/** Quantile q ∈ [0, 1] of sorted values, linear interpolation between order statistics (R type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile-bootstrap intervals of the mean for several statistics at once: rows[p][s] is prompt p's value of
 * statistic s (e.g. the diff% at window start s). Each of the `resamples` resamples draws n prompts with replacement
 * (mulberry32 seeded with `seed`, the same draws for every s), and the interval of s is the (1−level)/2 and
 * (1+level)/2 quantiles of its resampled means. Every bound lies within [min, max] of the values, so a diff% interval
 * never leaves [−100, max]. The same rows, resamples and seed always give the same bounds. n = 1 → [value, value];
 * n = 0 → NaN.
 */
export function bootstrapMeanCIs(rows: readonly (readonly number[])[], spec: { resamples: number; seed: number; level: number }): { mean: number[]; low: number[]; high: number[] } {
  const n = rows.length;
  const S = n ? rows[0].length : 0;
  if (n === 0) return { mean: [], low: [], high: [] };
  // the same sum-then-divide as mean(), so that both methods report the identical mean
  const mean = Array.from({ length: S }, (_, s) => {
    let t = 0;
    for (const r of rows) t += r[s];
    return t / n;
  });
  if (n === 1) return { mean: rows[0].slice(), low: rows[0].slice(), high: rows[0].slice() };
  const flat = new Float64Array(n * S);
  rows.forEach((r, p) => {
    for (let s = 0; s < S; s++) flat[p * S + s] = r[s];
  });
  const B = spec.resamples;
  const means = new Float64Array(B * S);
  const sums = new Float64Array(S);
  // mulberry32 inline (src/engine/util/prng.ts), so that a hot loop does not pay a closure call per draw
  let a = spec.seed >>> 0;
  for (let b = 0; b < B; b++) {
    sums.fill(0);
    for (let k = 0; k < n; k++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const i = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) * S;
      for (let s = 0; s < S; s++) sums[s] += flat[i + s];
    }
    for (let s = 0; s < S; s++) means[s * B + b] = sums[s] / n;
  }
  const alpha = (1 - spec.level) / 2;
  const low: number[] = [];
  const high: number[] = [];
  for (let s = 0; s < S; s++) {
    const sorted = means.slice(s * B, (s + 1) * B).sort();
    // clamp to the data range: interpolation cannot leave it, but float rounding of the sums could by an ulp
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = 0; p < n; p++) {
      lo = Math.min(lo, flat[p * S + s]);
      hi = Math.max(hi, flat[p * S + s]);
    }
    low.push(Math.min(hi, Math.max(lo, quantileSorted(sorted, alpha))));
    high.push(Math.min(hi, Math.max(lo, quantileSorted(sorted, 1 - alpha))));
  }
  return { mean, low, high };
}

/** Mean and percentile-bootstrap interval of one sample (see bootstrapMeanCIs). */
export function bootstrapMeanCI(xs: readonly number[], spec: { resamples: number; seed: number; level: number }): MeanCI {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, low: NaN, high: NaN };
  const r = bootstrapMeanCIs(
    xs.map((x) => [x]),
    spec,
  );
  return { n, mean: mean(xs), low: r.low[0], high: r.high[0] };
}

/**
 * Mean and interval of every column of rows[p][s] by the given method: Student t per column, or the percentile
 * bootstrap (one set of resamples for all columns).
 */
export function columnIntervals(rows: readonly (readonly number[])[], S: number, spec: IntervalSpec): { mean: number[]; low: number[]; high: number[] } {
  if (rows.length === 0) return { mean: new Array(S).fill(NaN), low: new Array(S).fill(NaN), high: new Array(S).fill(NaN) };
  if (spec.method === 'bootstrap') {
    return bootstrapMeanCIs(rows, spec);
  }
  const out = { mean: [] as number[], low: [] as number[], high: [] as number[] };
  for (let s = 0; s < S; s++) {
    const ci = meanCI(
      rows.map((v) => v[s]),
      spec.level,
    );
    out.mean.push(ci.mean);
    out.low.push(ci.low);
    out.high.push(ci.high);
  }
  return out;
}
