// GPT-2 and GPT-NeoX checkpoint tensors (SPEC §7): canonical names, their shapes, and the stored keys.
// Canonical: embedding.weight, position.weight (GPT-2's wpe), layers.{i}.<the block's own key>, norm_f.{weight,bias}
// (ln_f / final_layer_norm), lm_head.weight (GPT-NeoX's embed_out; absent when tied).
// GPT-2 Conv1D weights are stored [in, out]; GPT-NeoX Linear weights [out, in].
import type { CheckpointFormat, TransformerConfig } from '../../types';

const GPT2_BLOCK = (d: number, F: number): [string, number[]][] => [
  ['ln_1.weight', [d]], ['ln_1.bias', [d]],
  ['attn.c_attn.weight', [d, 3 * d]], ['attn.c_attn.bias', [3 * d]],
  ['attn.c_proj.weight', [d, d]], ['attn.c_proj.bias', [d]],
  ['ln_2.weight', [d]], ['ln_2.bias', [d]],
  ['mlp.c_fc.weight', [d, F]], ['mlp.c_fc.bias', [F]],
  ['mlp.c_proj.weight', [F, d]], ['mlp.c_proj.bias', [d]],
];

const NEOX_BLOCK = (d: number, F: number): [string, number[]][] => [
  ['input_layernorm.weight', [d]], ['input_layernorm.bias', [d]],
  ['post_attention_layernorm.weight', [d]], ['post_attention_layernorm.bias', [d]],
  ['attention.query_key_value.weight', [3 * d, d]], ['attention.query_key_value.bias', [3 * d]],
  ['attention.dense.weight', [d, d]], ['attention.dense.bias', [d]],
  ['mlp.dense_h_to_4h.weight', [F, d]], ['mlp.dense_h_to_4h.bias', [F]],
  ['mlp.dense_4h_to_h.weight', [d, F]], ['mlp.dense_4h_to_h.bias', [d]],
];

export function transformerShapes(c: TransformerConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const d = c.dModel;
  m.set('embedding.weight', [c.paddedVocabSize, d]);
  if (c.arch === 'gpt2') m.set('position.weight', [c.maxPositions, d]);
  const block = (c.arch === 'gpt2' ? GPT2_BLOCK : NEOX_BLOCK)(d, c.dFf);
  for (let i = 0; i < c.nLayer; i++) for (const [k, s] of block) m.set(`layers.${i}.${k}`, s);
  m.set('norm_f.weight', [d]);
  m.set('norm_f.bias', [d]);
  m.set('lm_head.weight', [c.paddedVocabSize, d]);
  return m;
}

/** GPT-2 keys, with or without the "transformer." prefix (openai-community's files have none). */
export function gpt2CanonicalName(key: string): string | null {
  const k = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
  if (k === 'wte.weight') return 'embedding.weight';
  if (k === 'wpe.weight') return 'position.weight';
  if (k.startsWith('ln_f.')) return `norm_f.${k.slice('ln_f.'.length)}`;
  const h = /^h\.(\d+)\.(.*)$/.exec(k);
  if (h) {
    // the causal-mask buffers of older files
    if (h[2] === 'attn.bias' || h[2] === 'attn.masked_bias') return null;
    return `layers.${h[1]}.${h[2]}`;
  }
  return k;
}

/** GPT-NeoX keys ("gpt_neox." prefix; embed_out, or lm_head as transformers 5 may write it). */
export function gptNeoxCanonicalName(key: string): string | null {
  const k = key.startsWith('gpt_neox.') ? key.slice('gpt_neox.'.length) : key;
  if (k === 'embed_in.weight') return 'embedding.weight';
  if (k === 'embed_out.weight') return 'lm_head.weight';
  if (k.startsWith('final_layer_norm.')) return `norm_f.${k.slice('final_layer_norm.'.length)}`;
  const l = /^layers\.(\d+)\.(.*)$/.exec(k);
  if (l && (l[2] === 'attention.bias' || l[2] === 'attention.masked_bias' || l[2] === 'attention.rotary_emb.inv_freq')) return null;
  return k;
}

export function gpt2StoredName(canonical: string, _format: CheckpointFormat): string {
  if (canonical === 'embedding.weight') return 'wte.weight';
  if (canonical === 'position.weight') return 'wpe.weight';
  if (canonical.startsWith('norm_f.')) return `ln_f.${canonical.slice('norm_f.'.length)}`;
  if (canonical.startsWith('layers.')) return `h.${canonical.slice('layers.'.length)}`;
  return canonical;
}

export function gptNeoxStoredName(canonical: string, _format: CheckpointFormat): string {
  if (canonical === 'embedding.weight') return 'gpt_neox.embed_in.weight';
  if (canonical === 'lm_head.weight') return 'embed_out.weight';
  if (canonical.startsWith('norm_f.')) return `gpt_neox.final_layer_norm.${canonical.slice('norm_f.'.length)}`;
  return `gpt_neox.${canonical}`;
}
