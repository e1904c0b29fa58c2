import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { bytes, sha256, gitSha1 } from '../../helpers/fakeHub';
import { useFakeHub } from '../../helpers/hubTest';
import { downloadModel, resolveModelRef, SIDECAR_NAME, knownModel } from '../../../src/engine/hub/index';
import { CancelledError, UserError } from '../../../src/engine/types';

const C1 = '1111111111111111111111111111111111111111';
const C2 = '2222222222222222222222222222222222222222';
const CT = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const PIN_130M = knownModel('state-spaces/mamba2-130m')!.commit!;

const ssConfig = Buffer.from(JSON.stringify({ d_model: 64, n_layer: 2, vocab_size: 50277, ssm_cfg: { layer: 'Mamba2' } }));
const ssWeights = bytes(200_000, 7);
const tokenizer = Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1 } } }));
const hfConfig = Buffer.from(JSON.stringify({ model_type: 'mamba2', hidden_size: 64 }));
const hfWeights = bytes(150_000, 9);

const { hub, tmp, opts, repoDir } = useFakeHub('hub-test');

before(() => {
  hub.addRepo('test-org/tiny-ss', { refs: { main: C1 }, commits: { [C1]: { 'config.json': { data: ssConfig }, 'pytorch_model.bin': { data: ssWeights }, 'README.md': { data: Buffer.from('hi') } } } });
  hub.addRepo('test-org/tiny-hf', {
    refs: { main: C2 },
    commits: { [C2]: { 'config.json': { data: hfConfig }, 'model.safetensors': { data: hfWeights }, 'tokenizer.json': { data: tokenizer, lfs: false } } },
  });
  hub.addRepo('EleutherAI/gpt-neox-20b', { refs: { main: CT }, commits: { [CT]: { 'tokenizer.json': { data: tokenizer, lfs: false }, 'config.json': { data: Buffer.from('{}') } } } });
  hub.addRepo('state-spaces/mamba2-130m', { refs: { main: C2 }, commits: { [PIN_130M]: { 'config.json': { data: ssConfig }, 'pytorch_model.bin': { data: ssWeights } }, [C2]: {} } });
});

function assertNoIncomplete(id: string): void {
  const blobs = path.join(repoDir(id), 'blobs');
  if (fs.existsSync(blobs)) assert.deepEqual(fs.readdirSync(blobs).filter((f) => f.endsWith('.incomplete')), []);
}

test('full download: HF cache layout, verified files, refs, tokenizer paired in a managed folder', async () => {
  const events: { done: number; total: number }[] = [];
  const r = await downloadModel('test-org/tiny-ss', opts({ onProgress: (p) => events.push({ done: p.done, total: p.total }) }));
  assert.equal(r.commit, C1);
  assert.equal(r.snapshotDir, path.join(repoDir('test-org/tiny-ss'), 'snapshots', C1));
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'pytorch_model.bin']);
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.equal(r.files[1].size, ssWeights.length);
  assert.equal(r.files[0].sha256, sha256(ssConfig));
  // snapshot entries are relative symlinks to blobs/<etag>
  const link = fs.readlinkSync(path.join(r.snapshotDir, 'pytorch_model.bin'));
  assert.equal(link, path.join('..', '..', 'blobs', sha256(ssWeights)));
  assert.equal(fs.readlinkSync(path.join(r.snapshotDir, 'config.json')), path.join('..', '..', 'blobs', gitSha1(ssConfig)));
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'pytorch_model.bin')), ssWeights);
  assert.equal(fs.readFileSync(path.join(repoDir('test-org/tiny-ss'), 'refs', 'main'), 'utf8'), C1);
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'README.md')), 'only the needed files');
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'tokenizer.json')), 'the HF snapshot is not modified');
  // the managed model folder
  assert.notEqual(r.modelDir, r.snapshotDir);
  assert.ok(r.modelDir.startsWith(path.join(tmp(), 'managed')));
  assert.deepEqual(fs.readFileSync(path.join(r.modelDir, 'tokenizer.json')), tokenizer);
  assert.deepEqual(fs.readFileSync(path.join(r.modelDir, 'pytorch_model.bin')), ssWeights);
  const side = JSON.parse(fs.readFileSync(path.join(r.modelDir, SIDECAR_NAME), 'utf8'));
  assert.equal(side.id, 'test-org/tiny-ss');
  assert.equal(side.tokenizer.id, 'EleutherAI/gpt-neox-20b');
  assert.equal(side.tokenizer.commit, CT);
  assert.equal(r.tokenizer?.commit, CT);
  assert.equal(fs.readFileSync(path.join(repoDir('EleutherAI/gpt-neox-20b'), 'refs', 'main'), 'utf8'), CT);
  assert.equal(r.fromCache, false);
  assertNoIncomplete('test-org/tiny-ss');
  const last = events.filter((e) => e.total > 1000).at(-1)!;
  assert.equal(last.done, last.total);
  // a second call makes no request at all
  hub.log.length = 0;
  const again = await downloadModel('test-org/tiny-ss', opts());
  assert.equal(hub.requestCount, 0);
  assert.equal(again.fromCache, true);
  assert.equal(again.modelDir, r.modelDir);
  assert.equal(again.files[1].sha256, sha256(ssWeights));
});

test('a known model downloads its pinned commit without asking the API, and does not write refs/main', async () => {
  const r = await downloadModel('state-spaces/mamba2-130m', opts());
  assert.equal(r.commit, PIN_130M);
  assert.ok(!hub.log.some((l) => l.url.startsWith('/api/models/state-spaces')), 'no revision lookup for a pinned model');
  assert.ok(hub.log.some((l) => l.url.includes(`/resolve/${PIN_130M}/pytorch_model.bin`)));
  assert.ok(!fs.existsSync(path.join(repoDir('state-spaces/mamba2-130m'), 'refs', 'main')));
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.equal(resolveModelRef('state-spaces/mamba2-130m', opts()), r.modelDir);
});

test('HF-format repos carry their tokenizer: the snapshot is the model folder', async () => {
  const r = await downloadModel('test-org/tiny-hf', opts());
  assert.equal(r.modelDir, r.snapshotDir);
  assert.deepEqual(r.files.map((f) => f.name).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  assert.equal(r.tokenizer, undefined);
  assert.ok(!hub.log.some((l) => l.url.includes('gpt-neox')));
});

test('a cut connection is resumed with Range and the result is complete and verified', async () => {
  hub.knobs = { cutAfterBytes: 50_000, cutTimes: 2 };
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'pytorch_model.bin')), ssWeights);
  const ranges = hub.log.filter((l) => l.url.startsWith('/cdn/') && l.range).map((l) => l.range);
  assert.deepEqual(ranges, ['bytes=50000-', 'bytes=100000-']);
  assertNoIncomplete('test-org/tiny-ss');
});

test('transient 500s are retried', async () => {
  hub.knobs = { failTimes: 2 };
  const r = await downloadModel('test-org/tiny-hf', opts());
  assert.equal(r.files.find((f) => f.name === 'model.safetensors')!.sha256, sha256(hfWeights));
});

test('a leftover .incomplete from an interrupted process is resumed', async () => {
  const blobs = path.join(repoDir('test-org/tiny-ss'), 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  fs.writeFileSync(path.join(blobs, `${sha256(ssWeights)}.incomplete`), ssWeights.subarray(0, 70_000));
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.ok(hub.log.some((l) => l.url.startsWith('/cdn/') && l.range === 'bytes=70000-'));
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'pytorch_model.bin')), ssWeights);
  assertNoIncomplete('test-org/tiny-ss');
});

test('a server that ignores Range restarts the file and still verifies', async () => {
  const blobs = path.join(repoDir('test-org/tiny-ss'), 'blobs');
  fs.mkdirSync(blobs, { recursive: true });
  fs.writeFileSync(path.join(blobs, `${sha256(ssWeights)}.incomplete`), ssWeights.subarray(0, 1000));
  hub.knobs = { ignoreRange: true };
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'pytorch_model.bin')), ssWeights);
});

test('a checksum mismatch is refused: nothing in snapshots/ or blobs/, no .incomplete', async () => {
  hub.knobs = { corrupt: true };
  await assert.rejects(downloadModel('test-org/tiny-ss', opts()), (e: Error) => e instanceof UserError && /pytorch_model\.bin/.test(e.message) && /does not match/.test(e.message));
  const dir = repoDir('test-org/tiny-ss');
  assert.ok(!fs.existsSync(path.join(dir, 'snapshots', C1, 'pytorch_model.bin')));
  assert.ok(!fs.existsSync(path.join(dir, 'blobs', sha256(ssWeights))));
  assertNoIncomplete('test-org/tiny-ss');
  assert.ok(!fs.existsSync(path.join(dir, 'refs', 'main')));
  // small (git-hashed) files are verified too
  hub.knobs = { corruptSmall: true };
  await assert.rejects(downloadModel('test-org/tiny-hf', opts()), /config\.json: git hash .* does not match/);
  assert.ok(!fs.existsSync(path.join(repoDir('test-org/tiny-hf'), 'snapshots', C2, 'config.json')));
});

test('cancellation leaves only the .incomplete file, which a later call resumes', async () => {
  hub.knobs = { stallAfterBytes: 30_000 };
  const ac = new AbortController();
  const dir = repoDir('test-org/tiny-ss');
  const inc = path.join(dir, 'blobs', `${sha256(ssWeights)}.incomplete`);
  const size = () => (fs.existsSync(inc) ? fs.statSync(inc).size : 0);
  const timer = setInterval(() => size() >= 30_000 && ac.abort(), 5);
  try {
    await assert.rejects(downloadModel('test-org/tiny-ss', opts({ signal: ac.signal })), (e: Error) => e instanceof CancelledError);
  } finally {
    clearInterval(timer);
  }
  assert.equal(fs.statSync(inc).size, 30_000);
  assert.ok(!fs.existsSync(path.join(dir, 'snapshots', C1, 'pytorch_model.bin')));
  hub.knobs = {};
  hub.log.length = 0;
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.ok(hub.log.some((l) => l.range === 'bytes=30000-'));
  assert.equal(r.files[1].sha256, sha256(ssWeights));
});

test('offline mode uses the cache only, and fails clearly when the model is missing', async () => {
  const online = await downloadModel('test-org/tiny-ss', opts());
  hub.log.length = 0;
  const off = await downloadModel('test-org/tiny-ss', opts({ offline: true, endpoint: 'http://127.0.0.1:9' }));
  assert.equal(off.modelDir, online.modelDir);
  assert.equal(hub.requestCount, 0);
  await assert.rejects(downloadModel('test-org/tiny-hf', opts({ offline: true })), (e: Error) => e instanceof UserError && /offline/.test(e.message) && /tiny-hf/.test(e.message));
  const old = process.env.HF_HUB_OFFLINE;
  process.env.HF_HUB_OFFLINE = '1';
  try {
    await assert.rejects(downloadModel('test-org/tiny-hf', { ...opts(), offline: undefined }), /HF_HUB_OFFLINE=1/);
  } finally {
    if (old === undefined) delete process.env.HF_HUB_OFFLINE;
    else process.env.HF_HUB_OFFLINE = old;
  }
  assert.equal(hub.requestCount, 0);
});

test('a missing model, revision or file is reported clearly', async () => {
  await assert.rejects(downloadModel('test-org/nope', opts()), (e: Error) => e instanceof UserError && /model test-org\/nope was not found/.test(e.message));
  await assert.rejects(downloadModel('test-org/tiny-ss', opts({ revision: 'v9' })), (e: Error) => e instanceof UserError && /revision 'v9'/.test(e.message));
  await assert.rejects(downloadModel('not an id', opts()), UserError);
  await assert.rejects(downloadModel('test-org/tiny-ss', opts({ endpoint: 'npm warn oops' })), (e: Error) => e instanceof UserError && /not an http\(s\) URL/.test(e.message));
  await assert.rejects(downloadModel('state-spaces/mamba2-130m-hf', opts()), /AntonV\/mamba2-130m-hf/);
});

test('HF_HUB_CACHE is respected', async () => {
  const old = process.env.HF_HUB_CACHE;
  const dir = path.join(tmp(), 'env-cache');
  process.env.HF_HUB_CACHE = dir;
  try {
    const r = await downloadModel('test-org/tiny-hf', { ...opts(), cacheDir: undefined });
    assert.ok(r.snapshotDir.startsWith(path.join(dir, 'models--test-org--tiny-hf', 'snapshots')));
    assert.equal(resolveModelRef('test-org/tiny-hf'), r.snapshotDir);
  } finally {
    if (old === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = old;
  }
});

test('an existing Python-style cache entry is reused without any request', async () => {
  const dir = repoDir('test-org/tiny-hf');
  const commit = '3333333333333333333333333333333333333333';
  const files: [string, Buffer, string][] = [
    ['config.json', hfConfig, gitSha1(hfConfig)],
    ['model.safetensors', hfWeights, sha256(hfWeights)],
    ['tokenizer.json', tokenizer, gitSha1(tokenizer)],
  ];
  fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'snapshots', commit), { recursive: true });
  fs.mkdirSync(path.join(dir, 'refs'), { recursive: true });
  for (const [name, data, etag] of files) {
    fs.writeFileSync(path.join(dir, 'blobs', etag), data);
    fs.symlinkSync(path.join('..', '..', 'blobs', etag), path.join(dir, 'snapshots', commit, name));
  }
  fs.writeFileSync(path.join(dir, 'refs', 'main'), commit);
  const r = await downloadModel('test-org/tiny-hf', opts());
  assert.equal(hub.requestCount, 0);
  assert.equal(r.commit, commit);
  assert.equal(r.fromCache, true);
  assert.ok(r.files.every((f) => f.reused));
  assert.equal(r.files.find((f) => f.name === 'model.safetensors')!.sha256, sha256(hfWeights));
  assert.equal(resolveModelRef('test-org/tiny-hf', opts()), path.join(dir, 'snapshots', commit));
});

test('a blob already in blobs/ (another revision) is linked, not downloaded again', async () => {
  const dir = repoDir('test-org/tiny-ss');
  fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'blobs', sha256(ssWeights)), ssWeights);
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.ok(!hub.log.some((l) => l.url.startsWith('/cdn/')));
  assert.equal(r.files[1].reused, true);
});

test('resolveModelRef: paths stay paths, ids resolve to the cache, missing ids say how to download', async () => {
  const folder = path.join(tmp(), 'my-model');
  fs.mkdirSync(folder);
  assert.equal(resolveModelRef(folder, opts()), folder);
  assert.equal(resolveModelRef('./some/where', opts()), path.resolve('./some/where'));
  assert.throws(
    () => resolveModelRef('state-spaces/mamba2-130m', opts()),
    (e: Error) => e instanceof UserError && e.message.includes('model state-spaces/mamba2-130m is not downloaded') && e.message.includes('run `mamba-explain download state-spaces/mamba2-130m`'),
  );
  assert.throws(() => resolveModelRef('state-spaces/mamba2-370m-hf', opts()), /AntonV/);
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.equal(resolveModelRef('test-org/tiny-ss', opts()), r.modelDir);
  assert.equal(resolveModelRef(`test-org/tiny-ss@${C1}`, opts()), r.modelDir);
  // the managed folder is rebuilt from the cache if it was removed
  fs.rmSync(path.join(tmp(), 'managed'), { recursive: true });
  const dir = resolveModelRef('test-org/tiny-ss', opts());
  assert.deepEqual(fs.readFileSync(path.join(dir, 'tokenizer.json')), tokenizer);
  assert.equal(hub.log.filter((l) => l.method).length > 0, true);
});

test('a download in progress in another live process is not joined; a stale lock is taken over', async () => {
  const locks = path.join(tmp(), 'hub', '.locks', 'models--test-org--tiny-ss');
  fs.mkdirSync(locks, { recursive: true });
  const lock = path.join(locks, `${sha256(ssWeights)}.mamba-explain.lock`);
  fs.writeFileSync(lock, String(process.ppid));
  await assert.rejects(downloadModel('test-org/tiny-ss', opts()), /being downloaded by another process/);
  fs.writeFileSync(lock, '999999999');
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.ok(!fs.existsSync(lock));
});

test('a process killed mid-download leaves an .incomplete (and a stale lock) that the next run resumes', async () => {
  hub.knobs = { stallAfterBytes: 40_000 };
  const dir = repoDir('test-org/tiny-ss');
  const inc = path.join(dir, 'blobs', `${sha256(ssWeights)}.incomplete`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'downloadChild.ts'), 'test-org/tiny-ss', path.join(tmp(), 'hub'), path.join(tmp(), 'managed'), hub.endpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('child made no progress')), 30_000);
    const timer = setInterval(() => {
      if (fs.existsSync(inc) && fs.statSync(inc).size >= 40_000) {
        clearInterval(timer);
        clearTimeout(t);
        resolve();
      }
    }, 10);
  });
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
  assert.equal(fs.statSync(inc).size, 40_000);
  assert.ok(!fs.existsSync(path.join(dir, 'snapshots', C1, 'pytorch_model.bin')));
  hub.knobs = {};
  hub.log.length = 0;
  const r = await downloadModel('test-org/tiny-ss', opts());
  assert.ok(hub.log.some((l) => l.range === 'bytes=40000-'));
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assertNoIncomplete('test-org/tiny-ss');
});

test('unknown repos: files picked from the Hub listing, sharded safetensors followed through the index', async () => {
  const s1 = bytes(3000, 11);
  const s2 = bytes(4000, 12);
  const index = Buffer.from(JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  const C5 = '5555555555555555555555555555555555555555';
  hub.addRepo('test-org/sharded', {
    refs: { main: C5 },
    commits: {
      [C5]: {
        'config.json': { data: hfConfig },
        'tokenizer.json': { data: tokenizer, lfs: false },
        'model.safetensors.index.json': { data: index, lfs: false },
        'model-00001-of-00002.safetensors': { data: s1 },
        'model-00002-of-00002.safetensors': { data: s2 },
        'pytorch_model.bin': { data: bytes(10, 1) },
      },
    },
  });
  const r = await downloadModel('test-org/sharded', opts());
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.equal(r.files[4].sha256, sha256(s2));
  assert.equal(r.modelDir, r.snapshotDir);
  hub.log.length = 0;
  assert.equal(resolveModelRef('test-org/sharded', opts()), r.snapshotDir);
  assert.equal((await downloadModel('test-org/sharded', opts())).fromCache, true);
  assert.equal(hub.requestCount, 0);
});
