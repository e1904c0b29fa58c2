// Bad input: every case gives one UserError whose message names the file and the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { UserError } from '../../../src/engine/types';
import {
  PickleWriter, RandomCheckpointOptions, TensorToWrite, WrittenCheckpoint, writeRandomCheckpoint, writeSafetensors, writeTorchBin, writeZip,
} from '../../helpers/checkpointWriter';
import { rejectsOpening } from '../../helpers/checkpointErrors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-err-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const base: RandomCheckpointOptions = {
  format: 'state-spaces', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 2, vocabSize: 30,
  dState: 4, headdim: 8, nGroups: 1, seed: 3,
};

async function model(opts: Partial<RandomCheckpointOptions> = {}): Promise<WrittenCheckpoint> {
  return writeRandomCheckpoint(path.join(tmp, `m${n++}`), { ...base, ...opts });
}

function list(w: WrittenCheckpoint): TensorToWrite[] {
  return [...w.tensors.values()].map((t) => ({ key: t.key, shape: t.shape, dtype: t.dtype, data: t.data }));
}

test('missing folder and missing config.json', async () => {
  const nowhere = path.join(tmp, 'does-not-exist');
  await rejectsOpening(nowhere, nowhere, /model folder not found/);
  const d = path.join(tmp, 'empty');
  fs.mkdirSync(d);
  await rejectsOpening(d, path.join(d, 'config.json'), /config\.json not found/);
});

test('config.json is not JSON', async () => {
  const w = await model();
  const f = path.join(w.dir, 'config.json');
  fs.writeFileSync(f, '{ "d_model": 16, ');
  await rejectsOpening(w.dir, f, /not valid JSON/);
});

test('config.json of an unsupported model, or of another family than the weights', async () => {
  const w = await model();
  const f = path.join(w.dir, 'config.json');
  fs.writeFileSync(f, JSON.stringify({ d_model: 16, n_layer: 2, vocab_size: 30, ssm_cfg: { layer: 'Mamba3' } }));
  await rejectsOpening(w.dir, f, /"ssm_cfg.layer" is "Mamba3"/);
  fs.writeFileSync(f, JSON.stringify({ model_type: 'llama', hidden_size: 16 }));
  await rejectsOpening(w.dir, f, /model_type "llama" is not a supported model/);
  // a Mamba-1 config.json beside Mamba-2 weights: the first Mamba-1 tensor is named as missing
  fs.writeFileSync(f, JSON.stringify({ d_model: 16, n_layer: 2, vocab_size: 30, ssm_cfg: {} }));
  await assert.rejects(openCheckpoint(w.dir), (e: unknown) => e instanceof UserError && /tensor 'backbone\.layers\.0\.mixer\.(x_proj|in_proj|conv1d|A_log)/.test(e.message) && /missing|shape/.test(e.message));
});

test('no weight file, and a shard listed in the index missing', async () => {
  const w = await model();
  fs.rmSync(path.join(w.dir, 'model.safetensors'));
  await rejectsOpening(w.dir, w.dir, /no weight file found/);
  const s = await model({ weights: 'sharded' });
  const shard = path.join(s.dir, s.weightFiles[1]);
  fs.rmSync(shard);
  await rejectsOpening(s.dir, shard, /missing weight file \(listed in model\.safetensors\.index\.json\)/);
});

test('truncated safetensors file', async () => {
  const w = await model();
  const f = path.join(w.dir, 'model.safetensors');
  const b = fs.readFileSync(f);
  fs.writeFileSync(f, b.subarray(0, b.length - 10));
  await rejectsOpening(w.dir, f, /file is truncated: tensor 'backbone\.norm_f\.weight' needs 10 more bytes/);
  fs.writeFileSync(f, b.subarray(0, 100));
  await rejectsOpening(w.dir, f, /file is truncated \(header/);
  fs.writeFileSync(f, Buffer.from('garbage!garbage!garbage!'));
  await rejectsOpening(w.dir, f, /not a safetensors file/);
});

test('tensor missing', async () => {
  const w = await model();
  const f = path.join(w.dir, 'model.safetensors');
  writeSafetensors(f, list(w).filter((t) => t.key !== 'backbone.layers.1.mixer.D'));
  await rejectsOpening(w.dir, f, /tensor 'backbone\.layers\.1\.mixer\.D' is missing/);
  writeSafetensors(f, list(w).filter((t) => t.key !== 'backbone.embedding.weight'));
  await rejectsOpening(w.dir, f, /tensor 'backbone\.embedding\.weight' \(or 'backbone\.embeddings\.weight'\) is missing/);
});

test('tensor of the wrong shape', async () => {
  const w = await model();
  const f = path.join(w.dir, 'model.safetensors');
  const ts = list(w).map((t) => (t.key === 'backbone.layers.0.mixer.A_log' ? { ...t, shape: [1, t.shape[0]] } : t));
  writeSafetensors(f, ts);
  await rejectsOpening(w.dir, f, /tensor 'backbone\.layers\.0\.mixer\.A_log' has shape \[1, 4\], expected \[4\] from config\.json/);
  // config.json disagrees with the stored weights
  const cfg = path.join(w.dir, 'config.json');
  writeSafetensors(f, list(w));
  const j = JSON.parse(fs.readFileSync(cfg, 'utf8'));
  j.ssm_cfg.d_state = 8;
  fs.writeFileSync(cfg, JSON.stringify(j));
  await rejectsOpening(w.dir, f, /in_proj\.weight' has shape \[76, 16\], expected \[84, 16\]/);
});

test('state-spaces embedding rows must equal vocab_size padded to the multiple', async () => {
  const w = await model({ vocabSize: 20, padVocabSizeMultiple: 16 });
  const cfg = path.join(w.dir, 'config.json');
  const j = JSON.parse(fs.readFileSync(cfg, 'utf8'));
  j.pad_vocab_size_multiple = 8;
  fs.writeFileSync(cfg, JSON.stringify(j));
  await rejectsOpening(w.dir, path.join(w.dir, 'model.safetensors'), /'backbone\.embedding\.weight' has shape \[32, 16\], expected \[24, 16\] from config\.json/);
});

test('unsupported dtype (I64, F64)', async () => {
  const w = await model();
  const f = path.join(w.dir, 'model.safetensors');
  for (const [raw, size] of [['I64', 8], ['F64', 8]] as const) {
    const ts = list(w).map((t) =>
      t.key === 'backbone.layers.0.mixer.D' ? { key: t.key, shape: t.shape, rawDType: raw, bytes: Buffer.alloc(t.shape[0] * size) } : t,
    );
    writeSafetensors(f, ts);
    await rejectsOpening(w.dir, f, new RegExp(`tensor 'backbone\\.layers\\.0\\.mixer\\.D' has unsupported dtype ${raw}`));
  }
  const b = await model({ weights: 'bin' });
  const bf = path.join(b.dir, 'pytorch_model.bin');
  writeTorchBin(bf, list(b).map((t) => (t.key === 'backbone.norm_f.weight' ? { key: t.key, shape: t.shape, rawDType: 'I64', bytes: Buffer.alloc(t.shape[0] * 8) } : t)));
  await rejectsOpening(b.dir, bf, /tensor 'backbone\.norm_f\.weight' has unsupported dtype torch\.LongStorage/);
});

test('unexpected extra tensor', async () => {
  const w = await model();
  const f = path.join(w.dir, 'model.safetensors');
  writeSafetensors(f, [...list(w), { key: 'backbone.layers.0.mixer.in_proj.bias', shape: [3], dtype: 'float32', data: new Float32Array(3) }]);
  await rejectsOpening(w.dir, f, /unexpected tensor 'backbone\.layers\.0\.mixer\.in_proj\.bias'/);
});

test('forbidden pickle global in pytorch_model.bin', async () => {
  const w = await model({ weights: 'bin' });
  const f = path.join(w.dir, 'pytorch_model.bin');
  const p = new PickleWriter().proto(2).global('os', 'system').str('touch /tmp/pwned').raw(0x85).reduce().stop();
  writeZip(f, [{ name: 'pytorch_model/data.pkl', data: p }]);
  await rejectsOpening(w.dir, f, /^[^:]+: pickle refers to forbidden global 'os\.system'$/);
  const q = new PickleWriter().proto(2).global('builtins', 'eval').str('1+1').raw(0x85).reduce().stop();
  writeZip(f, [{ name: 'pytorch_model/data.pkl', data: q }]);
  await rejectsOpening(w.dir, f, /pickle refers to forbidden global 'builtins\.eval'/);
});

test('bad zip and truncated pytorch_model.bin', async () => {
  const w = await model({ weights: 'bin' });
  const f = path.join(w.dir, 'pytorch_model.bin');
  const good = fs.readFileSync(f);
  fs.writeFileSync(f, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]));
  await rejectsOpening(w.dir, f, /bad zip file \(no end-of-central-directory record\)/);
  fs.writeFileSync(f, good.subarray(0, good.length - 30));
  await rejectsOpening(w.dir, f, /bad zip file/);
  // keep the directory but cut the data out of the middle: the central directory now points past the end
  fs.writeFileSync(f, Buffer.concat([good.subarray(0, 200), good.subarray(good.length - 2000)]));
  await rejectsOpening(w.dir, f, /bad zip file|truncated/);
  fs.writeFileSync(f, 'definitely not a zip');
  await rejectsOpening(w.dir, f, /bad zip file \(not a PyTorch zip checkpoint\)/);
});

test('a sharded index naming a tensor its shard lacks', async () => {
  const s = await model({ weights: 'sharded' });
  const idx = path.join(s.dir, 'model.safetensors.index.json');
  const j = JSON.parse(fs.readFileSync(idx, 'utf8'));
  j.weight_map['backbone.layers.0.mixer.D'] = s.weightFiles[1];
  fs.writeFileSync(idx, JSON.stringify(j));
  await rejectsOpening(s.dir, path.join(s.dir, s.weightFiles[1]), /tensor 'backbone\.layers\.0\.mixer\.D' listed in model\.safetensors\.index\.json is not in this file/);
  fs.writeFileSync(idx, '{"metadata": {}}');
  await rejectsOpening(s.dir, idx, /no "weight_map" object/);
});
