// The chunk graph's size per model: its nodes as built, and after ONNX Runtime's own optimisations on the CPU provider
// (fusions such as SimplifiedLayerNormalization, constant folding), by op type. On a GPU a small call (a trace) is
// bound by kernel launches, so the nodes per layer are the figure to keep down (docs/benchmarks.md).
//   npx tsx tools/chunk-nodes.ts [MODEL_DIR…]   (default: models/demo models/demo-mamba1 models/demo-transformer)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '../src/engine/checkpoint/index';
import { BUILDER_VERSION, describeConfig } from '../src/engine/onnx/builder';
import { buildChunkGraph } from '../src/engine/onnx/chunkGraph';
import { WeightsFile } from '../src/engine/onnx/graph';
import { WeightStore } from '../src/engine/onnx/ops';
import { decodeModel } from '../src/engine/onnx/proto';

type Node = { opType: string };
const nodesOf = (bytes: Uint8Array) => (decodeModel(bytes).graph as { node?: Node[] }).node ?? [];
const byOp = (nodes: Node[]) => {
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
      const ckpt = await openCheckpoint(dir);
      const L = ckpt.config.nLayer;
      const name = basename(dir);
      const wf = new WeightsFile(join(tmp, `${name}.bin`), `${name}.bin`);
      const bytes = buildChunkGraph(ckpt, new WeightStore(wf));
      wf.close();
      const file = join(tmp, `${name}.onnx`);
      writeFileSync(file, bytes);
      const optimizedFile = join(tmp, `${name}-optimized.onnx`);
      const s = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: optimizedFile, logSeverityLevel: 3 });
      await s.release();
      const built = nodesOf(bytes);
      const optimized = nodesOf(readFileSync(optimizedFile));
      console.log(`\n${dir}: ${describeConfig(ckpt.config)}`);
      console.log(`  as built:              ${built.length} nodes, ${(built.length / L).toFixed(1)} per layer`);
      console.log(`  after ORT (CPU, all):  ${optimized.length} nodes, ${(optimized.length / L).toFixed(1)} per layer`);
      console.log(`    ${byOp(optimized)}`);
      ckpt.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
