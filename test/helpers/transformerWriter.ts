// Test / bench helper: writes a random GPT-2 or GPT-NeoX checkpoint (config.json as the Hub has it + one
// model.safetensors in the HF key layout), deterministic and of realistic scale, for shapes such as gpt2 (small)
// and pythia-160m. Only the engine's reader sees these: they are not parity fixtures (those come from transformers,
// test/fixtures/parity-transformer).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DType } from '../../src/engine/types';
import { makeRng, writeSafetensors, type TensorToWrite } from './checkpointWriter';

export interface RandomTransformerOptions {
  arch: 'gpt2' | 'gptneox';
  dModel: number;
  nLayer: number;
  nHead: number;
  vocabSize: number;
  dtype: DType;
  seed: number;
  /** GPT-NeoX: rotary_pct (default 0.25) */
  rotaryPct?: number;
}

export function writeRandomTransformer(dir: string, o: RandomTransformerOptions): void {
  fs.mkdirSync(dir, { recursive: true });
  const d = o.dModel, F = 4 * d, V = o.vocabSize, gpt2 = o.arch === 'gpt2';
  const rng = makeRng(o.seed);
  const t: TensorToWrite[] = [];
  const rand = (key: string, shape: number[], std: number, mean = 0) =>
    t.push({ key, shape, dtype: o.dtype, make: () => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + std * rng.normal()) });
  const lnPair = (pre: string) => {
    rand(`${pre}.weight`, [d], 0.02, 1);
    rand(`${pre}.bias`, [d], 0.02);
  };
  const std = 0.02, proj = 0.02 / Math.sqrt(2 * o.nLayer);
  if (gpt2) {
    rand('wte.weight', [V, d], std);
    rand('wpe.weight', [1024, d], 0.01);
    for (let i = 0; i < o.nLayer; i++) {
      const p = `h.${i}.`;
      lnPair(p + 'ln_1');
      rand(p + 'attn.c_attn.weight', [d, 3 * d], std);
      rand(p + 'attn.c_attn.bias', [3 * d], 0.01);
      rand(p + 'attn.c_proj.weight', [d, d], proj);
      rand(p + 'attn.c_proj.bias', [d], 0.01);
      lnPair(p + 'ln_2');
      rand(p + 'mlp.c_fc.weight', [d, F], std);
      rand(p + 'mlp.c_fc.bias', [F], 0.01);
      rand(p + 'mlp.c_proj.weight', [F, d], proj);
      rand(p + 'mlp.c_proj.bias', [d], 0.01);
    }
    lnPair('ln_f');
  } else {
    rand('gpt_neox.embed_in.weight', [V, d], std);
    for (let i = 0; i < o.nLayer; i++) {
      const p = `gpt_neox.layers.${i}.`;
      lnPair(p + 'input_layernorm');
      lnPair(p + 'post_attention_layernorm');
      rand(p + 'attention.query_key_value.weight', [3 * d, d], std);
      rand(p + 'attention.query_key_value.bias', [3 * d], 0.01);
      rand(p + 'attention.dense.weight', [d, d], proj);
      rand(p + 'attention.dense.bias', [d], 0.01);
      rand(p + 'mlp.dense_h_to_4h.weight', [F, d], std);
      rand(p + 'mlp.dense_h_to_4h.bias', [F], 0.01);
      rand(p + 'mlp.dense_4h_to_h.weight', [d, F], proj);
      rand(p + 'mlp.dense_4h_to_h.bias', [d], 0.01);
    }
    lnPair('gpt_neox.final_layer_norm');
    rand('embed_out.weight', [V, d], std);
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), t);
  const config = gpt2
    ? { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: V, n_positions: 1024, n_embd: d, n_layer: o.nLayer, n_head: o.nHead, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true }
    : { architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox', vocab_size: V, hidden_size: d, num_hidden_layers: o.nLayer, num_attention_heads: o.nHead, intermediate_size: F, hidden_act: 'gelu', rotary_pct: o.rotaryPct ?? 0.25, rotary_emb_base: 10000, max_position_embeddings: 2048, layer_norm_eps: 1e-5, use_parallel_residual: true, tie_word_embeddings: false };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
}
