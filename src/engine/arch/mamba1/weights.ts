// Mamba-1 / Falcon-Mamba checkpoint tensors (SPEC §2), canonical names as for Mamba-2 (the stored key without
// "backbone.", embeddings → embedding), and their shapes for a config.
import type { Mamba1Config } from '../../types';

export function mamba1Shapes(c: Mamba1Config): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const { dModel: d, dInner: dI, dState: S, dtRank: R, dConv: K } = c;
  m.set('embedding.weight', [c.paddedVocabSize, d]);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `layers.${i}.`;
    m.set(p + 'norm.weight', [d]);
    m.set(p + 'mixer.in_proj.weight', [2 * dI, d]);
    m.set(p + 'mixer.conv1d.weight', [dI, 1, K]);
    m.set(p + 'mixer.conv1d.bias', [dI]);
    m.set(p + 'mixer.x_proj.weight', [R + 2 * S, dI]);
    m.set(p + 'mixer.dt_proj.weight', [dI, R]);
    m.set(p + 'mixer.dt_proj.bias', [dI]);
    m.set(p + 'mixer.A_log', [dI, S]);
    m.set(p + 'mixer.D', [dI]);
    m.set(p + 'mixer.out_proj.weight', [d, dI]);
  }
  m.set('norm_f.weight', [d]);
  m.set('lm_head.weight', [c.paddedVocabSize, d]);
  return m;
}
