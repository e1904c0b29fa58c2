// The GPT-2 family (SPEC §7): HF GPT2LMHeadModel checkpoints (openai-community/gpt2 … gpt2-xl). wte + wpe, pre-LN
// blocks with Conv1D weights stored [in, out], gelu_new, tied head.
import type { TransformerConfig } from '../../types';
import type { ModelFamily } from '../types';
import { parseGpt2 } from '../transformer/config';
import { transformerCommon } from '../transformer/family';
import { gpt2CanonicalName, gpt2StoredName } from '../transformer/weights';

export const gpt2: ModelFamily<TransformerConfig> = {
  ...transformerCommon,
  arch: 'gpt2',
  label: () => 'GPT-2',
  parseConfig: (json, file) => parseGpt2(json, file),
  canonicalName: gpt2CanonicalName,
  storedName: gpt2StoredName,
  positionTable: () => 'position.weight',
};
