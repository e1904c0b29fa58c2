// Parses a Mamba-2 config.json (state-spaces/mamba_ssm or HF transformers "-hf" layout) into Mamba2Config (SPEC §1).
import { Mamba2Config, UserError } from '../types';

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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Reader {
  constructor(
    private readonly obj: Json,
    private readonly file: string,
    private readonly prefix = '',
  ) {}

  private fail(key: string, what: string): never {
    throw new UserError(`${this.file}: "${this.prefix}${key}" ${what}`);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  int(key: string, dflt?: number, min = 1): number {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(key, 'is missing');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `must be an integer (got ${JSON.stringify(v)})`);
    if (v < min) this.fail(key, `must be at least ${min} (got ${v})`);
    return v;
  }

  num(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, `must be a positive number (got ${JSON.stringify(v)})`);
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false (got ${JSON.stringify(v)})`);
    return v;
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    return typeof v === 'string' ? v : undefined;
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/**
 * Mamba-2 clamps Δ to a time-step limit only when one is set; the engine implements the default (0, ∞), i.e. no clamp,
 * so any other limit is refused rather than silently ignored.
 */
function checkNoDtLimit(v: unknown, file: string, key: string): void {
  if (v === undefined || v === null) return;
  const ok = Array.isArray(v) && v.length === 2 && v[0] === 0 && (v[1] === Infinity || v[1] === 'Infinity' || v[1] === 'inf');
  if (!ok) unsupported(file, `"${key}": ${JSON.stringify(v)} clamps the time step, which is not supported (only [0, Infinity])`);
}

function unsupported(file: string, what: string): never {
  throw new UserError(`${file}: ${what}; only Mamba-2 models are supported`);
}

function finish(file: string, c: Omit<Mamba2Config, 'dInner' | 'nHeads' | 'arch'>, explicitHeads?: number): Mamba2Config {
  const dInner = c.expand * c.dModel;
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

function parseStateSpaces(o: Json, file: string): Mamba2Config {
  const r = new Reader(o, file);
  const ssmRaw = o.ssm_cfg;
  if (ssmRaw !== undefined && ssmRaw !== null && !isObject(ssmRaw)) {
    throw new UserError(`${file}: "ssm_cfg" must be an object`);
  }
  const ssm: Json = isObject(ssmRaw) ? ssmRaw : {};
  const layer = ssm.layer;
  if (layer !== 'Mamba2') {
    if (layer === undefined || layer === 'Mamba1') {
      unsupported(file, `this is a Mamba-1 config (ssm_cfg.layer is ${layer === undefined ? 'not set' : '"Mamba1"'})`);
    }
    unsupported(file, `ssm_cfg.layer is ${JSON.stringify(layer)}, not "Mamba2"`);
  }
  const s = new Reader(ssm, file, 'ssm_cfg.');
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

function parseHf(o: Json, file: string): Mamba2Config {
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

/**
 * Normalises a parsed config.json. `file` is used in error messages.
 * Throws UserError for anything that is not a supported Mamba-2 config.
 */
export function parseConfig(json: unknown, file: string): Mamba2Config {
  if (!isObject(json)) throw new UserError(`${file}: expected a JSON object`);
  const modelType = typeof json.model_type === 'string' ? json.model_type : undefined;
  const architectures = Array.isArray(json.architectures) ? json.architectures.filter((a) => typeof a === 'string') : [];
  if (modelType !== undefined) {
    if (modelType === 'mamba2') return parseHf(json, file);
    if (modelType === 'mamba') unsupported(file, 'model_type "mamba" is a Mamba-1 model');
    if (modelType !== 'mamba_ssm' || !('d_model' in json)) unsupported(file, `model_type ${JSON.stringify(modelType)} is not a Mamba-2 model`);
  }
  if ('d_model' in json || 'ssm_cfg' in json) return parseStateSpaces(json, file);
  if ('hidden_size' in json && 'state_size' in json) {
    if (architectures.some((a) => /^Mamba2/.test(a))) return parseHf(json, file);
    if (architectures.some((a) => /^Mamba/.test(a))) unsupported(file, 'this is a Mamba-1 model');
    unsupported(file, 'model_type is missing; expected "mamba2"');
  }
  unsupported(file, 'not a recognised Mamba config (expected d_model/n_layer/ssm_cfg or model_type "mamba2")');
}
