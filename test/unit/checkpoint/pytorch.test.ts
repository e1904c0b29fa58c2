import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTorchZip } from '../../../src/engine/checkpoint/pytorch';
import { unpickle, PyDict, PyTuple } from '../../../src/engine/checkpoint/pickle';
import { bytesToF32 } from '../../../src/engine/checkpoint/dtype';
import { UserError } from '../../../src/engine/types';
import { PickleWriter, TensorToWrite, writeTorchBin, writeZip } from '../../helpers/checkpointWriter';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-torch-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const A = new Float32Array([1, 2, 3, 4, 5, 6]);
const B = new Float32Array([-0.5, 0.25, 7]);
const tensors: TensorToWrite[] = [
  { key: 'a', shape: [2, 3], dtype: 'float32', data: A },
  { key: 'b', shape: [3], dtype: 'float32', data: B },
  { key: 'h', shape: [1, 3], dtype: 'float16', data: B },
];

function listOf(file: string) {
  const fd = fs.openSync(file, 'r');
  try {
    const list = readTorchZip(fd, file);
    const values = new Map(
      list.map((t) => {
        const buf = Buffer.alloc(t.byteLength);
        fs.readSync(fd, buf, 0, t.byteLength, t.offset);
        return [t.key, { ...t, values: Array.from(bytesToF32(buf, t.dtype!)) }];
      }),
    );
    return values;
  } finally {
    fs.closeSync(fd);
  }
}

function write(opts: Parameters<typeof writeTorchBin>[2], ts = tensors): string {
  const f = path.join(tmp, `t${n++}.bin`);
  writeTorchBin(f, ts, opts);
  return f;
}

for (const [label, opts] of [
  ['plain', {}],
  ['shared storage with offsets', { shareStorage: true }],
  ['zip64 records', { zip64: true }],
  ['parameters, archive prefix', { parameters: true, prefix: 'archive' }],
] as const) {
  test(`reads a torch.save zip: ${label}`, () => {
    const m = listOf(write(opts));
    assert.deepEqual([...m.keys()], ['a', 'b', 'h']);
    assert.deepEqual(m.get('a')!.shape, [2, 3]);
    assert.deepEqual(m.get('a')!.values, Array.from(A));
    assert.deepEqual(m.get('b')!.values, Array.from(B));
    assert.equal(m.get('h')!.dtype, 'float16');
    assert.deepEqual(m.get('h')!.values, Array.from(B));
    assert.equal(m.get('a')!.offset % 64, 0);
  });
}

test('storage members are 64-byte aligned and offsets include the storage offset', () => {
  const m = listOf(write({ shareStorage: true }));
  assert.equal(m.get('b')!.offset - m.get('a')!.offset, 6 * 4);
});

test('refuses a non-contiguous tensor', () => {
  const f = write({ strides: { a: [1, 2] } });
  assert.throws(() => listOf(f), (e: unknown) => e instanceof UserError && e.message.includes(f) && /'a' is not contiguous/.test(e.message));
});

function evilZip(pickle: Buffer): string {
  const f = path.join(tmp, `evil${n++}.bin`);
  writeZip(f, [{ name: 'archive/data.pkl', data: pickle }]);
  return f;
}

for (const [module, name] of [['os', 'system'], ['builtins', 'eval'], ['posix', 'system'], ['torch', 'load']]) {
  test(`refuses a pickle naming ${module}.${name}`, () => {
    const p = new PickleWriter().proto(2).global(module, name).str('echo pwned').raw(0x85).reduce().stop();
    const f = evilZip(p);
    assert.throws(
      () => listOf(f),
      (e: unknown) => e instanceof UserError && e.message === `${f}: pickle refers to forbidden global '${module}.${name}'`,
    );
  });
}

test('refuses STACK_GLOBAL to a forbidden name and unknown opcodes', () => {
  const sg = Buffer.from([0x80, 4, 0x8c, 2, ...Buffer.from('os'), 0x8c, 6, ...Buffer.from('system'), 0x93, 0x2e]);
  assert.throws(() => listOf(evilZip(sg)), /forbidden global 'os.system'/);
  const inst = Buffer.from([0x80, 2, 0x69, ...Buffer.from('os\nsystem\n'), 0x2e]); // INST
  assert.throws(() => listOf(evilZip(inst)), /unsupported opcode 0x69/);
  const newobj = Buffer.from([0x80, 2, 0x29, 0x29, 0x81, 0x2e]);
  assert.throws(() => listOf(evilZip(newobj)), /unsupported opcode 0x81/);
});

test('unpickles plain values', () => {
  const hooks = { allowGlobal: () => false, call: () => null, persistentLoad: () => null };
  const p = new PickleWriter().proto(2).raw(0x7d).put().str('x').int(-5).raw(0x73).str('big').int(2 ** 40).raw(0x73)
    .str('t').intTuple([1, 2, 3, 4]).raw(0x73).stop();
  const v = unpickle(p, 'f', hooks) as PyDict;
  assert.equal(v.map.get('x'), -5);
  assert.equal(v.map.get('big'), 2 ** 40);
  assert.deepEqual((v.map.get('t') as PyTuple).items, [1, 2, 3, 4]);
  assert.throws(() => unpickle(Buffer.from([0x80, 2, 0x7d]), 'f', hooks), /pickle is truncated/);
});

test('refuses bad zips and legacy torch files', () => {
  const f1 = path.join(tmp, 'notzip.bin');
  fs.writeFileSync(f1, 'hello world, this is not a zip file at all');
  assert.throws(() => listOf(f1), new RegExp(`^UserError: ${f1}: bad zip file`));
  const f2 = path.join(tmp, 'legacy.bin');
  fs.writeFileSync(f2, Buffer.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  assert.throws(() => listOf(f2), /legacy \(pre-1.6\)/);
  const good = write({});
  const bytes = fs.readFileSync(good);
  const f3 = path.join(tmp, 'cut.bin');
  fs.writeFileSync(f3, bytes.subarray(0, bytes.length - 100)); // central directory gone
  assert.throws(() => listOf(f3), new RegExp(`${f3}: bad zip file`));
});
