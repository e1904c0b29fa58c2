// Hugging Face Hub downloader (node only, no dependencies), writing the standard HF cache layout (see cache.ts).
// Family-neutral: Mamba-2, Mamba-1 and Falcon-Mamba checkpoints (and any other repository with config.json + weights)
// go through the same code; only the catalog (catalog.ts) knows ids, files and pinned commits.
//
// For each needed file of a pinned commit:
//   1. snapshots/<commit>/<file> already resolves  -> reused, no request at all (also for files Python tools fetched)
//   2. HEAD {endpoint}/{id}/resolve/{commit}/{file} -> ETag / X-Linked-Etag (sha256 for LFS files, git sha1 otherwise),
//      X-Linked-Size / Content-Length, X-Repo-Commit
//   3. blobs/<etag> exists                          -> only the snapshot link is made
//   4. GET (following the CDN redirect) into blobs/<etag>.incomplete, resuming with Range after a cut connection
//      (a few retries with backoff) or after an interrupted process; sha256 is computed while streaming
//   5. size + hash verified -> atomic rename to blobs/<etag> -> relative symlink in snapshots/<commit>/
// A mismatch deletes the .incomplete file and throws a UserError; nothing partial or corrupt is ever linked.
// Sharded safetensors: model.safetensors.index.json is fetched first, then every shard its weight_map lists (one
// progress total over all of them); a snapshot only counts as cached when the index and all its shards resolve.
// Cancellation (AbortSignal) leaves only the .incomplete file, which the next call resumes.
import { createHash, Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ProgressEvent, UserError } from '../types';
import { hubCacheDir, hubEndpoint, indexShards, isOfflineEnv, isSafeRepoPath, isShardIndex, managedCacheDir, RepoCache, snapshotHasModel, weightFilesIn, withIndexShards } from './cache';
import { isCommitHash, knownModel, KnownModel, misspelledModelHint, NEOX_TOKENIZER_REPO, SAFETENSORS_INDEX } from './catalog';
import { discard, header, NetworkError, readText, sendFollow } from './http';

export interface DownloadProgress extends ProgressEvent {
  /** bytes done / total over the files that this call downloads */
  done: number;
  total: number;
  /** bytes per second over this call */
  rate?: number;
  etaSeconds?: number;
  /** repository path of the file being downloaded */
  file?: string;
}

export interface DownloadOptions {
  /** branch, tag or commit; default: the pinned commit of a known model, else 'main' */
  revision?: string;
  /** hub cache directory (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub) */
  cacheDir?: string;
  /** Hub endpoint (default: HF_ENDPOINT or https://huggingface.co) */
  endpoint?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** use the cache only (default: HF_HUB_OFFLINE=1) */
  offline?: boolean;
  /** folder for mamba-explain's own model views (default: MAMBA_EXPLAIN_CACHE or ~/.cache/mamba-explain) */
  managedDir?: string;
  /** access token for private/gated repositories (default: HF_TOKEN) */
  token?: string;
  /** attempts per file after a network failure (default 5) */
  retries?: number;
  /** first backoff delay in ms, doubled each retry (default 1000) */
  retryDelayMs?: number;
  /** socket inactivity timeout in ms (default 30000) */
  timeoutMs?: number;
  /** repository whose tokenizer.json is paired with checkpoints that have none (default EleutherAI/gpt-neox-20b) */
  tokenizerRepo?: string;
}

export interface DownloadedFile {
  /** path inside the repository */
  name: string;
  size: number;
  sha256: string;
  /** snapshot path */
  path: string;
  /** true when the file was already in the cache */
  reused: boolean;
}

export interface DownloadResult {
  id: string;
  commit: string;
  /** HF snapshot folder: <cache>/models--org--name/snapshots/<commit> */
  snapshotDir: string;
  /**
   * Folder to open with the engine: the snapshot itself when it holds a tokenizer.json, else a folder managed by
   * mamba-explain (<managedDir>/models/org--name/<commit>) with links to the snapshot files, the paired
   * tokenizer.json and a mamba-explain.json sidecar. The HF snapshot is never modified.
   */
  modelDir: string;
  files: DownloadedFile[];
  /** the paired tokenizer when the repository has none */
  tokenizer?: { id: string; commit: string; file: string };
  /** true when nothing was requested from the network */
  fromCache: boolean;
}

const ID_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isHubId(ref: string): boolean {
  return ID_RE.test(ref) && !ref.includes('..') && !ref.endsWith('.');
}

function validateId(id: string): void {
  const hint = misspelledModelHint(id);
  if (hint) throw new UserError(hint);
  if (!isHubId(id)) throw new UserError(`'${id}' is not a Hugging Face model id (expected org/name, e.g. state-spaces/mamba2-130m)`);
}

interface Ctx {
  endpoint: string;
  cacheDir: string;
  managedDir: string;
  offline: boolean;
  token?: string;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  requests: number;
}

function checkedEndpoint(explicit?: string): string {
  const e = hubEndpoint(explicit);
  let ok = false;
  try {
    const u = new URL(e);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) throw new UserError(`the Hub endpoint '${e}' (${explicit !== undefined ? '--endpoint' : 'HF_ENDPOINT'}) is not an http(s) URL`);
  return e;
}

function makeCtx(opts: DownloadOptions): Ctx {
  const token = opts.token ?? (process.env.HF_TOKEN?.trim() || undefined);
  const offline = opts.offline ?? isOfflineEnv();
  return {
    endpoint: offline ? hubEndpoint(opts.endpoint) : checkedEndpoint(opts.endpoint),
    cacheDir: hubCacheDir(opts.cacheDir),
    managedDir: managedCacheDir(opts.managedDir),
    offline,
    token,
    retries: opts.retries ?? 5,
    retryDelayMs: opts.retryDelayMs ?? 1000,
    timeoutMs: opts.timeoutMs ?? 30_000,
    signal: opts.signal,
    onProgress: opts.onProgress,
    requests: 0,
  };
}

function authHeaders(ctx: Ctx): Record<string, string> {
  return ctx.token ? { Authorization: `Bearer ${ctx.token}` } : {};
}

function checkCancel(ctx: Ctx): void {
  if (ctx.signal?.aborted) throw new CancelledError();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

function resolveUrl(ctx: Ctx, id: string, commit: string, file: string): string {
  return `${ctx.endpoint}/${id}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`;
}

/** Runs a request-making step with retries on network failures and 5xx/429. */
async function withRetries<T>(ctx: Ctx, what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    checkCancel(ctx);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof CancelledError || ctx.signal?.aborted) throw new CancelledError();
      if (!(e instanceof NetworkError)) throw e;
      if (attempt >= ctx.retries) throw new UserError(`${what} failed after ${attempt + 1} attempts (${e.message}); check the connection to ${ctx.endpoint} or set HF_HUB_OFFLINE=1 to use the cache only`);
      await sleep(ctx.retryDelayMs * 2 ** attempt, ctx.signal);
    }
  }
}

function hubErrorMessage(ctx: Ctx, id: string, revision: string, file: string | undefined, status: number, code: string | undefined): string {
  if (code === 'RevisionNotFound') return `revision '${revision}' of ${id} was not found on ${ctx.endpoint}`;
  if (code === 'EntryNotFound' && file) return `${id} at revision ${revision} has no file ${file}`;
  if (status === 401 || status === 403 || code === 'RepoNotFound' || code === 'GatedRepo')
    return `model ${id} was not found on ${ctx.endpoint} (or it is private/gated: set HF_TOKEN); check the id`;
  if (status === 404) return file ? `${id} at revision ${revision} has no file ${file} (HTTP 404)` : `model ${id} (revision ${revision}) was not found on ${ctx.endpoint}`;
  return `the Hub answered HTTP ${status} for ${id}${file ? `/${file}` : ''}`;
}

function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

interface RevisionInfo {
  sha: string;
  siblings: string[];
}

async function fetchRevisionInfo(ctx: Ctx, id: string, revision: string): Promise<RevisionInfo> {
  const url = `${ctx.endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}`;
  return withRetries(ctx, `looking up ${id}@${revision}`, async () => {
    ctx.requests++;
    const { res } = await sendFollow({ method: 'GET', url, headers: authHeaders(ctx), signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    const status = res.statusCode ?? 0;
    if (retryableStatus(status)) {
      discard(res);
      throw new NetworkError(`HTTP ${status}`);
    }
    if (status !== 200) {
      discard(res);
      throw new UserError(hubErrorMessage(ctx, id, revision, undefined, status, header(res, 'x-error-code')));
    }
    let body: { sha?: unknown; siblings?: { rfilename?: unknown }[] };
    try {
      body = JSON.parse(await readText(res));
    } catch (e) {
      if (e instanceof NetworkError || e instanceof CancelledError) throw e;
      throw new UserError(`the Hub's answer for ${id}@${revision} is not JSON`);
    }
    if (typeof body.sha !== 'string' || !isCommitHash(body.sha)) throw new UserError(`the Hub's answer for ${id}@${revision} has no commit hash`);
    const siblings = (body.siblings ?? []).map((s) => s.rfilename).filter((s): s is string => typeof s === 'string');
    return { sha: body.sha, siblings };
  });
}

interface FileMeta {
  etag: string;
  size?: number;
  commit?: string;
}

function normEtag(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '');
}

async function headFile(ctx: Ctx, id: string, commit: string, file: string): Promise<FileMeta> {
  const url = resolveUrl(ctx, id, commit, file);
  return withRetries(ctx, `reading the metadata of ${id}/${file}`, async () => {
    ctx.requests++;
    const { res } = await sendFollow({ method: 'HEAD', url, headers: authHeaders(ctx), signal: ctx.signal, timeoutMs: ctx.timeoutMs }, true);
    discard(res);
    const status = res.statusCode ?? 0;
    if (retryableStatus(status)) throw new NetworkError(`HTTP ${status}`);
    const redirected = status >= 300 && status < 400;
    if (status !== 200 && !redirected) throw new UserError(hubErrorMessage(ctx, id, commit, file, status, header(res, 'x-error-code')));
    const etag = normEtag(header(res, 'x-linked-etag') ?? header(res, 'etag'));
    if (!etag || !/^[\w.-]+$/.test(etag)) throw new UserError(`the Hub sent no usable ETag for ${id}/${file}; cannot verify it`);
    const sizeStr = header(res, 'x-linked-size') ?? (redirected ? undefined : header(res, 'content-length'));
    const size = sizeStr !== undefined && /^\d+$/.test(sizeStr) ? Number(sizeStr) : undefined;
    return { etag, size, commit: header(res, 'x-repo-commit') };
  });
}

class ProgressTracker {
  done = 0;
  private readonly start = Date.now();
  private fetched = 0;
  private last = 0;
  constructor(private readonly ctx: Ctx, readonly total: number) {}
  add(bytes: number, file: string, fetched: boolean): void {
    this.done += bytes;
    if (fetched) this.fetched += bytes;
    const now = Date.now();
    if (now - this.last >= 100 || this.done >= this.total) {
      this.last = now;
      this.emit(file);
    }
  }
  emit(file?: string): void {
    if (!this.ctx.onProgress) return;
    const secs = (Date.now() - this.start) / 1000;
    const rate = secs > 0.2 ? this.fetched / secs : undefined;
    const left = this.total - this.done;
    this.ctx.onProgress({ done: this.done, total: this.total, rate, etaSeconds: rate && rate > 0 ? left / rate : undefined, file, message: file ? `downloading ${file}` : undefined });
  }
}

async function hashFilePrefix(file: string, bytes: number, hash: Hash): Promise<void> {
  if (bytes <= 0) return;
  await new Promise<void>((resolve, reject) => {
    const s = fs.createReadStream(file, { start: 0, end: bytes - 1 });
    s.on('data', (c) => hash.update(c as Buffer));
    s.on('error', reject);
    s.on('end', () => resolve());
  });
}

async function hashFile(file: string, algo: 'sha256' | 'sha1', gitPrefix = false): Promise<string> {
  const h = createHash(algo);
  if (gitPrefix) h.update(`blob ${fs.statSync(file).size}\0`);
  await hashFilePrefix(file, fs.statSync(file).size, h);
  return h.digest('hex');
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims blobs/<etag>.incomplete for this process: <cache>/.locks/models--org--name/<etag>.mamba-explain.lock holds the
 * owner's pid (a lock left by a dead process is taken over). Two downloaders never append to the same file.
 */
export function acquireBlobLock(repo: RepoCache, etag: string, file: string): () => void {
  const dir = path.join(repo.cacheDir, '.locks', path.basename(repo.dir));
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, `${etag}.mamba-explain.lock`);
  for (let i = 0; i < 3; i++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(lock, 'utf8').trim());
    } catch {
      /* vanished: retry */
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && pidAlive(owner))
      throw new UserError(`${repo.id}/${file} is being downloaded by another process (pid ${owner}, lock ${lock}); wait for it or remove the lock if that process is gone`);
    fs.rmSync(lock, { force: true });
  }
  throw new UserError(`cannot lock ${lock}`);
}

/** Downloads one blob into blobs/<etag>, resuming blobs/<etag>.incomplete; verifies size and hash before the rename. */
async function fetchBlob(ctx: Ctx, id: string, commit: string, file: string, meta: FileMeta, repo: RepoCache, progress: ProgressTracker): Promise<string> {
  const blob = repo.blobPath(meta.etag);
  const incomplete = `${blob}.incomplete`;
  fs.mkdirSync(repo.blobsDir, { recursive: true });
  const url = resolveUrl(ctx, id, commit, file);
  const size = meta.size;
  let hash = createHash('sha256');
  let hashed = 0;
  const restart = () => {
    fs.writeFileSync(incomplete, '');
    hash = createHash('sha256');
    hashed = 0;
  };
  const initial = fileSize(incomplete);
  if (initial > 0) progress.add(Math.min(initial, size ?? initial), file, false);
  for (let attempt = 0; ; attempt++) {
    checkCancel(ctx);
    let have = fileSize(incomplete);
    if (size !== undefined && have > size) {
      restart();
      have = 0;
    }
    if (hashed !== have) {
      hash = createHash('sha256');
      await hashFilePrefix(incomplete, have, hash);
      hashed = have;
    }
    if (size !== undefined && have === size) break;
    let fh: fs.promises.FileHandle | undefined;
    try {
      const headers = { ...authHeaders(ctx) } as Record<string, string>;
      if (have > 0) headers.Range = `bytes=${have}-`;
      ctx.requests++;
      const { res } = await sendFollow({ method: 'GET', url, headers, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
      const status = res.statusCode ?? 0;
      if (status === 416) {
        discard(res);
        if (size !== undefined && have === size) break;
        restart();
        throw new NetworkError('the server refused the resume range');
      }
      if (retryableStatus(status) || status === 403 || status === 410) {
        // 403/410 from the CDN: an expired signed URL; a new GET of the resolve URL gets a fresh one
        discard(res);
        throw new NetworkError(`HTTP ${status}`);
      }
      if (status !== 200 && status !== 206) {
        discard(res);
        throw new UserError(hubErrorMessage(ctx, id, commit, file, status, header(res, 'x-error-code')));
      }
      if (status === 206) {
        const m = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          discard(res);
          restart();
          throw new NetworkError('the server resumed at the wrong offset');
        }
      } else if (have > 0) {
        // the server ignored Range: start over
        progress.add(-have, file, false);
        restart();
        have = 0;
      }
      fh = await fs.promises.open(incomplete, 'a');
      try {
        for await (const chunk of res) {
          const buf = chunk as Buffer;
          await fh.write(buf);
          hash.update(buf);
          hashed += buf.length;
          have += buf.length;
          progress.add(buf.length, file, true);
        }
      } catch (e) {
        if (e instanceof CancelledError || ctx.signal?.aborted) throw new CancelledError();
        throw new NetworkError(`connection lost during ${file}: ${(e as Error).message}`);
      }
      await fh.close();
      fh = undefined;
      if (size !== undefined && have < size) throw new NetworkError(`connection closed after ${have} of ${size} bytes of ${file}`);
      if (size === undefined || have === size) break;
    } catch (e) {
      if (fh) await fh.close().catch(() => undefined);
      if (e instanceof CancelledError || ctx.signal?.aborted) throw new CancelledError();
      if (!(e instanceof NetworkError)) throw e;
      if (attempt >= ctx.retries)
        throw new UserError(`downloading ${id}/${file} failed after ${attempt + 1} attempts (${e.message}); run the command again to resume from ${fileSize(incomplete)} bytes`);
      await sleep(ctx.retryDelayMs * 2 ** attempt, ctx.signal);
    }
  }
  const got = fileSize(incomplete);
  const reject = (what: string): never => {
    fs.rmSync(incomplete, { force: true });
    throw new UserError(`${id}/${file}: ${what}; the download was discarded (nothing was added to the cache). Run the command again; if it persists the file on the Hub or the connection is corrupt`);
  };
  if (size !== undefined && got !== size) reject(`size ${got} bytes does not match the expected ${size}`);
  const sha256 = hash.digest('hex');
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    if (sha256 !== meta.etag) reject(`sha256 ${sha256} does not match the expected ${meta.etag}`);
  } else if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    const sha1 = await hashFile(incomplete, 'sha1', true);
    if (sha1 !== meta.etag) reject(`git hash ${sha1} does not match the expected ${meta.etag}`);
  }
  fs.renameSync(incomplete, blob);
  return sha256;
}

async function sha256Of(p: string): Promise<string> {
  let real = p;
  try {
    real = fs.realpathSync(p);
  } catch {
    /* plain file */
  }
  const name = path.basename(real);
  if (/^[0-9a-f]{64}$/.test(name) && path.basename(path.dirname(real)) === 'blobs') return name;
  return hashFile(p, 'sha256');
}

function pickFiles(siblings: string[], id: string): string[] {
  const has = (f: string) => siblings.includes(f);
  if (!has('config.json')) throw new UserError(`${id} has no config.json; it is not a model repository that mamba-explain can open`);
  const files = ['config.json'];
  if (has('tokenizer.json')) files.push('tokenizer.json');
  if (has('model.safetensors')) return [...files, 'model.safetensors'];
  if (has(SAFETENSORS_INDEX)) return [...files, SAFETENSORS_INDEX];
  if (has('pytorch_model.bin')) return [...files, 'pytorch_model.bin'];
  throw new UserError(`${id} has no model.safetensors, ${SAFETENSORS_INDEX} or pytorch_model.bin`);
}

interface SnapshotResult {
  commit: string;
  files: DownloadedFile[];
  snapshotDir: string;
}

/** Cached snapshot holding `files` (or, for unknown repos, a whole model) for a revision; no network. */
export function findCachedSnapshot(repo: RepoCache, known: KnownModel | undefined, revision: string | undefined, files?: string[], anySnapshot = false): string | undefined {
  const need = files ?? known?.files;
  const ok = (commit: string | undefined) => commit !== undefined && snapshotHasModel(repo.snapshotDir(commit), need);
  const candidates: (string | undefined)[] = [];
  if (revision) candidates.push(repo.readRef(revision));
  else {
    candidates.push(repo.readRef('main'));
    if (known?.commit) candidates.push(known.commit);
    if (anySnapshot) candidates.push(...repo.snapshots());
  }
  return candidates.find(ok);
}

async function listFiles(dir: string, names: string[]): Promise<DownloadedFile[]> {
  const out: DownloadedFile[] = [];
  for (const name of names) {
    const p = path.join(dir, ...name.split('/'));
    out.push({ name, size: fs.statSync(p).size, sha256: await sha256Of(p), path: p, reused: true });
  }
  return out;
}

function cachedFileNames(dir: string, known: KnownModel | undefined, files?: string[]): string[] {
  if (files) return withIndexShards(dir, files);
  if (known) return withIndexShards(dir, known.files);
  const names = ['config.json'];
  if (fs.existsSync(path.join(dir, 'tokenizer.json'))) names.push('tokenizer.json');
  return [...names, ...(weightFilesIn(dir) ?? [])];
}

/** Makes sure a snapshot with the needed files exists in the cache (downloading what is missing) and returns it. */
async function ensureSnapshot(ctx: Ctx, id: string, revision: string | undefined, files?: string[], anySnapshot = false): Promise<SnapshotResult> {
  const known = knownModel(id);
  const repo = new RepoCache(ctx.cacheDir, id);
  const cached = findCachedSnapshot(repo, known, revision, files, anySnapshot || ctx.offline);
  if (cached) {
    const dir = repo.snapshotDir(cached);
    return { commit: cached, snapshotDir: dir, files: await listFiles(dir, cachedFileNames(dir, known, files)) };
  }
  if (ctx.offline) {
    throw new UserError(
      `model ${id}${revision ? `@${revision}` : ''} is not in the Hugging Face cache at ${ctx.cacheDir} and offline mode is on (--offline or HF_HUB_OFFLINE=1); ` +
        `run \`mamba-explain download ${id}\` while online`,
    );
  }
  // Pin the commit.
  let commit: string;
  let namedRef: string | undefined;
  let siblings: string[] | undefined;
  if (revision && isCommitHash(revision)) commit = revision;
  else if (!revision && known?.commit) commit = known.commit;
  else {
    const info = await fetchRevisionInfo(ctx, id, revision ?? 'main');
    commit = info.sha;
    siblings = info.siblings;
    namedRef = revision ?? 'main';
  }
  let names = files ?? known?.files;
  if (!names) {
    if (!siblings) siblings = (await fetchRevisionInfo(ctx, id, commit)).siblings;
    names = pickFiles(siblings, id);
  }
  const result = await fetchWithShards(ctx, repo, id, commit, names);
  if (namedRef) repo.writeRef(namedRef, commit);
  return { commit, snapshotDir: repo.snapshotDir(commit), files: result };
}

/**
 * Fetches `names`; a sharded-safetensors index among them is fetched first and the shards it lists are added, so that
 * one progress total covers every large file. Result order: `names`, then the shards.
 */
async function fetchWithShards(ctx: Ctx, repo: RepoCache, id: string, commit: string, names: string[]): Promise<DownloadedFile[]> {
  const indexes = names.filter(isShardIndex);
  if (indexes.length === 0) return fetchFiles(ctx, repo, id, commit, names);
  const got = new Map<string, DownloadedFile>();
  for (const f of await fetchFiles(ctx, repo, id, commit, indexes)) got.set(f.name, f);
  const shards: string[] = [];
  for (const index of indexes) {
    const listed = indexShards(repo.snapshotDir(commit), index);
    if (!listed) throw new UserError(`${id}/${index} at ${commit} is not a usable shard index (unreadable, no weight_map entries, or a shard path outside the repository)`);
    for (const s of listed) if (!names.includes(s) && !shards.includes(s)) shards.push(s);
  }
  const rest = [...names.filter((n) => !got.has(n)), ...shards];
  for (const f of await fetchFiles(ctx, repo, id, commit, rest)) got.set(f.name, f);
  return [...names, ...shards].map((n) => got.get(n)!);
}

async function fetchFiles(ctx: Ctx, repo: RepoCache, id: string, commit: string, names: string[]): Promise<DownloadedFile[]> {
  for (const name of names) if (!isSafeRepoPath(name)) throw new UserError(`${id}: refusing the file name '${name}' (it would leave the repository folder)`);
  // Metadata first (no request for files already in the snapshot), so that the progress total is known.
  const plan: { name: string; meta?: FileMeta }[] = [];
  for (const name of names) {
    if (repo.hasFile(commit, name)) plan.push({ name });
    else plan.push({ name, meta: await headFile(ctx, id, commit, name) });
  }
  const total = plan.reduce((s, p) => s + (p.meta && !fs.existsSync(repo.blobPath(p.meta.etag)) ? (p.meta.size ?? 0) : 0), 0);
  const progress = new ProgressTracker(ctx, total);
  const out: DownloadedFile[] = [];
  for (const { name, meta } of plan) {
    checkCancel(ctx);
    const snap = repo.snapshotFile(commit, name);
    if (!meta) {
      out.push({ name, size: fs.statSync(snap).size, sha256: await sha256Of(snap), path: snap, reused: true });
      continue;
    }
    let sha256: string;
    let reused = false;
    if (fs.existsSync(repo.blobPath(meta.etag))) {
      reused = true;
      sha256 = /^[0-9a-f]{64}$/.test(meta.etag) ? meta.etag : await hashFile(repo.blobPath(meta.etag), 'sha256');
    } else {
      const release = acquireBlobLock(repo, meta.etag, name);
      try {
        sha256 = fs.existsSync(repo.blobPath(meta.etag)) ? await sha256Of(repo.blobPath(meta.etag)) : await fetchBlob(ctx, id, commit, name, meta, repo, progress);
      } finally {
        release();
      }
    }
    repo.linkSnapshotFile(commit, name, meta.etag);
    out.push({ name, size: fs.statSync(snap).size, sha256, path: snap, reused });
  }
  progress.emit();
  return out;
}

/** Folder name of a model view: <managedDir>/models/org--name/<commit>. */
export function modelViewDir(managedDir: string, id: string, commit: string): string {
  return path.join(managedDir, 'models', id.split('/').join('--'), commit);
}

export const SIDECAR_NAME = 'mamba-explain.json';

export interface ModelSidecar {
  id: string;
  commit: string;
  snapshotDir: string;
  files: string[];
  tokenizer: { id: string; commit: string; file: string };
}

function linkInto(dir: string, name: string, target: string): void {
  const dst = path.join(dir, ...name.split('/'));
  try {
    if (fs.realpathSync(dst) === fs.realpathSync(target)) return;
  } catch {
    /* missing or dangling: (re)create */
  }
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.rmSync(dst, { force: true });
  try {
    fs.symlinkSync(target, dst);
    return;
  } catch {
    /* no symlinks (Windows): hard link, else copy */
  }
  const real = fs.realpathSync(target);
  try {
    fs.linkSync(real, dst);
  } catch {
    fs.copyFileSync(real, dst);
  }
}

/**
 * The project-managed folder for a checkpoint without its own tokenizer: links to the snapshot's files plus the
 * paired tokenizer.json, and a mamba-explain.json sidecar naming the sources. Cheap and idempotent (no network).
 */
export function ensureModelView(managedDir: string, id: string, commit: string, snapshotDir: string, files: string[], tokenizer: { id: string; commit: string; file: string }): string {
  const dir = modelViewDir(managedDir, id, commit);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) if (f !== 'tokenizer.json') linkInto(dir, f, path.join(snapshotDir, ...f.split('/')));
  linkInto(dir, 'tokenizer.json', tokenizer.file);
  const sidecar: ModelSidecar = { id, commit, snapshotDir, files, tokenizer };
  const text = JSON.stringify(sidecar, null, 2) + '\n';
  const p = path.join(dir, SIDECAR_NAME);
  let old: string | undefined;
  try {
    old = fs.readFileSync(p, 'utf8');
  } catch {
    /* new */
  }
  if (old !== text) {
    fs.writeFileSync(`${p}.tmp`, text);
    fs.renameSync(`${p}.tmp`, p);
  }
  return dir;
}

/**
 * Downloads (or finds in the HF cache) the files of a model that the engine needs (Mamba-2, Mamba-1 or Falcon-Mamba),
 * verified, and returns where they are. Known ids (catalog.ts): state-spaces/mamba2-{130m,370m,780m,1.3b,2.7b},
 * AntonV/mamba2-{…}-hf, state-spaces/mamba-{130m,370m,790m,1.4b,2.8b} and their -hf conversions,
 * tiiuae/falcon-mamba-7b; other ids get config.json, tokenizer.json and the weights picked from the Hub's file list.
 * Checkpoints without a tokenizer.json (the state-spaces originals) are paired with the GPT-NeoX-20B one.
 */
export async function downloadModel(id: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  validateId(id);
  const ctx = makeCtx(opts);
  const known = knownModel(id);
  const canonical = known?.id ?? id;
  if (opts.revision !== undefined && opts.revision.trim() === '') throw new UserError('--revision must not be empty');
  const snap = await ensureSnapshot(ctx, canonical, opts.revision);
  const names = snap.files.map((f) => f.name);
  const hasTokenizer = names.includes('tokenizer.json') || fs.existsSync(path.join(snap.snapshotDir, 'tokenizer.json'));
  let modelDir = snap.snapshotDir;
  let tokenizer: DownloadResult['tokenizer'];
  if (!hasTokenizer) {
    const tokId = opts.tokenizerRepo ?? NEOX_TOKENIZER_REPO;
    const tok = await ensureSnapshot(ctx, tokId, undefined, ['tokenizer.json'], true);
    tokenizer = { id: tokId, commit: tok.commit, file: path.join(tok.snapshotDir, 'tokenizer.json') };
    modelDir = ensureModelView(ctx.managedDir, canonical, snap.commit, snap.snapshotDir, names, tokenizer);
  }
  return { id: canonical, commit: snap.commit, snapshotDir: snap.snapshotDir, modelDir, files: snap.files, tokenizer, fromCache: ctx.requests === 0 };
}
