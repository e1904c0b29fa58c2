// The chunk graph's size: on a GPU a trace is bound by kernel launches (docs/benchmarks.md, the profile), so the nodes
// per layer are a figure to keep down. These tests pin the structure that keeps them down: clean layers without mask
// nodes or context gathers, the knockout rows' one-product conv and per-chunk grouping, and RMSNorm in the form ONNX
// Runtime fuses into one kernel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkGraphNodes, countOp as count } from '../../helpers/chunkNodes';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';

const tmp = mkdtempSync(join(tmpdir(), 'me-graphsize-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// nodes per layer (clean layer + knockout-row layer + the chunk's glue), as built by builder v23 (tools/chunk-nodes.ts:
// 201.4, 348.1 and 226.3); v22 had 218.1, 374.3 and 247.6, v21 221.3, 377.4 and 248.8, v17 234.9, 388.9 and 263.5, v14
// 291.8 (Mamba-2), 423.9 (Mamba-1) and 282.0 (GPT-NeoX). A change that adds nodes to every layer has to raise these on
// purpose.
const BUDGET: Record<string, number> = { demo: 203, 'demo-mamba1': 350, 'demo-transformer': 228 };

for (const model of Object.keys(BUDGET)) {
  test(`${model}: the chunk graph stays within ${BUDGET[model]} nodes per layer`, async () => {
    const { config, built: nodes } = await chunkGraphNodes(join('models', model), tmp);
    const layers = config.nLayer;
    const perLayer = nodes.length / layers;
    assert.ok(perLayer <= BUDGET[model], `${nodes.length} nodes, ${perLayer.toFixed(1)} per layer`);
    // the clean layers apply no masks: the only Expand nodes left are the rows' (none per clean layer)
    assert.ok(count(nodes, 'Expand') <= layers + 2, `${count(nodes, 'Expand')} Expand nodes`);
  });
}

test('the clean layers share what they compute from their shapes alone: one causal mask and one [b, m] per chunk graph', async () => {
  // (LayerIo.shapes) the clean layers' causal masks start from a Range over the positions, their products' reshapes
  // from the Shape of their input; the rows' context length is the chunk's W − 1 (LayerIo.prefixRows). Computed once,
  // they leave these counts (8 layers) where builder v22 put them; v20 had a Range and two or three Shapes in every
  // clean layer and a Shape in every row layer: 14 / 35, 14 / 27 and 20 / 34. (The transformer's row layers have their
  // own causal masks: a row layer's row count differs from layer to layer.)
  const most: Record<string, [number, number]> = { demo: [7, 5], 'demo-mamba1': [7, 5], 'demo-transformer': [13, 20] };
  for (const [model, [ranges, shapes]] of Object.entries(most)) {
    const { built } = await chunkGraphNodes(join('models', model), tmp);
    assert.ok(count(built, 'Range') <= ranges, `${model}: ${count(built, 'Range')} Range nodes`);
    assert.ok(count(built, 'Shape') <= shapes, `${model}: ${count(built, 'Shape')} Shape nodes`);
  }
});

test("the layers' products are one MatMul each on [in, out] weights, without reshapes around them; the heads keep their Gemm", async () => {
  // builder v23 (ops.ts linear): a product on [b, m, in] was a Reshape to 2-D, a Gemm and a Reshape back (and a Concat
  // for the shape); the head's [vocab, d] weight is streamed from the checkpoint untransposed, one Gemm per head
  for (const [model, productsPerLayer] of [['demo', 4], ['demo-mamba1', 8], ['demo-transformer', 8]] as const) {
    const { config, built } = await chunkGraphNodes(join('models', model), tmp);
    assert.equal(count(built, 'Gemm'), 2, `${model}: Gemm nodes`);
    const weightProducts = built.filter((n) => n.opType === 'MatMul' && /\.weight$/.test(n.input?.[1] ?? '')).length;
    assert.equal(weightProducts, productsPerLayer * config.nLayer, `${model}: MatMul nodes on a weight`);
  }
});

test('a chunk graph of many layers has no Split of more than 15 outputs (WebGPU: 16 storage buffers per shader)', async () => {
  // a 48-way Split of the per-layer steering scales failed on the H200's WebGPU provider (one storage buffer per output)
  const dir = join(tmp, 'deep');
  await writeRandomCheckpoint(dir, { format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 32, nLayer: 40, vocabSize: 64, dState: 8, headdim: 8, nGroups: 1, seed: 3 });
  const { built } = await chunkGraphNodes(dir, tmp);
  const splits = built.filter((n) => n.opType === 'Split');
  assert.ok(splits.length > 0);
  for (const s of splits) assert.ok((s.output?.length ?? 0) <= 15, `a Split of ${s.output?.length} outputs`);
});

test('RMSNorm is written as ONNX Runtime fuses it: one SimplifiedLayerNormalization per norm after optimisation', async () => {
  for (const [model, normsPerLayer] of [['demo', 4], ['demo-mamba1', 2]] as const) {
    const { config, optimized } = await chunkGraphNodes(join('models', model), tmp, true);
    const layers = config.nLayer;
    const nodes = optimized!;
    // each layer's norms in the clean part and in the rows, and the two heads' final norms
    assert.equal(count(nodes, 'SimplifiedLayerNormalization'), normsPerLayer * layers + 2, model);
    assert.equal(count(nodes, 'ReduceMean'), 0, `${model}: an RMSNorm was left unfused`);
  }
});
