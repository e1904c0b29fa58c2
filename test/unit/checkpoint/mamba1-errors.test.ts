// Bad Mamba-1 / Falcon-Mamba input: every case is one UserError on one line naming the file and the field or tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint';
import { parseConfig } from '../../../src/engine/checkpoint/config';
import { UserError, type Mamba1Config } from '../../../src/engine/types';
import { RandomCheckpointOptions, TensorToWrite, WrittenCheckpoint, writeRandomCheckpoint, writeSafetensors } from '../../helpers/checkpointWriter';
import { rejectsOpening } from '../../helpers/checkpointErrors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-m1-err-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const F = '/m/config.json';

const base: RandomCheckpointOptions = {
  arch: 'mamba1', format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 2, vocabSize: 30, dState: 4, headdim: 1, nGroups: 1, seed: 3,
};

async function model(opts: Partial<RandomCheckpointOptions> = {}): Promise<WrittenCheckpoint> {
  return writeRandomCheckpoint(path.join(tmp, `m${n++}`), { ...base, ...opts });
}

const hf = { model_type: 'mamba', hidden_size: 64, num_hidden_layers: 2, state_size: 16, vocab_size: 100 };

test('Mamba-1 configs: defaults, dt_rank "auto" = ceil(d/16), Falcon-Mamba eps, state-spaces padding', () => {
  const a = parseConfig({ ...hf, hidden_size: 40 }, F) as Mamba1Config;
  assert.equal(a.arch, 'mamba1');
  assert.equal(a.dtRank, 3);
  assert.equal(a.dInner, 80);
  assert.equal(a.mixerRmsEps, null);
  assert.equal(a.tieEmbeddings, true);
  const f = parseConfig({ ...hf, model_type: 'falcon_mamba', time_step_rank: 5 }, F) as Mamba1Config;
  assert.equal(f.variant, 'falcon_mamba');
  assert.equal(f.dtRank, 5);
  assert.equal(f.mixerRmsEps, 1e-6);
  const s = parseConfig({ d_model: 768, n_layer: 24, vocab_size: 50277, ssm_cfg: {}, pad_vocab_size_multiple: 8 }, F) as Mamba1Config;
  assert.deepEqual([s.arch, s.format, s.paddedVocabSize, s.dState, s.dtRank, s.dInner], ['mamba1', 'state-spaces', 50280, 16, 48, 1536]);
  // architectures without model_type
  assert.equal((parseConfig({ architectures: ['FalconMambaForCausalLM'], hidden_size: 64, num_hidden_layers: 2, state_size: 16, vocab_size: 100 }, F) as Mamba1Config).variant, 'falcon_mamba');
});

test('Mamba-1 configs that are not supported, each one line naming the file and the field', () => {
  const bad: [unknown, RegExp][] = [
    [{ ...hf, use_bias: true }, /"use_bias": true/],
    [{ ...hf, use_conv_bias: false }, /"use_conv_bias": false/],
    [{ ...hf, hidden_act: 'gelu' }, /"hidden_act": "gelu"/],
    [{ ...hf, intermediate_size: 100 }, /"intermediate_size" must equal expand·hidden_size = 128/],
    [{ ...hf, time_step_rank: 'big' }, /"time_step_rank" must be an integer/],
    [{ ...hf, state_size: 0 }, /"state_size" must be at least 1/],
    [{ ...hf, model_type: 'falcon_mamba', mixer_rms_eps: -1 }, /"mixer_rms_eps" must be a positive number/],
    [{ d_model: 64, n_layer: 2, vocab_size: 10, ssm_cfg: { bias: true } }, /"ssm_cfg.bias": true/],
    [{ d_model: 64, n_layer: 2, vocab_size: 10, ssm_cfg: { dt_rank: 0 } }, /"ssm_cfg.dt_rank" must be at least 1/],
    [{ d_model: 64, n_layer: 2, vocab_size: 10, ssm_cfg: { layer: 'Mamba3' } }, /"ssm_cfg.layer" is "Mamba3"/],
    [{ d_model: 64, n_layer: 2, vocab_size: 10, ssm_cfg: 'x' }, /"ssm_cfg" must be an object/],
    [{ model_type: 'bert', hidden_size: 64 }, /model_type "bert" is not a supported model/],
    [{ model_type: 'gpt2', n_embd: 64, n_layer: 2, n_head: 4, vocab_size: 10, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx.*GPT-2 model/],
    [{ model_type: 'gpt_neox', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256, vocab_size: 10, rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling.*GPT-NeoX model/],
  ];
  for (const [json, re] of bad) {
    assert.throws(
      () => parseConfig(json, F),
      (e: unknown) => e instanceof UserError && e.message.startsWith(F + ':') && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(json),
    );
  }
});

test('Mamba-1 checkpoint: a missing or mis-shaped tensor is named with its stored key', async () => {
  for (const format of ['hf', 'state-spaces'] as const) {
    const w = await model({ format });
    const file = path.join(w.dir, 'model.safetensors');
    const keep = (drop: string, reshape?: [string, number[]]): TensorToWrite[] =>
      [...w.tensors.entries()]
        .filter(([name]) => name !== drop)
        .map(([name, t]) => (reshape && name === reshape[0] ? { key: t.key, shape: reshape[1], dtype: t.dtype, data: t.data.subarray(0, reshape[1].reduce((a, b) => a * b, 1)) } : { key: t.key, shape: t.shape, dtype: t.dtype, data: t.data }));
    writeSafetensors(file, keep('layers.1.mixer.x_proj.weight'));
    await rejectsOpening(w.dir, file, /tensor 'backbone\.layers\.1\.mixer\.x_proj\.weight' is missing/);
    writeSafetensors(file, keep('', ['layers.0.mixer.A_log', [32, 2]]));
    await rejectsOpening(w.dir, file, /tensor 'backbone\.layers\.0\.mixer\.A_log' has shape \[32, 2\], expected \[32, 4\]/);
    writeSafetensors(file, keep('', ['layers.0.mixer.dt_proj.weight', [16, 2]]));
    await rejectsOpening(w.dir, file, /dt_proj\.weight' has shape \[16, 2\], expected \[32, 1\]/);
  }
});

test('Mamba-2 weights under a Mamba-1 config.json: one error naming the first tensor that does not fit', async () => {
  const w = await model({ arch: 'mamba2', format: 'state-spaces', headdim: 8 });
  const f = path.join(w.dir, 'config.json');
  fs.writeFileSync(f, JSON.stringify({ d_model: 16, n_layer: 2, vocab_size: 30, ssm_cfg: { d_state: 4 }, pad_vocab_size_multiple: 16 }));
  await assert.rejects(openCheckpoint(w.dir), (e: unknown) => e instanceof UserError && /Mamba-1|missing|shape/.test(e.message) && !e.message.includes('\n'));
});
