// Fuzzing the safetensors reader: mutated and truncated files, mutated header JSON (wrong types, huge and negative
// sizes, offsets outside the file, enormous shapes, duplicate keys, deep nesting) and mutated shard indexes, read by
// readSafetensorsHeader directly and by openCheckpoint on models of both families. Each case ends in a UserError (one
// line) or in tensors that lie inside the file and read back exactly the file's bytes.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { readSafetensorsHeader } from '../../../src/engine/checkpoint/safetensors';
import { applyByteOps, applyJsonOps, byteOps, hostileKey, hostileValue, jsonOps, Raw, serialize } from './mutate';
import { Base, checkOpened, folderOracle, makeBases, openCase, realBases } from './bases';
import { check, guard, show, tempDir } from './harness';

const tmp = tempDir('st');
let bases: Base[] = [];
let stBases: Base[] = [];
let shardedBases: Base[] = [];

before(async () => {
  bases = [...(await makeBases(tmp)), ...realBases()];
  stBases = bases.filter((b) => b.files.has('model.safetensors'));
  shardedBases = bases.filter((b) => b.files.has('model.safetensors.index.json'));
  assert.ok(stBases.length >= 4 && shardedBases.length >= 2);
});

/** [start, end) of the 8-byte length and the JSON header of a safetensors buffer (the whole buffer when unreadable). */
function headerRegion(b: Buffer): [number, number] {
  if (b.length < 8) return [0, b.length];
  const n = Number(b.readBigUInt64LE(0));
  return [0, Math.min(b.length, 8 + (Number.isSafeInteger(n) ? n : 0))];
}

/** The invariants of a header the reader accepted. */
function checkHeader(file: string, size: number, tensors: ReturnType<typeof readSafetensorsHeader>, label: string): void {
  for (const t of tensors) {
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${label}: '${t.key}' shape [${t.shape}]`);
    assert.ok(Number.isSafeInteger(t.offset) && Number.isSafeInteger(t.byteLength) && t.offset >= 8 && t.byteLength >= 0, `${label}: '${t.key}' at ${t.offset}+${t.byteLength}`);
    assert.ok(t.offset + t.byteLength <= size, `${label}: '${t.key}' ends at ${t.offset + t.byteLength}, past the end of the file (${size})`);
    if (t.dtype) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      assert.equal(t.byteLength, n * (t.dtype === 'float32' ? 4 : 2), `${label}: '${t.key}' byte length vs shape`);
    }
    assert.equal(t.file, file);
  }
}

function readHeaderOf(file: string, buf: Buffer, label: string) {
  fs.writeFileSync(file, buf);
  const fd = fs.openSync(file, 'r');
  return { fd, run: () => guard(label, () => readSafetensorsHeader(fd, file)) };
}

test('safetensors: mutated and truncated bytes (header-aimed) → UserError or a header whose tensors lie in the file', async (t) => {
  const file = path.join(tmp, 'h.safetensors');
  const msg = await check('st-bytes', 2000, [fc.nat(), byteOps(5), fc.boolean()], async (bi, ops, aimed) => {
    const base = stBases[bi % stBases.length];
    const buf = applyByteOps(base.files.get('model.safetensors')!, ops, aimed ? headerRegion : undefined);
    const { fd, run } = readHeaderOf(file, buf, `st-bytes ${base.name} ${show(ops)}`);
    try {
      const r = await run();
      if (r.ok) checkHeader(file, buf.length, r.value, base.name);
    } finally {
      fs.closeSync(fd);
    }
  });
  t.diagnostic(msg);
});

/** A safetensors file from a header value and a data section (the length field may lie by `lenDelta`). */
function assemble(header: unknown, data: Buffer, lenDelta: bigint): Buffer {
  const h = Buffer.from(serialize(header), 'utf8');
  const len = Buffer.alloc(8);
  const n = BigInt(h.length) + lenDelta;
  len.writeBigUInt64LE(n < 0n ? 0n : n > 2n ** 64n - 1n ? 2n ** 64n - 1n : n);
  return Buffer.concat([len, h, data]);
}

function split(b: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.toString('utf8', 8, 8 + n)), data: b.subarray(8 + n) };
}

/** Values aimed at safetensors entries: dtypes, shapes and offsets that are wrong in every way. */
const entryValue = fc.oneof(
  { weight: 3, arbitrary: hostileValue },
  { weight: 2, arbitrary: fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32', 'float32', 'Q4', '__proto__', 'constructor', 'toString') },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(-1, 0, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e300, 0.5, -0)), { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.tuple(fc.oneof(fc.nat({ max: 4096 }), fc.constantFrom(-8, 2 ** 53, 1e300, 0.5)), fc.oneof(fc.nat({ max: 4096 }), fc.constantFrom(-8, 2 ** 53, 2 ** 64, 1e300, 1.5))) },
  { weight: 1, arbitrary: fc.constantFrom(new Raw('[1e999]'), new Raw('[NaN, 4]'), new Raw('[1, 2, 3'), new Raw('{"dtype":"F32","dtype":"F16"}')) },
);

test('safetensors: mutated header JSON → UserError or a checkpoint that reads the file\'s bytes (both families)', async (t) => {
  const dir = path.join(tmp, 'case-json');
  const lenDelta = fc.oneof({ weight: 6, arbitrary: fc.constant(0n) }, { weight: 1, arbitrary: fc.constantFrom(-1n, 1n, -8n, 8n, 1n << 40n, 1n << 63n) });
  const msg = await check('st-json', 1000, [fc.nat(), jsonOps(3, hostileKey, entryValue), lenDelta], async (bi, ops, delta) => {
    const base = stBases[bi % stBases.length];
    const { header, data } = split(base.files.get('model.safetensors')!);
    const files = new Map(base.files);
    files.set('model.safetensors', assemble(applyJsonOps(header, ops), data, delta));
    await openCase(dir, files, `st-json ${base.name} ${show(ops)}`, (ck) => checkOpened(ck, base.name, folderOracle(files)));
  });
  t.diagnostic(msg);
});

test('safetensors: mutated weights of every layout, data included, through openCheckpoint → UserError or the file\'s values', async (t) => {
  const dir = path.join(tmp, 'case-bytes');
  const msg = await check('st-open-bytes', 500, [fc.nat(), fc.nat(), byteOps(4), fc.boolean()], async (bi, fi, ops, aimed) => {
    const base = [...stBases, ...shardedBases][bi % (stBases.length + shardedBases.length)];
    const weights = [...base.files.keys()].filter((f) => f.endsWith('.safetensors'));
    const f = weights[fi % weights.length];
    const files = new Map(base.files);
    files.set(f, applyByteOps(base.files.get(f)!, ops, aimed ? headerRegion : undefined));
    await openCase(dir, files, `st-open-bytes ${base.name}/${f} ${show(ops)}`, (ck) => checkOpened(ck, base.name, folderOracle(files)));
  });
  t.diagnostic(msg);
});

/** Shard names that must never be opened outside the model folder, or that are not shards at all. */
const shardName = fc.oneof(
  hostileValue,
  fc.constantFrom('../model.safetensors', '/etc/passwd', '..', '.', '', 'config.json', 'model.safetensors.index.json', 'sub/x.safetensors', 'C:\\x.safetensors', '\\\\server\\share', 'missing.safetensors', '%2e%2e/x'),
);

test('safetensors: mutated shard indexes (bad names, paths outside the folder, wrong types) → UserError or the right tensors', async (t) => {
  const dir = path.join(tmp, 'case-index');
  const msg = await check('st-index', 500, [fc.nat(), jsonOps(3, hostileKey, shardName)], async (bi, ops) => {
    const base = shardedBases[bi % shardedBases.length];
    const files = new Map(base.files);
    const index = JSON.parse(base.files.get('model.safetensors.index.json')!.toString('utf8'));
    files.set('model.safetensors.index.json', Buffer.from(serialize(applyJsonOps(index, ops))));
    await openCase(dir, files, `st-index ${base.name} ${show(ops)}`, (ck) => checkOpened(ck, base.name, folderOracle(files)));
  });
  t.diagnostic(msg);
});
