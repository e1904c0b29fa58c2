// The chunk graph's size per model: its nodes as built, and after ONNX Runtime's own optimisations on the CPU provider
// (fusions such as SimplifiedLayerNormalization, constant folding), by op type. On a GPU a small call (a trace) is
// bound by kernel launches, so the nodes per layer are the figure to keep down (docs/benchmarks.md).
//   npx tsx tools/chunk-nodes.ts [MODEL_DIR…]   (default: models/demo models/demo-mamba1 models/demo-transformer)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILDER_VERSION, describeConfig } from '../src/engine/onnx/builder';
import { chunkGraphNodes, type GraphNode } from '../test/helpers/chunkNodes';

const byOp = (nodes: GraphNode[]) => {
  const m = new Map<string, number>();
  for (const n of nodes) m.set(n.opType, (m.get(n.opType) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([op, k]) => `${op} ${k}`).join(', ');
};

async function main(): Promise<void> {
  const models = process.argv.slice(2).length ? process.argv.slice(2) : ['models/demo', 'models/demo-mamba1', 'models/demo-transformer'];
  const tmp = mkdtempSync(join(tmpdir(), 'me-chunk-nodes-'));
  try {
    console.log(`chunk graph nodes, builder v${BUILDER_VERSION}`);
    for (const dir of models) {
      const { config, built, optimized } = await chunkGraphNodes(dir, tmp, true);
      const L = config.nLayer;
      console.log(`\n${dir}: ${describeConfig(config)}`);
      console.log(`  as built:              ${built.length} nodes, ${(built.length / L).toFixed(1)} per layer`);
      console.log(`  after ORT (CPU, all):  ${optimized!.length} nodes, ${(optimized!.length / L).toFixed(1)} per layer`);
      console.log(`    ${byOp(optimized!)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
