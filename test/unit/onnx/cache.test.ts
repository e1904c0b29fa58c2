import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDirFor, ensureOnnxCache } from '../../../src/engine/onnx/cache';
import { decodeModel } from '../../../src/engine/onnx/proto';
import { f32ToF16Bits, transpose2d } from '../../../src/engine/onnx/builder';
import { memCheckpoint } from '../reference/memCheckpoint';

const tmp = mkdtempSync(join(tmpdir(), 'me-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the cache is built once and reused; files sit in one folder with one weights.bin', () => {
  const ck = memCheckpoint({ nLayer: 3 });
  const root = join(tmp, 'a');
  const first = ensureOnnxCache(ck, { root });
  assert.equal(first.built, true);
  assert.deepEqual(readdirSync(root), [first.dir.split('/').pop()]);
  assert.deepEqual(readdirSync(first.dir).sort(), ['chunk.onnx', 'head.onnx', 'layer_0.onnx', 'layer_1.onnx', 'layer_2.onnx', 'manifest.json', 'row_0.onnx', 'row_1.onnx', 'row_2.onnx', 'step_0.onnx', 'step_1.onnx', 'step_2.onnx', 'weights.bin']);
  // the chunk graph declares the layers' and head's weights without writing them again: weights.bin holds each once
  // (every tensor but the embedding, which the head re-uses when tied, in float32 plus 64-byte alignment)
  const floats = ck.tensorNames().reduce((a, t) => a + ck.info(t).shape.reduce((x, y) => x * y, 1), 0);
  assert.ok(first.manifest.weightsBytes <= 4 * floats + 64 * 16 * 3 + 64 * 4, `weights.bin ${first.manifest.weightsBytes} bytes for ${floats} floats`);
  const mtime = statSync(join(first.dir, 'weights.bin')).mtimeMs;
  const second = ensureOnnxCache(ck, { root });
  assert.equal(second.built, false);
  assert.equal(statSync(join(first.dir, 'weights.bin')).mtimeMs, mtime);
  // a different compute dtype is a different folder
  assert.notEqual(cacheDirFor(ck, 'float16', root), first.dir);
});

test('a half-written cache folder (no manifest) is never used, and is replaced', () => {
  const ck = memCheckpoint({ seed: 99 });
  const root = join(tmp, 'b');
  const dir = cacheDirFor(ck, 'float32', root);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'layer_0.onnx'), 'garbage');
  const r = ensureOnnxCache(ck, { root });
  assert.equal(r.built, true);
  assert.ok(existsSync(join(dir, 'manifest.json')));
  assert.notEqual(readFileSync(join(dir, 'layer_0.onnx'), 'utf8'), 'garbage');
  // a manifest pointing at a missing file is incomplete too
  rmSync(join(dir, 'weights.bin'));
  assert.equal(ensureOnnxCache(ck, { root }).built, true);
  // no temp folders are left behind
  assert.deepEqual(readdirSync(root).filter((n) => n.includes('.tmp-')), []);
});

test('external initializers: relative location weights.bin, 64-byte aligned, within the file', () => {
  const ck = memCheckpoint({ nGroups: 2 });
  const { dir } = ensureOnnxCache(ck, { root: join(tmp, 'c') });
  const size = statSync(join(dir, 'weights.bin')).size;
  const m = decodeModel(readFileSync(join(dir, 'layer_1.onnx'))) as any;
  assert.equal(m.opsetImport[0].version, 17);
  const ext = m.graph.initializer.filter((t: any) => t.dataLocation === 1);
  assert.ok(ext.length >= 9);
  for (const t of ext) {
    const kv = Object.fromEntries(t.externalData.map((e: any) => [e.key, e.value]));
    assert.equal(kv.location, 'weights.bin');
    assert.equal(Number(kv.offset) % 64, 0);
    assert.ok(Number(kv.offset) + Number(kv.length) <= size);
  }
  assert.deepEqual(m.graph.input.map((i: any) => i.name), ['hidden', 'mask', 'conv_mask', 'unit_mask', 'out_scale', 'ctx_raw', 'ctx_xbc', 'ctx_delta', 'ctx_index']);
  assert.deepEqual(m.graph.output.map((i: any) => i.name).sort(), ['attention', 'delta_out', 'hidden_out', 'raw_out', 'xbc_out']);
  assert.ok(m.graph.node.every((n: any) => !n.domain), 'standard ops only');
});

test('helpers: transpose and float16 rounding', () => {
  assert.deepEqual(Array.from(transpose2d(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)), [1, 4, 2, 5, 3, 6]);
  assert.equal(f32ToF16Bits(1), 0x3c00);
  assert.equal(f32ToF16Bits(-2), 0xc000);
  assert.equal(f32ToF16Bits(65504), 0x7bff);
  assert.equal(f32ToF16Bits(1e6), 0x7c00);
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001);
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie rounds to even
});
