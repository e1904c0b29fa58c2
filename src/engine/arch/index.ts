// The family registry: which family a config.json belongs to, and the family of an open model's config.
// A new family = a new folder + one entry in FAMILIES (and its detection below).
import { ModelConfig, UserError } from '../types';
import { isObject, preview, type Json } from './configReader';
import type { ConfigKind, ModelFamily } from './types';
import { mamba1 } from './mamba1/index';
import { mamba2 } from './mamba2/index';
import { gpt2 } from './gpt2/index';
import { gptneox } from './gptneox/index';

export const FAMILIES: readonly ModelFamily<any>[] = [mamba2, mamba1, gpt2, gptneox];

/** The names users see in "not supported" errors. */
const SUPPORTED = 'supported: Mamba-2, Mamba-1 and Falcon-Mamba (state-spaces originals or HF transformers "mamba2", "mamba", "falcon_mamba"), and the transformer baselines GPT-2 ("gpt2") and GPT-NeoX / Pythia ("gpt_neox")';

export function familyOf<C extends ModelConfig>(c: C): ModelFamily<C> {
  const f = FAMILIES.find((x) => x.arch === c.arch);
  if (!f) throw new Error(`no model family for arch '${(c as { arch: string }).arch}'`);
  return f as ModelFamily<C>;
}

/** Which family and which layout a config.json is, or a UserError naming the file and what was found. */
export function detectFamily(json: Json, file: string): { family: ModelFamily<any>; kind: ConfigKind } {
  const modelType = typeof json.model_type === 'string' ? json.model_type : undefined;
  const architectures = Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === 'string') : [];
  const stateSpaces = (): { family: ModelFamily<any>; kind: ConfigKind } => {
    const ssm = json.ssm_cfg;
    if (ssm !== undefined && ssm !== null && !isObject(ssm)) throw new UserError(`${file}: "ssm_cfg" must be an object`);
    const layer = isObject(ssm) ? ssm.layer : undefined;
    if (layer === 'Mamba2') return { family: mamba2, kind: 'state-spaces' };
    if (layer === undefined || layer === null || layer === 'Mamba1') return { family: mamba1, kind: 'state-spaces' };
    throw new UserError(`${file}: "ssm_cfg.layer" is ${preview(layer)}, an SSM layer this version does not know (known: "Mamba1", "Mamba2")`);
  };
  if (modelType !== undefined) {
    if (modelType === 'mamba2') return { family: mamba2, kind: 'hf' };
    if (modelType === 'mamba') return { family: mamba1, kind: 'hf' };
    if (modelType === 'falcon_mamba') return { family: mamba1, kind: 'hf-falcon' };
    if (modelType === 'gpt2') return { family: gpt2, kind: 'hf' };
    if (modelType === 'gpt_neox') return { family: gptneox, kind: 'hf' };
    if (modelType === 'mamba_ssm' && 'd_model' in json) return stateSpaces();
    throw new UserError(`${file}: model_type ${preview(modelType)} is not a supported model (${SUPPORTED})`);
  }
  if ('d_model' in json || 'ssm_cfg' in json) return stateSpaces();
  if ('hidden_size' in json && 'state_size' in json) {
    if (architectures.some((a) => /^Mamba2/.test(a))) return { family: mamba2, kind: 'hf' };
    if (architectures.some((a) => /^FalconMamba/.test(a))) return { family: mamba1, kind: 'hf-falcon' };
    if (architectures.some((a) => /^Mamba/.test(a))) return { family: mamba1, kind: 'hf' };
    throw new UserError(`${file}: "model_type" is missing; expected "mamba2", "mamba" or "falcon_mamba"`);
  }
  throw new UserError(`${file}: not a recognised model config (expected d_model/n_layer/ssm_cfg, or a model_type; ${SUPPORTED})`);
}

/** Normalises a parsed config.json of any supported family. `file` is used in error messages. */
export function parseModelConfig(json: unknown, file: string): ModelConfig {
  if (!isObject(json)) throw new UserError(`${file}: expected a JSON object`);
  const { family, kind } = detectFamily(json, file);
  return family.parseConfig(json, file, kind);
}
