// Where ONNX Runtime moves tensors between host and device in an optimised graph: ORT's optimised model
// (MAMBA_EXPLAIN_ORT_OPTIMIZED=<prefix> on a CUDA or WebGPU session writes <prefix>-<n>.onnx, weights outside) holds
// its Memcpy nodes. For each MemcpyToHost / MemcpyFromHost this prints what produced the tensor (the op chain back
// along first inputs) and what reads the copy (op and input slot), grouped, with counts.
//   node memcpy.js FILE.onnx [DEPTH]   (bundled: npx esbuild tools/onnx-memcpy.ts --bundle --platform=node --outfile=.devcarry/memcpy.js)
import { readFileSync } from 'node:fs';
import { decodeModel } from '../src/engine/onnx/proto';

type Node = { name?: string; opType: string; input?: string[]; output?: string[]; domain?: string };

const file = process.argv[2];
const depth = Number(process.argv[3] ?? 4);
if (!file) {
  console.error('usage: node memcpy.js FILE.onnx [DEPTH]');
  process.exit(2);
}
const graph = decodeModel(readFileSync(file)).graph as { node?: Node[]; input?: { name: string }[]; initializer?: { name: string }[] };
const nodes = graph.node ?? [];
const producer = new Map<string, Node>();
const consumers = new Map<string, { node: Node; slot: number }[]>();
for (const n of nodes) {
  for (const o of n.output ?? []) producer.set(o, n);
  (n.input ?? []).forEach((i, slot) => {
    if (!i) return;
    if (!consumers.has(i)) consumers.set(i, []);
    consumers.get(i)!.push({ node: n, slot });
  });
}
const inputs = new Set((graph.input ?? []).map((i) => i.name));
const inits = new Set((graph.initializer ?? []).map((i) => i.name));

function chain(tensor: string, left: number): string {
  if (inputs.has(tensor)) return `input:${tensor}`;
  if (inits.has(tensor)) return 'initializer';
  const p = producer.get(tensor);
  if (!p) return '?';
  if (left === 0) return p.opType;
  const first = (p.input ?? []).find((i) => i);
  return first === undefined ? p.opType : `${chain(first, left - 1)} → ${p.opType}`;
}

const groups = new Map<string, number>();
for (const n of nodes) {
  if (n.opType !== 'MemcpyToHost' && n.opType !== 'MemcpyFromHost') continue;
  const from = chain(n.input![0], depth - 1);
  const to = (consumers.get(n.output![0]) ?? []).map((c) => `${c.node.opType}[${c.slot}]`).sort().join(', ');
  const key = `${n.opType}: ${from}  ⇒  ${to}`;
  groups.set(key, (groups.get(key) ?? 0) + 1);
}
const ops = new Map<string, number>();
for (const n of nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
console.log(`${file}: ${nodes.length} nodes; MemcpyToHost ${ops.get('MemcpyToHost') ?? 0}, MemcpyFromHost ${ops.get('MemcpyFromHost') ?? 0}`);
for (const [k, c] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`  ${String(c).padStart(5)}  ${k}`);
