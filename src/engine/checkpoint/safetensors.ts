// safetensors reader: 8-byte little-endian header length, JSON header, then raw little-endian tensor data.
// Only the header is read here; tensor bytes are read later by offset.
import * as fs from 'node:fs';
import { DType, UserError } from '../types';
import { StoredTensor, clean, product, quoted, readExact, shapeText } from './io';

const DTYPES: Record<string, DType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const ELEMENT_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};
const MAX_HEADER = 100 * 1024 * 1024;

/** Parses the header of an open safetensors file. Offsets in the result are absolute. */
export function readSafetensorsHeader(fd: number, file: string): StoredTensor[] {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw new UserError(`${file}: not a safetensors file (only ${size} bytes)`);
  const lenBuf = readExact(fd, file, 0, 8);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen > MAX_HEADER || headerLen < 2) {
    throw new UserError(`${file}: not a safetensors file (implausible header length ${headerLen})`);
  }
  if (8 + headerLen > size) {
    throw new UserError(`${file}: file is truncated (header of ${headerLen} bytes, file has ${size} bytes)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(readExact(fd, file, 8, headerLen).toString('utf8'));
  } catch {
    throw new UserError(`${file}: not a safetensors file (header is not valid JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new UserError(`${file}: not a safetensors file (header is not a JSON object)`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  const out: StoredTensor[] = [];
  for (const [key, v] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') continue;
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (
      typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isInteger(d) && d >= 0) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 ||
      !e.data_offsets.every((d) => Number.isInteger(d) && d >= 0)
    ) {
      throw new UserError(`${file}: malformed safetensors header entry for tensor ${quoted(key)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = e.data_offsets as number[];
    if (end < begin) throw new UserError(`${file}: malformed data_offsets for tensor ${quoted(key)}`);
    if (end > dataLen) {
      throw new UserError(
        `${file}: file is truncated: tensor ${quoted(key)} needs ${end - dataLen} more bytes than the file holds (${size} bytes)`,
      );
    }
    const eb = ELEMENT_BYTES[e.dtype];
    if (eb !== undefined && product(shape) * eb !== end - begin) {
      throw new UserError(`${file}: tensor ${quoted(key)} has ${end - begin} bytes, but ${clean(e.dtype)}${shapeText(shape)} needs ${product(shape) * eb}`);
    }
    out.push({
      key,
      dtype: DTYPES[e.dtype] ?? null,
      rawDType: e.dtype,
      shape,
      file,
      offset: dataStart + begin,
      byteLength: end - begin,
    });
  }
  return out;
}
