// splitRows (ops.ts): a tensor's rows as separate tensors through Splits of at most 15 outputs each. The chunk graph
// takes each layer's row count and steering scales so; a Split of 16 outputs or more fails on WebGPU (one storage
// buffer per output, 16 per shader with the input), as a 48-way one did on the H200.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder } from '../../../src/engine/onnx/graph';
import { MAX_SPLIT_OUTPUTS, splitRows } from '../../../src/engine/onnx/ops';
import { decodeModel } from '../../../src/engine/onnx/proto';

test('splitRows: n rows in order, no Split of more than 15 outputs, about n / 15 Splits', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'me-splitrows-'));
  try {
    for (const n of [1, 2, 15, 16, 24, 48, 64, 300]) {
      const g = new GraphBuilder('split');
      const x = g.input('x', DataType.FLOAT, [n, 3]);
      const rows = splitRows(g, x, n);
      assert.equal(rows.length, n);
      // each part as its own output [1, 3] would be n outputs; their Concat in order must give x back
      g.n('Concat', rows, { axis: 0 }, 'y');
      g.output('y', DataType.FLOAT, [n, 3]);
      const bytes = g.encode('split');
      const nodes = (decodeModel(bytes).graph as { node?: { opType: string; output?: string[] }[] }).node ?? [];
      const splits = nodes.filter((v) => v.opType === 'Split');
      for (const s of splits) assert.ok((s.output?.length ?? 0) <= MAX_SPLIT_OUTPUTS, `n = ${n}: a Split of ${s.output?.length} outputs`);
      const most = n === 1 ? 0 : n <= 15 ? 1 : Math.ceil(n / 15) + Math.ceil(n / 225) + 1; // one level of Splits per factor of 15
      assert.ok(splits.length <= most, `n = ${n}: ${splits.length} Splits`);
      const file = join(tmp, `split-${n}.onnx`);
      writeFileSync(file, bytes);
      const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
      const data = Float32Array.from({ length: n * 3 }, (_, i) => i + 0.5);
      const y = (await session.run({ x: new ort.Tensor('float32', data, [n, 3]) })).y;
      assert.deepEqual(y.dims, [n, 3]);
      assert.deepEqual(Array.from(y.data as Float32Array), Array.from(data), `n = ${n}`);
      await session.release();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
