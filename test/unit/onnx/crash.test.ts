// Crash safety of the ONNX cache (issue 16, point 5): a conversion killed with SIGKILL at random (seeded) points
// leaves a cache folder that is either complete — every file byte for byte a clean build's — or absent, so that the
// next open rebuilds it; the temp folder it leaves is removed by that next conversion.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { cacheDirFor, ensureOnnxCache, hostTag, readManifest, removeStaleTempDirs } from '../../../src/engine/onnx/cache';
import { mulberry32 } from '../../../src/engine/util/prng';

const ROOT = join(__dirname, '../../..');
const CHILD = join(ROOT, 'test/helpers/convertCache.ts');
const tmp = mkdtempSync(join(tmpdir(), 'me-crash-onnx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshRoot = () => join(tmp, `root-${n++}`);

/** Every file of a cache folder → its sha256; the manifest without its timing fields. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    if (f === 'manifest.json') {
      const { createdAt: _c, convertSeconds: _s, ...m } = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      out[f] = JSON.stringify(m);
    } else out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  }
  return out;
}

/** Runs the conversion child; SIGKILLs it `killMs` after it starts converting (undefined: lets it finish). */
function convert(model: string, root: string, killMs?: number): Promise<{ killed: boolean; ms?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, model, root], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d) => {
      out += d;
      if (killMs !== undefined && timer === undefined && out.includes('converting\n')) timer = setTimeout(() => child.kill('SIGKILL'), killMs);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') return resolve({ killed: true });
      if (code !== 0) return reject(new Error(`conversion child exited with ${code}: ${err}`));
      const line = out.split('\n').find((l) => l.startsWith('{'));
      resolve({ killed: false, ms: line ? JSON.parse(line).ms : undefined });
    });
  });
}

for (const [name, seed] of [['demo', 16], ['demo-mamba1', 61]] as const) {
  test(`ONNX cache of models/${name}: a conversion killed at random points leaves a complete cache or none; reopening gives a clean build's files`, async () => {
    const model = join(ROOT, 'models', name);
    const ckpt = await openCheckpoint(model);
    try {
      // a clean build, and how long converting takes
      const cleanRoot = freshRoot();
      const clean = await convert(model, cleanRoot);
      const dir = (root: string) => cacheDirFor(ckpt, 'float32', root);
      const want = contents(dir(cleanRoot));
      assert.ok(Object.keys(want).length >= 5, 'the clean build has its files');
      const span = Math.max(20, clean.ms ?? 200);
      const rnd = mulberry32(seed);
      const points = Array.from({ length: 5 }, () => Math.floor(rnd() * span * 1.2));
      let complete = 0;
      let absent = 0;
      for (const at of points) {
        const root = freshRoot();
        const r = await convert(model, root, at);
        const d = dir(root);
        const what = `killed ${at} ms into a ${span} ms conversion`;
        const wasComplete = existsSync(d);
        if (wasComplete) {
          // there is a folder at the cache's path only once it is complete
          assert.ok(readManifest(d, ckpt, 'float32'), `${what}: the folder at the cache path is a complete cache`);
          assert.deepEqual(contents(d), want, `${what}: the cache equals a clean build`);
          complete++;
        } else absent++;
        const leftovers = existsSync(root) ? readdirSync(root).filter((f) => f.includes('.tmp-')) : [];
        if (!r.killed) assert.deepEqual(leftovers, [], `${what}: a finished conversion leaves no temp folder`);
        // reopening: uses the complete cache, or rebuilds it; the killed conversion's temp folder is removed
        const again = ensureOnnxCache(ckpt, { root });
        assert.equal(again.built, !wasComplete, `${what}: ${wasComplete ? 'the complete cache is used' : 'the cache is rebuilt'}`);
        assert.deepEqual(contents(again.dir), want, `${what}: reopened, the cache equals a clean build`);
        assert.deepEqual(readdirSync(root), [basename(d)], `${what}: only the cache folder is left (before reopening: ${leftovers.join(', ') || 'no temp folder'})`);
      }
      assert.ok(absent > 0, `some kill points fall inside the conversion (${points.join(', ')} ms of ${span} ms)`);
    } finally {
      ckpt.close();
    }
  });
}

test('removeStaleTempDirs: removes the temp folder of a dead conversion on this machine, keeps a live one and another machine\'s', () => {
  const root = freshRoot();
  const dir = cacheDirFor({ hash: 'ab'.repeat(32) } as never, 'float32', root);
  // a process that has exited: its pid is free
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const dead = `${dir}.tmp-${hostTag()}-${deadPid}-abc123`;
  const live = `${dir}.tmp-${hostTag()}-${process.pid}-def456`;
  const other = `${dir}.tmp-another.machine-${deadPid}-ghi789`;
  const unrelated = join(root, 'something-else.tmp-x-1-a');
  for (const p of [dead, live, other, unrelated]) mkdirSync(p, { recursive: true });
  assert.deepEqual(removeStaleTempDirs(dir), [dead]);
  assert.deepEqual([live, other, unrelated].filter((p) => !existsSync(p)), []);
});

test('a cache file cut short (another size than the manifest records, e.g. after a power cut) makes the cache incomplete: it is rebuilt', async () => {
  const ckpt = await openCheckpoint(join(ROOT, 'models/demo'));
  try {
    const root = freshRoot();
    const first = ensureOnnxCache(ckpt, { root });
    const want = contents(first.dir);
    for (const f of ['layer_3.onnx', 'weights.bin']) {
      truncateSync(join(first.dir, f), 100);
      assert.equal(readManifest(first.dir, ckpt, 'float32'), undefined, `${f} cut short: not a complete cache`);
      const again = ensureOnnxCache(ckpt, { root });
      assert.equal(again.built, true, `${f} cut short: rebuilt`);
      assert.deepEqual(contents(again.dir), want);
      assert.deepEqual(readdirSync(root), [basename(first.dir)], 'the folder it replaced is gone');
    }
  } finally {
    ckpt.close();
  }
});
