// Hugging Face Hub support: downloads into the standard HF cache and turns `--model` values into folders.
//
// The same code serves every model family (Mamba-2, Mamba-1, Falcon-Mamba); the catalog (catalog.ts) lists the
// known ids, their files and pinned commits.
//
// Tokenizer decision: the state-spaces originals (state-spaces/mamba2-*, state-spaces/mamba-* without -hf) hold only
// config.json + pytorch_model.bin. Their tokenizer (EleutherAI/gpt-neox-20b tokenizer.json) is downloaded into the HF
// cache like any other file, and mamba-explain builds its OWN folder
// <MAMBA_EXPLAIN_CACHE or ~/.cache/mamba-explain>/models/org--name/<commit>/ with links to the snapshot's files,
// tokenizer.json and a mamba-explain.json sidecar. That folder is what the engine opens; the HF snapshot itself is
// never written to beyond what huggingface_hub itself would write. Repositories that carry a tokenizer.json
// (AntonV/mamba2-*-hf, state-spaces/mamba-*-hf, tiiuae/falcon-mamba-7b) are opened straight from their snapshot.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../types';
import { hubCacheDir, managedCacheDir, RepoCache, weightFilesIn, withIndexShards } from './cache';
import { knownModel, misspelledModelHint, NEOX_TOKENIZER_REPO } from './catalog';
import { ensureModelView, findCachedSnapshot, isHubId } from './download';

export { downloadModel, ensureModelView, isHubId, modelViewDir, SIDECAR_NAME } from './download';
export type { DownloadOptions, DownloadProgress, DownloadResult, DownloadedFile, ModelSidecar } from './download';
export { hubCacheDir, managedCacheDir, hubEndpoint, isOfflineEnv, repoFolderName, RepoCache } from './cache';
export { KNOWN_MODELS, knownModel, NEOX_TOKENIZER_REPO } from './catalog';
export type { KnownModel, ModelFamilyName, ModelFormat } from './catalog';

export interface ResolveOptions {
  cacheDir?: string;
  managedDir?: string;
  tokenizerRepo?: string;
}

function looksLikePath(ref: string): boolean {
  return ref.startsWith('.') || ref.startsWith('/') || ref.startsWith('~') || ref.includes('\\') || /^[A-Za-z]:/.test(ref) || ref.split('/').length !== 2;
}

/** Splits 'org/name@revision'. */
export function parseModelRef(ref: string): { id: string; revision?: string } {
  const at = ref.lastIndexOf('@');
  if (at > 0) return { id: ref.slice(0, at), revision: ref.slice(at + 1) || undefined };
  return { id: ref };
}

/**
 * Turns a `--model` value into a model folder, without any network access:
 *  - an existing folder (or anything that looks like a path) stays a path (made absolute);
 *  - a Hub id `org/name` (optionally `org/name@revision`) resolves to its cached snapshot (or to mamba-explain's model
 *    folder when the checkpoint needs the paired GPT-NeoX tokenizer). Not cached -> UserError telling to download it.
 */
export function resolveModelRef(ref: string, opts: ResolveOptions = {}): string {
  const trimmed = ref.trim();
  if (trimmed === '') throw new UserError('--model must not be empty');
  const asPath = path.resolve(trimmed);
  if (fs.existsSync(asPath) || looksLikePath(trimmed)) {
    if (trimmed.startsWith('~')) return path.resolve(os.homedir(), trimmed.replace(/^~[\\/]?/, ''));
    return asPath;
  }
  const { id, revision } = parseModelRef(trimmed);
  const hint = misspelledModelHint(id);
  if (hint) throw new UserError(hint);
  if (!isHubId(id)) return asPath;
  const known = knownModel(id);
  const canonical = known?.id ?? id;
  const cacheDir = hubCacheDir(opts.cacheDir);
  const repo = new RepoCache(cacheDir, canonical);
  const notDownloaded = () =>
    new UserError(`model ${trimmed} is not downloaded (looked in ${cacheDir}; there is no folder ${asPath} either); run \`mamba-explain download ${canonical}${revision ? ` --revision ${revision}` : ''}\``);
  const commit = findCachedSnapshot(repo, known, revision, undefined, revision === undefined);
  if (!commit) throw notDownloaded();
  const snapshotDir = repo.snapshotDir(commit);
  if (fs.existsSync(path.join(snapshotDir, 'tokenizer.json'))) return snapshotDir;
  const tokId = opts.tokenizerRepo ?? NEOX_TOKENIZER_REPO;
  const tokRepo = new RepoCache(cacheDir, tokId);
  const tokCommit = findCachedSnapshot(tokRepo, undefined, undefined, ['tokenizer.json'], true);
  if (!tokCommit) throw new UserError(`model ${trimmed} is downloaded but its tokenizer (${tokId} tokenizer.json) is not; run \`mamba-explain download ${canonical}\``);
  const files = known ? withIndexShards(snapshotDir, known.files) : ['config.json', ...(weightFilesIn(snapshotDir) ?? [])];
  return ensureModelView(managedCacheDir(opts.managedDir), canonical, commit, snapshotDir, files, {
    id: tokId,
    commit: tokCommit,
    file: path.join(tokRepo.snapshotDir(tokCommit), 'tokenizer.json'),
  });
}
