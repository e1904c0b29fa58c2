// Parses HF transformers GPT-2 (GPT2LMHeadModel, model_type "gpt2") and GPT-NeoX / Pythia (GPTNeoXForCausalLM,
// model_type "gpt_neox") config.json files into TransformerConfig (SPEC §7). Both the Hub's original keys and the
// keys transformers 5 writes (rope_parameters) are read. Which family a config.json belongs to is decided by
// arch/index.ts.
import { TransformerConfig, UserError } from '../../types';
import { ConfigReader, Json, MAX_DIM, preview } from '../configReader';

function unsupported(file: string, what: string, model: string): never {
  throw new UserError(`${file}: ${what} (${model} model)`);
}

function finish(file: string, c: Omit<TransformerConfig, 'dConv' | 'format'>, model: string): TransformerConfig {
  if (c.dModel % c.nHead !== 0) throw new UserError(`${file}: the width ${c.dModel} is not a multiple of the ${c.nHead} attention heads`);
  if (4 * c.dModel > MAX_DIM || c.dFf > MAX_DIM) throw new UserError(`${file}: the model is too wide (at most ${MAX_DIM})`);
  const hd = c.dModel / c.nHead;
  const rd = Math.floor(hd * c.rotaryPct);
  if (rd % 2 !== 0) unsupported(file, `rotary dimensions floor(${hd} · ${c.rotaryPct}) = ${rd} must be even`, model);
  // no conv token path (SPEC §8): a kernel of width 1 keeps the conv-mask inputs of the shared graph layout trivial
  return { ...c, format: 'hf', dConv: 1 };
}

/** HF GPT2Config ("gpt2"): n_embd, n_layer, n_head, n_positions, n_inner, activation_function, layer_norm_epsilon. */
export function parseGpt2(o: Json, file: string): TransformerConfig {
  const r = new ConfigReader(o, file);
  const key = (a: string, b: string) => (r.has(a) ? a : b);
  if (r.bool('add_cross_attention', false)) unsupported(file, '"add_cross_attention": true (an encoder-decoder layer) is not supported', 'GPT-2');
  if (!r.bool('scale_attn_weights', true)) unsupported(file, '"scale_attn_weights": false is not supported', 'GPT-2');
  if (r.bool('scale_attn_by_inverse_layer_idx', false)) unsupported(file, '"scale_attn_by_inverse_layer_idx": true is not supported', 'GPT-2');
  const act = r.str('activation_function') ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh' && act !== 'gelu') unsupported(file, `"activation_function": ${preview(act)} is not supported (gelu_new, gelu_pytorch_tanh or gelu)`, 'GPT-2');
  const dModel = r.int(key('n_embd', 'hidden_size'));
  const vocabSize = r.int('vocab_size');
  return finish(file, {
    arch: 'gpt2',
    dModel,
    nLayer: r.int(key('n_layer', 'num_hidden_layers')),
    nHead: r.int(key('n_head', 'num_attention_heads')),
    dFf: r.int('n_inner', 4 * dModel),
    maxPositions: r.int(key('n_positions', 'max_position_embeddings'), 1024),
    vocabSize,
    // rows = vocab_size in HF checkpoints; openCheckpoint replaces this by the stored row count
    paddedVocabSize: vocabSize,
    activation: act === 'gelu' ? 'gelu' : 'gelu_new',
    rotaryPct: 0,
    rotaryBase: 10000,
    parallelResidual: false,
    eps: r.num('layer_norm_epsilon', 1e-5),
    tieEmbeddings: r.bool('tie_word_embeddings', true),
  }, 'GPT-2');
}

/** A rope field: the Hub's name (rotary_pct / rotary_emb_base), transformers 5's rope_parameters, or the plain one. */
function ropeField(r: ConfigReader, rope: ConfigReader, old: string, name: string, dflt: number): number {
  if (r.has(old)) return r.num(old, dflt);
  if (rope.has(name)) return rope.num(name, dflt);
  return r.num(name, dflt);
}

/** HF GPTNeoXConfig ("gpt_neox"): rotary on a part of each head, parallel residual, untied embed_out by default. */
export function parseGptNeox(o: Json, file: string): TransformerConfig {
  const r = new ConfigReader(o, file);
  const act = r.str('hidden_act') ?? 'gelu';
  if (act !== 'gelu' && act !== 'gelu_new') unsupported(file, `"hidden_act": ${preview(act)} is not supported (gelu or gelu_new)`, 'GPT-NeoX');
  if (!r.bool('attention_bias', true)) unsupported(file, '"attention_bias": false is not supported', 'GPT-NeoX');
  const scaling = r.raw('rope_scaling');
  if (scaling !== undefined && scaling !== null) unsupported(file, `"rope_scaling": ${preview(scaling)} is not supported (only plain rotary)`, 'GPT-NeoX');
  const rope = r.sub('rope_parameters');
  const ropeType = rope.str('rope_type');
  if (ropeType !== undefined && ropeType !== 'default') unsupported(file, `"rope_parameters.rope_type": ${preview(ropeType)} is not supported (only "default")`, 'GPT-NeoX');
  const pct = r.has('rotary_pct') || rope.has('partial_rotary_factor') || r.has('partial_rotary_factor') ? ropeField(r, rope, 'rotary_pct', 'partial_rotary_factor', 0.25) : 0.25;
  if (pct > 1) r.fail('rotary_pct', `must be at most 1 (got ${pct})`);
  const vocabSize = r.int('vocab_size');
  return finish(file, {
    arch: 'gptneox',
    dModel: r.int('hidden_size'),
    nLayer: r.int('num_hidden_layers'),
    nHead: r.int('num_attention_heads'),
    dFf: r.int('intermediate_size'),
    maxPositions: r.int('max_position_embeddings', 2048),
    vocabSize,
    paddedVocabSize: vocabSize,
    activation: act === 'gelu' ? 'gelu' : 'gelu_new',
    rotaryPct: pct,
    rotaryBase: r.has('rotary_emb_base') || rope.has('rope_theta') || r.has('rope_theta') ? ropeField(r, rope, 'rotary_emb_base', 'rope_theta', 10000) : 10000,
    parallelResidual: r.bool('use_parallel_residual', true),
    eps: r.num('layer_norm_eps', 1e-5),
    tieEmbeddings: r.bool('tie_word_embeddings', false),
  }, 'GPT-NeoX');
}
