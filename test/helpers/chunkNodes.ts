// The chunk graph of a model folder as built (onnx/chunkGraph.ts) and after ONNX Runtime's own optimisations on the
// CPU provider, as node lists: what tools/chunk-nodes.ts prints and test/unit/onnx/graphSize.test.ts bounds.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '../../src/engine/checkpoint/index';
import { buildChunkGraph } from '../../src/engine/onnx/chunkGraph';
import { WeightsFile } from '../../src/engine/onnx/graph';
import { WeightStore } from '../../src/engine/onnx/ops';
import { decodeModel } from '../../src/engine/onnx/proto';
import type { ModelConfig } from '../../src/engine/types';

export type GraphNode = { opType: string; input?: string[]; output?: string[] };

const nodesOf = (bytes: Uint8Array): GraphNode[] => (decodeModel(bytes).graph as { node?: GraphNode[] }).node ?? [];

/** The nodes of `modelDir`'s chunk graph, built into `tmp` (graph + weights), and after ORT's optimisations with `optimized`. */
export async function chunkGraphNodes(modelDir: string, tmp: string, optimized = false): Promise<{ config: ModelConfig; built: GraphNode[]; optimized?: GraphNode[] }> {
  const ckpt = await openCheckpoint(modelDir);
  try {
    const name = basename(modelDir);
    const wf = new WeightsFile(join(tmp, `${name}.bin`), `${name}.bin`);
    const bytes = buildChunkGraph(ckpt, new WeightStore(wf));
    wf.close();
    if (!optimized) return { config: ckpt.config, built: nodesOf(bytes) };
    const file = join(tmp, `${name}.onnx`);
    writeFileSync(file, bytes);
    const optimizedFile = join(tmp, `${name}-optimized.onnx`);
    const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: optimizedFile, logSeverityLevel: 3 });
    await session.release();
    return { config: ckpt.config, built: nodesOf(bytes), optimized: nodesOf(readFileSync(optimizedFile)) };
  } finally {
    ckpt.close();
  }
}

/** How many of `nodes` are `op`. */
export const countOp = (nodes: readonly GraphNode[], op: string): number => nodes.filter((n) => n.opType === op).length;
