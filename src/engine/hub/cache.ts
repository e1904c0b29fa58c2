// The standard Hugging Face hub cache layout, shared with huggingface_hub / transformers:
//   <cache>/models--{org}--{name}/blobs/<etag>                      file contents, named by their etag
//   <cache>/models--{org}--{name}/snapshots/<commit>/<file>        relative symlink to ../../blobs/<etag>
//   <cache>/models--{org}--{name}/refs/<revision>                  the commit a branch/tag pointed to
// A blob only ever appears under its final name once it is complete and verified (it is written as
// blobs/<etag>.incomplete first), and a snapshot entry is only created after that, so an entry that resolves is whole.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isCommitHash, SAFETENSORS_INDEX } from './catalog';

function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/** The hub cache directory: explicit > HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub > ~/.cache/huggingface/hub. */
export function hubCacheDir(explicit?: string): string {
  const direct = explicit ?? envValue('HF_HUB_CACHE') ?? envValue('HUGGINGFACE_HUB_CACHE');
  if (direct) return path.resolve(expandHome(direct));
  const home = envValue('HF_HOME');
  if (home) return path.resolve(expandHome(home), 'hub');
  const xdg = envValue('XDG_CACHE_HOME');
  return path.join(xdg ? path.resolve(expandHome(xdg)) : path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

/** Root of the folders that mamba-explain manages itself (never inside the HF cache): MAMBA_EXPLAIN_CACHE or XDG_CACHE_HOME/mamba-explain. */
export function managedCacheDir(explicit?: string): string {
  const direct = explicit ?? envValue('MAMBA_EXPLAIN_CACHE');
  if (direct) return path.resolve(expandHome(direct));
  const xdg = envValue('XDG_CACHE_HOME');
  return path.join(xdg ? path.resolve(expandHome(xdg)) : path.join(os.homedir(), '.cache'), 'mamba-explain');
}

export function hubEndpoint(explicit?: string): string {
  return (explicit ?? envValue('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
}

export function isOfflineEnv(): boolean {
  const v = envValue('HF_HUB_OFFLINE');
  return v !== undefined && ['1', 'on', 'yes', 'true'].includes(v.toLowerCase());
}

export function repoFolderName(id: string): string {
  return `models--${id.split('/').join('--')}`;
}

export class RepoCache {
  readonly dir: string;
  constructor(readonly cacheDir: string, readonly id: string) {
    this.dir = path.join(cacheDir, repoFolderName(id));
  }
  get blobsDir(): string {
    return path.join(this.dir, 'blobs');
  }
  blobPath(etag: string): string {
    return path.join(this.blobsDir, etag);
  }
  snapshotDir(commit: string): string {
    return path.join(this.dir, 'snapshots', commit);
  }
  snapshotFile(commit: string, file: string): string {
    return path.join(this.snapshotDir(commit), ...file.split('/'));
  }
  refPath(revision: string): string {
    return path.join(this.dir, 'refs', ...revision.split('/'));
  }

  /** The commit a revision points to in the cache: the revision itself when it is a commit hash, else refs/<revision>. */
  readRef(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    try {
      const c = fs.readFileSync(this.refPath(revision), 'utf8').trim();
      return isCommitHash(c) ? c : undefined;
    } catch {
      return undefined;
    }
  }

  writeRef(revision: string, commit: string): void {
    if (isCommitHash(revision)) return;
    const p = this.refPath(revision);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, commit);
    fs.renameSync(tmp, p);
  }

  /** true when snapshots/<commit>/<file> exists and resolves to a whole file (a dangling link does not count). */
  hasFile(commit: string, file: string): boolean {
    try {
      return fs.statSync(this.snapshotFile(commit, file)).isFile();
    } catch {
      return false;
    }
  }

  /** Commits present under snapshots/, most recently modified first. */
  snapshots(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.dir, 'snapshots')).filter(isCommitHash);
    } catch {
      return [];
    }
    const mtime = (c: string) => {
      try {
        return fs.statSync(this.snapshotDir(c)).mtimeMs;
      } catch {
        return 0;
      }
    };
    return names.sort((a, b) => mtime(b) - mtime(a));
  }

  /**
   * Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (what huggingface_hub does).
   * Where symlinks are not allowed (Windows without developer mode) the blob is hard-linked, else copied.
   */
  linkSnapshotFile(commit: string, file: string, etag: string): void {
    const dst = this.snapshotFile(commit, file);
    const blob = this.blobPath(etag);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    try {
      fs.rmSync(dst, { force: true });
    } catch {
      /* replaced below */
    }
    const rel = path.relative(path.dirname(dst), blob);
    try {
      fs.symlinkSync(rel, dst);
      return;
    } catch {
      /* fall through */
    }
    try {
      fs.linkSync(blob, dst);
    } catch {
      fs.copyFileSync(blob, dst);
    }
  }
}

function isFileAt(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A repository-relative file name that stays inside the repository (no absolute path, no `..`, no empty segment). */
export function isSafeRepoPath(name: string): boolean {
  return /^[\w.+-]+(\/[\w.+-]+)*$/.test(name) && !name.split('/').some((seg) => seg === '.' || seg === '..');
}

export function isShardIndex(name: string): boolean {
  return name === SAFETENSORS_INDEX || name.endsWith(`/${SAFETENSORS_INDEX}`);
}

/**
 * The shard files a sharded-safetensors index lists (weight_map values, unique, sorted), relative to the repository
 * root; undefined when the index is missing, unreadable, lists nothing or names a path outside the repository.
 */
export function indexShards(dir: string, index: string): string[] | undefined {
  let idx: { weight_map?: unknown };
  try {
    idx = JSON.parse(fs.readFileSync(path.join(dir, ...index.split('/')), 'utf8')) as { weight_map?: unknown };
  } catch {
    return undefined;
  }
  const map = idx && typeof idx === 'object' ? idx.weight_map : undefined;
  if (!map || typeof map !== 'object') return undefined;
  const values = Object.values(map as Record<string, unknown>);
  if (!values.every((v): v is string => typeof v === 'string')) return undefined;
  const prefix = index.includes('/') ? index.slice(0, index.lastIndexOf('/') + 1) : '';
  const shards = [...new Set(values.map((v) => prefix + v))].sort();
  if (shards.length === 0 || !shards.every(isSafeRepoPath)) return undefined;
  return shards;
}

/** `names` plus the shards listed by any sharded-safetensors index among them (read from `dir`); no network. */
export function withIndexShards(dir: string, names: string[]): string[] {
  const out = [...names];
  for (const n of names) if (isShardIndex(n)) for (const s of indexShards(dir, n) ?? []) if (!out.includes(s)) out.push(s);
  return out;
}

/** Which weight files a snapshot folder needs: model.safetensors, a sharded index plus its shards, or pytorch_model.bin. */
export function weightFilesIn(dir: string): string[] | undefined {
  const has = (f: string) => isFileAt(path.join(dir, f));
  if (has('model.safetensors')) return ['model.safetensors'];
  if (has(SAFETENSORS_INDEX)) {
    const shards = indexShards(dir, SAFETENSORS_INDEX);
    if (shards && shards.every((s) => isFileAt(path.join(dir, ...s.split('/'))))) return [SAFETENSORS_INDEX, ...shards];
    return undefined;
  }
  if (has('pytorch_model.bin')) return ['pytorch_model.bin'];
  return undefined;
}

/**
 * true when a snapshot folder holds a loadable model: with `files`, each of them (and, for a sharded-safetensors
 * index among them, every shard it lists); without, config.json plus weights.
 */
export function snapshotHasModel(dir: string, files?: string[]): boolean {
  if (!files) return isFileAt(path.join(dir, 'config.json')) && weightFilesIn(dir) !== undefined;
  for (const f of files) if (!isFileAt(path.join(dir, ...f.split('/')))) return false;
  for (const f of files) {
    if (!isShardIndex(f)) continue;
    const shards = indexShards(dir, f);
    if (!shards || !shards.every((s) => isFileAt(path.join(dir, ...s.split('/'))))) return false;
  }
  return true;
}
