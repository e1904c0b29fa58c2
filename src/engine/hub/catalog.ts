// Models that `mamba-explain download` knows by name: which files are needed and, where one could be
// confirmed, a known-good commit to pin to. Other ids still work: their files are picked from the Hub's
// file list (config.json, tokenizer.json, safetensors or pytorch_model.bin). A file list that names
// model.safetensors.index.json stands for the index plus every shard its weight_map lists.
//
// Pinned commits and where they were confirmed (Hugging Face "Files and versions" / "Commit history" pages):
//   Mamba-2
//   state-spaces/mamba2-130m  3a5aea0c25d0fb43cc360e2c2aac82c26e3eed49  "Model release" commit that added
//       config.json + pytorch_model.bin (huggingface.co/state-spaces/mamba2-130m/commits/3a5aea0c.../pytorch_model.bin)
//   state-spaces/mamba2-2.7b  99b226cc377d131cccc610ed4346db564f381f1e  "Model release" tree with config.json +
//       pytorch_model.bin 5.41 GB (huggingface.co/state-spaces/mamba2-2.7b/tree/99b226cc...)
//   AntonV/mamba2-2.7b-hf     ef542707386fa9ec86bbf8a35ed2952af84bf566  "Upload 5 files" tree with config.json,
//       model.safetensors 5.41 GB, tokenizer.json (huggingface.co/AntonV/mamba2-2.7b-hf/tree/ef542707...)
//   Mamba-1, state-spaces originals (each repository has two commits, "initial commit" and "Model release"; main is
//   the "Model release" one)
//   state-spaces/mamba-130m   c4dcd5d65dff7d0bff5a4c97e30d82e57190f1b0  "Model release" commit adding config.json +
//       pytorch_model.bin 516618642 bytes (huggingface.co/state-spaces/mamba-130m/commit/c4dcd5d6... and /tree/c4dcd5d6...)
//   state-spaces/mamba-370m   b6c47221dc4908532cc9773d469d6b8cbe3f0762  "Model release" tree with config.json +
//       pytorch_model.bin 1.49 GB (huggingface.co/state-spaces/mamba-370m/tree/b6c47221...)
//   state-spaces/mamba-790m   557be521b8e2f9c53c00f552cee8b03adfa2e69b  "Model release" tree with config.json +
//       pytorch_model.bin 3.17 GB (huggingface.co/state-spaces/mamba-790m/tree/557be521...)
//   state-spaces/mamba-1.4b   ef1092d8dc2123005d7d608c12665be82cd4c576  "Model release" commit adding config.json +
//       pytorch_model.bin 5488869150 bytes (huggingface.co/state-spaces/mamba-1.4b/commit/ef1092d8...)
//   state-spaces/mamba-2.8b   b342b33a0c4718008a85682ffbb94a0a51d7ea16  "Model release" commit adding config.json +
//       pytorch_model.bin 11073592474 bytes (huggingface.co/state-spaces/mamba-2.8b/commit/b342b33a...)
//   Mamba-1, transformers conversions
//   state-spaces/mamba-130m-hf 1e76775f628fbf1350fbe4dbb3d971ba64af25a1  head of main ("Update README.md", 12 commits)
//       with config.json, model.safetensors 517 MB, tokenizer.json (huggingface.co/state-spaces/mamba-130m-hf/tree/main
//       shows 1e76775; the full hash is the snapshot folder / revision pin in several public GitHub projects, e.g.
//       models--state-spaces--mamba-130m-hf/snapshots/1e76775f.../model.safetensors)
//   state-spaces/mamba-370m-hf 14e4f0139736c06e3d2bef0ebce116cc6f371b11  "Update README.md" tree (11 commits) with
//       config.json, model.safetensors 1.49 GB, tokenizer.json (huggingface.co/state-spaces/mamba-370m-hf/tree/14e4f013...)
//   state-spaces/mamba-790m-hf aa0967938c20baa48bc77fed079210f97ff30eff  "Update tokenizer_config.json" tree (11 commits)
//       with config.json, model.safetensors 3.17 GB, tokenizer.json (huggingface.co/state-spaces/mamba-790m-hf/tree/aa096793...)
//   state-spaces/mamba-2.8b-hf 2f0a5455c26ef9e7d43e2f652503f7e1203b4a2c  "Update generation_config.json" tree (10 commits)
//       with config.json, model.safetensors.index.json + model-0000{1,2,3}-of-00003.safetensors, tokenizer.json
//       (huggingface.co/state-spaces/mamba-2.8b-hf/tree/2f0a5455...)
//   Falcon-Mamba
//   tiiuae/falcon-mamba-7b    080ad94b3619e2c2d0afa59bafdc6113465b7006  commit whose model.safetensors.index.json
//       (3 shards, last changed by "Upload MambaForCausalLM" 470ed3c) is listed at
//       huggingface.co/tiiuae/falcon-mamba-7b/commits/080ad94b.../model.safetensors.index.json; its config.json declares
//       model_type "falcon_mamba" (a public GitHub audit linking .../tree/080ad94b... and .../blob/080ad94b.../config.json),
//       and a public GitHub pin table records 14545401832 weight bytes at this revision from the Hub API. tokenizer.json
//       ("Upload tokenizer", the repository's third commit) is in every crawled tree of the repository after that
//       commit; it was not seen listed at 080ad94 itself.
//   Transformer baselines, GPT-2 (GPT2LMHeadModel; openai-community/* is the same repository as the old un-prefixed
//   gpt2, gpt2-medium, ... ids, renamed, so one hash serves both cache folder names). Each hash is the head of main
//   found in several independent public GitHub projects as the HF cache snapshot folder
//   (models--openai-community--gpt2*/snapshots/<hash>, also models--gpt2*/snapshots/<hash>) and as revision pins
//   (e.g. a pin table in a public eval package, REVISIONS_FOR_MODEL, with all three larger sizes; a reproduction
//   table "Every revision is pinned in results/model_revisions.json" with all four). Other snapshot folders (gpt2
//   11c5a3d5/e7da7f22, gpt2-medium f65d4965/425b0cc9, gpt2-large 97935fc1, gpt2-xl 33cdb5c0) were seen only under
//   the pre-rename cache names (models--gpt2*): earlier commits, not used here. Every one is a single model.safetensors (huggingface/safetensors temp.md lists
//   gpt2, gpt2-medium, gpt2-large as "single-file"), and every one has tokenizer.json (transformers'
//   GPT2TokenizerFast maps all four sizes to <id>/resolve/main/tokenizer.json).
//   openai-community/gpt2        607a30d783dfa663caf39e06633721c8d4cfcd7e  snapshot folder holding model.safetensors and
//       tokenizer.json in several projects; a public in-browser catalog pins openai-community/gpt2 at this hash with
//       config.json + model.safetensors (548105171 bytes) + tokenizer.json; hub_download("gpt2", "config.json") in
//       a public R package's docs resolves main to snapshots/607a30d7...
//   openai-community/gpt2-medium 6dcaa7a952f72f9298047fd5137cd6e4f05f41da  snapshot folder and revision pins (also
//       MODEL_REVISION = "6dcaa7a9..." for "openai-community/gpt2-medium" in a public package)
//   openai-community/gpt2-large  32b71b12589c2f8d625668d2335a01cac3249519  snapshot folder and revision pins (also
//       --reference-lm-revision 32b71b12... in a public experiment config)
//   openai-community/gpt2-xl     15ea56dee5df4983c59b2538573817e1667135e2  snapshot folder and revision pins; a public
//       project's model table: "Revision 15ea56de..., Weight format FP32 safetensors, model.safetensors SHA-256
//       0f8b28eb05a8075f48b61b6f35332978c74fc7763fa9fb4051a1c30511736a6a"; another: "The checkpoint resolved to
//       Hugging Face commit 15ea56de..."
//   Transformer baselines, Pythia (GPTNeoXForCausalLM, its own tokenizer.json). main is the final checkpoint, the same
//   as branch step143000 (the model cards: "Revision/branch 143000 corresponds exactly to the model checkpoint on the
//   main branch"); main carries both model.safetensors and pytorch_model.bin, and for 70m..2.8b the safetensors is a
//   single file (6.9b and 12b are not listed here; 12b is sharded). Use main (this pin), not stepN, for
//   safetensors: a public Hub audit (x-linked-etag) found pythia-2.8b's model.safetensors at step1000..step100000
//   to be the same blob as main's. Hashes are main as read through the Hub API
//   (HfApi().model_info(repo, revision="main").sha) in several public projects on different dates, all agreeing:
//   a pin table "Resolved from the Hub on 2026-07-28 ... revision="main"" (160m, 410m, 1b, 1.4b); a scan
//   "HfApi().model_info(repo).sha for EleutherAI/pythia-70m, -160m, -1.4b" of 2026-09-11 (70m, 160m, 1.4b); a
//   MAIN_SHA table "read from the Hub 2026-09-22" (160m, 410m, 1b, 1.4b, 2.8b); and weige15/QBitPlan's issue-3 note
//   (Hub model API SHA, read 2026-08-03) with .../pythia-2.8b/blob/2a259cdd.../config.json (2.8b).
//   EleutherAI/pythia-70m   a39f36b100fe8a5377810d56c3f4789b9c53ac42  also the snapshot folder in several projects; a
//       public fetch script takes config.json, tokenizer.json and model.safetensors from the API siblings at this sha
//   EleutherAI/pythia-160m  50f5173d932e8e61f858120bcb800b97af589f46  the in-browser catalog above pins it with
//       config.json + model.safetensors (374998696 bytes) + tokenizer.json
//   EleutherAI/pythia-410m  9879c9b5f8bea9051dcb0e68dff21493d67e9d4f  same catalog: model.safetensors 911373632 bytes
//   EleutherAI/pythia-1b    f73d7dcc545c8bd326d8559c8ef84ffe92fea6b2  same catalog: model.safetensors 2090701528 bytes
//   EleutherAI/pythia-1.4b  fedc38a16eea3bd36a96b906d78d11d2ce18ed79  same catalog: model.safetensors 2930002184 bytes
//   EleutherAI/pythia-2.8b  2a259cdd96a4beb1cdf467512e3904197345f6a9  single model.safetensors at main (the Hub audit
//       above); tokenizer.json at main (llama.cpp's CI fetched pythia-2.8b/raw/main/tokenizer.json); one project
//       records "Requested revision: main, Resolved Hugging Face commit: 2a259cdd..."
//   (A shared HF cache in one project holds other snapshot folders for these repositories, e.g. pythia-70m 2ab25ed4,
//   pythia-160m 26b94a33, marked there as "first snapshot"; no API read gives them as main, so they are not used.)
// The others (only abbreviated hashes were found: mamba2-370m/-780m/-1.3b, AntonV/mamba2-{130m..1.3b}-hf, and
// state-spaces/mamba-1.4b-hf, whose main is 6e46eae) resolve `main` once through the Hub API and record it in refs/main.
//
// HF-format Mamba-2: there are no `state-spaces/mamba2-*-hf` repositories on the Hub (only Mamba-1 has
// state-spaces/mamba-*-hf). The transformers-format conversions of the Mamba-2 checkpoints are AntonV/mamba2-*-hf
// (config.json, a single model.safetensors, tokenizer.json). The larger Mamba-1 conversions (mamba-1.4b-hf,
// mamba-2.8b-hf) and falcon-mamba-7b are sharded (model.safetensors.index.json + model-0000N-of-0000M.safetensors).

export type ModelFormat = 'state-spaces' | 'hf';

/** The model family of a known checkpoint (the engine detects it from config.json; this is for listings). */
export type ModelFamilyName = 'mamba2' | 'mamba1' | 'falcon-mamba' | 'gpt2' | 'gptneox';

export interface KnownModel {
  id: string;
  format: ModelFormat;
  family: ModelFamilyName;
  /** files needed by the engine, relative to the repository root (an index stands for itself plus its shards) */
  files: string[];
  /** known-good commit (40 hex digits), when one was confirmed */
  commit?: string;
  /** true when the repository carries no tokenizer.json: the GPT-NeoX-20B tokenizer is paired with it */
  needsTokenizer: boolean;
}

/** Repository whose tokenizer.json is paired with the state-spaces checkpoints (they were trained with it). */
export const NEOX_TOKENIZER_REPO = 'EleutherAI/gpt-neox-20b';

/** The index of a sharded safetensors checkpoint. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

const SS_FILES = ['config.json', 'pytorch_model.bin'];
const HF_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];
const HF_SHARDED_FILES = ['config.json', 'tokenizer.json', SAFETENSORS_INDEX];

function ss(id: string, family: ModelFamilyName, commit?: string): KnownModel {
  return { id, format: 'state-spaces', family, files: SS_FILES, ...(commit ? { commit } : {}), needsTokenizer: true };
}

function hf(id: string, family: ModelFamilyName, files: string[], commit?: string): KnownModel {
  return { id, format: 'hf', family, files, ...(commit ? { commit } : {}), needsTokenizer: false };
}

export const KNOWN_MODELS: KnownModel[] = [
  // Mamba-2
  ss('state-spaces/mamba2-130m', 'mamba2', '3a5aea0c25d0fb43cc360e2c2aac82c26e3eed49'),
  ss('state-spaces/mamba2-370m', 'mamba2'),
  ss('state-spaces/mamba2-780m', 'mamba2'),
  ss('state-spaces/mamba2-1.3b', 'mamba2'),
  ss('state-spaces/mamba2-2.7b', 'mamba2', '99b226cc377d131cccc610ed4346db564f381f1e'),
  hf('AntonV/mamba2-130m-hf', 'mamba2', HF_FILES),
  hf('AntonV/mamba2-370m-hf', 'mamba2', HF_FILES),
  hf('AntonV/mamba2-780m-hf', 'mamba2', HF_FILES),
  hf('AntonV/mamba2-1.3b-hf', 'mamba2', HF_FILES),
  hf('AntonV/mamba2-2.7b-hf', 'mamba2', HF_FILES, 'ef542707386fa9ec86bbf8a35ed2952af84bf566'),
  // Mamba-1, state-spaces originals (GPT-NeoX-20B tokenizer paired)
  ss('state-spaces/mamba-130m', 'mamba1', 'c4dcd5d65dff7d0bff5a4c97e30d82e57190f1b0'),
  ss('state-spaces/mamba-370m', 'mamba1', 'b6c47221dc4908532cc9773d469d6b8cbe3f0762'),
  ss('state-spaces/mamba-790m', 'mamba1', '557be521b8e2f9c53c00f552cee8b03adfa2e69b'),
  ss('state-spaces/mamba-1.4b', 'mamba1', 'ef1092d8dc2123005d7d608c12665be82cd4c576'),
  ss('state-spaces/mamba-2.8b', 'mamba1', 'b342b33a0c4718008a85682ffbb94a0a51d7ea16'),
  // Mamba-1, transformers conversions
  hf('state-spaces/mamba-130m-hf', 'mamba1', HF_FILES, '1e76775f628fbf1350fbe4dbb3d971ba64af25a1'),
  hf('state-spaces/mamba-370m-hf', 'mamba1', HF_FILES, '14e4f0139736c06e3d2bef0ebce116cc6f371b11'),
  hf('state-spaces/mamba-790m-hf', 'mamba1', HF_FILES, 'aa0967938c20baa48bc77fed079210f97ff30eff'),
  hf('state-spaces/mamba-1.4b-hf', 'mamba1', HF_SHARDED_FILES),
  hf('state-spaces/mamba-2.8b-hf', 'mamba1', HF_SHARDED_FILES, '2f0a5455c26ef9e7d43e2f652503f7e1203b4a2c'),
  // Falcon-Mamba (its own tokenizer.json)
  hf('tiiuae/falcon-mamba-7b', 'falcon-mamba', HF_SHARDED_FILES, '080ad94b3619e2c2d0afa59bafdc6113465b7006'),
  // Transformer baselines: GPT-2 (GPT2LMHeadModel) and Pythia (GPTNeoXForCausalLM), each with its own tokenizer.json
  hf('openai-community/gpt2', 'gpt2', HF_FILES, '607a30d783dfa663caf39e06633721c8d4cfcd7e'),
  hf('openai-community/gpt2-medium', 'gpt2', HF_FILES, '6dcaa7a952f72f9298047fd5137cd6e4f05f41da'),
  hf('openai-community/gpt2-large', 'gpt2', HF_FILES, '32b71b12589c2f8d625668d2335a01cac3249519'),
  hf('openai-community/gpt2-xl', 'gpt2', HF_FILES, '15ea56dee5df4983c59b2538573817e1667135e2'),
  hf('EleutherAI/pythia-70m', 'gptneox', HF_FILES, 'a39f36b100fe8a5377810d56c3f4789b9c53ac42'),
  hf('EleutherAI/pythia-160m', 'gptneox', HF_FILES, '50f5173d932e8e61f858120bcb800b97af589f46'),
  hf('EleutherAI/pythia-410m', 'gptneox', HF_FILES, '9879c9b5f8bea9051dcb0e68dff21493d67e9d4f'),
  hf('EleutherAI/pythia-1b', 'gptneox', HF_FILES, 'f73d7dcc545c8bd326d8559c8ef84ffe92fea6b2'),
  hf('EleutherAI/pythia-1.4b', 'gptneox', HF_FILES, 'fedc38a16eea3bd36a96b906d78d11d2ce18ed79'),
  hf('EleutherAI/pythia-2.8b', 'gptneox', HF_FILES, '2a259cdd96a4beb1cdf467512e3904197345f6a9'),
];

export function knownModel(id: string): KnownModel | undefined {
  return KNOWN_MODELS.find((m) => m.id.toLowerCase() === id.toLowerCase());
}

/** A helpful message for ids that look like a supported model but do not exist on the Hub. */
export function misspelledModelHint(id: string): string | undefined {
  // Only the Mamba-2 sizes: state-spaces/mamba-{130m,370m,790m,1.4b,2.8b}-hf (Mamba-1) do exist.
  const m = /^state-spaces\/(mamba2-(?:130m|370m|780m|1\.3b|2\.7b))-hf$/i.exec(id);
  if (m) return `there is no ${id} on the Hugging Face Hub; use state-spaces/${m[1]} (original format) or AntonV/${m[1]}-hf (transformers format)`;
  return undefined;
}

export function isCommitHash(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}
