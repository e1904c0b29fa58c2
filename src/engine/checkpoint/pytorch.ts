// PyTorch `torch.save` zip checkpoints (pytorch_model.bin): <prefix>/data.pkl (a state dict pickle, read by the
// safe unpickler) and <prefix>/data/<key> (raw little-endian storages, stored uncompressed and read by offset).
import * as fs from 'node:fs';
import { DType, UserError } from '../types';
import { StoredTensor, product, quoted, readExact, shapeText } from './io';
import { PyDict, PyGlobal, PyOpaque, PyTuple, PyValue, unpickle } from './pickle';
import { ZipReader } from './zip';

/** torch storage classes → [dtype (null = unsupported), bytes per element]. */
const STORAGES: Record<string, [DType | null, number]> = {
  FloatStorage: ['float32', 4],
  HalfStorage: ['float16', 2],
  BFloat16Storage: ['bfloat16', 2],
  // Harmless data types: allowed so that a tensor of one gets a clear "unsupported dtype" error.
  DoubleStorage: [null, 8],
  LongStorage: [null, 8],
  IntStorage: [null, 4],
  ShortStorage: [null, 2],
  CharStorage: [null, 1],
  ByteStorage: [null, 1],
  BoolStorage: [null, 1],
};

const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGES).map((s) => `torch.${s}`),
]);

interface StorageRef {
  storageClass: string;
  dtype: DType | null;
  bpe: number;
  key: string;
  numel: number;
}

interface TensorRef {
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

/** A storage size, storage offset, size or stride: a non-negative integer (not a float, not a huge LONG). */
function isCount(x: PyValue): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function intTuple(v: PyValue, what: string, file: string): number[] {
  if (!(v instanceof PyTuple) || !v.items.every(isCount)) {
    throw new UserError(`${file}: malformed tensor in pickle (${what} is not a tuple of integers)`);
  }
  return v.items as number[];
}

/** Lists the tensors of a torch zip checkpoint. Offsets are absolute, storage offsets included. */
export function readTorchZip(fd: number, file: string): StoredTensor[] {
  const magic = readExact(fd, file, 0, Math.min(4, fs.fstatSync(fd).size));
  if (magic.length >= 2 && magic[0] === 0x80 && magic[1] <= 5) {
    throw new UserError(`${file}: legacy (pre-1.6) PyTorch serialization is not supported; re-save it with a recent torch or convert to safetensors`);
  }
  if (magic.length < 4 || magic.readUInt32LE(0) !== 0x04034b50) {
    throw new UserError(`${file}: bad zip file (not a PyTorch zip checkpoint)`);
  }
  const zip = new ZipReader(fd, file);
  const pklNames = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pklNames.length !== 1) {
    throw new UserError(`${file}: bad PyTorch checkpoint (expected one <name>/data.pkl member, found ${pklNames.length})`);
  }
  const prefix = pklNames[0].slice(0, -'data.pkl'.length);
  const byteorder = zip.entries.get(prefix + 'byteorder');
  if (byteorder && zip.read(byteorder, 64).toString('latin1').trim() !== 'little') {
    throw new UserError(`${file}: big-endian PyTorch checkpoints are not supported`);
  }

  const hooks = {
    allowGlobal: (module: string, name: string) => ALLOWED.has(`${module}.${name}`),
    persistentLoad: (pid: PyValue): PyValue => {
      const t = pid instanceof PyTuple ? pid.items : [];
      const [tag, cls, key, , numel] = t;
      if (
        t.length < 5 || tag !== 'storage' || !(cls instanceof PyGlobal) || !(cls.name in STORAGES) ||
        typeof key !== 'string' || !isCount(numel)
      ) {
        throw new UserError(`${file}: malformed persistent id in pickle`);
      }
      const [dtype, bpe] = STORAGES[cls.name];
      const ref: StorageRef = { storageClass: cls.qualified, dtype, bpe, key, numel };
      return new PyOpaque('storage', ref);
    },
    call: (fn: PyGlobal, args: PyValue[]): PyValue => {
      switch (fn.qualified) {
        case 'collections.OrderedDict':
          if (args.length !== 0) throw new UserError(`${file}: pickle builds an OrderedDict with arguments`);
          return new PyDict();
        case 'torch._utils._rebuild_tensor_v2': {
          const [storage, offset, size, stride] = args;
          if (args.length < 6 || !(storage instanceof PyOpaque) || storage.kind !== 'storage' || !isCount(offset)) {
            throw new UserError(`${file}: malformed tensor in pickle`);
          }
          const ref: TensorRef = {
            storage: storage.value as StorageRef,
            offset,
            size: intTuple(size, 'size', file),
            stride: intTuple(stride, 'stride', file),
          };
          return new PyOpaque('tensor', ref);
        }
        case 'torch._utils._rebuild_parameter':
          if (!(args[0] instanceof PyOpaque) || args[0].kind !== 'tensor') throw new UserError(`${file}: malformed parameter in pickle`);
          return args[0];
        default:
          throw new UserError(`${file}: pickle calls ${quoted(fn.qualified)}, which is not allowed here`);
      }
    },
  };

  const pkl = zip.read(zip.entries.get(pklNames[0])!, 256 * 1024 * 1024);
  const root = unpickle(pkl, file, hooks);
  if (!(root instanceof PyDict)) throw new UserError(`${file}: the pickle is not a state dict`);

  const dataOffsets = new Map<string, { offset: number; size: number }>();
  const out: StoredTensor[] = [];
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new UserError(`${file}: state dict has a non-string key`);
    if (!(v instanceof PyOpaque) || v.kind !== 'tensor') {
      throw new UserError(`${file}: state dict entry ${quoted(k)} is not a tensor`);
    }
    const t = v.value as TensorRef;
    if (t.size.length !== t.stride.length) throw new UserError(`${file}: tensor ${quoted(k)} has mismatched size and stride`);
    // contiguous (row-major) check; dimensions of size 1 may carry any stride
    let expect = 1;
    for (let i = t.size.length - 1; i >= 0; i--) {
      if (t.size[i] !== 1 && t.stride[i] !== expect) {
        throw new UserError(`${file}: tensor ${quoted(k)} is not contiguous (size ${shapeText(t.size)}, stride ${shapeText(t.stride)}); save it with .contiguous()`);
      }
      expect *= t.size[i];
    }
    const numel = product(t.size);
    const s = t.storage;
    if (t.offset + numel > s.numel) throw new UserError(`${file}: tensor ${quoted(k)} extends past the end of its storage`);
    let loc = dataOffsets.get(s.key);
    if (!loc) {
      const e = zip.entries.get(`${prefix}data/${s.key}`);
      if (!e) throw new UserError(`${file}: storage ${quoted(`${prefix}data/${s.key}`)} of tensor ${quoted(k)} is missing from the zip`);
      if (e.method !== 0) throw new UserError(`${file}: storage ${quoted(e.name)} is compressed; only stored members are supported`);
      loc = { offset: zip.dataOffset(e), size: e.size };
      dataOffsets.set(s.key, loc);
    }
    if ((t.offset + numel) * s.bpe > loc.size) {
      throw new UserError(`${file}: tensor ${quoted(k)} needs ${(t.offset + numel) * s.bpe} bytes but its storage has ${loc.size}`);
    }
    out.push({
      key: k,
      dtype: s.dtype,
      rawDType: s.storageClass,
      shape: [...t.size],
      file,
      offset: loc.offset + t.offset * s.bpe,
      byteLength: numel * s.bpe,
    });
  }
  return out;
}
