// GPT-NeoX rotary embedding tables (SPEC §7: rotate-half on the first rd = floor(headDim · rotaryPct) dims of each
// head). transformers computes the angles and their cos / sin in float32 even for a float64 model
// (GPTNeoXRotaryEmbedding); these tables hold the same float32 values, for the graphs and the float64 reference alike.
import type { TransformerConfig } from '../../types';

export function rotaryDims(c: TransformerConfig): number {
  return Math.floor((c.dModel / c.nHead) * c.rotaryPct);
}

/** cos and sin [positions, rd] (the rd/2 frequencies twice, rotate-half layout) for positions 0 … positions−1. */
export function rotaryTables(c: TransformerConfig, positions: number): { cos: Float32Array; sin: Float32Array; rd: number } {
  const rd = rotaryDims(c);
  const half = rd / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.fround(Math.pow(c.rotaryBase, Math.fround((2 * i) / rd))));
  const cos = new Float32Array(positions * rd);
  const sin = new Float32Array(positions * rd);
  for (let t = 0; t < positions; t++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(t * inv[i]);
      cos[t * rd + i] = cos[t * rd + half + i] = Math.cos(a);
      sin[t * rd + i] = sin[t * rd + half + i] = Math.sin(a);
    }
  }
  return { cos, sin, rd };
}
