// The GPT-NeoX family (SPEC §7): HF GPTNeoXForCausalLM checkpoints (EleutherAI/pythia-70m … pythia-2.8b): fused
// per-head [q | k | v], rotary on a part of each head, parallel residual, exact GELU, untied embed_out. Pythia uses
// the gpt-neox-20b tokenizer, the Mamba models' one.
import type { TransformerConfig } from '../../types';
import type { ModelFamily } from '../types';
import { parseGptNeox } from '../transformer/config';
import { transformerCommon } from '../transformer/family';
import { gptNeoxCanonicalName, gptNeoxStoredName } from '../transformer/weights';

export const gptneox: ModelFamily<TransformerConfig> = {
  ...transformerCommon,
  arch: 'gptneox',
  label: () => 'GPT-NeoX',
  parseConfig: (json, file) => parseGptNeox(json, file),
  canonicalName: gptNeoxCanonicalName,
  storedName: gptNeoxStoredName,
};
