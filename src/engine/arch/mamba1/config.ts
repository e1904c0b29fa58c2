// Parses a Mamba-1 / Falcon-Mamba config.json (state-spaces/mamba_ssm original or HF transformers "mamba" /
// "falcon_mamba") into Mamba1Config (SPEC §2). Which family a config.json belongs to is decided by arch/index.ts.
import { Mamba1Config, UserError } from '../../types';
import { ConfigReader, Json, MAX_DIM, preview, roundUp } from '../configReader';

/** mamba_ssm / transformers defaults of a Mamba-1 block. */
export const MAMBA1_DEFAULTS = {
  dState: 16,
  expand: 2,
  dConv: 4,
  eps: 1e-5,
  mixerRmsEps: 1e-6,
  padVocabSizeMultiple: 8,
};

function unsupported(file: string, what: string): never {
  throw new UserError(`${file}: ${what} (Mamba-1 model)`);
}

/** dt_rank / time_step_rank: an integer or "auto" = ceil(d_model / 16). */
function dtRankOf(r: ConfigReader, key: string, dModel: number): number {
  const v = r.raw(key);
  if (v === undefined || v === null || v === 'auto') return Math.ceil(dModel / 16);
  return r.int(key);
}

function finish(file: string, c: Omit<Mamba1Config, 'dInner' | 'arch'>): Mamba1Config {
  if (c.expand * c.dModel > MAX_DIM) throw new UserError(`${file}: d_inner = expand·d_model = ${c.expand}·${c.dModel} is too large (at most ${MAX_DIM})`);
  if (c.paddedVocabSize < c.vocabSize) {
    throw new UserError(`${file}: padded vocabulary ${c.paddedVocabSize} is smaller than vocab_size ${c.vocabSize}`);
  }
  return { arch: 'mamba1', ...c, dInner: c.expand * c.dModel };
}

/** state-spaces original: d_model, n_layer, vocab_size, ssm_cfg {} (no "layer", or "Mamba1"), pad_vocab_size_multiple. */
export function parseMamba1StateSpaces(o: Json, file: string): Mamba1Config {
  const r = new ConfigReader(o, file);
  const s = r.sub('ssm_cfg');
  const dIntermediate = r.int('d_intermediate', 0, 0);
  if (dIntermediate > 0) unsupported(file, `d_intermediate ${dIntermediate} adds MLP blocks, which are not supported`);
  const attn = o.attn_layer_idx;
  if (Array.isArray(attn) && attn.length > 0) unsupported(file, 'attn_layer_idx makes this a hybrid attention model, which is not supported');
  if (!r.bool('rms_norm', true)) unsupported(file, '"rms_norm": false (LayerNorm) is not supported');
  if (s.bool('bias', false)) unsupported(file, '"ssm_cfg.bias": true (projection biases) is not supported');
  if (!s.bool('conv_bias', true)) unsupported(file, '"ssm_cfg.conv_bias": false is not supported');
  const dModel = r.int('d_model');
  const vocabSize = r.int('vocab_size');
  const pad = r.int('pad_vocab_size_multiple', MAMBA1_DEFAULTS.padVocabSizeMultiple);
  return finish(file, {
    format: 'state-spaces',
    variant: 'mamba',
    dModel,
    nLayer: r.int('n_layer'),
    vocabSize,
    paddedVocabSize: roundUp(vocabSize, pad),
    dState: s.int('d_state', MAMBA1_DEFAULTS.dState),
    expand: s.int('expand', MAMBA1_DEFAULTS.expand),
    dConv: s.int('d_conv', MAMBA1_DEFAULTS.dConv),
    dtRank: dtRankOf(s, 'dt_rank', dModel),
    eps: r.num('norm_epsilon', MAMBA1_DEFAULTS.eps),
    mixerRmsEps: null,
    tieEmbeddings: r.bool('tie_embeddings', true),
  });
}

/** HF transformers MambaConfig ("mamba") or FalconMambaConfig ("falcon_mamba"). */
export function parseMamba1Hf(o: Json, file: string, variant: 'mamba' | 'falcon_mamba'): Mamba1Config {
  const r = new ConfigReader(o, file);
  if (r.bool('use_bias', false)) unsupported(file, '"use_bias": true (projection biases) is not supported');
  if (!r.bool('use_conv_bias', true)) unsupported(file, '"use_conv_bias": false is not supported');
  const act = r.str('hidden_act');
  if (act !== undefined && act !== 'silu' && act !== 'swish') unsupported(file, `"hidden_act": ${preview(act)} is not supported (only "silu")`);
  const dModel = r.int('hidden_size');
  const expand = r.int('expand', MAMBA1_DEFAULTS.expand);
  if (r.has('intermediate_size') && r.int('intermediate_size') !== expand * dModel) {
    r.fail('intermediate_size', `must equal expand·hidden_size = ${expand * dModel} (got ${r.raw('intermediate_size')})`);
  }
  const vocabSize = r.int('vocab_size');
  return finish(file, {
    format: 'hf',
    variant,
    dModel,
    nLayer: r.int('num_hidden_layers'),
    vocabSize,
    // HF does not pad the embedding: rows = vocab_size. openCheckpoint replaces this by the stored row count.
    paddedVocabSize: vocabSize,
    dState: r.int('state_size', MAMBA1_DEFAULTS.dState),
    expand,
    dConv: r.int('conv_kernel', MAMBA1_DEFAULTS.dConv),
    dtRank: dtRankOf(r, 'time_step_rank', dModel),
    eps: r.num('layer_norm_epsilon', MAMBA1_DEFAULTS.eps),
    mixerRmsEps: variant === 'falcon_mamba' ? r.num('mixer_rms_eps', MAMBA1_DEFAULTS.mixerRmsEps) : null,
    tieEmbeddings: r.bool('tie_word_embeddings', true),
  });
}
