import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { writeRandomCheckpoint, RandomCheckpointOptions } from '../../helpers/checkpointWriter';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-open-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const base: RandomCheckpointOptions = {
  format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 32, nLayer: 2, vocabSize: 50,
  dState: 8, headdim: 16, nGroups: 2, seed: 1,
};

async function roundTrip(opts: Partial<RandomCheckpointOptions>) {
  const o = { ...base, ...opts };
  const dir = path.join(tmp, `m${n++}`);
  const w = await writeRandomCheckpoint(dir, o);
  const ck = await openCheckpoint(dir);
  try {
    assert.equal(ck.config.format, o.format);
    assert.equal(ck.config.paddedVocabSize, w.paddedVocabSize);
    assert.equal(ck.storedDType, o.dtype);
    assert.deepEqual(new Set(ck.tensorNames()), new Set(w.tensors.keys()));
    for (const [name, t] of w.tensors) {
      const info = ck.info(name);
      assert.deepEqual(info.shape, t.shape, name);
      assert.equal(info.dtype, o.dtype);
      const got = ck.readF32(name);
      assert.deepEqual(got, t.data, name);
    }
    for (const v of w.tensors.get('layers.0.mixer.A_log')!.data) assert.ok(v >= 0 && v <= Math.log(16) + 0.01);
    return { ck, w };
  } finally {
    ck.close();
  }
}

for (const weights of ['safetensors', 'sharded', 'bin'] as const) {
  for (const format of ['hf', 'state-spaces'] as const) {
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      test(`round trip: ${weights} ${format} ${dtype}`, async () => {
        await roundTrip({ format, dtype, weights, seed: n + 10 });
      });
    }
  }
}

test('hash is stable and depends on the weights', async () => {
  const d1 = path.join(tmp, 'h1');
  const d2 = path.join(tmp, 'h2');
  await writeRandomCheckpoint(d1, base);
  await writeRandomCheckpoint(d2, { ...base, seed: 2 });
  const a = await openCheckpoint(d1);
  const b = await openCheckpoint(d1);
  const c = await openCheckpoint(d2);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  a.close();
  b.close();
  c.close();
});

test('a config.json written by Python json (bare Infinity in time_step_limit) opens', async () => {
  const dir = path.join(tmp, `m${n++}`);
  await writeRandomCheckpoint(dir, base);
  const cfgFile = path.join(dir, 'config.json');
  const text = fs.readFileSync(cfgFile, 'utf8').replace(/^\{/, '{\n  "time_step_limit": [0.0, Infinity],');
  fs.writeFileSync(cfgFile, text);
  const ck = await openCheckpoint(dir);
  try {
    assert.equal(ck.config.format, 'hf');
  } finally {
    ck.close();
  }
});
