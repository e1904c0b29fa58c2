import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOnnxCache } from '../../../src/engine/onnx/cache';
import { intraOpThreads, OrtBackend } from '../../../src/engine/runtime/ortBackend';
import { availableParallelism } from 'node:os';
import { UserError } from '../../../src/engine/types';
import { memCheckpoint } from '../reference/memCheckpoint';

const tmp = mkdtempSync(join(tmpdir(), 'me-ort-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const ck = memCheckpoint({ nLayer: 1 });
const { dir, manifest } = ensureOnnxCache(ck, { root: tmp });

test('auto falls back cleanly and quickly to an EP that works, and reports it', async () => {
  const t0 = Date.now();
  const b = await OrtBackend.open(ck, dir, manifest, { ep: 'auto' });
  assert.ok(['cuda', 'webgpu', 'cpu'].includes(b.ep));
  assert.ok(Date.now() - t0 < 20000);
  const h = await b.embed(Int32Array.from([1, 2, 3]), 1, 3);
  const o = await b.layer(0, h, 1, 3);
  assert.equal(o.hidden.length, 3 * ck.config.dModel);
  assert.equal(o.attention, undefined);
  await b.dispose();
});

test('an explicit EP that is unavailable is a UserError with install help (no fallback)', async (t) => {
  if (process.env.MAMBA_EXPLAIN_HAS_CUDA) return t.skip('CUDA available');
  await assert.rejects(OrtBackend.open(ck, dir, manifest, { ep: 'cuda' }), (e: Error) => e instanceof UserError && /CUDA 12/.test(e.message) && /cuDNN 9/.test(e.message) && /onnxruntime-node-install/.test(e.message));
});

test('bad shapes are rejected before reaching ORT', async () => {
  const b = await OrtBackend.open(ck, dir, manifest, { ep: 'cpu' });
  await assert.rejects(b.layer(0, new Float32Array(5), 1, 3), RangeError);
  await assert.rejects(b.embed(Int32Array.from([9999]), 1, 1), RangeError);
  await b.dispose();
});

test('padded batches (as on GPU providers) give the same rows as unpadded ones', async () => {
  const plain = await OrtBackend.open(ck, dir, manifest, { ep: 'cpu' });
  const padded = await OrtBackend.open(ck, dir, manifest, { ep: 'cpu', padBatches: true });
  try {
    assert.equal(plain.paddedBatch(11), 11);
    assert.deepEqual([1, 2, 3, 5, 8, 9, 33, 64, 65].map((b) => padded.paddedBatch(b)), [1, 2, 4, 8, 8, 32, 64, 64, 96]);
    const { dModel: d } = ck.config;
    const B = 3;
    const n = 5;
    const hidden = Float32Array.from({ length: B * n * d }, (_, i) => Math.sin(i * 0.37));
    const mask = new Float32Array(B * n * n).fill(1);
    mask[1 * n * n + (n - 1) * n + 2] = 0;
    const a = await plain.layer(0, hidden, B, n, mask, true);
    const b = await padded.layer(0, hidden, B, n, mask, true);
    assert.equal(b.hidden.length, B * n * d);
    assert.deepEqual(Array.from(b.hidden), Array.from(a.hidden));
    assert.deepEqual(Array.from(b.attention!), Array.from(a.attention!));
    const la = await plain.headLast(hidden, B, n);
    const lb = await padded.headLast(hidden, B, n);
    assert.deepEqual(Array.from(lb), Array.from(la));
  } finally {
    await plain.dispose();
    await padded.dispose();
  }
});

test('intra-op threads: CUDA sessions take one (their CPU nodes are shape arithmetic), CPU and WebGPU the requested or every core', async () => {
  assert.equal(intraOpThreads('cuda', 12), 1);
  assert.equal(intraOpThreads('cuda'), 1);
  assert.equal(intraOpThreads('cpu', 3), 3);
  assert.equal(intraOpThreads('webgpu'), availableParallelism());
  const b = await OrtBackend.open(ck, dir, manifest, { ep: 'cpu', threads: 2 });
  assert.equal(b.threads, 2);
  await b.dispose();
});
