// Parses a Mamba-2 config.json (state-spaces/mamba_ssm or HF transformers "-hf" layout) into Mamba2Config (SPEC §1).
// Which family a config.json belongs to is decided by the registry (arch/index.ts).
import { Mamba2Config, UserError } from '../../types';
import { ConfigReader as Reader, Json, MAX_DIM, preview, roundUp } from '../configReader';

/** mamba_ssm defaults (SPEC §1). */
export const MAMBA2_DEFAULTS = {
  dState: 128,
  headdim: 64,
  nGroups: 1,
  expand: 2,
  dConv: 4,
  eps: 1e-5,
  padVocabSizeMultiple: 16,
};

/**
 * Mamba-2 clamps Δ to a time-step limit only when one is set; the engine implements the default (0, ∞), i.e. no clamp,
 * so any other limit is refused rather than silently ignored.
 */
function checkNoDtLimit(v: unknown, file: string, key: string): void {
  if (v === undefined || v === null) return;
  const ok = Array.isArray(v) && v.length === 2 && v[0] === 0 && (v[1] === Infinity || v[1] === 'Infinity' || v[1] === 'inf');
  if (!ok) unsupported(file, `"${key}": ${preview(v)} clamps the time step, which is not supported (only [0, Infinity])`);
}

function unsupported(file: string, what: string): never {
  throw new UserError(`${file}: ${what} (Mamba-2 model)`);
}

function finish(file: string, c: Omit<Mamba2Config, 'dInner' | 'nHeads' | 'arch'>, explicitHeads?: number): Mamba2Config {
  const dInner = c.expand * c.dModel;
  if (dInner > MAX_DIM) throw new UserError(`${file}: d_inner = expand·d_model = ${c.expand}·${c.dModel} is too large (at most ${MAX_DIM})`);
  if (dInner % c.headdim !== 0) {
    throw new UserError(`${file}: d_inner = expand·d_model = ${dInner} is not a multiple of headdim ${c.headdim}`);
  }
  const nHeads = dInner / c.headdim;
  if (explicitHeads !== undefined && explicitHeads !== nHeads) {
    throw new UserError(
      `${file}: num_heads ${explicitHeads} does not match expand·hidden_size / head_dim = ${dInner}/${c.headdim} = ${nHeads}`,
    );
  }
  if (nHeads % c.nGroups !== 0) {
    throw new UserError(`${file}: the number of heads ${nHeads} is not a multiple of ngroups ${c.nGroups}`);
  }
  if (c.paddedVocabSize < c.vocabSize) {
    throw new UserError(`${file}: padded vocabulary ${c.paddedVocabSize} is smaller than vocab_size ${c.vocabSize}`);
  }
  return { arch: 'mamba2', ...c, dInner, nHeads };
}

export function parseMamba2StateSpaces(o: Json, file: string): Mamba2Config {
  const r = new Reader(o, file);
  const ssm = (o.ssm_cfg ?? {}) as Json;
  const s = r.sub('ssm_cfg');
  const dIntermediate = r.int('d_intermediate', 0, 0);
  if (dIntermediate > 0) unsupported(file, `d_intermediate ${dIntermediate} adds MLP blocks, which are not supported`);
  const attn = o.attn_layer_idx;
  if (Array.isArray(attn) && attn.length > 0) unsupported(file, 'attn_layer_idx makes this a hybrid attention model');
  if (!r.bool('rms_norm', true)) unsupported(file, '"rms_norm": false (LayerNorm) is not supported');
  if (s.bool('bias', false)) unsupported(file, '"ssm_cfg.bias": true (projection biases) is not supported');
  if (!s.bool('conv_bias', true)) unsupported(file, '"ssm_cfg.conv_bias": false is not supported');
  if (s.bool('D_has_hdim', false)) unsupported(file, '"ssm_cfg.D_has_hdim": true is not supported');
  if (!s.bool('rmsnorm', true)) unsupported(file, '"ssm_cfg.rmsnorm": false (ungated norm) is not supported');
  if (s.bool('norm_before_gate', false)) unsupported(file, '"ssm_cfg.norm_before_gate": true is not supported');
  checkNoDtLimit(ssm.dt_limit, file, 'ssm_cfg.dt_limit');

  const vocabSize = r.int('vocab_size');
  const pad = r.int('pad_vocab_size_multiple', MAMBA2_DEFAULTS.padVocabSizeMultiple);
  const dModel = r.int('d_model');
  const dInnerCfg = s.has('d_inner') ? s.int('d_inner') : undefined;
  let expand = s.int('expand', MAMBA2_DEFAULTS.expand);
  if (dInnerCfg !== undefined) {
    if (dInnerCfg % dModel !== 0) unsupported(file, `ssm_cfg.d_inner ${dInnerCfg} is not a multiple of d_model ${dModel}`);
    expand = dInnerCfg / dModel;
  }
  return finish(file, {
    format: 'state-spaces',
    dModel,
    nLayer: r.int('n_layer'),
    vocabSize,
    paddedVocabSize: roundUp(vocabSize, pad),
    dState: s.int('d_state', MAMBA2_DEFAULTS.dState),
    headdim: s.int('headdim', MAMBA2_DEFAULTS.headdim),
    nGroups: s.int('ngroups', MAMBA2_DEFAULTS.nGroups),
    expand,
    dConv: s.int('d_conv', MAMBA2_DEFAULTS.dConv),
    eps: r.num('norm_epsilon', MAMBA2_DEFAULTS.eps),
    tieEmbeddings: r.bool('tie_embeddings', true),
  });
}

export function parseMamba2Hf(o: Json, file: string): Mamba2Config {
  const r = new Reader(o, file);
  if (r.bool('use_bias', false)) unsupported(file, '"use_bias": true (projection biases) is not supported');
  if (!r.bool('use_conv_bias', true)) unsupported(file, '"use_conv_bias": false is not supported');
  if (!r.bool('rms_norm', true)) unsupported(file, '"rms_norm": false is not supported');
  if (r.bool('norm_before_gate', false)) unsupported(file, '"norm_before_gate": true is not supported');
  checkNoDtLimit(o.time_step_limit, file, 'time_step_limit');
  const vocabSize = r.int('vocab_size');
  const explicitHeads = r.has('num_heads') ? r.int('num_heads') : undefined;
  return finish(
    file,
    {
      format: 'hf',
      dModel: r.int('hidden_size'),
      nLayer: r.int('num_hidden_layers'),
      vocabSize,
      // HF does not pad the embedding: rows = vocab_size. openCheckpoint replaces this by the stored row count.
      paddedVocabSize: vocabSize,
      dState: r.int('state_size', MAMBA2_DEFAULTS.dState),
      headdim: r.int('head_dim', MAMBA2_DEFAULTS.headdim),
      nGroups: r.int('n_groups', MAMBA2_DEFAULTS.nGroups),
      expand: r.int('expand', MAMBA2_DEFAULTS.expand),
      dConv: r.int('conv_kernel', MAMBA2_DEFAULTS.dConv),
      eps: r.num('layer_norm_epsilon', MAMBA2_DEFAULTS.eps),
      tieEmbeddings: r.bool('tie_word_embeddings', false),
    },
    explicitHeads,
  );
}
