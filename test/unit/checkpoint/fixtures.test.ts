// Files written by real torch 2.11 / transformers 5.17 / safetensors 0.8 (see fixtures/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { readTorchZip } from '../../../src/engine/checkpoint/pytorch';
import { bytesToF32, f16ToF32, bf16ToF32, f32ToHalfBits } from '../../../src/engine/checkpoint/dtype';
import type { Mamba2Config } from '../../../src/engine/types';

const FX = path.join(__dirname, 'fixtures');

function readBin(file: string): Map<string, { shape: number[]; dtype: string | null; values: number[] }> {
  const fd = fs.openSync(file, 'r');
  try {
    return new Map(
      readTorchZip(fd, file).map((t) => {
        const buf = Buffer.alloc(t.byteLength);
        fs.readSync(fd, buf, 0, t.byteLength, t.offset);
        return [t.key, { shape: t.shape, dtype: t.dtype, values: Array.from(bytesToF32(buf, t.dtype!)) }];
      }),
    );
  } finally {
    fs.closeSync(fd);
  }
}

test('reads a real torch.save file: views with storage offsets, f16, bf16, Parameter, scalar', () => {
  const m = readBin(path.join(FX, 'torch_small.bin'));
  const base = Array.from({ length: 12 }, (_, i) => i / 4 - 1);
  assert.deepEqual(m.get('backbone.a'), { shape: [3, 4], dtype: 'float32', values: base });
  assert.deepEqual(m.get('backbone.b'), { shape: [4], dtype: 'float32', values: base.slice(4, 8) });
  const h = Array.from(f16ToF32(f32ToHalfBits(Float32Array.from({ length: 6 }, (_, i) => i / 3), 'float16')));
  assert.deepEqual(m.get('h'), { shape: [2, 3], dtype: 'float16', values: h });
  assert.deepEqual(m.get('bf'), { shape: [5], dtype: 'bfloat16', values: [-2, -0.5, 1, 2.5, 4] });
  assert.deepEqual(m.get('p'), { shape: [2, 2], dtype: 'float32', values: [1, 1, 1, 1] });
  assert.deepEqual(m.get('scalar'), { shape: [], dtype: 'float32', values: [3.5] });
});

test('reads a real nn.Linear state dict', () => {
  const m = readBin(path.join(FX, 'linear_state_dict.bin'));
  const w = m.get('weight')!;
  assert.deepEqual(w.shape, [2, 3]);
  assert.ok(Math.abs(w.values[0] - 1.5409960746765137) < 1e-7);
  assert.ok(Math.abs(w.values[5] - -1.3985954523086548) < 1e-7);
  assert.deepEqual(m.get('bias')!.values.map((v) => Math.round(v * 1e6) / 1e6), [0.403347, 0.838026]);
});

test('opens a transformers save_pretrained Mamba-2 (tied, lm_head absent)', async () => {
  const ck = await openCheckpoint(path.join(FX, 'hf-tiny'));
  try {
    assert.equal(ck.config.format, 'hf');
    assert.equal((ck.config as Mamba2Config).nHeads, 4);
    assert.equal((ck.config as Mamba2Config).nGroups, 2);
    assert.equal(ck.config.paddedVocabSize, 56);
    assert.equal(ck.config.tieEmbeddings, true);
    assert.equal(ck.storedDType, 'float32');
    assert.ok(!ck.tensorNames().includes('lm_head.weight'));
    assert.equal(ck.tensorNames().length, 1 + 2 * 9 + 1);
    assert.deepEqual(ck.info('layers.1.mixer.in_proj.weight').shape, [2 * 64 + 2 * 2 * 8 + 4, 32]);
    assert.deepEqual(ck.readF32('lm_head.weight'), ck.readF32('embedding.weight'));
  } finally {
    ck.close();
  }
});

test('bf16 sharded save matches round-to-nearest-even of the f32 save, and the f16 torch.save state-spaces bin matches too', async () => {
  const f32 = await openCheckpoint(path.join(FX, 'hf-tiny'));
  const bf = await openCheckpoint(path.join(FX, 'hf-tiny-bf16-sharded'));
  const ss = await openCheckpoint(path.join(FX, 'ss-tiny-f16-bin'));
  try {
    assert.equal(bf.storedDType, 'bfloat16');
    assert.equal(ss.storedDType, 'float16');
    assert.equal(ss.config.format, 'state-spaces');
    assert.equal(ss.config.vocabSize, 50);
    assert.equal(ss.config.paddedVocabSize, 56);
    assert.deepEqual(bf.tensorNames().sort(), f32.tensorNames().sort());
    assert.deepEqual(ss.tensorNames().sort(), f32.tensorNames().sort());
    const expected = JSON.parse(fs.readFileSync(path.join(FX, 'ss-tiny-f16-bin', 'expected.json'), 'utf8'));
    for (const name of f32.tensorNames()) {
      const ref = f32.readF32(name);
      assert.deepEqual(bf.readF32(name), bf16ToF32(f32ToHalfBits(ref, 'bfloat16')), name);
      const half = ss.readF32(name);
      assert.deepEqual(half, f16ToF32(f32ToHalfBits(ref, 'float16')), name);
      const key = name === 'embedding.weight' ? 'backbone.embedding.weight' : `backbone.${name}`;
      const e = expected[key];
      assert.deepEqual(ss.info(name).shape, e.shape);
      assert.deepEqual(Array.from(half.subarray(0, 4)), e.first);
      assert.ok(Math.abs(half.reduce((a, b) => a + b, 0) - e.sum) < 1e-3 * (1 + Math.abs(e.sum)));
    }
    const rows = ss.readRowsF32('embedding.weight', 50, 6);
    assert.deepEqual(rows, ss.readF32('embedding.weight').subarray(50 * 32));
  } finally {
    f32.close();
    bf.close();
    ss.close();
  }
});
