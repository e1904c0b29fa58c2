// ORT backend vs the float64 reference backend on random checkpoints written to disk (SPEC §1 parity).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { ReferenceBackend } from '../../../src/engine/reference/referenceBackend';
import { ensureOnnxCache } from '../../../src/engine/onnx/cache';
import { OrtBackend } from '../../../src/engine/runtime/ortBackend';
import type { Checkpoint, DType, ModelBackend } from '../../../src/engine/types';
import type { Mamba2Config } from '../../../src/engine/types';

const tmp = mkdtempSync(join(tmpdir(), 'me-parity-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function setup(nGroups: number, dtype: DType, tie = true): Promise<{ ck: Checkpoint; ref: ReferenceBackend; ort: OrtBackend }> {
  const dir = join(tmp, `ck-${nGroups}-${dtype}-${tie}`);
  await writeRandomCheckpoint(dir, {
    format: 'state-spaces', weights: 'safetensors', dtype, dModel: 32, nLayer: 2, vocabSize: 50, dState: 16, headdim: 8, nGroups, seed: 11 + nGroups, tieEmbeddings: tie,
  });
  const ck = await openCheckpoint(dir);
  const { dir: cdir, manifest } = ensureOnnxCache(ck, { root: join(tmp, 'cache') });
  const ort = await OrtBackend.open(ck, cdir, manifest, { ep: 'cpu', threads: 1 });
  return { ck, ref: new ReferenceBackend(ck), ort };
}

async function run(be: ModelBackend, ids: Int32Array, batch: number, N: number, masks?: (l: number) => Float32Array | undefined, attLayer = -1) {
  let h = await be.embed(ids, batch, N);
  let att: Float32Array | undefined;
  for (let l = 0; l < be.config.nLayer; l++) {
    const o = await be.layer(l, h, batch, N, masks?.(l), l === attLayer);
    h = o.hidden;
    if (o.attention) att = o.attention;
  }
  return { logits: await be.headLast(h, batch, N), att };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const ids = (n: number, salt = 0) => Int32Array.from({ length: n }, (_, i) => (i * 7 + 3 + salt * 13) % 50);

for (const nGroups of [1, 2])
  for (const dtype of ['float32', 'float16', 'bfloat16'] as DType[]) {
    test(`ORT = reference: ngroups ${nGroups}, ${dtype} weights, seq 1/2/7/33/64`, async () => {
      const { ref, ort, ck } = await setup(nGroups, dtype);
      try {
        for (const N of [1, 2, 7, 33, 64]) {
          const r = ref.forward64(ids(N), 1, N, undefined, [1]);
          const o = await run(ort, ids(N), 1, N, undefined, 1);
          const dl = maxDiff(o.logits, r.logits);
          assert.ok(dl < 1e-4, `seq ${N}: logits max diff ${dl}`);
          const ra = r.attention.get(1)!;
          const da = maxDiff(o.att!, ra) / maxAbs(ra);
          assert.ok(da < 1e-5, `seq ${N}: attention rel diff ${da}`);
        }
      } finally {
        await ort.dispose();
        ck.close();
      }
    });
  }

test('untied head uses lm_head.weight', async () => {
  const { ref, ort, ck } = await setup(1, 'float32', false);
  try {
    const r = ref.forward64(ids(5), 1, 5);
    const o = await run(ort, ids(5), 1, 5);
    assert.ok(maxDiff(o.logits, r.logits) < 1e-4);
  } finally {
    await ort.dispose();
    ck.close();
  }
});

test('knockout masks: masked ORT = masked reference (per batch element), all-ones = clean', async () => {
  const { ref, ort, ck } = await setup(2, 'float32');
  try {
    const N = 12, B = 3;
    const allIds = new Int32Array(B * N);
    for (let b = 0; b < B; b++) allIds.set(ids(N, 0), b * N);
    // element 0: no knockout; 1: block (last <- 0..4) in layer 0; 2: block (last <- last) in layer 1
    const mk = (l: number) => {
      const m = new Float32Array(B * N * N).fill(1);
      if (l === 0) for (let c = 0; c < 5; c++) m[1 * N * N + (N - 1) * N + c] = 0;
      if (l === 1) m[2 * N * N + (N - 1) * N + (N - 1)] = 0;
      return m;
    };
    const r = ref.forward64(allIds, B, N, mk, [0, 1]);
    const o = await run(ort, allIds, B, N, mk, 0);
    assert.ok(maxDiff(o.logits, r.logits) < 1e-4, `masked logits diff ${maxDiff(o.logits, r.logits)}`);
    const V = ck.config.paddedVocabSize;
    const clean = await run(ort, ids(N), 1, N);
    // element 0 masked with ones equals the unmasked run exactly
    assert.deepEqual(o.logits.subarray(0, V), clean.logits);
    // elements 1 and 2 differ from the clean run
    assert.ok(maxDiff(o.logits.subarray(V, 2 * V), clean.logits) > 1e-4);
    assert.ok(maxDiff(o.logits.subarray(2 * V, 3 * V), clean.logits) > 1e-4);
    // the attention of layer 0, element 1, has exactly the blocked entries zeroed for every head
    const H = (ck.config as Mamba2Config).nHeads;
    for (let h = 0; h < H; h++) for (let c = 0; c < 5; c++) assert.ok(o.att![((1 * H + h) * N + N - 1) * N + c] === 0);
    assert.ok(maxDiff(o.att!, r.attention.get(0)!) / maxAbs(r.attention.get(0)!) < 1e-5);
  } finally {
    await ort.dispose();
    ck.close();
  }
});

test('float16 compute graphs (GPU option): close to the reference; refused on an explicit CPU EP', async () => {
  const dir = join(tmp, 'ck-f16compute');
  await writeRandomCheckpoint(dir, { format: 'state-spaces', weights: 'safetensors', dtype: 'float16', dModel: 32, nLayer: 2, vocabSize: 50, dState: 16, headdim: 8, nGroups: 2, seed: 3 });
  const ck = await openCheckpoint(dir);
  const { dir: cdir, manifest } = ensureOnnxCache(ck, { root: join(tmp, 'cache'), dtype: 'float16' });
  assert.equal(manifest.computeDType, 'float16');
  await assert.rejects(OrtBackend.open(ck, cdir, manifest, { ep: 'cpu' }), /GPU-only/);
  const ort = await OrtBackend.open(ck, cdir, manifest, { ep: 'cpu', threads: 1, allowCpuFloat16: true });
  try {
    const ref = new ReferenceBackend(ck);
    const N = 17;
    const r = ref.forward64(ids(N), 1, N);
    const o = await run(ort, ids(N), 1, N);
    const rel = maxDiff(o.logits, r.logits) / maxAbs(r.logits);
    assert.ok(rel < 2e-2, `float16 logits rel diff ${rel}`);
  } finally {
    await ort.dispose();
    ck.close();
  }
});
