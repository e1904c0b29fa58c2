// Diagnostic for the GPU benchmark: how fast are the building blocks of a layer call on an execution provider?
// Times, for a batch of rows: host→device→host transfer (x + 0), Gemm with transB = 1 (the layers' layout) and MatMul
// with a pre-transposed weight, at the mamba2-1.3b in_proj shape.
//   tsx tools/webgpu-probe.ts [--ep webgpu] [--rows 2048] [--dir /tmp/probe]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, WeightsFile } from '../src/engine/onnx/graph';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const ep = arg('ep', 'cpu');
const rows = Number(arg('rows', '2048'));
const dir = arg('dir', '/tmp/probe');
const D = 2048;
const OUT = 8512;
fs.mkdirSync(dir, { recursive: true });

function build(name: string, kind: 'copy' | 'gemm' | 'matmul'): string {
  const g = new GraphBuilder(name);
  const x = g.input('x', DataType.FLOAT, ['rows', D]);
  if (kind === 'copy') {
    g.n('Add', [x, g.constF32([0], [])], {}, 'y');
    g.output('y', DataType.FLOAT, ['rows', D]);
  } else {
    const wf = new WeightsFile(path.join(dir, `${name}.bin`), `${name}.bin`);
    const w = Float32Array.from({ length: D * OUT }, (_, i) => Math.sin(i) * 0.02);
    const where = wf.append(new Uint8Array(w.buffer));
    wf.close();
    const dims = kind === 'gemm' ? [OUT, D] : [D, OUT];
    const wn = g.external('w', DataType.FLOAT, dims, { location: wf.location, ...where });
    g.n(kind === 'gemm' ? 'Gemm' : 'MatMul', [x, wn], kind === 'gemm' ? { transB: 1 } : {}, 'y');
    g.output('y', DataType.FLOAT, ['rows', OUT]);
  }
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, g.encode(name));
  return file;
}

async function main(): Promise<void> {
  const x = new ort.Tensor('float32', Float32Array.from({ length: rows * D }, (_, i) => Math.cos(i)), [rows, D]);
  for (const kind of ['copy', 'gemm', 'matmul'] as const) {
    const s = await ort.InferenceSession.create(build(kind, kind), { executionProviders: [ep as 'cpu'] });
    await s.run({ x });
    const reps = 10;
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await s.run({ x });
    const ms = (performance.now() - t0) / reps;
    const flop = kind === 'copy' ? 0 : 2 * rows * D * OUT;
    const mb = (4 * rows * (D + (kind === 'copy' ? D : OUT))) / 1e6;
    console.log(`${ep} ${kind.padEnd(6)} rows ${rows}: ${ms.toFixed(2)} ms per run (${mb.toFixed(0)} MB in+out${flop ? `, ${(flop / ms / 1e9).toFixed(2)} TFLOP/s` : ''})`);
    await s.release();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
