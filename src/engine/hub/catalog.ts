// Models that `mamba-explain download` knows by name: which files are needed and, where one could be
// confirmed, a known-good commit to pin to. Other ids still work: their files are picked from the Hub's
// file list (config.json, tokenizer.json, safetensors or pytorch_model.bin).
//
// Pinned commits and where they were confirmed (Hugging Face "Files and versions" / "Commit history" pages):
//   state-spaces/mamba2-130m  3a5aea0c25d0fb43cc360e2c2aac82c26e3eed49  "Model release" commit that added
//       config.json + pytorch_model.bin (huggingface.co/state-spaces/mamba2-130m/commits/3a5aea0c.../pytorch_model.bin)
//   state-spaces/mamba2-2.7b  99b226cc377d131cccc610ed4346db564f381f1e  "Model release" tree with config.json +
//       pytorch_model.bin 5.41 GB (huggingface.co/state-spaces/mamba2-2.7b/tree/99b226cc...)
//   AntonV/mamba2-2.7b-hf     ef542707386fa9ec86bbf8a35ed2952af84bf566  "Upload 5 files" tree with config.json,
//       model.safetensors 5.41 GB, tokenizer.json (huggingface.co/AntonV/mamba2-2.7b-hf/tree/ef542707...)
// The others (only abbreviated hashes were found) resolve `main` once through the Hub API and record it in refs/main.
//
// HF-format Mamba-2: there are no `state-spaces/mamba2-*-hf` repositories on the Hub (only Mamba-1 has
// state-spaces/mamba-*-hf). The transformers-format conversions of the Mamba-2 checkpoints are AntonV/mamba2-*-hf
// (config.json, a single model.safetensors, tokenizer.json).

export type ModelFormat = 'state-spaces' | 'hf';

export interface KnownModel {
  id: string;
  format: ModelFormat;
  /** files needed by the engine, relative to the repository root */
  files: string[];
  /** known-good commit (40 hex digits), when one was confirmed */
  commit?: string;
  /** true when the repository carries no tokenizer.json: the GPT-NeoX-20B tokenizer is paired with it */
  needsTokenizer: boolean;
}

/** Repository whose tokenizer.json is paired with the state-spaces checkpoints (they were trained with it). */
export const NEOX_TOKENIZER_REPO = 'EleutherAI/gpt-neox-20b';

const SS_FILES = ['config.json', 'pytorch_model.bin'];
const HF_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];

export const KNOWN_MODELS: KnownModel[] = [
  { id: 'state-spaces/mamba2-130m', format: 'state-spaces', files: SS_FILES, commit: '3a5aea0c25d0fb43cc360e2c2aac82c26e3eed49', needsTokenizer: true },
  { id: 'state-spaces/mamba2-370m', format: 'state-spaces', files: SS_FILES, needsTokenizer: true },
  { id: 'state-spaces/mamba2-780m', format: 'state-spaces', files: SS_FILES, needsTokenizer: true },
  { id: 'state-spaces/mamba2-1.3b', format: 'state-spaces', files: SS_FILES, needsTokenizer: true },
  { id: 'state-spaces/mamba2-2.7b', format: 'state-spaces', files: SS_FILES, commit: '99b226cc377d131cccc610ed4346db564f381f1e', needsTokenizer: true },
  { id: 'AntonV/mamba2-130m-hf', format: 'hf', files: HF_FILES, needsTokenizer: false },
  { id: 'AntonV/mamba2-370m-hf', format: 'hf', files: HF_FILES, needsTokenizer: false },
  { id: 'AntonV/mamba2-780m-hf', format: 'hf', files: HF_FILES, needsTokenizer: false },
  { id: 'AntonV/mamba2-1.3b-hf', format: 'hf', files: HF_FILES, needsTokenizer: false },
  { id: 'AntonV/mamba2-2.7b-hf', format: 'hf', files: HF_FILES, commit: 'ef542707386fa9ec86bbf8a35ed2952af84bf566', needsTokenizer: false },
];

export function knownModel(id: string): KnownModel | undefined {
  return KNOWN_MODELS.find((m) => m.id.toLowerCase() === id.toLowerCase());
}

/** A helpful message for ids that look like a supported model but do not exist on the Hub. */
export function misspelledModelHint(id: string): string | undefined {
  const m = /^state-spaces\/(mamba2-(?:130m|370m|780m|1\.3b|2\.7b))-hf$/i.exec(id);
  if (m) return `there is no ${id} on the Hugging Face Hub; use state-spaces/${m[1]} (original format) or AntonV/${m[1]}-hf (transformers format)`;
  return undefined;
}

export function isCommitHash(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}
