// The heatmap's attention as it travels from the host to the webview: row-major typed arrays (VS Code moves the
// ArrayBuffers of a webview message as binary, without JSON), turned back into AttentionPayload's nested arrays in
// the webview (decodeAttention). No `vscode` import: host, webview and tests share it.
import type { AttentionPayload, DecayGroup, GroupMean } from './protocol';

/** n × n matrices stacked, row-major: float32 from the engine, float64 for means (or any lossless copy). */
export type Matrices = Float32Array | Float64Array;

export interface AttentionWire extends Omit<AttentionPayload, 'heads' | 'channels' | 'groups'> {
  /** positions: every matrix is n × n */
  n: number;
  /** head models: [heads, n, n]; empty for channel models */
  heads: Matrices;
  /** channel models: summaries over all `count` channels, and the channel asked for */
  channels?: { count: number; mean: Matrices; maxAbs: Matrices; selected?: { id: number; matrix: Matrices } };
  groups?: Record<DecayGroup, { count: number; units?: number[]; mean: Matrices }>;
}

const GROUPS: readonly DecayGroup[] = ['fast', 'middle', 'slow'];

function isMatrices(v: unknown): v is Matrices {
  return v instanceof Float32Array || v instanceof Float64Array;
}

/** matrices → count nested n × n arrays (RangeError when the length is not count · n²). */
function unstack(m: unknown, n: number, count: number | undefined, what: string): number[][][] {
  if (!isMatrices(m)) throw new RangeError(`${what}: not a typed array`);
  const nn = n * n;
  const c = count ?? (nn === 0 ? 0 : m.length / nn);
  if (!Number.isInteger(c) || m.length !== c * nn) throw new RangeError(`${what}: ${m.length} values are not ${count ?? 'whole'} matrices of ${n} × ${n}`);
  const out: number[][][] = [];
  for (let u = 0; u < c; u++) {
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) rows.push(Array.from(m.subarray((u * n + i) * n, (u * n + i + 1) * n)));
    out.push(rows);
  }
  return out;
}

const one = (m: unknown, n: number, what: string) => unstack(m, n, 1, what)[0];

/** The webview's side: the payload with nested arrays. Throws RangeError on a malformed message. */
export function decodeAttention(w: AttentionWire): AttentionPayload {
  const { n, heads, channels, groups, ...rest } = w;
  if (!Number.isInteger(n) || n < 0 || n !== w.tokens.length) throw new RangeError(`attention of ${n} positions for ${w.tokens.length} tokens`);
  const out: AttentionPayload = { ...rest, heads: unstack(heads, n, undefined, 'heads') };
  if (channels) {
    out.channels = {
      count: channels.count,
      mean: one(channels.mean, n, 'mean'),
      maxAbs: one(channels.maxAbs, n, 'maxAbs'),
      ...(channels.selected ? { selected: { id: channels.selected.id, matrix: one(channels.selected.matrix, n, `channel ${channels.selected.id}`) } } : {}),
    };
  }
  if (groups) {
    const g = {} as Record<DecayGroup, GroupMean>;
    for (const k of GROUPS) {
      const x = groups[k];
      if (!x) throw new RangeError(`group ${k} is missing`);
      g[k] = { count: x.count, ...(x.units ? { units: x.units } : {}), mean: one(x.mean, n, `${k} mean`) };
    }
    out.groups = g;
  }
  return out;
}

/** nested n × n arrays → one Float64Array (lossless for any number) */
function stack(ms: readonly (readonly (readonly number[])[])[], n: number): Float64Array {
  const out = new Float64Array(ms.length * n * n);
  ms.forEach((m, u) => m.forEach((row, i) => out.set(row, (u * n + i) * n)));
  return out;
}

/** A payload with nested arrays as it would travel (tests, samples); the host builds the wire from the engine's arrays. */
export function encodeAttention(p: AttentionPayload): AttentionWire {
  const { heads, channels, groups, ...rest } = p;
  const n = p.tokens.length;
  const w: AttentionWire = { ...rest, n, heads: stack(heads, n) };
  if (channels) {
    w.channels = {
      count: channels.count,
      mean: stack([channels.mean], n),
      maxAbs: stack([channels.maxAbs], n),
      ...(channels.selected ? { selected: { id: channels.selected.id, matrix: stack([channels.selected.matrix], n) } } : {}),
    };
  }
  if (groups) {
    w.groups = {} as AttentionWire['groups'] & object;
    for (const k of GROUPS) w.groups[k] = { count: groups[k].count, ...(groups[k].units ? { units: groups[k].units } : {}), mean: stack([groups[k].mean], n) };
  }
  return w;
}
