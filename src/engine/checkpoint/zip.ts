// Minimal zip central-directory reader (with zip64) for PyTorch checkpoints. Reads only the directory and
// local headers; entry data is located by offset so that stored (uncompressed) members can be read in place.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { UserError } from '../types';
import { quoted, readExact } from './io';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate */
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOC = 0x07064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;
const U32_MAX = 0xffffffff;

function u64(buf: Buffer, off: number, file: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${file}: bad zip file (64-bit field out of range)`);
  return Number(v);
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly size: number;

  constructor(
    private readonly fd: number,
    readonly file: string,
  ) {
    this.size = fs.fstatSync(fd).size;
    this.readDirectory();
  }

  private bad(what: string): never {
    throw new UserError(`${this.file}: bad zip file (${what})`);
  }

  private readDirectory(): void {
    const { size, fd, file } = this;
    if (size < 22) this.bad('too short');
    const tailLen = Math.min(size, 22 + 65535);
    const tail = readExact(fd, file, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.bad('no end-of-central-directory record');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdAbs = size - tailLen + eocd;
    if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
      if (eocdAbs < 20) this.bad('zip64 locator missing');
      const loc = readExact(fd, file, eocdAbs - 20, 20);
      if (loc.readUInt32LE(0) !== SIG_EOCD64_LOC) this.bad('zip64 locator missing');
      const e64Off = u64(loc, 8, file);
      if (e64Off + 56 > size) this.bad('zip64 end record out of range');
      const e64 = readExact(fd, file, e64Off, 56);
      if (e64.readUInt32LE(0) !== SIG_EOCD64) this.bad('zip64 end record signature');
      count = u64(e64, 32, file);
      cdSize = u64(e64, 40, file);
      cdOffset = u64(e64, 48, file);
    }
    if (cdOffset + cdSize > size) this.bad('central directory out of range (file truncated?)');
    if (cdSize > 256 * 1024 * 1024) this.bad('central directory too large');
    const cd = readExact(fd, file, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CEN) this.bad('central directory entry signature');
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localOff = cd.readUInt32LE(p + 42);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) this.bad('central directory entry out of range');
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // zip64 extended information: only the fields that are 0xFFFFFFFF in the fixed record, in this order.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          const need = (): number => {
            if (q + 8 > x + 4 + len) this.bad(`zip64 extra field of ${quoted(name)} too short`);
            const v = u64(cd, q, file);
            q += 8;
            return v;
          };
          if (uncompressed === U32_MAX) uncompressed = need();
          if (compressedSize === U32_MAX) compressedSize = need();
          if (localOff === U32_MAX) localOff = need();
        }
        x += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size: uncompressed, localHeaderOffset: localOff });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Absolute offset of an entry's (compressed) data, from its local header. */
  dataOffset(e: ZipEntry): number {
    if (e.localHeaderOffset + 30 > this.size) this.bad(`local header of ${quoted(e.name)} out of range`);
    const h = readExact(this.fd, this.file, e.localHeaderOffset, 30);
    if (h.readUInt32LE(0) !== SIG_LOC) this.bad(`local header signature of ${quoted(e.name)}`);
    const off = e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    if (off + e.compressedSize > this.size) {
      throw new UserError(`${this.file}: file is truncated (zip member ${quoted(e.name)} ends past the end of the file)`);
    }
    return off;
  }

  /** Reads a whole (small) entry, inflating it if needed. */
  read(e: ZipEntry, maxBytes = 512 * 1024 * 1024): Buffer {
    if (e.size > maxBytes) this.bad(`member ${quoted(e.name)} is too large (${e.size} bytes)`);
    const raw = readExact(this.fd, this.file, this.dataOffset(e), e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      try {
        return zlib.inflateRawSync(raw, { maxOutputLength: maxBytes });
      } catch {
        this.bad(`member ${quoted(e.name)} does not inflate`);
      }
    }
    this.bad(`member ${quoted(e.name)} uses unsupported compression method ${e.method}`);
  }
}
