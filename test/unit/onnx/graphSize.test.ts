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

const tmp = mkdtempSync(join(tmpdir(), 'me-graphsize-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// nodes per layer (clean layer + knockout-row layer + the chunk's glue), as built by builder v17 (tools/chunk-nodes.ts:
// 234.9, 388.9 and 263.5); builder v14 had 291.8 (Mamba-2), 423.9 (Mamba-1) and 282.0 (GPT-NeoX). A change that adds
// nodes to every layer has to raise these on purpose.
const BUDGET: Record<string, number> = { demo: 240, 'demo-mamba1': 392, 'demo-transformer': 268 };

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
