// Fuzzing the PyTorch checkpoint readers: mutated and truncated zips (bytes, and every numeric field of the end
// record, the zip64 records, the central directory and the local headers), mutated data.pkl pickles, state-dict
// pickles whose tensor arguments (storage class and size, storage offset, sizes, strides) take hostile values, and
// random opcode programs for the safe unpickler. Each case ends in a UserError (one line) or in tensors that lie in
// their storage inside the file (and, through openCheckpoint on models of both families, read back).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { readTorchZip } from '../../../src/engine/checkpoint/pytorch';
import { PyOpaque, PyTuple, unpickle, type PyValue } from '../../../src/engine/checkpoint/pickle';
import { ZipReader } from '../../../src/engine/checkpoint/zip';
import type { StoredTensor } from '../../../src/engine/checkpoint/io';
import { PickleWriter, writeZip, type ZipMember } from '../../helpers/checkpointWriter';
import { applyByteOps, byteOps, hostileNumber, hostileString, INTERESTING_U32, INTERESTING_U64 } from './mutate';
import { Base, checkOpened, CKPT_FIXTURES, makeBases, openCase, realBases } from './bases';
import { check, guard, show, tempDir } from './harness';

const tmp = tempDir('pt');

interface BinBase {
  name: string;
  bytes: Buffer;
  members: { name: string; data: Buffer }[];
  /** the model folder it belongs to (config.json …), when it is a model's weights */
  model?: Base;
}
let bins: BinBase[] = [];

function membersOf(file: string): { name: string; data: Buffer }[] {
  const fd = fs.openSync(file, 'r');
  try {
    const z = new ZipReader(fd, file);
    return [...z.entries.values()].map((e) => ({ name: e.name, data: z.read(e) }));
  } finally {
    fs.closeSync(fd);
  }
}

before(async () => {
  const models = [...(await makeBases(tmp, ['m2-ss-bin-f16', 'm1-hf-bin-f32-untied'])), ...realBases()].filter((b) => b.files.has('pytorch_model.bin'));
  for (const m of models) {
    const file = path.join(m.dir, 'pytorch_model.bin');
    bins.push({ name: m.name, bytes: m.files.get('pytorch_model.bin')!, members: membersOf(file), model: m });
  }
  for (const f of ['torch_small.bin', 'linear_state_dict.bin']) {
    const file = path.join(CKPT_FIXTURES, f);
    bins.push({ name: `real-${f}`, bytes: fs.readFileSync(file), members: membersOf(file) });
  }
  // a zip64 version of the generated model's weights (writeZip writes the zip64 records when asked)
  const z64 = path.join(tmp, 'zip64.bin');
  writeZip(z64, bins[0].members, { zip64: true });
  bins.push({ name: 'zip64', bytes: fs.readFileSync(z64), members: bins[0].members });
  assert.ok(bins.length >= 5);
});

/** The invariants of tensors the reader listed: inside the file, with byte lengths that match their shapes. */
function checkTensors(list: StoredTensor[], size: number, label: string): void {
  for (const t of list) {
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${label}: '${t.key}' shape [${t.shape}]`);
    assert.ok(Number.isSafeInteger(t.offset) && t.offset >= 0, `${label}: '${t.key}' has offset ${t.offset}`);
    assert.ok(Number.isSafeInteger(t.byteLength) && t.offset + t.byteLength <= size, `${label}: '${t.key}' at ${t.offset}+${t.byteLength} is not inside the file (${size})`);
    const bpe = t.dtype === 'float32' ? 4 : t.dtype === null ? undefined : 2;
    if (bpe) assert.equal(t.byteLength, t.shape.reduce((a, b) => a * b, 1) * bpe, `${label}: '${t.key}' byte length vs shape`);
  }
}

async function readZipCase(buf: Buffer, label: string): Promise<void> {
  const file = path.join(tmp, 'case.bin');
  fs.writeFileSync(file, buf);
  const fd = fs.openSync(file, 'r');
  try {
    const r = await guard(label, () => readTorchZip(fd, file));
    if (r.ok) checkTensors(r.value, buf.length, label);
  } finally {
    fs.closeSync(fd);
  }
}

/** The last 4 KiB (end records, central directory of a small zip) or the first 512 bytes (local headers). */
const tailRegion = (b: Buffer): [number, number] => [Math.max(0, b.length - 4096), b.length];
const headRegion = (b: Buffer): [number, number] => [0, Math.min(b.length, 512)];

test('pytorch zip: mutated and truncated bytes (anywhere, the end records, the local headers) → UserError or tensors inside the file', async (t) => {
  const msg = await check('pt-bytes', 1500, [fc.nat(), byteOps(4), fc.constantFrom('all', 'tail', 'head')], async (bi, ops, where) => {
    const b = bins[bi % bins.length];
    const buf = applyByteOps(b.bytes, ops, where === 'tail' ? tailRegion : where === 'head' ? headRegion : undefined);
    await readZipCase(buf, `pt-bytes ${b.name} ${where} ${show(ops)}`);
  });
  t.diagnostic(msg);
});

// ------------------------------------------------------------------ zip fields

/** [offset, width] of every numeric field of the zip's records, found by walking them as a reader would. */
function zipFields(b: Buffer): [number, 2 | 4 | 8][] {
  const out: [number, 2 | 4 | 8][] = [];
  try {
    walkZip(b, out);
  } catch {
    // an earlier edit broke the records: the fields found so far
  }
  return out.filter(([o, w]) => o >= 0 && o + w <= b.length);
}

function walkZip(b: Buffer, out: [number, 2 | 4 | 8][]): void {
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) if (b.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) return;
  for (const o of [4, 6, 8, 10]) out.push([eocd + o, 2]);
  out.push([eocd + 12, 4], [eocd + 16, 4], [eocd + 20, 2]);
  if (eocd >= 20 && b.readUInt32LE(eocd - 20) === 0x07064b50) {
    out.push([eocd - 20 + 4, 4], [eocd - 20 + 8, 8], [eocd - 20 + 16, 4]);
    const e64 = Number(b.readBigUInt64LE(eocd - 20 + 8));
    if (e64 + 56 <= b.length) for (const o of [4, 24, 32, 40, 48]) out.push([e64 + o, 8]);
  }
  let cd = b.readUInt32LE(eocd + 16);
  const count = b.readUInt16LE(eocd + 10);
  if (cd === 0xffffffff && eocd >= 20) {
    const e64 = Number(b.readBigUInt64LE(eocd - 20 + 8));
    if (e64 + 56 <= b.length) cd = Number(b.readBigUInt64LE(e64 + 48));
  }
  const locals: number[] = [];
  for (let i = 0; i < Math.min(count === 0xffff ? 1000 : count, 1000) && cd + 46 <= b.length && b.readUInt32LE(cd) === 0x02014b50; i++) {
    for (const o of [10, 28, 30, 32]) out.push([cd + o, 2]);
    for (const o of [20, 24, 42]) out.push([cd + o, 4]);
    const nameLen = b.readUInt16LE(cd + 28);
    const extraLen = b.readUInt16LE(cd + 30);
    let x = cd + 46 + nameLen;
    const xEnd = Math.min(b.length, x + extraLen);
    while (x + 4 <= xEnd) {
      out.push([x, 2], [x + 2, 2]);
      for (let q = x + 4; q + 8 <= Math.min(xEnd, x + 4 + b.readUInt16LE(x + 2)); q += 8) out.push([q, 8]);
      x += 4 + b.readUInt16LE(x + 2);
    }
    let loc = b.readUInt32LE(cd + 42);
    if (loc === 0xffffffff && extraLen >= 28) loc = Number(b.readBigUInt64LE(cd + 46 + nameLen + 20));
    locals.push(loc);
    cd += 46 + nameLen + extraLen + b.readUInt16LE(cd + 32);
  }
  for (const l of locals) {
    if (l + 30 > b.length) continue;
    for (const o of [8, 26, 28]) out.push([l + o, 2]);
    for (const o of [18, 22]) out.push([l + o, 4]);
  }
}

const fieldValue = fc.oneof(fc.constantFrom(...INTERESTING_U64), fc.constantFrom(...INTERESTING_U32.map(BigInt)), fc.bigInt({ min: 0n, max: 1n << 20n }), fc.bigInt({ min: -64n, max: 64n }));

test('pytorch zip: every numeric field of the zip records (zip64 included) set to hostile values → UserError or tensors inside the file', async (t) => {
  const edit = fc.record({ field: fc.nat(), value: fieldValue, relative: fc.boolean() });
  const msg = await check('pt-fields', 1500, [fc.nat(), fc.array(edit, { minLength: 1, maxLength: 3 })], async (bi, edits) => {
    const b = bins[bi % bins.length];
    const buf = Buffer.from(b.bytes);
    for (const e of edits) {
      const fields = zipFields(buf);
      if (fields.length === 0) break;
      const [o, w] = fields[e.field % fields.length];
      const old = w === 2 ? BigInt(buf.readUInt16LE(o)) : w === 4 ? BigInt(buf.readUInt32LE(o)) : buf.readBigUInt64LE(o);
      const mask = (1n << BigInt(8 * w)) - 1n;
      const v = ((e.relative ? old + e.value : e.value) % (mask + 1n) + (mask + 1n)) & mask;
      if (w === 2) buf.writeUInt16LE(Number(v), o);
      else if (w === 4) buf.writeUInt32LE(Number(v), o);
      else buf.writeBigUInt64LE(v, o);
    }
    await readZipCase(buf, `pt-fields ${b.name} ${show(edits)}`);
  });
  t.diagnostic(msg);
});

// ------------------------------------------------------------------ data.pkl

/** Opcodes of the pickle machine (and a few it does not know), to splice into a pickle. */
const OPCODES = [0x80, 0x95, 0x2e, 0x28, 0x7d, 0x5d, 0x29, 0x74, 0x85, 0x86, 0x87, 0x4a, 0x4b, 0x4d, 0x8a, 0x47, 0x4e, 0x88, 0x89, 0x58, 0x8c, 0x43, 0x42, 0x71, 0x72, 0x94, 0x68, 0x6a, 0x63, 0x93, 0x51, 0x52, 0x62, 0x73, 0x75, 0x61, 0x65, 0x30, 0x31, 0x00, 0x69, 0x8e, 0xff];
const opcodeSplice = fc.record({ at: fc.nat(), op: fc.constantFrom(...OPCODES), arg: fc.uint8Array({ maxLength: 9 }) });

function rebuild(b: BinBase, pkl: Buffer): Buffer {
  const file = path.join(tmp, 'rebuilt.bin');
  const members: ZipMember[] = b.members.map((m) => ({ name: m.name, data: m.name.endsWith('/data.pkl') ? pkl : m.data }));
  writeZip(file, members);
  return fs.readFileSync(file);
}

test('pytorch: mutated data.pkl (bytes and spliced opcodes), through openCheckpoint where it is a model → UserError or readable tensors', async (t) => {
  const dir = path.join(tmp, 'case-model');
  const msg = await check('pt-pickle', 1000, [fc.nat(), byteOps(3), fc.array(opcodeSplice, { maxLength: 3 })], async (bi, ops, splices) => {
    const b = bins[bi % bins.length];
    let pkl = applyByteOps(b.members.find((m) => m.name.endsWith('/data.pkl'))!.data, ops);
    for (const s of splices) {
      const at = s.at % (pkl.length + 1);
      pkl = Buffer.concat([pkl.subarray(0, at), Buffer.from([s.op]), Buffer.from(s.arg), pkl.subarray(at)]);
    }
    const buf = rebuild(b, pkl);
    const label = `pt-pickle ${b.name} ${show(ops)} ${show(splices)}`;
    if (!b.model) return readZipCase(buf, label);
    const files = new Map(b.model.files);
    files.set('pytorch_model.bin', buf);
    await openCase(dir, files, label, (ck) => checkOpened(ck, label));
  });
  t.diagnostic(msg);
});

// ------------------------------------------------------------------ state dicts with hostile tensor arguments

type PyArg = number | bigint | string | boolean | null | { float: number } | PyArg[];

/** Writes a Python value the way the pickler would. */
function put(w: PickleWriter, v: PyArg): void {
  if (v === null) w.raw(0x4e);
  else if (v === true) w.raw(0x88);
  else if (v === false) w.raw(0x89);
  else if (typeof v === 'string') w.str(v);
  else if (typeof v === 'bigint') {
    let x = v;
    const bytes: number[] = [];
    do {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
    } while (!(x === 0n && (bytes[bytes.length - 1] & 0x80) === 0) && !(x === -1n && (bytes[bytes.length - 1] & 0x80) !== 0));
    w.raw(0x8a, bytes.length, ...bytes);
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) w.int(v);
    else put(w, { float: v });
  } else if (Array.isArray(v)) {
    w.mark();
    v.forEach((x) => put(w, x));
    w.tuple();
  } else {
    const b = Buffer.alloc(9);
    b[0] = 0x47;
    b.writeDoubleBE(v.float, 1);
    w.raw(...b);
  }
}

const STORAGE_CLASSES = ['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage', 'LongStorage', 'ByteStorage', 'BoolStorage', 'UntypedStorage', 'FloatTensor', '__proto__', 'constructor'];
const BPE: Record<string, number> = { FloatStorage: 4, HalfStorage: 2, BFloat16Storage: 2, DoubleStorage: 8, LongStorage: 8, ByteStorage: 1, BoolStorage: 1 };

const smallInt = fc.oneof({ weight: 5, arbitrary: fc.nat({ max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 31, 2 ** 53 - 1) });
const hostileArg: fc.Arbitrary<PyArg> = fc.oneof(
  { weight: 6, arbitrary: smallInt },
  { weight: 2, arbitrary: hostileNumber.map((x) => (Number.isSafeInteger(x) ? x : { float: x })) },
  { weight: 1, arbitrary: fc.constantFrom<PyArg>({ float: 0.5 }, { float: 1.5 }, { float: NaN }, { float: Infinity }, { float: -0 }, { float: 2.25 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(1n << 80n), max: 1n << 80n }) },
  { weight: 1, arbitrary: fc.constantFrom<PyArg>(null, true, false, '', 'x', []) },
);
const shapeArg: fc.Arbitrary<PyArg> = fc.oneof(
  { weight: 6, arbitrary: fc.array(smallInt, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(hostileArg, { maxLength: 4 }) },
  { weight: 1, arbitrary: hostileArg },
);

const tensorSpec = fc.record({
  key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('w', 'b', 'emb.weight') }, { weight: 1, arbitrary: hostileString }),
  cls: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('FloatStorage', 'HalfStorage', 'BFloat16Storage') }, { weight: 1, arbitrary: fc.constantFrom(...STORAGE_CLASSES) }),
  storageKey: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('0', '1') }, { weight: 1, arbitrary: hostileString }),
  numel: hostileArg,
  offset: hostileArg,
  size: shapeArg,
  stride: fc.option(shapeArg, { nil: undefined }),
  extraArgs: fc.nat({ max: 2 }),
});

/** A tensor that fits its storage (then perhaps broken by one hostile field). */
const fittingSpec = fc
  .record({
    key: fc.constantFrom('w', 'b', 'emb.weight'),
    cls: fc.constantFrom('FloatStorage', 'HalfStorage', 'BFloat16Storage'),
    storageKey: fc.constantFrom('0', '1'),
    offset: fc.nat({ max: 6 }),
    size: fc.array(fc.nat({ max: 4 }), { maxLength: 3 }),
    slack: fc.nat({ max: 3 }),
  })
  .map((f) => ({ ...f, numel: f.offset + f.size.reduce((a, b) => a * b, 1) + f.slack, stride: undefined as PyArg | undefined, extraArgs: 1 }));
const brokenSpec = fc.tuple(fittingSpec, tensorSpec, fc.constantFrom('numel', 'offset', 'size', 'stride', 'cls', 'key', 'storageKey', 'extraArgs')).map(([f, h, field]) => ({ ...f, [field]: h[field] }));
const anySpec = fc.oneof({ weight: 2, arbitrary: fittingSpec }, { weight: 3, arbitrary: brokenSpec }, { weight: 1, arbitrary: tensorSpec });

test('pytorch: state dicts whose storage class, storage size, storage offset, sizes and strides are hostile → UserError or tensors inside their storage', async (t) => {
  const file = path.join(tmp, 'sd.bin');
  // storage members: as large as their tensors need, give or take a few bytes; sometimes missing
  const deltas = fc.tuple(fc.constantFrom(0, 0, 0, -1, 1, -4, 64, -1000), fc.constantFrom(0, 0, -2, 8, -1000));
  const msg = await check('pt-tensors', 1200, [fc.array(anySpec, { minLength: 1, maxLength: 3 }), deltas], async (specs, delta) => {
    const need = new Map<string, number>();
    for (const sp of specs) {
      const n = (typeof sp.numel === 'number' && Number.isSafeInteger(sp.numel) && sp.numel >= 0 ? sp.numel : 4) * (Object.hasOwn(BPE, sp.cls) ? BPE[sp.cls] : 1);
      need.set(sp.storageKey, Math.max(need.get(sp.storageKey) ?? 0, n));
    }
    const sizes = [...need].map(([k, n], i) => [k, Math.min(4096, n + delta[i % 2])] as const).filter(([, n]) => n >= 0);
    const w = new PickleWriter().proto(2);
    w.global('collections', 'OrderedDict').raw(0x29).reduce();
    w.mark();
    for (const s of specs) {
      w.str(s.key);
      w.global('torch._utils', '_rebuild_tensor_v2');
      w.mark();
      w.mark().str('storage').global('torch', s.cls).str(s.storageKey).str('cpu');
      put(w, s.numel);
      w.tuple().raw(0x51);
      put(w, s.offset);
      put(w, s.size);
      if (s.stride !== undefined) put(w, s.stride);
      else {
        // the contiguous stride of the size, when the size is a tuple of numbers
        const dims = Array.isArray(s.size) ? s.size : [];
        const st: PyArg[] = [];
        let acc = 1;
        for (let i = dims.length - 1; i >= 0; i--) {
          st.unshift(acc);
          acc *= typeof dims[i] === 'number' ? (dims[i] as number) : 1;
        }
        put(w, st);
      }
      w.raw(0x89).global('collections', 'OrderedDict').raw(0x29).reduce();
      for (let i = 0; i < s.extraArgs - 1; i++) w.raw(0x4e);
      w.tuple().reduce();
    }
    w.raw(0x75);
    const pkl = w.stop();
    const members: ZipMember[] = [{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/byteorder', data: Buffer.from('little') }];
    for (const [k, n] of sizes) members.push({ name: `archive/data/${k}`, data: Buffer.alloc(n, 0x3c) });
    members.push({ name: 'archive/version', data: Buffer.from('3\n') });
    writeZip(file, members);
    const buf = fs.readFileSync(file);
    const fd = fs.openSync(file, 'r');
    try {
      const label = `pt-tensors ${show(specs)} storages ${show(sizes)}`;
      const r = await guard(label, () => readTorchZip(fd, file));
      if (!r.ok) return;
      checkTensors(r.value, buf.length, label);
      // each tensor lies in its own storage member, at its storage offset
      const zip = new ZipReader(fd, file);
      for (const st of r.value) {
        const spec = [...specs].reverse().find((s) => Buffer.from(s.key, 'utf8').toString('utf8') === st.key)!; // as pickled: UTF-8
        const member = zip.entries.get(`archive/data/${Buffer.from(spec.storageKey, 'utf8').toString('utf8')}`)!;
        const start = zip.dataOffset(member);
        const bpe = BPE[spec.cls];
        const offset = typeof spec.offset === 'object' && spec.offset !== null && 'float' in spec.offset ? spec.offset.float : (spec.offset as number);
        assert.equal(st.offset, start + offset * bpe, `${label}: '${st.key}' does not start at its storage offset`);
        assert.ok(st.offset >= start && st.offset + st.byteLength <= start + member.size, `${label}: '${st.key}' is not inside its storage`);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
  t.diagnostic(msg);
});

// ------------------------------------------------------------------ the unpickler alone

/** One instruction of a random pickle program. */
const instr: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...OPCODES).map((op) => Buffer.from([op])) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(v, 1); return b; }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from([0x8a, bytes.length, ...bytes])) },
  { weight: 1, arbitrary: fc.double().map((v) => { const b = Buffer.alloc(9); b[0] = 0x47; b.writeDoubleBE(v, 1); return b; }) },
  { weight: 2, arbitrary: hostileString.map((s) => { const d = Buffer.from(s, 'utf8'); const h = Buffer.alloc(5); h[0] = 0x58; h.writeUInt32LE(d.length, 1); return Buffer.concat([h, d]); }) },
  { weight: 1, arbitrary: fc.constantFrom(0xffffffff, 0x7fffffff, 1 << 20).map((n) => { const h = Buffer.alloc(5); h[0] = 0x58; h.writeUInt32LE(n, 1); return h; }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0x71, 0x68), fc.nat({ max: 255 })).map(([op, k]) => Buffer.from([op, k])) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0x72, 0x6a), fc.nat({ max: 0xffffffff })).map(([op, k]) => { const b = Buffer.alloc(5); b[0] = op; b.writeUInt32LE(k, 1); return b; }) },
  { weight: 1, arbitrary: fc.tuple(hostileString, hostileString).map(([m, n]) => Buffer.from(`c${m}\n${n}\n`, 'latin1')) },
  { weight: 1, arbitrary: fc.constantFrom('ctorch\nFloatStorage\n', 'ccollections\nOrderedDict\n', 'cos\nsystem\n', 'cbuiltins\neval\n').map((s) => Buffer.from(s, 'latin1')) },
);

/** Bulk: many items between a MARK and the opcode that takes them (APPENDS, SETITEMS, TUPLE, POP_MARK). */
const bulk: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(0x65, 0x75, 0x74, 0x31), fc.integer({ min: 1, max: 300_000 }), fc.constantFrom(0x5d, 0x7d))
  .map(([op, n, container]) => Buffer.concat([Buffer.from([0x80, 2, container, 0x28]), Buffer.alloc(2 * n, Buffer.from([0x4b, 0x01])), Buffer.from([op, 0x2e])]));

/** Hooks that allow what the program asks for, so that the machine itself is what the fuzzer reaches. */
const permissive = {
  allowGlobal: (module: string) => module !== 'os' && module !== 'builtins',
  call: (_fn: unknown, args: PyValue[]): PyValue => new PyTuple(args),
  persistentLoad: (pid: PyValue): PyValue => new PyOpaque('pid', pid),
};

test('pickle: random opcode programs (huge lengths, unknown memo keys, forbidden globals, bulk MARK groups) → UserError or a value', async (t) => {
  const random = fc.tuple(fc.boolean(), fc.array(instr, { maxLength: 24 }), fc.boolean()).map(([proto, body, stop]) =>
    Buffer.concat([proto ? Buffer.from([0x80, 2]) : Buffer.alloc(0), ...body, stop ? Buffer.from([0x2e]) : Buffer.alloc(0)]),
  );
  const program = fc.oneof({ weight: 19, arbitrary: random }, { weight: 1, arbitrary: bulk });
  const msg = await check('pickle-programs', 2500, [program], async (data) => {
    await guard(`pickle-programs ${data.subarray(0, 200).toString('hex')}`, () => unpickle(data, 'data.pkl', permissive));
  });
  t.diagnostic(msg);
});
