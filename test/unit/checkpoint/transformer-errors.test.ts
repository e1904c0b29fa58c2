// GPT-2 / GPT-NeoX checkpoints with missing or mis-shaped tensors: one clear error naming the tensor as stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { UserError } from '../../../src/engine/types';

const FIX = resolve('test', 'fixtures', 'parity-transformer');

async function withConfig(name: string, patch: (c: Record<string, unknown>) => void, re: RegExp): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'me-tf-err-'));
  try {
    cpSync(join(FIX, name), dir, { recursive: true });
    const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    patch(c);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
    await assert.rejects(openCheckpoint(dir), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), re.source);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('GPT-2: a layer the weights lack is named as stored (h.N.…), a wrong width names the tensor and both shapes', async () => {
  await withConfig('gpt2-f32', (c) => (c.n_layer = 4), /tensor 'h\.3\.ln_1\.weight' is missing/);
  await withConfig('gpt2-f32', (c) => (c.n_inner = 64), /tensor 'transformer\.h\.0\.mlp\.c_fc\.weight' has shape \[32, 128\], expected \[32, 64\]/);
});

test('GPT-NeoX: a missing embed_out (untied) and a wrong head count are one line each', async () => {
  await withConfig('neox-f32-parallel', (c) => (c.num_hidden_layers = 5), /tensor 'gpt_neox\.layers\.3\.input_layernorm\.weight' is missing/);
  await withConfig('neox-f32-parallel', (c) => (c.intermediate_size = 100), /'gpt_neox\.layers\.0\.mlp\.dense_h_to_4h\.weight' has shape \[128, 32\], expected \[100, 32\]/);
  await withConfig('neox-f32-parallel', (c) => (c.num_attention_heads = 3), /width 32 is not a multiple of the 3 attention heads/);
});
