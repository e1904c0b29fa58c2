// Planning of a knockout run: validation, de-duplication (identical variants are computed once; a variant that
// blocks nothing equals the clean run and costs nothing) and the grouping of rows into backend calls by prompt (so
// a call reads the contexts of few prompts).
import { featureKey, type EdgeKnockout } from '../interventions/spec';
import type { ModelConfig } from '../types';
import { familyOf } from '../arch/index';

/** One prompt + an edge knockout (window, blocked sources, conv path). */
export interface Variant extends EdgeKnockout {
  /** index into the prompts of the CleanRun */
  prompt: number;
}

export function variantKey(v: Variant): string {
  return `${v.prompt}|${v.start}|${v.size}|${v.conv ?? 'keep'}|${featureKey(v)}|${Array.from(new Set(v.blocked)).sort((a, b) => a - b).join(',')}`;
}

/** Checks a variant against the model and its prompt (`lengths`: the token count of every prompt of the run). */
export function validateVariant(c: ModelConfig, lengths: readonly number[], v: Variant): void {
  const L = c.nLayer;
  if (!(Number.isInteger(v.prompt) && v.prompt >= 0 && v.prompt < lengths.length)) throw new Error(`variant prompt ${v.prompt} out of range`);
  const n = lengths[v.prompt];
  if (!(v.size >= 1 && v.start >= 0 && v.start + v.size <= L)) throw new Error(`variant window [${v.start}, ${v.start + v.size}) outside 0…${L}`);
  for (const b of v.blocked) if (!(b >= 0 && b < n)) throw new Error(`variant blocked position ${b} out of range`);
  if (v.conv !== undefined && v.conv !== 'keep' && v.conv !== 'block') throw new Error(`variant conv path ${String(v.conv)} is not keep or block`);
  if (v.features) {
    const U = familyOf(c).attentionUnits(c).count;
    if (v.features.mode !== 'only' && v.features.mode !== 'except') throw new Error(`variant feature mode ${String(v.features.mode)}`);
    if (v.features.units.length !== L) throw new Error(`variant features: ${v.features.units.length} layers of units, expected ${L}`);
    for (const us of v.features.units) for (const u of us) if (!(Number.isInteger(u) && u >= 0 && u < U)) throw new Error(`variant feature unit ${u} out of range [0, ${U})`);
  }
}

export interface Plan {
  /** the distinct variants that cut something */
  uniq: Variant[];
  /** per input variant, its index in uniq, or −1 (it blocks nothing: the clean result) */
  slotOf: number[];
}

export function planVariants(c: ModelConfig, lengths: readonly number[], variants: readonly Variant[]): Plan {
  const uniq: Variant[] = [];
  const slotOf: number[] = new Array(variants.length).fill(-1);
  const byKey = new Map<string, number>();
  variants.forEach((v, i) => {
    validateVariant(c, lengths, v);
    if (v.blocked.length === 0) return;
    const k = variantKey(v);
    let s = byKey.get(k);
    if (s === undefined) {
      s = uniq.length;
      byKey.set(k, s);
      uniq.push(v);
    }
    slotOf[i] = s;
  });
  return { uniq, slotOf };
}

/**
 * Groups the variants (indices into uniq) into calls of at most maxRows rows: the variants of consecutive prompts
 * (a prompt with more rows is split), each call sorted by window start (so the rows active at a layer are a prefix).
 */
export function groupByPrompt(uniq: readonly Variant[], maxRows: number): number[][] {
  const byPrompt = new Map<number, number[]>();
  uniq.forEach((v, u) => {
    const list = byPrompt.get(v.prompt);
    if (list) list.push(u);
    else byPrompt.set(v.prompt, [u]);
  });
  const calls: number[][] = [];
  let cur: number[] = [];
  for (const list of byPrompt.values()) {
    // a prompt that does not fit in the current call starts a new one
    if (cur.length > 0 && cur.length + list.length > maxRows) {
      calls.push(cur);
      cur = [];
    }
    for (const u of list) {
      if (cur.length === maxRows) {
        calls.push(cur);
        cur = [];
      }
      cur.push(u);
    }
  }
  if (cur.length > 0) calls.push(cur);
  return calls.map((call) => call.slice().sort((a, b) => uniq[a].start - uniq[b].start || a - b));
}
