// Low-level file access shared by the checkpoint readers: positioned reads on a file descriptor.
import * as fs from 'node:fs';
import { DType, UserError } from '../types';

/** One tensor as stored in a weight file: raw bytes at an absolute file offset. */
export interface StoredTensor {
  /** Key in the file (before canonical renaming). */
  key: string;
  /** Supported dtype, or null when the file's dtype is not float32/float16/bfloat16. */
  dtype: DType | null;
  /** The dtype as the file names it (e.g. 'F64', 'torch.LongStorage'), for error messages. */
  rawDType: string;
  shape: number[];
  /** Weight file (absolute path). */
  file: string;
  /** Absolute byte offset of the first element. */
  offset: number;
  byteLength: number;
}

/** Reads exactly `length` bytes at `position` (chunked: fs.readSync takes at most ~2 GiB per call). */
export function readExact(fd: number, file: string, position: number, length: number, into?: Buffer): Buffer {
  const buf = into ?? Buffer.allocUnsafe(length);
  let done = 0;
  const CHUNK = 1 << 30;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, Math.min(CHUNK, length - done), position + done);
    if (n <= 0) {
      throw new UserError(`${file}: file is truncated (wanted ${length} bytes at offset ${position}, got ${done})`);
    }
    done += n;
  }
  return buf;
}

export function product(shape: number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * A name from an input file (tensor key, zip member, pickle global, dtype …) made fit for a one-line error message:
 * control characters and line separators are escaped, and a long name is cut to its first `max` characters with its
 * length. An ordinary name comes back unchanged.
 */
export function clean(name: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  if (s.length > max) s = `${s.slice(0, max)}… (${name.length} characters)`;
  return s;
}

/** clean(name) in single quotes. */
export function quoted(name: string): string {
  return `'${clean(name)}'`;
}

/** A shape for a message: '[2, 3]', or its first dimensions and its rank when it has many. */
export function shapeText(shape: readonly unknown[]): string {
  const dims = shape.slice(0, 8).map((d) => (typeof d === 'number' ? String(d) : clean(String(d), 20)));
  return `[${dims.join(', ')}${shape.length > 8 ? `, … (${shape.length} dimensions)` : ''}]`;
}
