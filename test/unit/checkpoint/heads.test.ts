// Tied/untied heads, vocabulary padding, row reads and a full-size (sparse) 1.3B-shape checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectedShapes, openCheckpoint } from '../../../src/engine/checkpoint';
import { parseConfig } from '../../../src/engine/checkpoint/config';
import { RandomCheckpointOptions, writeRandomCheckpoint, writeSafetensors } from '../../helpers/checkpointWriter';
import type { Mamba2Config } from '../../../src/engine/types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-heads-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const base: RandomCheckpointOptions = {
  format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 32, nLayer: 1, vocabSize: 50,
  dState: 8, headdim: 16, nGroups: 1, seed: 7,
};
const dirOf = () => path.join(tmp, `m${n++}`);

for (const format of ['hf', 'state-spaces'] as const) {
  test(`${format}: untied head is read from lm_head.weight`, async () => {
    const w = await writeRandomCheckpoint(dirOf(), { ...base, format, tieEmbeddings: false, weights: 'bin' });
    const ck = await openCheckpoint(w.dir);
    try {
      assert.equal(ck.config.tieEmbeddings, false);
      assert.ok(ck.tensorNames().includes('lm_head.weight'));
      assert.deepEqual(ck.readF32('lm_head.weight'), w.tensors.get('lm_head.weight')!.data);
      assert.notDeepEqual(ck.readF32('lm_head.weight'), ck.readF32('embedding.weight'));
      assert.deepEqual(ck.info('lm_head.weight').shape, [ck.config.paddedVocabSize, 32]);
    } finally {
      ck.close();
    }
  });

  test(`${format}: tied head aliases embedding.weight`, async () => {
    const w = await writeRandomCheckpoint(dirOf(), { ...base, format, tieEmbeddings: true });
    const ck = await openCheckpoint(w.dir);
    try {
      assert.equal(ck.config.tieEmbeddings, true);
      assert.ok(!ck.tensorNames().includes('lm_head.weight'));
      assert.deepEqual(ck.readF32('lm_head.weight'), ck.readF32('embedding.weight'));
    } finally {
      ck.close();
    }
  });
}

test('tie flag set although lm_head is stored: the head is tied and lm_head ignored', async () => {
  const w = await writeRandomCheckpoint(dirOf(), { ...base, format: 'state-spaces', tieEmbeddings: false });
  const cfg = path.join(w.dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({ ...w.configJson, tie_embeddings: true }));
  const ck = await openCheckpoint(w.dir);
  assert.equal(ck.config.tieEmbeddings, true);
  assert.ok(!ck.tensorNames().includes('lm_head.weight'));
  assert.deepEqual(ck.readF32('lm_head.weight'), w.tensors.get('embedding.weight')!.data);
  ck.close();
});

test('HF tie_word_embeddings false but lm_head absent: tied', async () => {
  const w = await writeRandomCheckpoint(dirOf(), { ...base, tieEmbeddings: true });
  fs.writeFileSync(path.join(w.dir, 'config.json'), JSON.stringify({ ...w.configJson, tie_word_embeddings: false }));
  const ck = await openCheckpoint(w.dir);
  assert.equal(ck.config.tieEmbeddings, true);
  ck.close();
});

test('vocab padding: state-spaces rounds vocab_size up, HF uses the stored rows', async () => {
  const ss = await writeRandomCheckpoint(dirOf(), { ...base, format: 'state-spaces', vocabSize: 50, padVocabSizeMultiple: 16 });
  const a = await openCheckpoint(ss.dir);
  assert.equal(a.config.vocabSize, 50);
  assert.equal(a.config.paddedVocabSize, 64);
  assert.deepEqual(a.info('embedding.weight').shape, [64, 32]);
  a.close();
  const hf = await writeRandomCheckpoint(dirOf(), { ...base, format: 'hf', vocabSize: 50, embeddingRows: 56, tieEmbeddings: false });
  const b = await openCheckpoint(hf.dir);
  assert.equal(b.config.vocabSize, 50);
  assert.equal(b.config.paddedVocabSize, 56);
  assert.deepEqual(b.info('lm_head.weight').shape, [56, 32]);
  b.close();
});

for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
  test(`readRowsF32 on a 2-D tensor (${dtype})`, async () => {
    const w = await writeRandomCheckpoint(dirOf(), { ...base, dtype, weights: 'sharded', shards: 3 });
    const ck = await openCheckpoint(w.dir);
    try {
      const all = w.tensors.get('embedding.weight')!.data;
      const d = 32;
      assert.deepEqual(ck.readRowsF32('embedding.weight', 0, 1), all.subarray(0, d));
      assert.deepEqual(ck.readRowsF32('embedding.weight', 17, 5), all.subarray(17 * d, 22 * d));
      assert.deepEqual(ck.readRowsF32('embedding.weight', 49, 1), all.subarray(49 * d, 50 * d));
      assert.equal(ck.readRowsF32('embedding.weight', 3, 0).length, 0);
      assert.throws(() => ck.readRowsF32('embedding.weight', 49, 2), RangeError);
      assert.throws(() => ck.readRowsF32('layers.0.mixer.D', 0, 1), /not 2-D/);
      const out = w.tensors.get('layers.0.mixer.out_proj.weight')!.data;
      assert.deepEqual(ck.readRowsF32('layers.0.mixer.out_proj.weight', 31, 1), out.subarray(31 * 64));
    } finally {
      ck.close();
    }
    assert.throws(() => ck.readF32('embedding.weight'), /closed/);
  });
}

test('a 1.3B-shape float32 checkpoint (sparse 5 GB file) is read tensor by tensor, offsets past 4 GiB', async (t) => {
  const dir = dirOf();
  fs.mkdirSync(dir);
  const json = { d_model: 2048, n_layer: 48, vocab_size: 50277, ssm_cfg: { layer: 'Mamba2' }, pad_vocab_size_multiple: 16, tie_embeddings: true };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(json));
  const config = parseConfig(json, 'config.json');
  const shapes = expectedShapes(config);
  shapes.delete('lm_head.weight');
  // header only: write a tiny file with the right header, then extend it sparsely
  const header: Record<string, unknown> = {};
  let off = 0;
  const keys: [string, number[], number][] = [];
  for (const [name, shape] of shapes) {
    const key = `backbone.${name}`;
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[key] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
    keys.push([name, shape, off]);
    off += bytes;
  }
  let hj = JSON.stringify(header);
  while ((8 + hj.length) % 8) hj += ' ';
  const f = path.join(dir, 'model.safetensors');
  const fd = fs.openSync(f, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hj.length));
  fs.writeSync(fd, len, 0, 8, 0);
  fs.writeSync(fd, Buffer.from(hj), 0, hj.length, 8);
  const dataStart = 8 + hj.length;
  try {
    fs.ftruncateSync(fd, dataStart + off);
  } catch (e) {
    fs.closeSync(fd);
    t.skip(`cannot create a sparse file here: ${(e as Error).message}`);
    return;
  }
  // a recognisable pattern at the start of the last layer's in_proj and in norm_f
  const [, , inOff] = keys.find(([name]) => name === 'layers.47.mixer.in_proj.weight')!;
  const [, , nfOff] = keys.find(([name]) => name === 'norm_f.weight')!;
  fs.writeSync(fd, Buffer.from(new Float32Array([1.5, -2.25, 3]).buffer), 0, 12, dataStart + inOff);
  fs.writeSync(fd, Buffer.from(new Float32Array(2048).fill(0.75).buffer), 0, 8192, dataStart + nfOff);
  fs.closeSync(fd);
  assert.ok(dataStart + inOff > 2 ** 32, 'last layer lies past 4 GiB');
  if (fs.statSync(f).blocks * 512 > 64 * 1024 * 1024) {
    fs.rmSync(f);
    t.skip('file system does not support sparse files');
    return;
  }

  const before = process.memoryUsage().rss;
  const ck = await openCheckpoint(dir);
  try {
    assert.equal(ck.config.paddedVocabSize, 50288);
    assert.equal((ck.config as Mamba2Config).nHeads, 64);
    assert.deepEqual(ck.info('layers.47.mixer.in_proj.weight').shape, [2 * 4096 + 2 * 128 + 64, 2048]);
    const nf = ck.readF32('norm_f.weight');
    assert.ok(nf.every((v) => v === 0.75));
    const row = ck.readRowsF32('layers.47.mixer.in_proj.weight', 0, 1);
    assert.deepEqual(Array.from(row.subarray(0, 4)), [1.5, -2.25, 3, 0]);
    const last = ck.readRowsF32('embedding.weight', 50287, 1);
    assert.equal(last.length, 2048);
    const grew = process.memoryUsage().rss - before;
    assert.ok(grew < 256 * 1024 * 1024, `RSS grew by ${grew} bytes`);
  } finally {
    ck.close();
    fs.rmSync(f);
  }
});
