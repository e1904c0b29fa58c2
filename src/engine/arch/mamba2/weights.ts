// Mamba-2 checkpoint tensors (SPEC §1): canonical names (the stored key without "backbone.", embeddings →
// embedding) and their shapes for a config.
import type { CheckpointFormat, Mamba2Config } from '../../types';

/** Expected shape of every canonical tensor for a config (lm_head included; callers drop it when tied). */
export function mamba2Shapes(c: Mamba2Config): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const gs = 2 * c.nGroups * c.dState;
  const convDim = c.dInner + gs;
  m.set('embedding.weight', [c.paddedVocabSize, c.dModel]);
  for (let i = 0; i < c.nLayer; i++) {
    const p = `layers.${i}.`;
    m.set(p + 'norm.weight', [c.dModel]);
    m.set(p + 'mixer.in_proj.weight', [2 * c.dInner + gs + c.nHeads, c.dModel]);
    m.set(p + 'mixer.conv1d.weight', [convDim, 1, c.dConv]);
    m.set(p + 'mixer.conv1d.bias', [convDim]);
    m.set(p + 'mixer.dt_bias', [c.nHeads]);
    m.set(p + 'mixer.A_log', [c.nHeads]);
    m.set(p + 'mixer.D', [c.nHeads]);
    m.set(p + 'mixer.norm.weight', [c.dInner]);
    m.set(p + 'mixer.out_proj.weight', [c.dModel, c.dInner]);
  }
  m.set('norm_f.weight', [c.dModel]);
  m.set('lm_head.weight', [c.paddedVocabSize, c.dModel]);
  return m;
}

/** The stored key of a canonical name, as both Mamba families' checkpoints name it. */
export function mambaStoredName(canonical: string, format: CheckpointFormat): string {
  if (canonical === 'embedding.weight') return format === 'hf' ? 'backbone.embeddings.weight' : 'backbone.embedding.weight';
  if (canonical === 'norm_f.weight' || canonical.startsWith('layers.')) return `backbone.${canonical}`;
  return canonical;
}
