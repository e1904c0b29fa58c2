// Diagnostic for the GPU benchmark: how fast are a layer's two products on an execution provider, by the ONNX form
// they take? A chain of `--reps` pairs of the mamba2-1.3b products (in_proj [2048 → 8512], out_proj [4096 → 2048] on the
// first 4096 outputs) stays on the device inside one graph, so the host transfers (one input, one output) are a small
// part; each form computes the same numbers up to rounding, and the probe prints how far apart they come out:
//   gemm      Gemm, transB = 1 on the weights as stored in the checkpoint [out, in]        (builder ≤ v22)
//   matmul2d  MatMul on [rows, in] with the weights stored [in, out]
//   matmul3d  MatMul on [rows, 1, in] (the knockout rows' layout: no Reshape around it) with the weights [in, out]
//   tsx tools/webgpu-probe.ts [--ep webgpu|cuda|cpu] [--rows 120,1024,4096] [--reps 4] [--dir /tmp/probe]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, WeightsFile } from '../src/engine/onnx/graph';
import { bytesOf, transpose2d } from '../src/engine/onnx/ops';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const ep = arg('ep', 'cpu');
const rowsList = arg('rows', '120,1024,4096').split(',').map(Number);
const reps = Number(arg('reps', '4'));
const dir = arg('dir', '/tmp/probe');
const D = 2048, PROJ = 8512, INNER = 4096;
type Form = 'gemm' | 'matmul2d' | 'matmul3d';
const forms: Form[] = ['gemm', 'matmul2d', 'matmul3d'];
fs.mkdirSync(dir, { recursive: true });

function weights(n: number, seed: number, scale: number): Float32Array {
  const w = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return w;
}
const wIn = weights(PROJ * D, 1, 1 / Math.sqrt(D)); // [out, in] as in a checkpoint
const wOut = weights(D * INNER, 2, 1 / Math.sqrt(INNER));

function build(form: Form): string {
  const g = new GraphBuilder(form);
  const wf = new WeightsFile(path.join(dir, `${form}.bin`), `${form}.bin`);
  const put = (name: string, w: Float32Array, out: number, inn: number) => {
    const data = form === 'gemm' ? w : transpose2d(w, out, inn);
    const where = wf.append(bytesOf(data));
    return g.external(name, DataType.FLOAT, form === 'gemm' ? [out, inn] : [inn, out], { location: wf.location, ...where });
  };
  const a = put('w_in', wIn, PROJ, D);
  const b = put('w_out', wOut, D, INNER);
  wf.close();
  const dims = form === 'matmul3d' ? ['rows', 1, D] : ['rows', D];
  let x = g.input('x', DataType.FLOAT, dims);
  const product = (v: string, w: string) => (form === 'gemm' ? g.n('Gemm', [v, w], { transB: 1 }) : g.n('MatMul', [v, w]));
  const axis = dims.length - 1;
  for (let r = 0; r < reps; r++) {
    const zx = product(x, a);
    const first = g.n('Slice', [zx, g.constI64([0]), g.constI64([INNER]), g.constI64([axis])]);
    x = product(first, b);
  }
  g.n('Identity', [x], {}, 'y');
  g.output('y', DataType.FLOAT, dims);
  const file = path.join(dir, `${form}.onnx`);
  fs.writeFileSync(file, g.encode(form));
  return file;
}

async function main(): Promise<void> {
  const files = Object.fromEntries(forms.map((f) => [f, build(f)])) as Record<Form, string>;
  const flopPerRow = reps * 2 * (D * PROJ + INNER * D);
  console.log(`products probe, ep ${ep}: ${reps} × (in_proj ${D}→${PROJ}, out_proj ${INNER}→${D}) on the device per run`);
  for (const rows of rowsList) {
    const xs = weights(rows * D, 3 + rows, 1);
    const ys: Partial<Record<Form, Float32Array>> = {};
    const line: string[] = [];
    for (const form of forms) {
      const s = await ort.InferenceSession.create(files[form], { executionProviders: [ep as 'cpu'] });
      const x = new ort.Tensor('float32', xs, form === 'matmul3d' ? [rows, 1, D] : [rows, D]);
      ys[form] = (await s.run({ x })).y.data as Float32Array; // warm-up (shader compilation, algorithm choice)
      const n = rows >= 2048 ? 3 : 8;
      const t0 = performance.now();
      for (let r = 0; r < n; r++) await s.run({ x });
      const ms = (performance.now() - t0) / n;
      line.push(`${form} ${ms.toFixed(2)} ms (${((flopPerRow * rows) / ms / 1e9).toFixed(2)} TFLOP/s)`);
      await s.release();
    }
    // max |Δ| relative to the largest |y| (an element-wise relative error is meaningless where y is near 0)
    const diff = (f: Form) => {
      let m = 0, top = 0;
      const a = ys.gemm!, b = ys[f]!;
      for (let i = 0; i < a.length; i++) {
        m = Math.max(m, Math.abs(a[i] - b[i]));
        top = Math.max(top, Math.abs(a[i]));
      }
      return m === 0 ? 'bit-identical' : `max |Δ| / max |y| ${(m / top).toExponential(2)}`;
    };
    console.log(`  rows ${String(rows).padStart(5)}: ${line.join(', ')}; against gemm: matmul2d ${diff('matmul2d')}, matmul3d ${diff('matmul3d')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
