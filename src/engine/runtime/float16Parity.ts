// float16 compute is a GPU-only option whose error depends on the model: whenever it is used, the same prompt's
// next-token prediction is also computed in float32 and the difference is reported (CLI: stderr and JSON).
import type { PredictResult } from './methods';

export interface Float16Parity {
  prompt: string;
  /** float32's top-1 token and both probabilities of it */
  top1: { id: number; text: string; prob32: number; prob16: number };
  /** whether float16's top-1 is the same token */
  sameTop1: boolean;
  /** largest |p16 − p32| over float32's top-k tokens (a token missing from float16's list counts with p16 = 0) */
  maxAbsProbDiff: number;
  k: number;
}

export function compareFloat16(prompt: string, p16: PredictResult, p32: PredictResult, k = 5): Float16Parity {
  const by16 = new Map(p16.top.map((t) => [t.id, t.prob]));
  const ref = p32.top.slice(0, k);
  let maxAbsProbDiff = 0;
  for (const t of ref) maxAbsProbDiff = Math.max(maxAbsProbDiff, Math.abs((by16.get(t.id) ?? 0) - t.prob));
  const first = ref[0];
  return {
    prompt,
    top1: { id: first.id, text: first.text, prob32: first.prob, prob16: by16.get(first.id) ?? 0 },
    sameTop1: p16.top[0]?.id === first.id,
    maxAbsProbDiff,
    k: ref.length,
  };
}

/** `what` names the inexact compute (default float16 compute; TF32 on CUDA uses 'TF32 on CUDA' against the CPU's float32). */
export function formatFloat16Parity(p: Float16Parity, what = 'float16 compute', reference = 'float32'): string {
  return (
    `${what} vs ${reference} on this prompt: top-1 ${JSON.stringify(p.top1.text)} p ${p.top1.prob16.toPrecision(4)} vs ${p.top1.prob32.toPrecision(4)}` +
    `${p.sameTop1 ? '' : ` (${what === 'float16 compute' ? 'float16' : what} predicts another token!)`}; largest |Δp| over the top ${p.k}: ${p.maxAbsProbDiff.toExponential(2)}`
  );
}
