// `mamba-explain download ID`: fetch a Mamba-2 checkpoint from the Hugging Face Hub into the standard HF cache
// (shared with Python tools), verified and resumable. Progress on stderr; the result on stdout.
import type { Command, CommandIO } from '../command';
import { UserError } from '../../engine/types';
import { downloadModel, hubEndpoint, isOfflineEnv, type DownloadProgress, type DownloadResult, KNOWN_MODELS } from '../../engine/hub/index';
import { RESULTS_SCHEMA_VERSION, type ToolProvenance } from '../../engine/experiments/resultTypes';
import { TOOL_VERSION } from '../../engine/version';
import { checkReachable } from '../../engine/util/reachable';

/** How long the reachability check of the Hub waits for a connection before calling it unreachable. */
export const REACH_TIMEOUT_MS = 5000;

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function formatEta(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

function printer(io: CommandIO): (p: DownloadProgress) => void {
  const tty = !!process.stderr.isTTY;
  let last = 0;
  let lastFinished = '';
  return (p) => {
    if (p.total <= 0) return;
    const now = Date.now();
    const finished = p.done >= p.total;
    if (!finished && now - last < (tty ? 200 : 5000)) return;
    if (finished && lastFinished === `${p.done}/${p.total}`) return;
    if (finished) lastFinished = `${p.done}/${p.total}`;
    last = now;
    const pct = ((100 * p.done) / p.total).toFixed(1);
    const rate = p.rate !== undefined ? `  ${formatBytes(p.rate)}/s` : '';
    const eta = p.etaSeconds !== undefined && !finished ? `  ETA ${formatEta(p.etaSeconds)}` : '';
    const line = `${p.file ?? ''}  ${formatBytes(p.done)} / ${formatBytes(p.total)} (${pct}%)${rate}${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${finished ? '\n' : ''}`);
    else io.err(line);
  };
}

export const downloadCommand: Command = {
  name: 'download',
  summary: 'download a Mamba-2, Mamba-1 or Falcon-Mamba model from the Hugging Face Hub into the HF cache',
  usage: [
    'mamba-explain download ID [--revision R] [--cache-dir DIR] [--endpoint URL] [--offline] [--json]',
    '',
    'Downloads the files the engine needs (config.json, weights, tokenizer) into the standard Hugging Face cache',
    '(HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub), verified against the Hub\'s sha256 and resumable.',
    'Files that Python tools already downloaded are reused. Afterwards `--model ID` works in every command.',
    '',
    'Known models (pinned to a commit where one is recorded):',
    ...KNOWN_MODELS.map((m) => `  ${m.id.padEnd(28)} ${m.format}${m.commit ? `  @${m.commit.slice(0, 10)}` : ''}`),
    '',
    '  --revision R   branch, tag or commit (default: the pinned commit, else main)',
    '  --cache-dir D  hub cache folder (default: HF_HUB_CACHE / HF_HOME/hub / ~/.cache/huggingface/hub)',
    '  --endpoint U   Hub endpoint (default: HF_ENDPOINT or https://huggingface.co)',
    '  --offline      use the cache only (also HF_HUB_OFFLINE=1)',
    'The state-spaces checkpoints have no tokenizer: the GPT-NeoX-20B tokenizer.json is downloaded too and paired with them',
    'in a folder managed by mamba-explain (MAMBA_EXPLAIN_CACHE, default ~/.cache/mamba-explain); the HF snapshot is untouched.',
  ].join('\n'),
  flags: ['offline'],
  options: ['revision', 'cache-dir', 'endpoint'],
  async run(opts, io) {
    const [id, ...extra] = opts.positionals;
    if (!id) throw new UserError('missing model id, e.g. `mamba-explain download state-spaces/mamba2-130m`');
    if (extra.length) throw new UserError(`unexpected argument '${extra[0]}' (one model id at a time)`);
    const dl = {
      revision: opts.string('revision'),
      cacheDir: opts.string('cache-dir'),
      endpoint: opts.string('endpoint'),
      offline: opts.flag('offline') ? true : undefined,
      signal: io.signal,
      onProgress: printer(io),
    };
    const endpoint = hubEndpoint(dl.endpoint);
    const offline = dl.offline ?? isOfflineEnv();
    // one quick check (name lookup + TCP connect) instead of the downloader's retries with backoff: without a network
    // the answer comes at once; a model that is complete in the cache is still served from it
    const unreachable = !offline && /^https?:\/\//i.test(endpoint) ? await checkReachable(endpoint, REACH_TIMEOUT_MS, io.signal) : undefined;
    let r: DownloadResult;
    if (unreachable) {
      try {
        r = await downloadModel(id, { ...dl, offline: true });
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        throw new UserError(
          `cannot reach the Hub at ${endpoint} (${unreachable.reason}): no network connection?${unreachable.stage === 'dns' ? ' (the host name does not resolve)' : ''} ` +
            `${id} is not complete in the cache either; connect and run the command again, or set --endpoint / HF_ENDPOINT to a reachable mirror`,
        );
      }
      io.err(`mamba-explain: warning: cannot reach the Hub at ${endpoint} (${unreachable.reason}); ${id} was taken from the cache only`);
    } else {
      r = await downloadModel(id, dl);
    }
    const provenance: ToolProvenance = { tool: { name: 'mamba-explain', version: TOOL_VERSION }, createdAt: new Date().toISOString(), endpoint };
    const result = {
      kind: 'download',
      schemaVersion: RESULTS_SCHEMA_VERSION,
      provenance,
      id: r.id,
      commit: r.commit,
      snapshotDir: r.snapshotDir,
      modelDir: r.modelDir,
      files: r.files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
      ...(r.tokenizer ? { tokenizer: r.tokenizer } : {}),
      fromCache: r.fromCache,
    };
    if (!io.json) {
      const lines = [`${r.id} @ ${r.commit}${r.fromCache ? ' (already in the cache)' : ''}`, `snapshot  ${r.snapshotDir}`];
      for (const f of r.files) lines.push(`  ${f.name.padEnd(30)} ${formatBytes(f.size).padStart(10)}  sha256 ${f.sha256}`);
      if (r.tokenizer) lines.push(`tokenizer ${r.tokenizer.id} @ ${r.tokenizer.commit}`);
      lines.push(`model dir ${r.modelDir}`, `use it with: --model ${r.id}`);
      io.out(lines.join('\n'));
    }
    return result;
  },
};

export default downloadCommand;
