import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/engine/checkpoint/config';
import { UserError } from '../../../src/engine/types';
import type { Mamba2Config } from '../../../src/engine/types';

const F = '/models/x/config.json';

test('state-spaces mamba2-130m config with defaults and vocab padding', () => {
  const c = parseConfig(
    {
      d_model: 768, d_intermediate: 0, n_layer: 24, vocab_size: 50277,
      ssm_cfg: { layer: 'Mamba2' }, attn_layer_idx: [], attn_cfg: {}, rms_norm: true,
      residual_in_fp32: true, fused_add_norm: true, pad_vocab_size_multiple: 16, tie_embeddings: true,
    },
    F,
  ) as Mamba2Config;
  assert.deepEqual(c, {
    arch: 'mamba2', format: 'state-spaces', dModel: 768, nLayer: 24, vocabSize: 50277, paddedVocabSize: 50288,
    dState: 128, headdim: 64, nGroups: 1, expand: 2, dConv: 4, dInner: 1536, nHeads: 24, eps: 1e-5, tieEmbeddings: true,
  });
});

test('state-spaces pad multiple defaults to 16 and explicit ssm_cfg values are used', () => {
  const c = parseConfig({ d_model: 64, n_layer: 2, vocab_size: 100, ssm_cfg: { layer: 'Mamba2', d_state: 16, headdim: 32, ngroups: 2, expand: 2, d_conv: 4 }, norm_epsilon: 1e-6 }, F) as Mamba2Config;
  assert.equal(c.paddedVocabSize, 112);
  assert.equal(c.nHeads, 4);
  assert.equal(c.nGroups, 2);
  assert.equal(c.eps, 1e-6);
  const c8 = parseConfig({ d_model: 64, n_layer: 2, vocab_size: 100, pad_vocab_size_multiple: 8, ssm_cfg: { layer: 'Mamba2' } }, F) as Mamba2Config;
  assert.equal(c8.paddedVocabSize, 104);
});

test('HF mamba2 config', () => {
  const c = parseConfig(
    {
      model_type: 'mamba2', architectures: ['Mamba2ForCausalLM'], hidden_size: 768, num_hidden_layers: 24, state_size: 128,
      head_dim: 64, num_heads: 24, n_groups: 1, expand: 2, conv_kernel: 4, vocab_size: 50288, layer_norm_epsilon: 1e-5,
      tie_word_embeddings: true, use_bias: false, use_conv_bias: true,
    },
    F,
  ) as Mamba2Config;
  assert.equal(c.format, 'hf');
  assert.equal(c.dInner, 1536);
  assert.equal(c.nHeads, 24);
  assert.equal(c.paddedVocabSize, 50288);
  assert.equal(c.tieEmbeddings, true);
});

test('refuses unsupported configs with a UserError naming the file', () => {
  const bad: unknown[] = [
    { d_model: 768, n_layer: 24, vocab_size: 50277, ssm_cfg: { layer: 'Mamba3' } },
    { model_type: 'llama', hidden_size: 768, num_hidden_layers: 12 },
    { d_model: 768, n_layer: 24, vocab_size: 50277, d_intermediate: 3072, ssm_cfg: { layer: 'Mamba2' } },
    { d_model: 768, n_layer: 24, vocab_size: 50277, attn_layer_idx: [3], ssm_cfg: { layer: 'Mamba2' } },
    [],
    'x',
  ];
  for (const j of bad) {
    assert.throws(() => parseConfig(j, F), (e: unknown) => e instanceof UserError && e.message.startsWith(F), JSON.stringify(j));
  }
  assert.throws(() => parseConfig(bad[0], F), /"ssm_cfg.layer" is "Mamba3", an SSM layer this version does not know/);
  assert.throws(() => parseConfig(bad[1], F), /model_type "llama" is not a supported model/);
});

test('validates consistency', () => {
  assert.throws(() => parseConfig({ d_model: 100, n_layer: 2, vocab_size: 10, ssm_cfg: { layer: 'Mamba2', headdim: 64 } }, F), /not a multiple of headdim/);
  assert.throws(() => parseConfig({ d_model: 64, n_layer: 2, vocab_size: 10, ssm_cfg: { layer: 'Mamba2', headdim: 32, ngroups: 3 } }, F), /not a multiple of ngroups/);
  assert.throws(
    () => parseConfig({ model_type: 'mamba2', hidden_size: 64, num_hidden_layers: 2, state_size: 16, head_dim: 32, num_heads: 8, n_groups: 1, expand: 2, vocab_size: 10 }, F),
    /num_heads 8 does not match/,
  );
  assert.throws(() => parseConfig({ d_model: 64, vocab_size: 10, ssm_cfg: { layer: 'Mamba2' } }, F), /"n_layer" is missing/);
  assert.throws(() => parseConfig({ d_model: 64.5, n_layer: 2, vocab_size: 10, ssm_cfg: { layer: 'Mamba2' } }, F), /must be an integer/);
});

test('time-step limit: the default (0, ∞) in every spelling is accepted, a real clamp is refused', () => {
  const hf = {
    model_type: 'mamba2', hidden_size: 64, num_hidden_layers: 2, state_size: 16, head_dim: 32, vocab_size: 100,
  };
  for (const lim of [[0, Infinity], [0, 'Infinity'], undefined]) {
    assert.equal((parseConfig({ ...hf, time_step_limit: lim }, F) as Mamba2Config).nHeads, 4);
  }
  assert.throws(() => parseConfig({ ...hf, time_step_limit: [0.001, 0.1] }, F), (e: Error) => e instanceof UserError && /time_step_limit.*clamps the time step/.test(e.message));
  const ss = { d_model: 64, n_layer: 2, vocab_size: 100, ssm_cfg: { layer: 'Mamba2', dt_limit: [0, Infinity] } };
  assert.equal(parseConfig(ss, F).nLayer, 2);
  assert.throws(() => parseConfig({ ...ss, ssm_cfg: { layer: 'Mamba2', dt_limit: [0, 100] } }, F), /ssm_cfg\.dt_limit/);
});
